package replay

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/hugemem"
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
	zenc = sync.OnceValues(newSnapshotEncoder)
	zdec = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	})
)

// EncodeEmbedded turns a machine snapshot into the blob a recording
// stores: its encoding, zstd-compressed.
func EncodeEmbedded(s *machine.Snapshot) ([]byte, error) {
	raw, err := s.Encode()
	if err != nil {
		return nil, err
	}
	return compressEmbedded(raw)
}

// compressEmbedded compresses a snapshot's encoding (safe on any
// goroutine).
func compressEmbedded(raw []byte) ([]byte, error) {
	enc, err := zenc()
	if err != nil {
		return nil, err
	}
	// Room for the worst case (incompressible pages), so the encoder
	// never grows its output.
	return enc.EncodeAll(raw, hugemem.Alloc(len(raw) + len(raw)/128 + 1024)[:0]), nil
}

// DecodeEmbedded parses a snapshot blob from a recording.
func DecodeEmbedded(blob []byte) (*machine.Snapshot, error) {
	dec, err := zdec()
	if err != nil {
		return nil, err
	}
	// The decoded snapshot's pages alias its buffer; a large one is
	// advised for huge pages (see package hugemem).
	var dst []byte
	var h zstd.Header
	if h.Decode(blob) == nil && h.HasFCS && h.FrameContentSize >= hugemem.MinSize && h.FrameContentSize <= 1<<32 {
		dst = hugemem.Alloc(int(h.FrameContentSize) + 64)[:0]
	}
	raw, err := dec.DecodeAll(blob, dst)
	if err != nil {
		return nil, fmt.Errorf("snapshot: decompress: %w", err)
	}
	return machine.DecodeSnapshot(raw)
}

// scratch holds the buffers a multi-part blob is joined in to be
// decompressed (the decompressed snapshot does not alias it).
var scratch sync.Pool

// Decode parses the embedded snapshot.
func (es EmbeddedSnapshot) Decode() (*machine.Snapshot, error) {
	if len(es.Blob) == 1 {
		return DecodeEmbedded(es.Blob[0])
	}
	buf, _ := scratch.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	defer scratch.Put(buf)
	*buf = es.Blob.AppendTo((*buf)[:0])
	return DecodeEmbedded(*buf)
}

// EmbedSnapshots makes the recorder write a snapshot into the recording
// at the first state digest at or after every `every` instructions where
// no disk request is in flight (0: DefaultSnapshotEvery). Call it before
// the machine runs.
//
// A recording that starts at boot gets its first snapshot after a
// quarter of the interval: booting runs most of its code once, so it
// replays several times slower per instruction than what follows, and a
// seek into it would otherwise be the slowest one of the recording.
func (r *Recorder) EmbedSnapshots(every uint64) {
	if every == 0 {
		every = DefaultSnapshotEvery
	}
	r.snapEvery = every
	first := every
	if r.m.ICount() == 0 {
		first = max(every/4, 1)
	}
	r.snapNext = r.m.ICount() + first
	if r.taker == nil { // StartFromSnapshot already began the chain
		r.taker = r.m.NewSnapshotTaker(false)
	}
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
	// Blob is the compressed snapshot (Decode).
	Blob rrlog.Blob
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
	pos = min(max(pos, 0), p.events.len())
	s := PlayerState{Pos: pos, Events: pos}
	p.events.all(0, pos, func(ev *rrlog.Event) bool {
		if ev.Kind == rrlog.KindDigest {
			s.Verified++
			s.LastVerified = ev.ICount
		}
		return true
	})
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
			p.snaps = append(p.snaps, EmbeddedSnapshot{ICount: ev.ICount, Seq: seq, Pos: p.events.len(), Blob: blob})
		}
	}
	return true
}

// NearestSnapshot returns the index of the last embedded snapshot at or
// before icount, or -1.
func (p *Player) NearestSnapshot(icount uint64) int {
	i := len(p.snaps) - 1
	for i >= 0 && p.snaps[i].ICount > icount {
		i--
	}
	return i
}

// RestoreSnapshot puts the machine, freshly built for this recording and
// not yet run, into the state of embedded snapshot e, and moves the
// player there: replay continues from it exactly as if it had run from
// the start (digests are verified from the next one on).
func (p *Player) RestoreSnapshot(e int) error {
	chain, err := p.chain(e)
	if err != nil {
		return err
	}
	if err := p.m.RestoreSnapshots(chain); err != nil {
		return fmt.Errorf("embedded snapshot %d (icount %d): %w", p.snaps[e].Seq, p.snaps[e].ICount, err)
	}
	p.Load(p.StateAt(p.snaps[e].Pos))
	p.ForgetPages()
	return nil
}

