package debugger

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/gdbstub"
	"github.com/rewindvm/rewind/internal/machine"
)

// LiveTarget is forward-only gdb debugging of a machine running live
// (rewind run --gdb, rewind record --gdb): there is no recording behind
// it yet, so it cannot go backwards.
type LiveTarget struct {
	points
	m    *machine.Machine
	view *Target // register and memory access, shared with replay
}

var _ gdbstub.ThreadTarget = (*LiveTarget)(nil)

// NewLiveTarget returns a gdb target for m, which must not be running.
func NewLiveTarget(m *machine.Machine) *LiveTarget {
	return &LiveTarget{m: m, view: NewTarget(&Debugger{m: m})}
}

// Threads implements gdbstub.ThreadTarget: one per hart.
func (t *LiveTarget) Threads() int { return t.view.Threads() }

// SelectThread implements gdbstub.ThreadTarget.
func (t *LiveTarget) SelectThread(id int) error { return t.view.SelectThread(id) }

// StopThread implements gdbstub.ThreadTarget.
func (t *LiveTarget) StopThread() int { return t.view.StopThread() }

// ThreadExtraInfo implements gdbstub.ThreadTarget.
func (t *LiveTarget) ThreadExtraInfo(id int) string { return t.view.ThreadExtraInfo(id) }

// stopped records the hart of a stop.
func (t *LiveTarget) stopped(h int) { t.view.stopped(Stop{Hart: h}) }

// ReadReg implements gdbstub.Target.
func (t *LiveTarget) ReadReg(n int) (uint64, error) { return t.view.ReadReg(n) }

// WriteReg implements gdbstub.Target.
func (t *LiveTarget) WriteReg(n int, v uint64) error {
	c := t.view.hart()
	switch {
	case n > 0 && n < 32:
		c.SetReg(n, v)
	case n == gdbstub.RegPC:
		c.SetPC(v)
	case n >= 33 && n < 65:
		c.SetFReg(n-33, v)
	default:
		return fmt.Errorf("register %d cannot be written", n)
	}
	return nil
}

// ReadMem implements gdbstub.Target.
func (t *LiveTarget) ReadMem(addr uint64, p []byte) error { return t.view.ReadMem(addr, p) }

// WriteMem implements gdbstub.Target (through the translation, physical
// fallback, RAM only).
func (t *LiveTarget) WriteMem(addr uint64, p []byte) error {
	m := t.m
	for i := 0; i < len(p); {
		va := addr + uint64(i)
		pa, ok := t.view.hart().Translate(va)
		if !ok {
			pa = va
		}
		n := min(len(p)-i, int(4096-va&0xfff))
		if err := m.Bus.WriteBytes(pa, p[i:i+n]); err != nil {
			return err
		}
		i += n
	}
	return nil
}

func (t *LiveTarget) arm(bps bool) {
	var pcs []uint64
	if bps {
		pcs = t.pcs()
	}
	t.m.SetBreakpoints(pcs)
	t.m.SetWatchpoints(t.watches)
}

func (t *LiveTarget) stop(reason cpu.StopReason) gdbstub.StopEvent {
	t.stopped(t.m.LastHart)
	if reason == cpu.StopBreakpoint {
		return gdbstub.StopEvent{Reason: gdbstub.StopSWBreak}
	}
	return watchEvent(t.m.Harts[t.m.LastHart].LastWatchHit())
}

// Step implements gdbstub.Target. On a multi-hart machine it runs until
// the selected hart has executed one instruction (the others running
// meanwhile as the schedule has them) and stops just after it: a live
// machine cannot come back to where that hart is about to execute its
// next one, as a replay does (Debugger.StepHart).
func (t *LiveTarget) Step(dir gdbstub.Direction) (gdbstub.StopEvent, error) {
	if dir == gdbstub.Backward {
		return gdbstub.StopEvent{}, errors.New(liveWhy)
	}
	t.arm(false)
	defer t.m.SetWatchpoints(nil)
	k := t.view.sel
	h := t.m.Harts[k]
	ic, hc := t.m.ICount(), h.ICount()
	multi := len(t.m.Harts) > 1
	if multi {
		t.m.StopHart, t.m.StopHartAt = k, hc+1
		defer func() { t.m.StopHart = -1 }()
	}
	for (multi && h.ICount() == hc || !multi && t.m.ICount() == ic) && !t.m.Halted() {
		if !multi {
			t.m.StopAt = ic + 1
		}
		t.m.LastStop = cpu.StopBudget
		_, err := t.m.Run(0)
		t.m.StopAt = 0
		if err != nil {
			return gdbstub.StopEvent{}, err
		}
		if t.m.LastStop == cpu.StopWatchpoint {
			return t.stop(t.m.LastStop), nil
		}
	}
	t.stopped(k)
	if t.m.Halted() {
		return gdbstub.StopEvent{Reason: gdbstub.StopExited}, nil
	}
	return gdbstub.StopEvent{Reason: gdbstub.StopStep}, nil
}

// Continue implements gdbstub.Target.
func (t *LiveTarget) Continue(dir gdbstub.Direction, interrupt <-chan struct{}) (gdbstub.StopEvent, error) {
	if dir == gdbstub.Backward {
		return gdbstub.StopEvent{}, errors.New(liveWhy)
	}
	t.arm(true)
	defer func() {
		t.m.SetBreakpoints(nil)
		t.m.SetWatchpoints(nil)
	}()
	t.view.d.skipBreakpointHere()
	for !t.m.Halted() {
		select {
		case <-interrupt:
			return gdbstub.StopEvent{Reason: gdbstub.StopInterrupted}, nil
		default:
		}
		t.m.StopAt = t.m.ICount() + 20_000_000
		t.m.LastStop = cpu.StopBudget
		_, err := t.m.Run(0)
		t.m.StopAt = 0
		if err != nil {
			return gdbstub.StopEvent{}, err
		}
		if t.m.LastStop == cpu.StopBreakpoint || t.m.LastStop == cpu.StopWatchpoint {
			return t.stop(t.m.LastStop), nil
		}
	}
	return gdbstub.StopEvent{Reason: gdbstub.StopExited}, nil
}

const liveWhy = "this machine is running live, there is no history to go back in: record it (rewind record) and debug the recording (rewind debug FILE) to execute backwards"

// CanReverse implements gdbstub.Target.
func (t *LiveTarget) CanReverse() (bool, string) { return false, liveWhy }

// Monitor implements gdbstub.Target: "when" only.
func (t *LiveTarget) Monitor(cmd string, out io.Writer) error {
	switch strings.TrimSpace(cmd) {
	case "when":
		ns := t.m.Clock.Now()
		_, err := fmt.Fprintf(out, "icount %d (live), guest time %d.%09d s, pc %#x\n", t.m.ICount(), ns/1e9, ns%1e9, t.view.hart().PC())
		writeHarts(out, t.m, t.view.d.NextHart())
		return err
	case "", "help":
		_, err := io.WriteString(out, "live machine: monitor when (reverse execution needs a recording)\n")
		return err
	}
	return fmt.Errorf("%q is not available on a live machine (%s)", cmd, liveWhy)
}
