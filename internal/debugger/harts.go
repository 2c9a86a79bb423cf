package debugger

// Debugging one hart of a multi-hart machine.
//
// The harts take turns on the machine's one instruction count (see
// internal/machine/harts.go), so every position is still a machine
// icount. A per-hart step moves the machine until the chosen hart has
// executed one instruction of its own, the others running their quanta
// meanwhile as the schedule has them.
//
// Positions a per-hart step lands on are "hart k executes next": the last
// position at which hart k's own count is n, just before it executes its
// instruction n+1. Write J(k, n) for it and P(k, n) for the first position
// at which hart k's count is n (just after its instruction n). Then
// J(k, n) = P(k, n+1) - 1, because the instruction between them is hart
// k's. From a position where hart k has count c:
//
//   - step forward goes to J(k, c+1): hart k executes its next
//     instruction, then the machine runs on until hart k is about to
//     execute again (at once, unless its quantum ended or it went to
//     sleep);
//   - step backward goes to J(k, c-1) = P(k, c) - 1, just before hart k's
//     previous instruction.
//
// Both land on positions of the same kind, and a breakpoint stop of hart
// k is one too, so from any of them a forward step undoes a backward one
// and the other way round: same icount, and (both being reached by
// replaying to an icount) the same machine state and digest. A
// breakpoint stop at the very start of hart k's quantum is the same
// position, but the scheduler has already switched to hart k there; the
// state a replay to that icount reaches switches at the next slice.
//
// P(k, n) is found by replaying with Machine.StopHart armed, plus a
// look at every slice boundary: StopHart only fires while hart k is the
// running hart, and a hart whose instruction n was a WFI that put it to
// sleep hands over at once and is not the running hart at P(k, n); the
// look still sees the count. Going backward, hart k's previous
// instruction can lie far back (it slept in WFI meanwhile): the search
// starts at the newest snapshot whose saved count for hart k is below c,
// trying older and older ones (and, before the store's origin, embedded
// snapshots and the boot state).

import (
	"github.com/rewindvm/rewind/internal/machine"
)

// hartGoal is a per-hart goal for runTo: the first slice boundary at
// which hart's own count has reached count. found and at record the
// icount where it was first seen (the machine may run past it when the
// hart does not stop there as the running hart).
type hartGoal struct {
	hart  int
	count uint64
	found bool
	at    uint64
}

// observe returns the machine's BeforeSlice hook that notes the goal.
func (g *hartGoal) observe(m *machine.Machine) func() {
	return func() { g.check(m) }
}

// check notes the goal if it is reached now and reports whether it has
// been reached.
func (g *hartGoal) check(m *machine.Machine) bool {
	if !g.found && m.Harts[g.hart].ICount() >= g.count {
		g.found, g.at = true, m.ICount()
	}
	return g.found
}

// Harts returns the number of harts.
func (d *Debugger) Harts() int { return len(d.m.Harts) }

// NextHart returns the hart that executes the next instruction (when
// every hart sleeps in WFI, the one that ran last).
func (d *Debugger) NextHart() int {
	if h := d.m.NextHart(); h >= 0 {
		return h
	}
	return d.m.CurHart()
}

// skipBreakpointHere lets the hart that executes next run the instruction
// at its pc even if it has a breakpoint (resuming from a breakpoint stop).
func (d *Debugger) skipBreakpointHere() {
	h := d.m.Harts[d.NextHart()]
	h.SkipBreakpointOnce(h.PC())
}

// hartCount returns hart k's own count in a saved state.
func hartCount(st *machine.State, k int) uint64 {
	if k == 0 {
		return st.Hart.ICount
	}
	return st.Harts[k-1].ICount
}

