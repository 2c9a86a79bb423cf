// Package debugger moves a replaying machine through its recording in
// both directions: seek to any instruction count, step backwards,
// continue backwards to the previous breakpoint or watchpoint hit.
//
// It keeps snapshots of the machine during replay: a plain machine.State
// plus the RAM pages written since the previous snapshot (incremental),
// within a memory budget; when the budget is exceeded every other
// snapshot is merged into its successor, which doubles the spacing.
// Going back to instruction count N restores the nearest snapshot at or
// before N and replays forward to exactly N; replay being deterministic,
// that is the state the machine had at N.
package debugger

import (
	"fmt"
	"sort"

	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
)

const pageSize = 4096

// DefaultBudget is the default memory for snapshots.
const DefaultBudget = 512 << 20

// DefaultSpacing is the initial number of instructions between snapshots.
const DefaultSpacing = 10_000_000

type snapshot struct {
	icount uint64
	state  machine.State
	player replay.PlayerState
	// pages written in (previous snapshot, this one], with their content
	// at this snapshot.
	pages map[uint64][]byte
	bytes uint64
}

// Debugger drives a machine replaying a recording.
type Debugger struct {
	m     *machine.Machine
	p     *replay.Player
	snaps []*snapshot
	base  int               // the current state is snaps[base] plus the machine's dirty pages
	init  map[uint64][]byte // RAM at snaps[0] (non-zero pages)
	// boot and bootSnap are the machine at the start of the recording:
	// where the store begins until it jumps to an embedded snapshot.
	boot     map[uint64][]byte
	bootSnap *snapshot
	budget   uint64
	used     uint64
	// spacing is the current distance between snapshots.
	spacing uint64
	// frontier is the highest icount reached so far.
	frontier uint64
	// jumpCost: see Options.JumpCost.
	jumpCost uint64

	bps     []uint64
	watches []cpu.Watch
}

// Options configure a Debugger.
type Options struct {
	// Budget bounds the memory used by snapshots (bytes; 0: DefaultBudget).
	Budget uint64
	// Spacing is the initial snapshot spacing (0: DefaultSpacing).
	Spacing uint64
	// JumpCost is how many instructions of replay restoring an embedded
	// snapshot is taken to cost (0: DefaultJumpCost); a seek restores one
	// only when that saves more.
	JumpCost uint64
}

// New takes over m, which must have a replay.Player attached and not have
// run yet.
func New(m *machine.Machine, p *replay.Player, opts Options) (*Debugger, error) {
	if opts.Budget == 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Spacing == 0 {
		opts.Spacing = DefaultSpacing
	}
	if opts.JumpCost == 0 {
		opts.JumpCost = DefaultJumpCost
	}
	d := &Debugger{m: m, p: p, budget: opts.Budget, spacing: opts.Spacing, jumpCost: opts.JumpCost}
	m.KeepDirty()
	// Snapshot 0: the initial RAM, sparse (pages that are not zero).
	m.TakeDirtyPages()
	if pages, ok := m.InitialPages(); ok {
		d.init = pagesOf(m.Bus.RAM, pages)
	} else {
		d.init = nonZeroPages(m.Bus.RAM)
	}
	d.boot = d.init
	st, err := m.SaveState()
	if err != nil {
		return nil, err
	}
	d.snaps = []*snapshot{{icount: m.ICount(), state: st, player: p.Save(), pages: map[uint64][]byte{}}}
	d.bootSnap = d.snaps[0]
	return d, nil
}

// Machine returns the machine being debugged.
func (d *Debugger) Machine() *machine.Machine { return d.m }

// ICount returns the current position.
func (d *Debugger) ICount() uint64 { return d.m.ICount() }

// End returns the last instruction count of the recording.
func (d *Debugger) End() uint64 { return d.p.EndICount() }

// Snapshots returns how many snapshots are kept and their memory.
func (d *Debugger) Snapshots() (n int, bytes uint64) { return len(d.snaps), d.used }

