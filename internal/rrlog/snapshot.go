package rrlog

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"slices"
)

// ---- KindSnapshot: uvarint seq | uvarint part | uvarint parts | sha256 (32) | bytes ----
//
// An embedded machine snapshot is an opaque blob (the machine's encoding,
// already compressed) cut into parts of at most SnapshotPart bytes, one
// event each, all at the snapshot's icount and consecutive in the stream.
// Every part repeats the SHA-256 of the whole blob, which the assembler
// checks once the last part arrives: a snapshot is usable only if every
// part arrived intact.

// SnapshotPart is the largest piece of a snapshot blob in one event.
const SnapshotPart = 1 << 20

// maxSnapshotParts bounds the parts of one snapshot (64 GiB of blob).
const maxSnapshotParts = 1 << 16

// SnapshotPiece is the payload of a KindSnapshot event.
type SnapshotPiece struct {
	// Seq numbers the snapshots of a recording from 0.
	Seq uint64
	// Part is this piece's index, 0 ≤ Part < Parts.
	Part, Parts int
	// Sum is the SHA-256 of the whole blob.
	Sum [32]byte
	// Data is this part's bytes.
	Data []byte
}

// NewSnapshotEvents cuts blob into KindSnapshot events at icount.
// (Writer.AppendSnapshot appends the same events without building them.)
func NewSnapshotEvents(icount, seq uint64, blob []byte) []Event {
	sum := sha256.Sum256(blob)
	parts := max(1, (len(blob)+SnapshotPart-1)/SnapshotPart)
	evs := make([]Event, 0, parts)
	for i := range parts {
		piece := blob[i*SnapshotPart : min(len(blob), (i+1)*SnapshotPart)]
		data := snapshotHead(nil, seq, i, parts, &sum)
		evs = append(evs, Event{ICount: icount, Kind: KindSnapshot, Data: append(data, piece...)})
	}
	return evs
}

// snapshotHead appends the fields of a KindSnapshot payload that precede
// the part's bytes.
func snapshotHead(dst []byte, seq uint64, part, parts int, sum *[32]byte) []byte {
	dst = putUvarint(dst, seq)
	dst = putUvarint(dst, uint64(part))
	dst = putUvarint(dst, uint64(parts))
	return append(dst, sum[:]...)
}

// SnapshotPiece decodes a KindSnapshot event. Data aliases ev.Data.
func (ev Event) SnapshotPiece() (SnapshotPiece, error) {
	if err := ev.want(KindSnapshot); err != nil {
		return SnapshotPiece{}, err
	}
	p, err := parseSnapshotPiece(ev.Data)
	if err != nil {
		return SnapshotPiece{}, ev.wrap(err)
	}
	return p, nil
}

func parseSnapshotPiece(b []byte) (SnapshotPiece, error) {
	d := decoder{b: b}
	var p SnapshotPiece
	p.Seq = d.uvarint("seq")
	p.Part = d.int("part", maxSnapshotParts-1)
	p.Parts = d.int("parts", maxSnapshotParts)
	if d.err == nil && p.Part >= p.Parts {
		d.fail("part %d of %d", p.Part, p.Parts)
	}
	copy(p.Sum[:], d.bytes(32, "sum"))
	p.Data = d.rest()
	return p, d.done()
}

func checkSnapshotPiece(b []byte) error {
	_, err := parseSnapshotPiece(b)
	return err
}

func formatSnapshotPiece(b []byte) string {
	p, _ := parseSnapshotPiece(b)
	return fmt.Sprintf("snapshot %d part %d/%d %d bytes sha256 %x", p.Seq, p.Part+1, p.Parts, len(p.Data), p.Sum[:8])
}

// Blob is an embedded snapshot's bytes as the assembler found them: its
// parts in order, aliasing the data of the events that carried them, so
// that assembling a snapshot copies nothing.
type Blob [][]byte

// Len returns the blob's size in bytes.
func (b Blob) Len() int {
	n := 0
	for _, p := range b {
		n += len(p)
	}
	return n
}

// AppendTo appends the blob's bytes to dst.
func (b Blob) AppendTo(dst []byte) []byte {
	dst = slices.Grow(dst, b.Len())
	for _, p := range b {
		dst = append(dst, p...)
	}
	return dst
}

// SnapshotAssembler puts snapshot blobs back together from their events.
type SnapshotAssembler struct {
	cur   *SnapshotPiece
	icnt  uint64
	parts Blob
	sum   hash.Hash
}

// Add takes the next KindSnapshot event. When it completes a snapshot it
// returns the blob (its parts alias the events' data) and its seq;
// otherwise nil. A piece out of order, from another snapshot before the
// current one is complete, or a blob whose SHA-256 does not match is an
// error; the assembler then starts over with the next part 0.
func (a *SnapshotAssembler) Add(ev Event) (blob Blob, seq uint64, err error) {
	p, err := ev.SnapshotPiece()
	if err != nil {
		return nil, 0, err
	}
	fail := func(format string, args ...any) (Blob, uint64, error) {
		a.cur, a.parts = nil, nil
		return nil, 0, fmt.Errorf("rrlog: snapshot %d at icount %d: %s", p.Seq, ev.ICount, fmt.Sprintf(format, args...))
	}
	if p.Part == 0 {
		if a.cur != nil {
			prev := a.cur.Seq
			return fail("begins before snapshot %d is complete", prev)
		}
		if a.sum == nil {
			a.sum = sha256.New()
		}
		a.sum.Reset()
		a.cur, a.icnt, a.parts = &p, ev.ICount, nil
	} else if a.cur == nil || p.Seq != a.cur.Seq || p.Parts != a.cur.Parts || p.Sum != a.cur.Sum || p.Part != len(a.parts) || ev.ICount != a.icnt {
		return fail("part %d/%d out of sequence", p.Part+1, p.Parts)
	}
	a.parts = append(a.parts, p.Data)
	a.sum.Write(p.Data)
	if len(a.parts) < p.Parts {
		return nil, 0, nil
	}
	blob = a.parts
	a.cur, a.parts = nil, nil
	var sum [32]byte
	if !bytes.Equal(a.sum.Sum(sum[:0]), p.Sum[:]) {
		return fail("SHA-256 of the %d assembled bytes does not match", blob.Len())
	}
	return blob, p.Seq, nil
}

// Pending reports whether a snapshot is partly assembled.
func (a *SnapshotAssembler) Pending() bool { return a.cur != nil }
