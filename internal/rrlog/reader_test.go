package rrlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"testing"
)

// smallFile is a recording of a few dozen events in several chunks.
func smallFile(t *testing.T) ([]Event, []byte) {
	t.Helper()
	evs := manyEvents(t, 40)
	return evs, recordBytes(t, evs, WithChunkSize(120))
}

// TestTruncateEveryOffset cuts a multi-chunk file at every byte offset:
// the reader returns exactly the events of the complete chunks, then a
// *TruncatedError naming the offset where the readable part ends.
func TestTruncateEveryOffset(t *testing.T) {
	evs, data := smallFile(t)
	hlen, spans := layout(t, data)
	if len(spans) < 5 {
		t.Fatalf("only %d chunks; want a multi-chunk file", len(spans))
	}
	for cut := 0; cut <= len(data); cut++ {
		got, r, err := readBytes(data[:cut])
		if int64(cut) < hlen {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("cut %d inside the header: %v (%T), want *HeaderError", cut, err, err)
			}
			if cut < len(Magic) && !errors.Is(err, ErrNotRecording) {
				t.Fatalf("cut %d: %v, want ErrNotRecording", cut, err)
			}
			continue
		}
		if cut == len(data) {
			if err != io.EOF || len(got) != len(evs) {
				t.Fatalf("whole file: %d events, %v", len(got), err)
			}
			continue
		}
		complete, nev, boundary := 0, 0, hlen
		for _, s := range spans {
			if s.end <= int64(cut) {
				complete++
				nev += s.events
				boundary = s.end
			}
		}
		if complete == len(spans) {
			complete-- // the End chunk holds the End record, not an event
			nev--
		}
		if diff := diffEvents(evs[:nev], got); diff != "" {
			t.Fatalf("cut %d: events (-want +got):\n%s", cut, diff)
		}
		te := asTruncated(t, err)
		wantReason := TruncShortChunk
		if int64(cut) == boundary {
			wantReason = TruncNoEnd
		}
		var wantIC uint64
		if nev > 0 {
			wantIC = evs[nev-1].ICount
		}
		if te.Offset != boundary || te.Chunk != complete || te.Events != uint64(nev) || te.ICount != wantIC || te.Reason != wantReason {
			t.Fatalf("cut %d: %+v; want offset %d, chunk %d, %d events, icount %d, %v",
				cut, te, boundary, complete, nev, wantIC, wantReason)
		}
		if !strings.Contains(te.Error(), "t.rwd: chunk ") {
			t.Fatalf("cut %d: message %q lacks file and chunk", cut, te.Error())
		}
		if _, ok := r.End(); ok {
			t.Fatalf("cut %d: End() ok on a truncated file", cut)
		}
	}
}

// TestBitFlips flips every bit of a small file. In a chunk, the reader
// returns the events before that chunk and an error naming it; in the
// header, Open fails.
func TestBitFlips(t *testing.T) {
	evs, data := smallFile(t)
	hlen, spans := layout(t, data)
	buf := make([]byte, len(data))
	for i := range data {
		for bit := range 8 {
			copy(buf, data)
			buf[i] ^= 1 << bit
			got, _, err := readBytes(buf)
			if int64(i) < hlen {
				var he *HeaderError
				var ve *VersionError
				if !errors.As(err, &he) && !errors.As(err, &ve) {
					t.Fatalf("flip byte %d bit %d in the header: %v (%T)", i, bit, err, err)
				}
				continue
			}
			k, nev := 0, 0
			for k < len(spans) && spans[k].end <= int64(i) {
				nev += spans[k].events
				k++
			}
			te := asTruncated(t, err)
			if te.Chunk != k || te.Offset != spans[k].start {
				t.Fatalf("flip byte %d bit %d (chunk %d at %d): error names chunk %d at %d: %v", i, bit, k, spans[k].start, te.Chunk, te.Offset, err)
			}
			if diff := diffEvents(evs[:min(nev, len(evs))], got); diff != "" {
				t.Fatalf("flip byte %d bit %d: events (-want +got):\n%s", i, bit, diff)
			}
			off := int64(i) - spans[k].start
			switch {
			case off < 4 && te.Reason != TruncBadMagic:
				t.Fatalf("flip in magic: %v", err)
			case off >= 8 && te.Reason != TruncBadCRC:
				t.Fatalf("flip byte %d bit %d in CRC or payload: %v, want CRC mismatch", i, bit, err)
			}
		}
	}
}