// SetBreakpoints sets the exec breakpoints (virtual pcs).
func (d *Debugger) SetBreakpoints(pcs []uint64) { d.bps = append([]uint64(nil), pcs...) }

// SetWatchpoints sets the watchpoints.
func (d *Debugger) SetWatchpoints(ws []cpu.Watch) { d.watches = append([]cpu.Watch(nil), ws...) }

// StopKind says why a movement stopped.
type StopKind int

// Stop kinds.
const (
	StopStep        StopKind = iota // reached the requested position
	StopBreakpoint                  // a breakpoint (the instruction there has not run)
	StopWatchpoint                  // a watched access (the instruction has run)
	StopBegin                       // the start of the recording (reverse)
	StopEnd                         // the end of the recording (forward)
	StopHalted                      // the guest powered off / the recording's machine stopped
	StopInterrupted                 // the user interrupted a continue
)

// Stop is where and why a movement ended.
type Stop struct {
	Kind   StopKind
	ICount uint64
	Watch  cpu.WatchHit
	// Hart is the hart the stop is about: the one that hit the
	// breakpoint or watchpoint, the one a per-hart step moved, else the
	// one that executes next.
	Hart int
}

// arm installs breakpoints and watchpoints on the hart.
func (d *Debugger) arm(on bool) {
	if on {
		d.m.SetBreakpoints(d.bps)
		d.m.SetWatchpoints(d.watches)
	} else {
		d.m.SetBreakpoints(nil)
		d.m.SetWatchpoints(nil)
	}
}

// snapshotDue reports whether a snapshot should be taken now.
func (d *Debugger) snapshotDue() bool {
	last := d.snaps[len(d.snaps)-1]
	return d.base == len(d.snaps)-1 && d.m.ICount() >= last.icount+d.spacing
}

// takeSnapshot records the current state at the frontier, if no block
// request is in flight.
func (d *Debugger) takeSnapshot() {
	st, err := d.m.SaveState()
	if err != nil {
		return // busy: try again at the next boundary
	}
	s := &snapshot{icount: st.ICount, state: st, player: d.p.Save(), pages: map[uint64][]byte{}}
	for _, pg := range d.m.TakeDirtyPages() {
		off := pg * pageSize
		s.pages[pg] = append([]byte(nil), d.m.Bus.RAM[off:off+pageSize]...)
	}
	s.bytes = uint64(len(s.pages))*pageSize + 4096
	// Disk blocks are shared between snapshots until written: count only
	// buffers the previous snapshot does not hold.
	prev := map[*byte]bool{}
	for _, ds := range d.snaps[len(d.snaps)-1].state.Disks {
		for _, b := range ds.Blocks {
			if len(b.Data) > 0 {
				prev[&b.Data[0]] = true
			}
		}
	}
	for _, ds := range st.Disks {
		for _, b := range ds.Blocks {
			if len(b.Data) > 0 && !prev[&b.Data[0]] {
				s.bytes += uint64(len(b.Data))
			}
		}
	}
	d.snaps = append(d.snaps, s)
	d.base = len(d.snaps) - 1
	d.used += s.bytes
	for d.used > d.budget && len(d.snaps) > 3 {
		d.thin()
	}
}

// thin merges every other snapshot (never the first or the last) into
// its successor and doubles the spacing. It is called right after a
// snapshot was taken, when the current state is the newest snapshot, so
// the base stays the newest one.
func (d *Debugger) thin() {
	keep := []*snapshot{d.snaps[0]}
	for i := 1; i < len(d.snaps); i++ {
		s := d.snaps[i]
		if i%2 == 1 && i != len(d.snaps)-1 {
			// Pages last written before s keep their content at s in
			// the next snapshot.
			next := d.snaps[i+1]
			for pg, data := range s.pages {
				if _, ok := next.pages[pg]; !ok {
					next.pages[pg] = data
					next.bytes += pageSize
				}
			}
			continue
		}
		keep = append(keep, s)
	}
	d.snaps = keep
	d.base = len(d.snaps) - 1
	d.spacing *= 2
	d.used = 0
	for _, s := range d.snaps {
		d.used += s.bytes
	}
}

