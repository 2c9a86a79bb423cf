package rrlog

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

func TestSnapshotEventsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, SnapshotPart, SnapshotPart + 1, 2*SnapshotPart + 17} {
		blob := make([]byte, size)
		for i := range blob {
			blob[i] = byte(rng.Uint32())
		}
		evs := NewSnapshotEvents(1234, 7, blob)
		if want := max(1, (size+SnapshotPart-1)/SnapshotPart); len(evs) != want {
			t.Fatalf("size %d: %d events, want %d", size, len(evs), want)
		}
		var a SnapshotAssembler
		for i, ev := range evs {
			if err := ev.Validate(); err != nil {
				t.Fatal(err)
			}
			if !ev.Kind.Annotation() || ev.ICount != 1234 {
				t.Fatalf("event %d: kind %v icount %d", i, ev.Kind, ev.ICount)
			}
			got, seq, err := a.Add(ev)
			if err != nil {
				t.Fatalf("size %d part %d: %v", size, i, err)
			}
			if i < len(evs)-1 {
				if got != nil || !a.Pending() {
					t.Fatalf("size %d: blob after part %d of %d", size, i+1, len(evs))
				}
				continue
			}
			if seq != 7 || !bytes.Equal(got.AppendTo(nil), blob) {
				t.Fatalf("size %d: reassembled %d bytes seq %d", size, got.Len(), seq)
			}
		}
	}
}

func TestSnapshotAssemblerRejects(t *testing.T) {
	blob := bytes.Repeat([]byte("snapshot"), SnapshotPart/4) // two parts
	evs := NewSnapshotEvents(10, 1, blob)
	other := NewSnapshotEvents(10, 2, blob[:100])
	corrupt := NewSnapshotEvents(10, 1, blob)
	corrupt[1].Data = bytes.Clone(corrupt[1].Data)
	corrupt[1].Data[len(corrupt[1].Data)-1] ^= 1
	tests := []struct {
		name string
		evs  []Event
		want string
	}{
		{"missing first part", evs[1:], "out of sequence"},
		{"interleaved", []Event{evs[0], other[0]}, "before snapshot 1 is complete"},
		{"corrupt data", corrupt, "SHA-256"},
		{"other icount", []Event{evs[0], {ICount: 11, Kind: KindSnapshot, Data: evs[1].Data}}, "out of sequence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a SnapshotAssembler
			var err error
			for _, ev := range tt.evs {
				if _, _, err = a.Add(ev); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			// The assembler recovers with the next complete snapshot.
			for _, ev := range other {
				if _, _, err := a.Add(ev); err != nil {
					t.Fatalf("after the error: %v", err)
				}
			}
		})
	}
	if err := (Event{Kind: KindSnapshot, Data: []byte{0, 3, 2}}).Validate(); err == nil || !strings.Contains(err.Error(), "part 3 of 2") {
		t.Errorf("part beyond parts: %v", err)
	}
}

func TestVerifyListsSnapshots(t *testing.T) {
	path := t.TempDir() + "/s.rwd"
	w, err := Create(path, Header{Emulator: "rewind test"})
	if err != nil {
		t.Fatal(err)
	}
	blob := bytes.Repeat([]byte{1, 2, 3}, SnapshotPart) // three parts
	for _, ev := range append(NewSnapshotEvents(100, 0, []byte("first")), NewSnapshotEvents(200, 1, blob)...) {
		if err := w.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(EndInfo{ICount: 300, Clean: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []SnapshotInfo{{Seq: 0, ICount: 100, Bytes: 5}, {Seq: 1, ICount: 200, Bytes: len(blob)}}
	if len(rep.Snapshots) != 2 || rep.Snapshots[0] != want[0] || rep.Snapshots[1] != want[1] {
		t.Errorf("snapshots %+v, want %+v", rep.Snapshots, want)
	}
	var info strings.Builder
	if err := Info(&info, path); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info.String(), "2 embedded") {
		t.Errorf("log info does not list the snapshots:\n%s", info.String())
	}
}

// TestStoredFrame checks that storedFrame makes frames a conforming zstd
// decoder (the reader's, with its memory limit) reads back exactly, at
// every block boundary and at the largest chunk payload.
func TestStoredFrame(t *testing.T) {
	dec, err := zstdDecoder()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 1, maxRawBlock - 1, maxRawBlock, maxRawBlock + 1, 3 * maxRawBlock, MaxChunkData} {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i*7 + i>>9)
		}
		frame := storedFrame([]byte("prefix"), payload)
		if string(frame[:6]) != "prefix" {
			t.Fatalf("size %d: dst's bytes overwritten", size)
		}
		if want := 6 + 9 + 3*max(1, (size+maxRawBlock-1)/maxRawBlock) + size; len(frame) != want {
			t.Errorf("size %d: frame of %d bytes, want %d", size, len(frame), want)
		}
		got, err := dec.DecodeAll(frame[6:], nil)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("size %d: decoded %d bytes that differ from the payload", size, len(got))
		}
		// The same frame from the payload in pieces (as writeStored
		// builds it), cut at and around block boundaries.
		for _, cut := range []int{0, 1, maxRawBlock - 3, maxRawBlock, maxRawBlock + 5, size} {
			cut = min(cut, size)
			segs := [][]byte{payload[:cut], nil, payload[cut:]}
			blocks := max(1, (size+maxRawBlock-1)/maxRawBlock)
			var vec []byte
			for _, b := range appendStoredFrame(nil, make([]byte, 0, storedFrameHead+3*blocks), segs) {
				vec = append(vec, b...)
			}
			if !bytes.Equal(vec, frame[6:]) {
				t.Fatalf("size %d cut at %d: the frame built from pieces differs", size, cut)
			}
		}
	}
}

