package rrlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTripEveryKind(t *testing.T) {
	evs := sampleEvents(t)
	path := filepath.Join(t.TempDir(), "run.rwd")
	writeFile(t, path, testHeader(), evs, EndInfo{ICount: 200000000, Clean: true, Reason: "guest poweroff"})

	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wantHdr := testHeader()
	wantHdr.FormatVersion = FormatVersion
	if diff := cmp.Diff(wantHdr, r.Header()); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if _, ok := r.End(); ok {
		t.Errorf("End() ok before the end was read")
	}
	got, err := readAll(r)
	if err != io.EOF {
		t.Fatalf("reading: %v, want io.EOF", err)
	}
	if diff := diffEvents(evs, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	for _, ev := range got {
		if _, err := decodeAny(ev); err != nil {
			t.Error(err)
		}
	}
	end, ok := r.End()
	if !ok {
		t.Fatal("no End record")
	}
	wantEnd := EndInfo{
		ICount: 200000000, Clean: true, Reason: "guest poweroff", Events: uint64(len(evs)), WarpNs: 12_500_000,
		ByKind: map[Kind]uint64{KindImageData: 2, KindSerialInput: 2, KindBlockComplete: 2, KindWarp: 1, KindDigest: 2, KindShutdown: 1},
	}
	if diff := cmp.Diff(wantEnd, end); diff != "" {
		t.Errorf("End (-want +got):\n%s", diff)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the end: %v, want io.EOF again", err)
	}
}

// manyEvents returns n events of mixed kinds with irregular icount gaps.
func manyEvents(t testing.TB, n int) []Event {
	evs := make([]Event, 0, n)
	var ic uint64
	for i := range n {
		ic += uint64(i%7) * 1013
		switch i % 5 {
		case 0:
			evs = append(evs, NewSerialInput(ic, i%2, []byte(fmt.Sprintf("line %d\n", i))))
		case 1:
			evs = append(evs, NewWarp(ic, uint64(i)*1000))
		case 2:
			evs = append(evs, NewBlockComplete(ic, BlockComplete{Device: i % 3, Request: uint64(i), Status: byte(i % 2)}))
		case 3:
			d := Digest{Sum: [32]byte{byte(i)}, Components: []ComponentDigest{{Name: "hart", Sum: [32]byte{byte(i >> 8)}}}}
			for p := range i % 4 {
				d.Pages = append(d.Pages, PageHash{Page: uint64(p * 3), Hash: uint64(i)})
			}
			evs = append(evs, mustDigest(t, ic, d))
		case 4:
			evs = append(evs, NewShutdown(ic, ShutdownReason(i%8)))
		}
	}
	return evs
}

func TestManyEventsManyChunks(t *testing.T) {
	for _, chunkSize := range []int{1, 100, 4096, DefaultChunkSize} {
		t.Run(fmt.Sprint(chunkSize), func(t *testing.T) {
			evs := manyEvents(t, 5000)
			data := recordBytes(t, evs, WithChunkSize(chunkSize))
			got, r, err := readBytes(data)
			if err != io.EOF {
				t.Fatalf("reading: %v", err)
			}
			if diff := diffEvents(evs, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
			_, spans := layout(t, data)
			if r.chunks != len(spans) {
				t.Errorf("reader counted %d chunks, file has %d", r.chunks, len(spans))
			}
			if chunkSize == 1 && len(spans) != len(evs)+1 {
				t.Errorf("chunk size 1: %d chunks for %d events, want one each plus the end", len(spans), len(evs))
			}
			if chunkSize == 100 && len(spans) < 100 {
				t.Errorf("chunk size 100: only %d chunks", len(spans))
			}
			if chunkSize == DefaultChunkSize && len(spans) != 2 {
				t.Errorf("default chunk size: %d chunks, want 2 (events + end)", len(spans))
			}
		})
	}
}

func TestAppendRejects(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "run.rwd"), testHeader())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(NewWarp(100, 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(NewWarp(100, 1)); err != nil {
		t.Fatalf("equal icount rejected: %v", err)
	}
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"decreasing", NewSerialInput(99, 0, []byte("x")), "serial-input event at icount 99 after an event at icount 100: icounts must not decrease"},
		{"end-kind", Event{ICount: 200, Kind: KindEnd, Data: encodeEnd(EndInfo{})}, "cannot append an event of kind end"},
		{"unknown-kind", Event{ICount: 200, Kind: 0x42}, "cannot append an event of kind kind-0x42"},
		{"zero-kind", Event{ICount: 200}, "cannot append an event of kind kind-0x00"},
		{"malformed", Event{ICount: 200, Kind: KindWarp}, "warp event at icount 200: ns: payload ends inside a varint"},
		{"too-big", NewSerialInput(200, 0, make([]byte, MaxEventData)), "exceeds the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.Append(tt.ev)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Append = %v, want error containing %q", err, tt.want)
			}
		})
	}
	if err := w.Close(EndInfo{Clean: true}); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(NewWarp(300, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if err := w.Close(EndInfo{}); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}
}