// pageAt returns the content of RAM page pg at snapshot k.
func (d *Debugger) pageAt(k int, pg uint64) []byte {
	for i := k; i >= 1; i-- {
		if data, ok := d.snaps[i].pages[pg]; ok {
			return data
		}
	}
	return d.init[pg]
}

// restore puts the machine in the state of snapshot k.
func (d *Debugger) restore(k int) error {
	changed := map[uint64]bool{}
	for _, pg := range d.m.TakeDirtyPages() {
		changed[pg] = true
	}
	lo, hi := min(d.base, k), max(d.base, k)
	for i := lo + 1; i <= hi && i < len(d.snaps); i++ {
		for pg := range d.snaps[i].pages {
			changed[pg] = true
		}
	}
	ram := d.m.Bus.RAM
	pages := make([]uint64, 0, len(changed))
	for pg := range changed {
		pages = append(pages, pg)
	}
	sort.Slice(pages, func(i, j int) bool { return pages[i] < pages[j] })
	for _, pg := range pages {
		off := pg * pageSize
		if data := d.pageAt(k, pg); data != nil {
			copy(ram[off:off+pageSize], data)
		} else {
			clear(ram[off : off+pageSize])
		}
	}
	// Only the pages rewritten here differ from what the harts ran on:
	// code decoded and compiled from the others stays.
	if err := d.m.LoadStateChanged(d.snaps[k].state, pages); err != nil {
		return err
	}
	d.p.Load(d.snaps[k].player)
	d.p.ForgetPages()
	// Forget the dirty marks the rewrite did not make.
	d.m.TakeDirtyPages()
	d.base = k
	return nil
}

// nearest returns the index of the last snapshot at or before icount.
func (d *Debugger) nearest(icount uint64) int {
	i := sort.Search(len(d.snaps), func(i int) bool { return d.snaps[i].icount > icount })
	return max(i-1, 0)
}

// run replays forward to target (or a stop), taking snapshots on the way
// and passing through existing ones. armed enables breakpoints and
// watchpoints.
func (d *Debugger) run(target uint64, armed bool, interrupt <-chan struct{}) (Stop, error) {
	return d.runTo(target, nil, armed, interrupt)
}

// runTo is run that also stops, when hg is not nil, at the first slice
// boundary where hart hg.hart's own count has reached hg.count (see
// hartGoal).
func (d *Debugger) runTo(target uint64, hg *hartGoal, armed bool, interrupt <-chan struct{}) (Stop, error) {
	d.arm(armed)
	defer d.arm(false)
	m := d.m
	if hg != nil {
		m.StopHart, m.StopHartAt = hg.hart, hg.count
		m.BeforeSlice = hg.observe(m)
		defer func() { m.StopHart, m.BeforeSlice = -1, nil }()
	}
	for {
		ic := m.ICount()
		if hg != nil && hg.check(m) {
			return Stop{Kind: StopStep, ICount: ic, Hart: hg.hart}, nil
		}
		if ic >= target {
			return Stop{Kind: StopStep, ICount: ic, Hart: d.NextHart()}, nil
		}
		if m.Halted() {
			return Stop{Kind: StopHalted, ICount: ic, Hart: d.NextHart()}, nil
		}
		select {
		case <-interrupt:
			return Stop{Kind: StopInterrupted, ICount: ic, Hart: d.NextHart()}, nil
		default:
		}
		// Stop at the next snapshot boundary (existing or due).
		stop := target
		if d.base+1 < len(d.snaps) {
			stop = min(stop, d.snaps[d.base+1].icount)
		} else {
			stop = min(stop, d.snaps[len(d.snaps)-1].icount+d.spacing)
		}
		stop = min(stop, ic+50_000_000) // stay responsive to interrupts
		if stop <= ic {
			// A snapshot is due but could not be taken (disk requests in
			// flight): move on a little and try again.
			stop = min(target, ic+1000)
		}
		end := d.p.EndICount()
		if ic >= end && end > 0 {
			return Stop{Kind: StopEnd, ICount: ic, Hart: d.NextHart()}, nil
		}
		m.StopAt = min(stop, max(end, 1))
		reason, err := d.runSlice()
		m.StopAt = 0
		if err != nil {
			return Stop{ICount: m.ICount()}, err
		}
		ic = m.ICount()
		switch reason {
		case cpu.StopBreakpoint:
			return Stop{Kind: StopBreakpoint, ICount: ic, Hart: m.LastHart}, nil
		case cpu.StopWatchpoint:
			return Stop{Kind: StopWatchpoint, ICount: ic, Watch: m.Harts[m.LastHart].LastWatchHit(), Hart: m.LastHart}, nil
		}
		if d.base+1 < len(d.snaps) && ic == d.snaps[d.base+1].icount {
			// Deterministic replay: the state now equals that snapshot.
			d.m.TakeDirtyPages()
			d.base++
		} else if d.snapshotDue() {
			d.takeSnapshot()
		}
		if ic > d.frontier {
			d.frontier = ic
		}
	}
}

