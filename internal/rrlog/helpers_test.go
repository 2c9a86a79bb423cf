package rrlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/zstd"
)

// eventOpts compares events, treating nil and empty payloads alike.
var eventOpts = cmp.Options{cmpopts.EquateEmpty()}

// testHeader is a header with every field set.
func testHeader() Header {
	return Header{
		Emulator: "rewind 0.1.0-test",
		Created:  "2025-01-02T03:04:05Z",
		Config:   json.RawMessage(`{"ram_size":268435456,"append":"console=ttyS0"}`),
		Images: []Image{
			{Role: "firmware", Path: "fw_jump.bin", Size: 262144, SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte("fw")))},
			{Role: "kernel", Path: "Image", Size: 20 << 20, SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte("kernel"))), Embedded: true},
		},
		ICountShift:   3,
		RTCBaseUnixNs: 1735689600_000000000,
		SelfContained: true,
	}
}

// mustDigest builds a digest event or fails the test.
func mustDigest(t testing.TB, icount uint64, d Digest) Event {
	t.Helper()
	ev, err := NewDigest(icount, d)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// sampleDigest is a digest with components and pages.
func sampleDigest() Digest {
	return Digest{
		Sum: sha256.Sum256([]byte("state")),
		Components: []ComponentDigest{
			{Name: "hart", Sum: sha256.Sum256([]byte("hart"))},
			{Name: "clint", Sum: sha256.Sum256([]byte("clint"))},
			{Name: "ram", Sum: sha256.Sum256([]byte("ram"))},
		},
		Pages: []PageHash{{Page: 0x80000, Hash: 0x1122334455667788}, {Page: 0x80001, Hash: 1}, {Page: 0x80200, Hash: 0xffffffffffffffff}},
	}
}

// sampleEvents has every kind at least once, in icount order.
func sampleEvents(t testing.TB) []Event {
	return []Event{
		NewImageData(0, ImageData{Role: "kernel", Offset: 0, Data: []byte("\x7fELF kernel bytes")}),
		NewImageData(0, ImageData{Role: "kernel", Offset: 65536, Data: []byte("more")}),
		NewSerialInput(81234567, 0, []byte("uname -a\n")),
		NewSerialInput(81234567, 1, []byte{0, 0xff, '"'}),
		NewBlockComplete(85000000, BlockComplete{Device: 0, Request: 17, Status: 0}),
		NewBlockComplete(85000100, BlockComplete{Device: 1, Request: 1 << 40, Status: 1, Data: bytes.Repeat([]byte{0xab}, 512)}),
		NewWarp(90000000, 12_500_000),
		mustDigest(t, 100000000, sampleDigest()),
		mustDigest(t, 100000001, Digest{}),
		NewShutdown(123456789, ShutdownInterrupt),
	}
}

// writeFile records evs at path and closes with end.
func writeFile(t testing.TB, path string, h Header, evs []Event, end EndInfo, opts ...Option) {
	t.Helper()
	w, err := Create(path, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := w.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(end); err != nil {
		t.Fatal(err)
	}
}

// recordBytes records evs into a temp file and returns its bytes.
func recordBytes(t testing.TB, evs []Event, opts ...Option) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.rwd")
	opts = append([]Option{WithFlushInterval(time.Hour)}, opts...)
	writeFile(t, path, testHeader(), evs, EndInfo{Clean: true, Reason: "guest poweroff"}, opts...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readAll returns every event until the reader's terminal error.
func readAll(r *Reader) ([]Event, error) {
	var evs []Event
	for {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// readBytes opens data as a recording and reads it to the end.
func readBytes(data []byte) ([]Event, *Reader, error) {
	r, err := OpenReader(bytes.NewReader(data), int64(len(data)), "t.rwd")
	if err != nil {
		return nil, nil, err
	}
	evs, err := readAll(r)
	return evs, r, err
}

// span is one chunk of a file, found by walking the framing directly.
type span struct {
	start, end int64
	events     int
}

// layout returns the header length and the chunks of a well-formed file.
func layout(t testing.TB, data []byte) (int64, []span) {
	t.Helper()
	hlen := int64(HeaderPrefixSize + binary.LittleEndian.Uint32(data[10:]))
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var spans []span
	for off := hlen; off < int64(len(data)); {
		if string(data[off:off+4]) != "CHNK" {
			t.Fatalf("no chunk magic at %d", off)
		}
		n := int64(binary.LittleEndian.Uint32(data[off+4:]))
		raw, err := dec.DecodeAll(data[off+12:off+12+n], nil)
		if err != nil {
			t.Fatal(err)
		}
		_, k := binary.Uvarint(raw)
		count, _ := binary.Uvarint(raw[k:])
		spans = append(spans, span{start: off, end: off + 12 + n, events: int(count)})
		off += 12 + n
	}
	return hlen, spans
}

// chunkPayload encodes events as an uncompressed chunk payload, without
// any of the writer's checks (for crafting bad files).
func chunkPayload(first uint64, evs []Event) []byte {
	b := putUvarint(nil, first)
	b = putUvarint(b, uint64(len(evs)))
	prev := first
	for _, ev := range evs {
		b = putUvarint(b, ev.ICount-prev)
		b = append(b, byte(ev.Kind))
		b = putUvarint(b, uint64(len(ev.Data)))
		b = append(b, ev.Data...)
		prev = ev.ICount
	}
	return b
}

// craft builds a file from a header and raw chunk payloads.
func craft(t testing.TB, h Header, payloads ...[]byte) []byte {
	t.Helper()
	h.FormatVersion = FormatVersion
	out, err := encodeHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	for _, p := range payloads {
		out = frameChunk(out, enc, p)
	}
	return out
}

// endEvent is the End record for evs as the writer would produce it.
func endEvent(evs []Event, e EndInfo) Event {
	e.ByKind = map[Kind]uint64{}
	e.Events = uint64(len(evs))
	for _, ev := range evs {
		e.ByKind[ev.Kind]++
		if ev.Kind == KindWarp {
			ns, _ := ev.Warp()
			e.WarpNs += ns
		}
		e.ICount = max(e.ICount, ev.ICount)
	}
	return Event{ICount: e.ICount, Kind: KindEnd, Data: encodeEnd(e)}
}

// asTruncated returns err as a *TruncatedError or fails.
func asTruncated(t testing.TB, err error) *TruncatedError {
	t.Helper()
	var te *TruncatedError
	if !errors.As(err, &te) {
		t.Fatalf("got error %v (%T), want *TruncatedError", err, err)
	}
	return te
}

// diffEvents is cmp.Diff for event lists, with a fast path for the many
// comparisons of the truncation and bit-flip tests.
func diffEvents(want, got []Event) string {
	if len(want) == len(got) {
		same := true
		for i := range want {
			if want[i].ICount != got[i].ICount || want[i].Kind != got[i].Kind || !bytes.Equal(want[i].Data, got[i].Data) {
				same = false
				break
			}
		}
		if same {
			return ""
		}
	}
	return cmp.Diff(want, got, eventOpts)
}