// chain decodes embedded snapshots 0..e.
func (p *Player) chain(e int) ([]*machine.Snapshot, error) { return p.Chain(e) }

// Chain decodes embedded snapshots 0..e, the chain that restores
// snapshot e (machine.RestoreSnapshots). The snapshots are independent
// zstd streams, so they are decompressed on all host cores at once; the
// result does not depend on the order they finish in.
func (p *Player) Chain(e int) ([]*machine.Snapshot, error) {
	if e < 0 || e >= len(p.snaps) {
		return nil, fmt.Errorf("no embedded snapshot %d (the recording has %d)", e, len(p.snaps))
	}
	out := make([]*machine.Snapshot, e+1)
	errs := make([]error, e+1)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), e+1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i > e {
					return
				}
				out[i], errs[i] = p.snaps[i].Decode()
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("embedded snapshot %d (icount %d): %w", p.snaps[i].Seq, p.snaps[i].ICount, err)
		}
	}
	return out, nil
}

// CheckSnapshot compares the machine, which has replayed a segment from
// the previous embedded snapshot (or from boot) to the icount of
// snapshot e, with that snapshot: hart and device state, the RAM pages
// written during the segment (written, from the machine's dirty-page
// tracking: exactly those the snapshot lists, with the same contents) and
// the disk overlay blocks it lists. It returns what differs.
func (p *Player) CheckSnapshot(e int, written []uint64) error {
	if e < 0 || e >= len(p.snaps) {
		return fmt.Errorf("no embedded snapshot %d (the recording has %d)", e, len(p.snaps))
	}
	es := p.snaps[e]
	s, err := es.Decode()
	if err != nil {
		return fmt.Errorf("embedded snapshot %d (icount %d): %w", es.Seq, es.ICount, err)
	}
	m := p.m
	if ic := m.ICount(); ic != es.ICount {
		return fmt.Errorf("snapshot %d is at icount %d, the machine at %d", es.Seq, es.ICount, ic)
	}
	st, err := m.SaveState()
	if err != nil {
		return err
	}
	var diffs []string
	if st.Hart != s.State.Hart {
		diffs = append(diffs, "hart state")
	}
	st.Disks, s.State.Disks = nil, nil
	// Compare in the snapshot's own encoding, which does not tell an
	// empty slice from a missing one.
	enc, err := (&machine.Snapshot{State: st}).Encode()
	if err != nil {
		return err
	}
	norm, err := machine.DecodeSnapshot(enc)
	if err != nil {
		return err
	}
	if fmt.Sprintf("%#v", norm.State) != fmt.Sprintf("%#v", s.State) {
		diffs = append(diffs, "device state")
	}
	listed := map[uint64]bool{}
	ram := m.Bus.RAM
	for _, pg := range s.Pages {
		listed[pg.Page] = true
		if pg.Page*4096 >= uint64(len(ram)) || !bytes.Equal(ram[pg.Page*4096:(pg.Page+1)*4096], pg.Data) {
			diffs = append(diffs, fmt.Sprintf("RAM page %#x content", m.Bus.RAMBase+pg.Page*4096))
		}
	}
	for _, pg := range written {
		if !listed[pg] {
			diffs = append(diffs, fmt.Sprintf("RAM page %#x written in the segment but not in the snapshot", m.Bus.RAMBase+pg*4096))
		}
	}
	if len(written) != len(listed) && len(diffs) == 0 {
		diffs = append(diffs, fmt.Sprintf("%d RAM pages written in the segment, the snapshot lists %d", len(written), len(listed)))
	}
	for i, blocks := range s.Disks {
		for _, b := range blocks {
			got := make([]byte, len(b.Data))
			if i >= len(m.Blk) || m.ReadDisk(i, got, b.Index*block.OverlayBlockSize) != nil || !bytes.Equal(got, b.Data) {
				diffs = append(diffs, fmt.Sprintf("disk%d block %d", i, b.Index))
			}
		}
	}
	if len(diffs) > 0 {
		if len(diffs) > 8 {
			diffs = append(diffs[:8], fmt.Sprintf("and %d more", len(diffs)-8))
		}
		return fmt.Errorf("the machine differs from embedded snapshot %d at icount %d: %s", es.Seq, es.ICount, strings.Join(diffs, "; "))
	}
	return nil
}