// runSlice runs the machine until StopAt (or StopHart), reporting a
// breakpoint or watchpoint stop of a hart.
func (d *Debugger) runSlice() (cpu.StopReason, error) {
	d.m.LastStop = cpu.StopBudget
	_, err := d.m.Run(0)
	return d.m.LastStop, err
}

// seek restores the nearest snapshot and replays to icount exactly.
func (d *Debugger) seek(icount uint64, armed bool) error {
	icount = min(icount, d.End())
	if err := d.maybeJump(icount); err != nil {
		return err
	}
	cur := d.m.ICount()
	k := d.nearest(icount)
	if icount < cur || d.snaps[k].icount > cur {
		if err := d.restore(k); err != nil {
			return err
		}
	}
	_, err := d.run(icount, armed, nil)
	return err
}

// Seek moves to instruction count icount (clamped to the recording).
func (d *Debugger) Seek(icount uint64) error { return d.seek(icount, false) }

// StepForward executes one instruction.
func (d *Debugger) StepForward() (Stop, error) {
	ic := d.m.ICount()
	if ic >= d.End() {
		return Stop{Kind: StopEnd, ICount: ic, Hart: d.NextHart()}, nil
	}
	return d.run(ic+1, false, nil)
}

// StepBackward moves to the previous instruction count.
func (d *Debugger) StepBackward() (Stop, error) {
	ic := d.m.ICount()
	if ic == 0 || ic <= d.bootSnap.icount {
		return Stop{Kind: StopBegin, ICount: ic, Hart: d.NextHart()}, nil
	}
	if err := d.Seek(ic - 1); err != nil {
		return Stop{}, err
	}
	return Stop{Kind: StopStep, ICount: ic - 1, Hart: d.NextHart()}, nil
}

// Continue runs forward until a breakpoint, a watchpoint, the end of the
// recording, or an interrupt.
func (d *Debugger) Continue(interrupt <-chan struct{}) (Stop, error) {
	d.skipBreakpointHere()
	st, err := d.run(^uint64(0), true, interrupt)
	if err == nil && st.Kind == StopStep {
		st.Kind = StopEnd
	}
	return st, err
}

// ReverseContinue moves back to the last breakpoint or watchpoint hit
// before the current position, or to the start of the recording.
func (d *Debugger) ReverseContinue(interrupt <-chan struct{}) (Stop, error) {
	cur := d.m.ICount()
	k := d.nearest(cur)
	for ; k >= 0; k-- {
		if from := d.snaps[k].icount; from < cur {
			last, found, err := d.lastHit(k, cur, interrupt)
			if err != nil {
				return Stop{}, err
			}
			if found.Kind == StopInterrupted {
				return found, nil
			}
			if last != nil {
				if err := d.seek(last.ICount, false); err != nil {
					return Stop{}, err
				}
				last.ICount = d.m.ICount()
				return *last, nil
			}
			cur = from
		}
		if k == 0 && cur > d.bootSnap.icount {
			// The store starts at an embedded snapshot: search the
			// stretch before it from the previous one (or boot).
			if err := d.jump(d.embedded(cur - 1)); err != nil {
				return Stop{}, err
			}
			k = d.nearest(cur) + 1 // the loop's k-- makes it the newest
		}
	}
	if err := d.seek(d.bootSnap.icount, false); err != nil {
		return Stop{}, err
	}
	return Stop{Kind: StopBegin, ICount: d.m.ICount(), Hart: d.NextHart()}, nil
}

