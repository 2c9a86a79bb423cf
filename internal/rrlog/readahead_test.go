package rrlog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readAhead opens data like readBytes, but with the read-ahead goroutine
// that Open starts for files.
func readAhead(t *testing.T, data []byte) ([]Event, *Reader, error) {
	t.Helper()
	r, err := OpenReader(bytes.NewReader(data), int64(len(data)), "t.rwd")
	if err != nil {
		return nil, nil, err
	}
	r.prefetch()
	t.Cleanup(func() { r.Close() })
	evs, err := readAll(r)
	return evs, r, err
}

// TestReadAheadMatches: reading ahead on another goroutine changes
// nothing a caller sees: the same events, the same terminal error (and
// truncation point), the same End record, for a file cut at every byte
// offset and for single-bit flips, with small chunks and with large ones
// (which are decompressed into huge-page slabs).
func TestReadAheadMatches(t *testing.T) {
	_, small := smallFile(t)
	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	var evs []Event
	for i := range 6 {
		evs = append(evs, Event{ICount: uint64(100 * i), Kind: KindSerialInput, Data: []byte{byte(i)}})
		evs = append(evs, NewSnapshotEvents(uint64(100*i+50), uint64(i), big[:(i+1)*40<<10])...)
	}
	large := recordBytes(t, evs)
	// Cut the small file everywhere; the large one around each chunk
	// boundary and at random offsets.
	cuts := func(data []byte, every bool) []int {
		if every {
			var all []int
			for cut := 0; cut <= len(data); cut++ {
				all = append(all, cut)
			}
			return all
		}
		_, spans := layout(t, data)
		var some []int
		for _, s := range spans {
			some = append(some, int(s.start)-1, int(s.start), int(s.start)+ChunkHeaderSize+1, int(s.end)-1)
		}
		for range 40 {
			some = append(some, rng.IntN(len(data)))
		}
		return append(some, len(data))
	}
	for _, file := range []struct {
		name  string
		data  []byte
		every bool
	}{{"small chunks", small, true}, {"large chunks", large, false}} {
		t.Run(file.name, func(t *testing.T) {
			check := func(what string, data []byte) {
				want, wr, werr := readBytes(data)
				got, gr, gerr := readAhead(t, data)
				if fmt.Sprint(werr) != fmt.Sprint(gerr) {
					t.Fatalf("%s: error %v, want %v", what, gerr, werr)
				}
				if !slices.EqualFunc(want, got, func(a, b Event) bool {
					return a.ICount == b.ICount && a.Kind == b.Kind && bytes.Equal(a.Data, b.Data)
				}) {
					t.Fatalf("%s: %d events read ahead differ from the %d read in step", what, len(got), len(want))
				}
				if wr == nil {
					return
				}
				we, wok := wr.End()
				ge, gok := gr.End()
				if wok != gok || !cmp.Equal(we, ge) || wr.Position() != gr.Position() {
					t.Fatalf("%s: end %v %v / position %v, want %v %v / %v", what, ge, gok, gr.Position(), we, wok, wr.Position())
				}
			}
			for _, cut := range cuts(file.data, file.every) {
				check(fmt.Sprintf("cut at %d", cut), file.data[:cut])
			}
			for range 100 {
				d := bytes.Clone(file.data)
				bit := rng.IntN(len(d) * 8)
				d[bit/8] ^= 1 << (bit % 8)
				check(fmt.Sprintf("bit %d flipped", bit), d)
			}
		})
	}
}

// TestReadAheadClose: closing a reader part way stops its read-ahead
// goroutine (it does not stay blocked on chunks nobody reads).
func TestReadAheadClose(t *testing.T) {
	_, data := smallFile(t)
	r, err := OpenReader(bytes.NewReader(data), int64(len(data)), "t.rwd")
	if err != nil {
		t.Fatal(err)
	}
	r.prefetch()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	done := r.fetcherDone
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Fatal("read-ahead goroutine still running after Close")
	}
}