// TestCRCErrorMessage checks the full message for a damaged chunk.
func TestCRCErrorMessage(t *testing.T) {
	evs, data := smallFile(t)
	_, spans := layout(t, data)
	data[spans[2].start+20] ^= 0x10
	_, _, err := readBytes(data)
	nev := spans[0].events + spans[1].events
	want := "t.rwd: chunk 2 at byte " + itoa(spans[2].start) + " (icount " + utoa(evs[nev-1].ICount) +
		"): CRC mismatch (stored 0x"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "recording truncated: readable up to icount") {
		t.Errorf("error = %v\nwant prefix %s", err, want)
	}
}

func itoa(v int64) string    { return strconv.FormatInt(v, 10) }
func utoa(v uint64) string   { return strconv.FormatUint(v, 10) }
func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func TestHeaderErrors(t *testing.T) {
	_, good := smallFile(t)
	withVersion := func(v uint16) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint16(b[8:], v)
		return b
	}
	badCRC := bytes.Clone(good)
	badCRC[HeaderPrefixSize+3] ^= 1
	bigLen := bytes.Clone(good)
	binary.LittleEndian.PutUint32(bigLen[10:], MaxHeaderSize+1)
	tests := []struct {
		name string
		data []byte
		want string
		is   error
	}{
		{"empty", nil, `t.rwd: header at byte 0: not a rewind recording (file starts with "", want "RWNDLOG\n")`, ErrNotRecording},
		{"zip", []byte("PK\x03\x04 some zip file"), `t.rwd: header at byte 0: not a rewind recording (file starts with "PK\x03\x04 som"`, ErrNotRecording},
		{"magic-only", []byte(Magic), "t.rwd: header at byte 8: file is only 8 bytes: it ends inside the header", nil},
		{"newer", withVersion(7), "t.rwd: recording format version 7 is newer than this rewind (supports up to 1); upgrade rewind", nil},
		{"newer-garbage", append([]byte(Magic), 7, 0), "t.rwd: recording format version 7 is newer than this rewind (supports up to 1); upgrade rewind", nil},
		{"version-zero", withVersion(0), "t.rwd: header at byte 8: format version 0 is not a valid version", nil},
		{"crc", badCRC, "t.rwd: header at byte 14: header CRC mismatch (stored 0x", nil},
		{"length", bigLen, "t.rwd: header at byte 10: header length 4194305 exceeds the limit", nil},
		{"short-body", good[:HeaderPrefixSize+5], "t.rwd: header at byte 18: file ends inside the header (5 of ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenReader(bytes.NewReader(tt.data), int64(len(tt.data)), "t.rwd")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant prefix %s", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error does not wrap %v", tt.is)
			}
		})
	}
	t.Run("version-error-type", func(t *testing.T) {
		_, err := OpenReader(bytes.NewReader(withVersion(7)), int64(len(good)), "")
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Version != 7 || ve.Supported != FormatVersion {
			t.Fatalf("error = %#v, want *VersionError{7, 1}", err)
		}
	})
}