// lastHit replays the interval [snapshot k, end) with breakpoints armed
// and returns the last hit strictly before end.
func (d *Debugger) lastHit(k int, end uint64, interrupt <-chan struct{}) (*Stop, Stop, error) {
	if err := d.restore(k); err != nil {
		return nil, Stop{}, err
	}
	var last *Stop
	first := true
	for {
		if !first {
			d.skipBreakpointHere()
		}
		first = false
		st, err := d.run(end, true, interrupt)
		if err != nil {
			return nil, Stop{}, err
		}
		switch st.Kind {
		case StopBreakpoint, StopWatchpoint:
			// Going backward, a watch stop is at the accessing
			// instruction (before it), a breakpoint stop before the
			// instruction at the breakpoint.
			pos := st.ICount
			if st.Kind == StopWatchpoint {
				pos--
			}
			if pos >= end {
				return last, Stop{}, nil
			}
			s := st
			s.ICount = pos
			last = &s
			if st.Kind == StopWatchpoint {
				continue // the access already executed; keep going
			}
		case StopInterrupted:
			return nil, st, nil
		default:
			return last, Stop{}, nil
		}
	}
}

// StepForwardWatched executes one instruction with watchpoints armed (not
// breakpoints): a watched access reports StopWatchpoint after it.
func (d *Debugger) StepForwardWatched() (Stop, error) {
	ic := d.m.ICount()
	if ic >= d.End() {
		return Stop{Kind: StopEnd, ICount: ic, Hart: d.NextHart()}, nil
	}
	bps := d.bps
	d.bps = nil
	defer func() { d.bps = bps }()
	st, err := d.run(ic+1, true, nil)
	if err == nil && st.Kind == StopWatchpoint && d.m.ICount() != ic+1 {
		err = fmt.Errorf("debugger: watch stop at icount %d stepping from %d", d.m.ICount(), ic)
	}
	return st, err
}

// StepBackwardWatched moves back one instruction; if that instruction
// accessed a watched location it reports StopWatchpoint (positioned at
// the instruction, memory as before it).
func (d *Debugger) StepBackwardWatched() (Stop, error) {
	ic := d.m.ICount()
	st, err := d.StepBackward()
	if err != nil || st.Kind == StopBegin || len(d.watches) == 0 {
		return st, err
	}
	fwd, err := d.StepForwardWatched()
	if err != nil {
		return Stop{}, err
	}
	if err := d.Seek(ic - 1); err != nil {
		return Stop{}, err
	}
	if fwd.Kind == StopWatchpoint {
		fwd.ICount = ic - 1
		return fwd, nil
	}
	return Stop{Kind: StopStep, ICount: ic - 1, Hart: d.NextHart()}, nil
}

// LastWrite moves to the last instruction before the current position
// that wrote any byte of the guest-physical range [addr, addr+n). It
// returns StopWatchpoint positioned at that instruction, or StopBegin
// (at the start) if there is none. Breakpoints and watchpoints set by the
// user are ignored meanwhile and kept.
func (d *Debugger) LastWrite(addr, n uint64) (Stop, error) {
	bps, ws := d.bps, d.watches
	d.bps, d.watches = nil, []cpu.Watch{{Addr: addr, Len: max(n, 1), Kind: cpu.WatchWrite, Physical: true}}
	defer func() { d.bps, d.watches = bps, ws }()
	return d.ReverseContinue(nil)
}

// String describes the position.
func (d *Debugger) String() string {
	n, b := d.Snapshots()
	return fmt.Sprintf("icount %d of %d; %d snapshots, %d MiB", d.ICount(), d.End(), n, b>>20)
}
