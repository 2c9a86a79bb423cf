package rrlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
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
func NewSnapshotEvents(icount, seq uint64, blob []byte) []Event {
	sum := sha256.Sum256(blob)
	parts := max(1, (len(blob)+SnapshotPart-1)/SnapshotPart)
	evs := make([]Event, 0, parts)
	for i := 0; i < parts; i++ {
		piece := blob[i*SnapshotPart : min(len(blob), (i+1)*SnapshotPart)]
		b := make([]byte, 0, 3*binary.MaxVarintLen64+32+len(piece))
		b = putUvarint(b, seq)
		b = putUvarint(b, uint64(i))
		b = putUvarint(b, uint64(parts))
		b = append(b, sum[:]...)
		b = append(b, piece...)
		evs = append(evs, Event{ICount: icount, Kind: KindSnapshot, Data: b})
	}
	return evs
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

// SnapshotAssembler puts snapshot blobs back together from their events.
type SnapshotAssembler struct {
	cur   *SnapshotPiece
	icnt  uint64
	buf   bytes.Buffer
	count int
}

// Add takes the next KindSnapshot event. When it completes a snapshot it
// returns the blob (a fresh slice) and its seq; otherwise nil. A piece out
// of order, from another snapshot before the current one is complete, or a
// blob whose SHA-256 does not match is an error; the assembler then starts
// over with the next part 0.
func (a *SnapshotAssembler) Add(ev Event) (blob []byte, seq uint64, err error) {
	p, err := ev.SnapshotPiece()
	if err != nil {
		return nil, 0, err
	}
	fail := func(format string, args ...any) ([]byte, uint64, error) {
		a.cur = nil
		a.buf.Reset()
		return nil, 0, fmt.Errorf("rrlog: snapshot %d at icount %d: %s", p.Seq, ev.ICount, fmt.Sprintf(format, args...))
	}
	if p.Part == 0 {
		if a.cur != nil {
			prev := a.cur.Seq
			a.cur = nil
			a.buf.Reset()
			return fail("begins before snapshot %d is complete", prev)
		}
		a.cur, a.icnt, a.count = &p, ev.ICount, 0
		// Pieces but the last are the same size: room for all of them
		// at once, so assembling a large snapshot copies each byte once.
		a.buf = bytes.Buffer{}
		a.buf.Grow(int(min(uint64(p.Parts)*uint64(len(p.Data)), 64<<20))) // a forged part count costs at most 64 MiB
	} else if a.cur == nil || p.Seq != a.cur.Seq || p.Parts != a.cur.Parts || p.Sum != a.cur.Sum || p.Part != a.count || ev.ICount != a.icnt {
		return fail("part %d/%d out of sequence", p.Part+1, p.Parts)
	}
	a.buf.Write(p.Data)
	a.count++
	if a.count < p.Parts {
		return nil, 0, nil
	}
	blob = a.buf.Bytes() // handed over: the next snapshot gets a new buffer
	a.cur = nil
	a.buf = bytes.Buffer{}
	if sha256.Sum256(blob) != p.Sum {
		return fail("SHA-256 of the %d assembled bytes does not match", len(blob))
	}
	return blob, p.Seq, nil
}

// Pending reports whether a snapshot is partly assembled.
func (a *SnapshotAssembler) Pending() bool { return a.cur != nil }