// TestSnapshotChunksStored checks that Writer.AppendSnapshot writes the
// events NewSnapshotEvents makes, that the writer stores chunks of
// snapshot pieces (compressed already) instead of compressing them again,
// compresses the others, and that both read back.
func TestSnapshotChunksStored(t *testing.T) {
	path := t.TempDir() + "/s.rwd"
	w, err := Create(path, Header{Emulator: "rewind test"})
	if err != nil {
		t.Fatal(err)
	}
	// An event still in memory when the snapshot comes: it must reach
	// the file first.
	before := NewSerialInput(100, 0, []byte("before"))
	if err := w.Append(before); err != nil {
		t.Fatal(err)
	}
	// Compressible, yet stored; three parts, the last one short.
	blob := bytes.Repeat([]byte{1, 2, 3}, SnapshotPart)[:3*SnapshotPart-777]
	evs := append([]Event{before}, NewSnapshotEvents(200, 0, blob)...)
	if err := w.AppendSnapshot(200, 0, blob); err != nil {
		t.Fatal(err)
	}
	clear(blob) // the caller may reuse it at once
	input := NewSerialInput(300, 0, bytes.Repeat([]byte("x"), 1000))
	if err := w.Append(input); err != nil {
		t.Fatal(err)
	}
	if err := w.AppendSnapshot(299, 1, nil); err == nil {
		t.Error("AppendSnapshot accepted an icount below the last event's")
	}
	evs = append(evs, input)
	if err := w.Close(EndInfo{ICount: 300, Clean: true}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, spans := layout(t, data)
	stored := 0
	for _, s := range spans {
		// The frame header descriptor of a stored frame (storedFrame).
		if data[s.start+ChunkHeaderSize+4] == 2<<6|1<<5 {
			stored++
		}
	}
	if stored != len(evs)-2 {
		t.Errorf("%d stored chunks, want one per snapshot piece (%d) of %d chunks", stored, len(evs)-2, len(spans))
	}
	if size := int64(len(data)); size < int64(len(blob)) {
		t.Errorf("file of %d bytes holds a snapshot of %d: pieces compressed again", size, len(blob))
	}
	got, _, err := readBytes(data)
	if err != io.EOF {
		t.Fatalf("reading back: %v", err)
	}
	if len(got) != len(evs) {
		t.Fatalf("read %d events, want %d", len(got), len(evs))
	}
	for i, ev := range evs {
		if got[i].ICount != ev.ICount || got[i].Kind != ev.Kind || !bytes.Equal(got[i].Data, ev.Data) {
			t.Fatalf("event %d differs after reading back", i)
		}
	}
}

// TestWriterSyncsAsItGoes checks that a large recording is fsynced while
// it is written, every syncEvery bytes, not only at Close.
func TestWriterSyncsAsItGoes(t *testing.T) {
	w, err := Create(t.TempDir()+"/s.rwd", Header{Emulator: "rewind test"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(EndInfo{})
	start := w.synced
	if err := w.AppendSnapshot(1, 0, make([]byte, syncEvery/2)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	w.writeMu.Lock()
	synced := w.synced
	w.writeMu.Unlock()
	if synced != start {
		t.Fatalf("fsynced at byte %d after writing only %d bytes", synced, syncEvery/2)
	}
	if err := w.AppendSnapshot(2, 1, make([]byte, syncEvery)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	w.writeMu.Lock()
	synced, off := w.synced, w.off
	w.writeMu.Unlock()
	if synced == start || off-synced >= syncEvery {
		t.Fatalf("%d bytes written, the last fsync at byte %d", off, synced)
	}
}

// skipBytes is how writev resumes after a short write.
func TestSkipBytes(t *testing.T) {
	join := func(vec [][]byte) string { return string(bytes.Join(vec, nil)) }
	for n := 0; n <= 9; n++ {
		vec := [][]byte{[]byte("abc"), nil, []byte("de"), []byte("fghi")}
		if got, want := join(skipBytes(vec, n)), "abcdefghi"[n:]; got != want {
			t.Errorf("skip %d: %q, want %q", n, got, want)
		}
	}
}
