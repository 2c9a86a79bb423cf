package rrlog

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzReader feeds random bytes to the reader as a whole file: it must
// return errors, never panic, and stop.
func FuzzReader(f *testing.F) {
	evs := manyEvents(f, 30)
	good := recordBytes(f, evs, WithChunkSize(200))
	f.Add(good)
	f.Add(good[:len(good)/2])
	// Snapshot parts go into chunks stored as raw zstd blocks.
	last := evs[len(evs)-1].ICount
	snap := NewSnapshotEvents(last, 0, bytes.Repeat([]byte("snapshot"), 40))
	f.Add(recordBytes(f, append(slices.Clone(evs[:4]), snap...), WithChunkSize(200)))
	f.Add(good[:HeaderPrefixSize+3])
	f.Add([]byte(Magic))
	f.Add([]byte{})
	odd := Event{ICount: 7, Kind: 0x42, Data: []byte{1}}
	f.Add(craft(f, Header{}, chunkPayload(7, []Event{odd, NewWarp(9, 1)}), chunkPayload(9, []Event{endEvent([]Event{odd, NewWarp(9, 1)}, EndInfo{Clean: true})})))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := OpenReader(bytes.NewReader(data), int64(len(data)), "fuzz.rwd")
		if err != nil {
			if r != nil {
				t.Fatal("OpenReader returned a reader and an error")
			}
			return
		}
		if err := dump(io.Discard, r); err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
		r2, err := OpenReader(bytes.NewReader(data), int64(len(data)), "fuzz.rwd")
		if err != nil {
			t.Fatalf("second open failed: %v", err)
		}
		var rep Report
		scan(r2, &rep, nil)
		var buf bytes.Buffer
		if err := writeInfo(&buf, "fuzz.rwd", &rep); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzEventDecode runs every payload parser on random bytes: no panics,
// Validate agrees with the accessor, and whatever decodes re-encodes to a
// payload that decodes the same.
func FuzzEventDecode(f *testing.F) {
	for _, ev := range sampleEvents(f) {
		f.Add(byte(ev.Kind), ev.Data)
	}
	f.Add(byte(KindEnd), encodeEnd(EndInfo{Clean: true, Events: 5, WarpNs: 3, ByKind: map[Kind]uint64{KindWarp: 2, KindDigest: 3}, Reason: "x"}))
	f.Add(byte(KindDigest), []byte{})
	f.Add(byte(0x42), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		ev := Event{ICount: 1, Kind: Kind(kind), Data: data}
		verr := ev.Validate()
		_ = ev.String()
		got, err := decodeAny(ev)
		if (verr == nil) != (err == nil) {
			t.Fatalf("Validate = %v but accessor = %v", verr, err)
		}
		if err != nil {
			return
		}
		var again Event
		switch v := got.(type) {
		case serial:
			again = NewSerialInput(1, v.Port, v.Data)
		case BlockComplete:
			again = NewBlockComplete(1, v)
		case uint64:
			again = NewWarp(1, v)
		case ShutdownReason:
			again = NewShutdown(1, v)
		case Digest:
			again, err = NewDigest(1, v)
			if err != nil {
				t.Fatalf("a decoded digest does not re-encode: %v", err)
			}
		case ImageData:
			again = NewImageData(1, v)
		case EndInfo:
			again = Event{ICount: 1, Kind: KindEnd, Data: encodeEnd(v)}
		default:
			t.Fatalf("unexpected decoded type %T", got)
		}
		got2, err := decodeAny(again)
		if err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
		if diff := cmp.Diff(got, got2, eventOpts); diff != "" {
			t.Fatalf("decode(encode(decode(x))) differs (-first +second):\n%s", diff)
		}
	})
}