// errSegmentDone stops the machine once a segment reached its snapshot.
var errSegmentDone = errors.New("segment done")

// Segments returns how many segments the embedded snapshots cut the
// recording into: one more than there are snapshots.
func (p *Player) Segments() int { return len(p.snaps) + 1 }

// SegmentBounds returns where segment k starts and ends: from embedded
// snapshot k-1 (or the start) to snapshot k (or the end of the recording).
func (p *Player) SegmentBounds(k int) (from, to uint64) {
	if k > 0 && k <= len(p.snaps) {
		from = p.snaps[k-1].ICount
	}
	to = p.EndICount()
	if k < len(p.snaps) {
		to = p.snaps[k].ICount
	}
	return from, to
}

// RunSegment replays segment k only, on a machine freshly built for the
// recording: it restores snapshot k-1 (for k > 0), replays with every
// state digest verified, and at snapshot k checks that the machine has
// exactly that snapshot's state (CheckSnapshot); the last segment instead
// ends like a whole replay (Finish). run runs the machine (the caller's
// guarded Run). Segments are independent, so any number can run at once,
// in one process or on many machines.
func (p *Player) RunSegment(k int, run func() (machine.Result, error)) error {
	return p.RunSegments(k, k+1, run)
}

// RunSegments is RunSegment for the consecutive segments from..to-1: one
// restore, then every snapshot on the way is checked.
func (p *Player) RunSegments(from, to int, run func() (machine.Result, error)) error {
	if from < 0 || to <= from || to > p.Segments() {
		return fmt.Errorf("no segments %d..%d: the recording has %d (0..%d)", from, to-1, p.Segments(), p.Segments()-1)
	}
	m := p.m
	if from > 0 {
		if err := p.RestoreSnapshot(from - 1); err != nil {
			return err
		}
	}
	m.KeepDirty()
	m.TakeDirtyPages()
	last := to == p.Segments()
	k := from
	if k < len(p.snaps) {
		check := m.OnCheckpoint
		m.OnCheckpoint = func() error {
			if err := check(); err != nil {
				return err
			}
			if k >= len(p.snaps) || m.ICount() != p.snaps[k].ICount {
				return nil
			}
			if err := p.CheckSnapshot(k, m.TakeDirtyPages()); err != nil {
				return fmt.Errorf("segment %d: %w", k, err)
			}
			k++
			if k == to {
				return errSegmentDone
			}
			return nil
		}
	}
	if !last {
		// Past the snapshot: its digest, where it is checked, must be
		// reached (also when the events were read only up to it).
		m.StopAt = p.snaps[to-1].ICount + 1
	}
	res, err := run()
	switch {
	case errors.Is(err, errSegmentDone):
		return nil
	case err != nil:
		return fmt.Errorf("segment %d: %w", k, err)
	case !last:
		return fmt.Errorf("segment %d: the machine stopped at icount %d (%s) before snapshot %d at icount %d", k, res.ICount, res.Reason, p.snaps[k].Seq, p.snaps[k].ICount)
	}
	if err := p.Finish(m); err != nil {
		return fmt.Errorf("segment %d: %w", k, err)
	}
	return nil
}

// StartFromSnapshot begins a recording that does not start at boot (a
// branch off another recording, or a trimmed one): it writes a full
// snapshot of the machine at its current icount as the recording's first
// events, and later embedded snapshots are increments from it. Call it
// right after Record, before the machine runs on.
func (r *Recorder) StartFromSnapshot() error {
	t := r.m.NewSnapshotTaker(true)
	s, err := t.Take()
	if err != nil {
		return fmt.Errorf("starting snapshot: %w", err)
	}
	blob, err := EncodeEmbedded(s)
	if err != nil {
		return err
	}
	for _, ev := range rrlog.NewSnapshotEvents(r.m.ICount(), 0, blob) {
		r.append(ev)
	}
	r.taker = t
	r.snapshots, r.snapBytes = 1, uint64(len(blob))
	return r.err
}

// Detach ends the replay: the machine stops taking inputs from the
// recording and runs on live (host input, host disk I/O), from exactly
// the state the replay reached.
func (p *Player) Detach() {
	m := p.m
	m.Player = nil
	m.StopAt = 0
	m.OnCheckpoint = nil
	m.NextCheckpoint = 0
}

// Remaining returns the recorded events from the player's position on,
// in order (a copy; their data alias the player's: do not modify it).
func (p *Player) Remaining() []rrlog.Event {
	return p.events.slice()[p.pos:]
}