// TestHeaderJSON: unknown fields are ignored (forward-compatible); a body
// that is not JSON, or disagrees with the version field, is rejected.
func TestHeaderJSON(t *testing.T) {
	mk := func(body string) []byte {
		b := make([]byte, HeaderPrefixSize, HeaderPrefixSize+len(body))
		copy(b, Magic)
		binary.LittleEndian.PutUint16(b[8:], FormatVersion)
		binary.LittleEndian.PutUint32(b[10:], uint32(len(body)))
		b = append(b, body...)
		binary.LittleEndian.PutUint32(b[14:], headerCRC(b[8:14], []byte(body)))
		return b
	}
	data := mk(`{"format_version":1,"emulator":"x","future_field":[1,2]}`)
	if _, err := OpenReader(bytes.NewReader(data), 0, "t.rwd"); err == nil {
		t.Fatalf("size 0 accepted")
	}
	r, err := OpenReader(bytes.NewReader(data), int64(len(data)), "t.rwd")
	if err != nil {
		t.Fatalf("unknown header field: %v", err)
	}
	if r.Header().Emulator != "x" {
		t.Errorf("Emulator = %q", r.Header().Emulator)
	}
	for _, body := range []string{`{"format_version":1`, `{"format_version":2}`, `[]`} {
		data := mk(body)
		if _, err := OpenReader(bytes.NewReader(data), int64(len(data)), "t.rwd"); err == nil {
			t.Errorf("header %s accepted", body)
		}
	}
}

// TestBadContents: chunks that pass their CRC but break the rules.
func TestBadContents(t *testing.T) {
	h := testHeader()
	w1, w2 := NewWarp(100, 5), NewWarp(200, 6)
	good := chunkPayload(100, []Event{w1, w2})
	end := endEvent([]Event{w1, w2}, EndInfo{Clean: true})
	early := end
	early.ICount = 150
	tests := []struct {
		name     string
		payloads [][]byte
		events   int    // events returned before the error
		want     string // substring of the error; "" means io.EOF
	}{
		{"good", [][]byte{good, chunkPayload(end.ICount, []Event{end})}, 2, ""},
		{"no-events", [][]byte{chunkPayload(5, nil)}, 0, "chunk holds no events"},
		{"icount-goes-back", [][]byte{good, chunkPayload(150, []Event{NewWarp(150, 1)})}, 2, "chunk starts at icount 150, before the previous chunk's last event at icount 200"},
		{"first-icount-goes-back", [][]byte{good, chunkPayload(150, []Event{NewWarp(250, 1)})}, 2, "chunk starts at icount 150, before the previous chunk's last event at icount 200"},
		{"end-before-last-event", [][]byte{good, chunkPayload(150, []Event{early})}, 2, "(icount 200): end record at icount 150 is before the last event (warp at icount 200)"},
		{"kind-zero", [][]byte{chunkPayload(1, []Event{{ICount: 1, Kind: 0}})}, 0, "kind 0 is invalid"},
		{"payload-past-end", [][]byte{good[:len(good)-1]}, 0, "payload: needs 1 bytes"},
		{"trailing", [][]byte{append(bytes.Clone(good), 0)}, 0, "1 unexpected bytes"},
		{"end-shares-chunk", [][]byte{chunkPayload(100, []Event{w1, w2, end})}, 0, "end record shares its chunk with 2 other events"},
		{"end-in-middle", [][]byte{chunkPayload(100, []Event{w1, {ICount: 150, Kind: KindEnd, Data: end.Data}, w2})}, 0, "end record in the middle"},
		{"end-count", [][]byte{good, chunkPayload(200, []Event{endEvent([]Event{w1}, EndInfo{ICount: 200})})}, 2, "end record counts 1 events, the chunks hold 2"},
		{"end-kind-count", [][]byte{chunkPayload(100, []Event{w1, NewSerialInput(200, 0, nil)}), chunkPayload(200, []Event{endEvent([]Event{w1, w2}, EndInfo{})})}, 2, "end record counts 0 serial-input events, the chunks hold 1"},
		{"end-warp", [][]byte{good, chunkPayload(200, []Event{endEvent([]Event{w1, NewWarp(200, 7)}, EndInfo{})})}, 2, "end record totals 12 ns of warp, the chunks hold 11"},
		{"end-malformed", [][]byte{chunkPayload(1, []Event{{ICount: 1, Kind: KindEnd, Data: []byte{9}}})}, 0, "end record: unknown flags"},
		{"unknown-kind-passes", [][]byte{chunkPayload(1, []Event{{ICount: 1, Kind: 0x42, Data: []byte{1}}}), chunkPayload(1, []Event{endEvent([]Event{{ICount: 1, Kind: 0x42}}, EndInfo{})})}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := readBytes(craft(t, h, tt.payloads...))
			if len(got) != tt.events {
				t.Errorf("%d events before the error, want %d", len(got), tt.events)
			}
			if tt.want == "" {
				if err != io.EOF {
					t.Fatalf("error = %v, want io.EOF", err)
				}
				return
			}
			te := asTruncated(t, err)
			if te.Reason != TruncBadContents || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v (%v), want bad contents containing %q", err, te.Reason, tt.want)
			}
		})
	}
}

