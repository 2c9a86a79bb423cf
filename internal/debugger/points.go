package debugger

import (
	"slices"

	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/gdbstub"
)

// points are the breakpoints and watchpoints gdb has inserted. gdb may
// insert the same breakpoint more than once, so breakpoints are counted.
// It provides the SetBreakpoint and ClearBreakpoint methods of
// gdbstub.Target for the replay and live targets.
type points struct {
	bps     map[uint64]int // pc -> number of gdb breakpoints there
	watches []cpu.Watch
}

func watchFor(kind gdbstub.BPKind, addr, length uint64) cpu.Watch {
	k := cpu.WatchWrite
	switch kind {
	case gdbstub.ReadWatch:
		k = cpu.WatchRead
	case gdbstub.AccessWatch:
		k = cpu.WatchAccess
	}
	return cpu.Watch{Addr: addr, Len: max(length, 1), Kind: k}
}

// SetBreakpoint implements gdbstub.Target.
func (p *points) SetBreakpoint(kind gdbstub.BPKind, addr, length uint64) error {
	switch kind {
	case gdbstub.SWBreak, gdbstub.HWBreak:
		if p.bps == nil {
			p.bps = map[uint64]int{}
		}
		p.bps[addr]++
	default:
		if w := watchFor(kind, addr, length); !slices.Contains(p.watches, w) {
			p.watches = append(p.watches, w)
		}
	}
	return nil
}

// ClearBreakpoint implements gdbstub.Target.
func (p *points) ClearBreakpoint(kind gdbstub.BPKind, addr, length uint64) error {
	switch kind {
	case gdbstub.SWBreak, gdbstub.HWBreak:
		if p.bps[addr] > 1 {
			p.bps[addr]--
		} else {
			delete(p.bps, addr)
		}
	default:
		if i := slices.Index(p.watches, watchFor(kind, addr, length)); i >= 0 {
			p.watches = slices.Delete(p.watches, i, i+1)
		}
	}
	return nil
}

// pcs returns the breakpoint addresses, sorted.
func (p *points) pcs() []uint64 {
	pcs := make([]uint64, 0, len(p.bps))
	for pc := range p.bps {
		pcs = append(pcs, pc)
	}
	slices.Sort(pcs)
	return pcs
}

// watchEvent is the stop reply for a watchpoint hit; the address lies in
// the watched range, so gdb can tell which watchpoint fired.
func watchEvent(hit cpu.WatchHit) gdbstub.StopEvent {
	r := gdbstub.StopWatch
	switch hit.Watch.Kind {
	case cpu.WatchRead:
		r = gdbstub.StopReadWatch
	case cpu.WatchAccess:
		r = gdbstub.StopAccessWatch
	}
	return gdbstub.StopEvent{Reason: r, Addr: max(hit.Addr, hit.Watch.Addr)}
}
