package replay

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// Embedded snapshots: a recording made with EmbedSnapshots carries, every
// so many instructions, a snapshot of the machine (hart and device state,
// the RAM pages and disk overlay blocks changed since the previous one),
// zstd-compressed, as KindSnapshot events at a state digest's icount. A
// replay or a debugger can start from the nearest one instead of from the
// beginning, and segments between snapshots can be verified in parallel.
// Snapshots are annotations: a replay that ignores them computes exactly
// the same.

// DefaultSnapshotEvery is the default number of instructions between
// embedded snapshots.
const DefaultSnapshotEvery = 200_000_000

var (
	zenc = sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	})
	zdec = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	})
)

// encodeEmbedded turns a machine snapshot into the blob a recording
// stores: its encoding, zstd-compressed.
func encodeEmbedded(s *machine.Snapshot) ([]byte, error) {
	raw, err := s.Encode()
	if err != nil {
		return nil, err
	}
	enc, err := zenc()
	if err != nil {
		return nil, err
	}
	return enc.EncodeAll(raw, nil), nil
}

// DecodeEmbedded parses a snapshot blob from a recording.
func DecodeEmbedded(blob []byte) (*machine.Snapshot, error) {
	dec, err := zdec()
	if err != nil {
		return nil, err
	}
	raw, err := dec.DecodeAll(blob, nil)
	if err != nil {
		return nil, fmt.Errorf("snapshot: decompress: %w", err)
	}
	return machine.DecodeSnapshot(raw)
}

// EmbedSnapshots makes the recorder write a snapshot into the recording
// at the first state digest at or after every `every` instructions where
// no disk request is in flight (0: DefaultSnapshotEvery). Call it before
// the machine runs.
func (r *Recorder) EmbedSnapshots(every uint64) {
	if every == 0 {
		every = DefaultSnapshotEvery
	}
	r.snapEvery = every
	r.snapNext = r.m.CPU.ICount() + every
	r.taker = r.m.NewSnapshotTaker(false)
}

// maybeSnapshot is called at every digest point while recording.
func (r *Recorder) maybeSnapshot(icount uint64) error {
	if r.taker == nil || icount < r.snapNext {
		return nil
	}
	s, err := r.taker.Take()
	if errors.Is(err, machine.ErrBusy) {
		return nil // disk I/O in flight: try at the next digest
	}
	if err != nil {
		return err
	}
	blob, err := encodeEmbedded(s)
	if err != nil {
		return err
	}
	for _, ev := range rrlog.NewSnapshotEvents(icount, uint64(r.snapshots), blob) {
		r.append(ev)
	}
	r.snapshots++
	r.snapBytes += uint64(len(blob))
	r.snapNext = icount + r.snapEvery
	return nil
}

// Snapshots returns how many snapshots were embedded and their total
// (compressed) size in bytes.
func (r *Recorder) Snapshots() (n int, bytes uint64) { return r.snapshots, r.snapBytes }

// EmbeddedSnapshot is a snapshot found in a recording: where it is in the
// event stream and its blob.
type EmbeddedSnapshot struct {
	// ICount is the instruction count the machine had.
	ICount uint64
	// Seq is its number in the recording (0, 1, ...).
	Seq uint64
	// Pos is the index, in the player's event list, of the first event
	// after the snapshot: where a replay resumes from it.
	Pos int
	// Blob is the compressed snapshot (DecodeEmbedded).
	Blob []byte
}

// Snapshots returns the snapshots embedded in the recording, in order.
// Damaged ones (a part missing or a checksum mismatch) are left out and
// counted in SnapshotErrors.
func (p *Player) Snapshots() []EmbeddedSnapshot { return p.snaps }

// SnapshotErrors returns what was wrong with the snapshots left out.
func (p *Player) SnapshotErrors() []error { return p.snapErrs }

// StateAt returns the player position just before events[pos], as if the
// replay had run there: the events and digests before it counted as
// applied and verified. A machine restored from an embedded snapshot
// continues with it.
func (p *Player) StateAt(pos int) PlayerState {
	pos = min(max(pos, 0), len(p.events))
	s := PlayerState{Pos: pos, Events: pos}
	for _, ev := range p.events[:pos] {
		if ev.Kind == rrlog.KindDigest {
			s.Verified++
			s.LastVerified = ev.ICount
		}
	}
	return s
}

// annotation takes an annotation event while the stream is read: snapshot
// pieces are assembled into embedded snapshots (a damaged one is left out
// and its error kept), annotation kinds this rewind does not know are
// skipped. It reports whether ev was an annotation.
func (p *Player) annotation(ev rrlog.Event) bool {
	if !ev.Kind.Annotation() {
		return false
	}
	if ev.Kind == rrlog.KindSnapshot {
		blob, seq, err := p.asm.Add(ev)
		switch {
		case err != nil:
			p.snapErrs = append(p.snapErrs, err)
		case blob != nil:
			p.snaps = append(p.snaps, EmbeddedSnapshot{ICount: ev.ICount, Seq: seq, Pos: len(p.events), Blob: blob})
		}
	}
	return true
}