// TestCorruptZstd: a chunk whose CRC matches but whose payload is not
// zstd is a compression error.
func TestCorruptZstd(t *testing.T) {
	data := craft(t, testHeader())
	payload := []byte("definitely not zstd")
	hb := make([]byte, ChunkHeaderSize)
	copy(hb, chunkMagic)
	binary.LittleEndian.PutUint32(hb[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hb[8:], crc32c(payload))
	data = append(append(data, hb...), payload...)
	_, _, err := readBytes(data)
	if te := asTruncated(t, err); te.Reason != TruncBadCompression || !strings.Contains(err.Error(), "zstd: ") {
		t.Fatalf("error = %v, want zstd error", err)
	}
}

// TestTrailingDataAfterEnd: bytes after a valid End record are an error
// of the Reader itself (so replay and Verify report the same), returned
// after every event; the End record stays available.
func TestTrailingDataAfterEnd(t *testing.T) {
	_, data := smallFile(t)
	size := len(data)
	data = append(data, "junk"...)
	got, r, err := readBytes(data)
	if len(got) != 40 {
		t.Fatalf("%d events, want all 40", len(got))
	}
	te := asTruncated(t, err)
	end, ok := r.End()
	if te.Reason != TruncTrailingData || te.Offset != int64(size) || te.Events != 40 || !ok || te.ICount != end.ICount {
		t.Fatalf("error %+v, end %v %v", te, end, ok)
	}
	want := fmt.Sprintf("t.rwd: byte %d: 4 bytes of unexpected data after the end record; the recording before it is complete (%d chunks, 40 events, up to icount %d), but the file was appended to or damaged", size, te.Chunk, end.ICount)
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Errorf("error not sticky: %v", err2)
	}
}

// TestPosition: the reader says in which chunk the last event returned
// is stored.
func TestPosition(t *testing.T) {
	_, data := smallFile(t)
	_, spans := layout(t, data)
	r, err := OpenReader(bytes.NewReader(data), int64(len(data)), "t.rwd")
	if err != nil {
		t.Fatal(err)
	}
	for ci, sp := range spans[:len(spans)-1] {
		for range sp.events {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
			if p := r.Position(); p.Chunk != ci || p.Offset != sp.start || p.File != "t.rwd" {
				t.Fatalf("position %+v, want chunk %d at byte %d", p, ci, sp.start)
			}
		}
	}
	if s := (Position{File: "a.rwd", Chunk: 3, Offset: 4567}).String(); s != "a.rwd: chunk 3 at byte 4567" {
		t.Errorf("String() = %q", s)
	}
}

func TestTruncReasonString(t *testing.T) {
	if TruncBadCRC.String() != "CRC mismatch" || TruncReason(99).String() != "TruncReason(99)" {
		t.Errorf("String: %q %q", TruncBadCRC, TruncReason(99))
	}
}