// StepHart moves forward until hart k has executed one instruction and is
// about to execute the next (see the top of this file). Watchpoints are
// armed, for every hart: a watched access on the way stops there
// (StopWatchpoint, after the access, Hart the accessing hart). If hart k
// executes no further instruction before the end of the recording the
// position does not change and the stop is StopEnd.
func (d *Debugger) StepHart(k int) (Stop, error) {
	m := d.m
	start := m.ICount()
	if start >= d.End() {
		return Stop{Kind: StopEnd, ICount: start, Hart: k}, nil
	}
	c := m.Harts[k].ICount()
	bps := d.bps
	d.bps = nil
	defer func() { d.bps = bps }()
	if d.m.NextHart() == k {
		// Fast path: hart k executes now; usually it also executes next.
		st, err := d.run(start+1, true, nil)
		if err != nil || st.Kind == StopWatchpoint {
			return st, err
		}
		if m.Harts[k].ICount() == c+1 && m.NextHart() == k {
			return Stop{Kind: StopStep, ICount: m.ICount(), Hart: k}, nil
		}
	}
	// Run to P(k, c+2) and come back one instruction: J(k, c+1).
	g := &hartGoal{hart: k, count: c + 2}
	st, err := d.runTo(^uint64(0), g, true, nil)
	if err != nil {
		return st, err
	}
	if st.Kind == StopWatchpoint && (!g.found || st.ICount < g.at) {
		return st, nil
	}
	if !g.found {
		if m.Harts[k].ICount() == c {
			// Hart k never runs again: stay.
			if err := d.Seek(start); err != nil {
				return Stop{}, err
			}
		}
		return Stop{Kind: StopEnd, ICount: m.ICount(), Hart: k}, nil
	}
	if err := d.Seek(g.at - 1); err != nil {
		return Stop{}, err
	}
	return Stop{Kind: StopStep, ICount: m.ICount(), Hart: k}, nil
}

// StepHartBackward moves to just before hart k's previous instruction:
// the position where hart k's count is one less and hart k executes next.
// If an instruction of any hart undone on the way accessed a watched
// location, it stops at the newest such instruction instead
// (StopWatchpoint, memory as before it, Hart the accessing hart). At the
// start of the history, or when hart k executed nothing since, it does
// not move and returns StopBegin.
func (d *Debugger) StepHartBackward(k int) (Stop, error) {
	m := d.m
	start := m.ICount()
	c := m.Harts[k].ICount()
	if start > d.bootSnap.icount && c > 0 && len(d.watches) == 0 {
		// Fast path: the machine's previous instruction was hart k's.
		if err := d.Seek(start - 1); err != nil {
			return Stop{}, err
		}
		if m.Harts[k].ICount() == c-1 {
			return Stop{Kind: StopStep, ICount: m.ICount(), Hart: k}, nil
		}
	}
	at, ok, err := d.hartFirstAt(k, c, start)
	if err != nil {
		return Stop{}, err
	}
	if !ok {
		if m.ICount() != start {
			if err := d.Seek(start); err != nil {
				return Stop{}, err
			}
		}
		return Stop{Kind: StopBegin, ICount: start, Hart: k}, nil
	}
	target := at - 1
	if len(d.watches) > 0 {
		if hit, err := d.lastWatch(target, start); err != nil || hit != nil {
			if hit != nil {
				return *hit, nil
			}
			return Stop{}, err
		}
	}
	if err := d.Seek(target); err != nil {
		return Stop{}, err
	}
	return Stop{Kind: StopStep, ICount: m.ICount(), Hart: k}, nil
}

// hartFirstAt finds P(k, n), the first position at which hart k's own
// count is n, at or before end (where its count is at least n). ok is
// false when it is not after the start of the history: hart k's count
// was n already there. The machine is left anywhere.
func (d *Debugger) hartFirstAt(k int, n, end uint64) (at uint64, ok bool, err error) {
	if n == 0 {
		return 0, false, nil
	}
	for {
		i := d.nearest(end)
		for i >= 0 && hartCount(&d.snaps[i].state, k) >= n {
			i--
		}
		if i < 0 {
			if d.origin() <= d.bootSnap.icount {
				return 0, false, nil
			}
			// Before the store's origin: an embedded snapshot or boot.
			if err := d.jump(d.embedded(d.origin() - 1)); err != nil {
				return 0, false, err
			}
			continue
		}
		if err := d.restore(i); err != nil {
			return 0, false, err
		}
		g := &hartGoal{hart: k, count: n}
		if _, err := d.runTo(end, g, false, nil); err != nil {
			return 0, false, err
		}
		if !g.found {
			// Cannot happen: hart k's count at end is at least n.
			return 0, false, nil
		}
		return g.at, true, nil
	}
}

// lastWatch returns the newest watchpoint hit in [from, end), positioned
// as a backward step reports it (at the accessing instruction), or nil
// (the machine is then anywhere). Breakpoints are not armed.
func (d *Debugger) lastWatch(from, end uint64) (*Stop, error) {
	bps := d.bps
	d.bps = nil
	defer func() { d.bps = bps }()
	last, found, err := d.lastHit(d.nearest(from), end, nil)
	if err != nil || found.Kind == StopInterrupted || last == nil || last.ICount < from {
		return nil, err
	}
	if err := d.seek(last.ICount, false); err != nil {
		return nil, err
	}
	s := *last
	s.ICount = d.m.ICount()
	return &s, nil
}