// TestFlushWithoutClose is the crash-safety contract in-process: an
// appended event is in the file, readable by another reader, within the
// flush interval, without Close.
func TestFlushWithoutClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.rwd")
	w, err := Create(path, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	ev := NewSerialInput(42, 0, []byte("hello\n"))
	if err := w.Append(ev); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	time.Sleep(time.Until(deadline))

	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(r)
	r.Close()
	if diff := cmp.Diff([]Event{ev}, got, eventOpts); diff != "" {
		t.Errorf("events readable before Close (-want +got):\n%s", diff)
	}
	te := asTruncated(t, err)
	if te.Reason != TruncNoEnd || te.Chunk != 1 || te.Events != 1 || te.ICount != 42 {
		t.Errorf("truncation = %+v, want no end after 1 chunk, 1 event, icount 42", te)
	}

	// A second event goes into a second chunk, also without Close.
	ev2 := NewWarp(50, 7)
	if err := w.Append(ev2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	r, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err = readAll(r)
	r.Close()
	if diff := cmp.Diff([]Event{ev, ev2}, got, eventOpts); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	asTruncated(t, err)

	if err := w.Close(EndInfo{Clean: true}); err != nil {
		t.Fatal(err)
	}
	r, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := readAll(r); err != io.EOF {
		t.Errorf("after Close: %v, want io.EOF", err)
	}
}

func TestFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.rwd")
	w, err := Create(path, testHeader(), WithFlushInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(EndInfo{})
	ev := NewWarp(1, 2)
	if err := w.Append(ev); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := readBytes(data)
	if diff := cmp.Diff([]Event{ev}, got, eventOpts); diff != "" {
		t.Errorf("events after Flush (-want +got):\n%s", diff)
	}
	asTruncated(t, err)
}

func TestEndICount(t *testing.T) {
	tests := []struct {
		name string
		end  uint64
		want uint64
	}{
		{"zero-means-last-event", 0, 500},
		{"below-last-event", 10, 500},
		{"after-last-event", 9000, 9000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := recordBytesEnd(t, []Event{NewWarp(500, 1)}, EndInfo{ICount: tt.end})
			_, r, err := readBytes(data)
			if err != io.EOF {
				t.Fatal(err)
			}
			e, _ := r.End()
			if e.ICount != tt.want || e.Clean {
				t.Errorf("End = %+v, want icount %d, not clean", e, tt.want)
			}
		})
	}
	// An empty recording is complete too.
	data := recordBytesEnd(t, nil, EndInfo{Clean: true})
	got, r, err := readBytes(data)
	if err != io.EOF || len(got) != 0 {
		t.Fatalf("empty recording: %d events, %v", len(got), err)
	}
	if e, ok := r.End(); !ok || !e.Clean || e.Events != 0 {
		t.Errorf("empty recording End = %+v, %v", e, ok)
	}
}

func recordBytesEnd(t *testing.T, evs []Event, end EndInfo) []byte {
	path := filepath.Join(t.TempDir(), "run.rwd")
	writeFile(t, path, testHeader(), evs, end)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestAppendImage(t *testing.T) {
	img := make([]byte, 2*MaxImagePiece+100)
	for i := range img {
		img[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "run.rwd")
	w, err := Create(path, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AppendImage(0, "kernel", img); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(EndInfo{Clean: true}); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []byte
	n := 0
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p, err := ev.ImageData()
		if err != nil {
			t.Fatal(err)
		}
		if p.Role != "kernel" || p.Offset != uint64(len(got)) {
			t.Fatalf("piece %d: role %q offset %d, want kernel at %d", n, p.Role, p.Offset, len(got))
		}
		got = append(got, p.Data...)
		n++
	}
	if n != 3 || !bytes.Equal(got, img) {
		t.Errorf("got %d pieces, %d bytes; want 3 pieces, the image", n, len(got))
	}
}

// TestWriteErrorIsSticky: a failed write stops the writer; Append and
// Close report the error and the file keeps its readable prefix.
func TestWriteErrorIsSticky(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.rwd")
	w, err := Create(path, testHeader(), WithFlushInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(NewWarp(1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	w.f.Close() // the next write fails
	if err := w.Append(NewWarp(2, 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "writing chunk 1 at byte") {
		t.Fatalf("Flush after the file was closed: %v", err)
	}
	if err := w.Append(NewWarp(3, 1)); err == nil {
		t.Errorf("Append after a write error succeeded")
	}
	if err := w.Close(EndInfo{}); err == nil {
		t.Errorf("Close after a write error succeeded")
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(r)
	if len(got) != 1 {
		t.Errorf("readable prefix has %d events, want 1", len(got))
	}
	asTruncated(t, err)
}

func TestCreateErrors(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "no", "such", "dir", "run.rwd"), testHeader()); err == nil {
		t.Error("Create in a missing directory succeeded")
	}
	h := testHeader()
	h.Config = []byte("{not json")
	if _, err := Create(filepath.Join(t.TempDir(), "run.rwd"), h); err == nil || !strings.Contains(err.Error(), "encoding header") {
		t.Errorf("Create with a bad config: %v", err)
	}
}

func TestCreatedDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.rwd")
	h := testHeader()
	h.Created = ""
	writeFile(t, path, h, nil, EndInfo{})
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := time.Parse(time.RFC3339, r.Header().Created); err != nil {
		t.Errorf("Created = %q: %v", r.Header().Created, err)
	}
}

// TestConcurrentAppend: Append from one goroutine while the flush loop
// writes chunks (run with -race).
func TestConcurrentAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.rwd")
	w, err := Create(path, testHeader(), WithChunkSize(512), WithFlushInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	evs := manyEvents(t, 3000)
	for i, ev := range evs {
		if err := w.Append(ev); err != nil {
			t.Fatal(err)
		}
		if i%500 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	if err := w.Close(EndInfo{Clean: true}); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(r)
	if err != io.EOF {
		t.Fatal(err)
	}
	if diff := diffEvents(evs, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
