package debugger

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/gdbstub"
	"github.com/rewindvm/rewind/internal/machine"
)

// Target adapts a Debugger to the GDB stub. Each hart is a gdb thread
// (id = hart index + 1).
type Target struct {
	points
	d           *Debugger
	checkpoints []uint64
	// sel is the hart gdb selected (registers, memory, steps); stop the
	// hart of the last stop.
	sel, stop int
}

var _ gdbstub.ThreadTarget = (*Target)(nil)

// NewTarget returns the gdb view of d.
func NewTarget(d *Debugger) *Target {
	h := d.NextHart()
	return &Target{d: d, sel: h, stop: h}
}

// hart returns the selected hart.
func (t *Target) hart() *cpu.CPU { return t.d.m.Harts[t.sel] }

// Threads implements gdbstub.ThreadTarget: one per hart.
func (t *Target) Threads() int { return len(t.d.m.Harts) }

// SelectThread implements gdbstub.ThreadTarget.
func (t *Target) SelectThread(id int) error {
	if id < 1 || id > len(t.d.m.Harts) {
		return fmt.Errorf("no hart %d (thread %d)", id-1, id)
	}
	t.sel = id - 1
	return nil
}

// StopThread implements gdbstub.ThreadTarget.
func (t *Target) StopThread() int { return t.stop + 1 }

// ThreadExtraInfo implements gdbstub.ThreadTarget.
func (t *Target) ThreadExtraInfo(id int) string {
	if id < 1 || id > len(t.d.m.Harts) {
		return ""
	}
	return fmt.Sprintf("hart %d, %s", id-1, hartState(t.d.m.Harts[id-1]))
}

// hartState describes a hart's mode and state: "S-mode, running" or
// "M-mode, in WFI".
func hartState(h *cpu.CPU) string {
	state := "running"
	if h.Waiting() {
		state = "in WFI"
	}
	return fmt.Sprintf("%s-mode, %s", privName(h.Priv()), state)
}

func privName(p uint8) string {
	switch p {
	case cpu.PrivU:
		return "U"
	case cpu.PrivS:
		return "S"
	case cpu.PrivM:
		return "M"
	}
	return "?"
}

// moved notes a move that gdb does not know of (monitor seek): the
// stop hart becomes the one that executes next; gdb's selection stays.
func (t *Target) moved() { t.stop = t.d.NextHart() }

// writeHarts lists every hart of a multi-hart machine, one line each, for
// monitor when; next is the hart that executes next.
func writeHarts(out io.Writer, m *machine.Machine, next int) {
	if len(m.Harts) == 1 {
		return
	}
	for i, h := range m.Harts {
		mark := ""
		if i == next {
			mark = " (executes next)"
		}
		fmt.Fprintf(out, "  hart %d (thread %d): icount %d, pc %#x, %s%s\n", i, i+1, h.ICount(), h.PC(), hartState(h), mark)
	}
}

// stopped records the hart a movement stopped on; gdb's selection
// follows it (the stub names it in the stop reply).
func (t *Target) stopped(st Stop) {
	t.stop, t.sel = st.Hart, st.Hart
}

var errReplayWrite = errors.New("this is a recording: changing registers or memory would make the replay diverge")

// ReadReg implements gdbstub.Target.
func (t *Target) ReadReg(n int) (uint64, error) {
	c := t.hart()
	switch {
	case n >= 0 && n < 32:
		return c.Reg(n), nil
	case n == gdbstub.RegPC:
		return c.PC(), nil
	case n >= 33 && n < 65:
		return c.FReg(n - 33), nil
	case n == gdbstub.RegPriv:
		return uint64(c.Priv()), nil
	case n >= gdbstub.RegCSR0 && n < gdbstub.RegCSR0+4096:
		if v, ok := c.ReadCSR(uint16(n - gdbstub.RegCSR0)); ok {
			return v, nil
		}
	}
	return 0, fmt.Errorf("register %d is not available", n)
}

// WriteReg implements gdbstub.Target: a recording cannot be changed.
func (t *Target) WriteReg(int, uint64) error { return errReplayWrite }

// ReadMem implements gdbstub.Target. Addresses go through the selected
// hart's current translation; an address that does not translate (or
// with translation off) is read as a physical address.
func (t *Target) ReadMem(addr uint64, p []byte) error {
	m := t.d.m
	for i := 0; i < len(p); {
		va := addr + uint64(i)
		pa, ok := t.hart().Translate(va)
		if !ok {
			pa = va
		}
		n := min(len(p)-i, int(4096-va&0xfff))
		if !m.Bus.InRAM(pa, uint64(n)) {
			return fmt.Errorf("address %#x is not RAM", va)
		}
		copy(p[i:i+n], m.Bus.RAM[pa-m.Bus.RAMBase:])
		i += n
	}
	return nil
}

// WriteMem implements gdbstub.Target: a recording cannot be changed.
func (t *Target) WriteMem(uint64, []byte) error { return errReplayWrite }

func (t *Target) arm() {
	t.d.SetBreakpoints(t.pcs())
	t.d.SetWatchpoints(t.watches)
}

func (t *Target) event(st Stop) gdbstub.StopEvent {
	switch st.Kind {
	case StopBreakpoint:
		return gdbstub.StopEvent{Reason: gdbstub.StopSWBreak}
	case StopWatchpoint:
		return watchEvent(st.Watch)
	case StopBegin:
		return gdbstub.StopEvent{Reason: gdbstub.StopReplayBegin}
	case StopEnd, StopHalted:
		return gdbstub.StopEvent{Reason: gdbstub.StopReplayEnd}
	case StopInterrupted:
		return gdbstub.StopEvent{Reason: gdbstub.StopInterrupted}
	}
	return gdbstub.StopEvent{Reason: gdbstub.StopStep}
}

// Step implements gdbstub.Target. On a multi-hart machine it steps the
// selected hart (Debugger.StepHart, StepHartBackward): the machine moves
// until that hart has executed one instruction, forward or backward.
func (t *Target) Step(dir gdbstub.Direction) (gdbstub.StopEvent, error) {
	t.arm()
	var st Stop
	var err error
	switch {
	case dir == gdbstub.Forward && t.d.ICount() >= t.d.End():
		return gdbstub.StopEvent{Reason: gdbstub.StopReplayEnd}, nil
	case len(t.d.m.Harts) == 1 && dir == gdbstub.Forward:
		st, err = t.d.StepForwardWatched()
	case len(t.d.m.Harts) == 1:
		st, err = t.d.StepBackwardWatched()
	case dir == gdbstub.Forward:
		st, err = t.d.StepHart(t.sel)
	default:
		st, err = t.d.StepHartBackward(t.sel)
	}
	if err == nil {
		t.stopped(st)
	}
	return t.event(st), err
}

// Continue implements gdbstub.Target. All harts run; a breakpoint or
// watchpoint hit on any of them stops, on that hart.
func (t *Target) Continue(dir gdbstub.Direction, interrupt <-chan struct{}) (gdbstub.StopEvent, error) {
	t.arm()
	var st Stop
	var err error
	if dir == gdbstub.Forward {
		st, err = t.d.Continue(interrupt)
	} else {
		st, err = t.d.ReverseContinue(interrupt)
	}
	if err == nil {
		t.stopped(st)
	}
	return t.event(st), err
}

// CanReverse implements gdbstub.Target.
func (t *Target) CanReverse() (bool, string) { return true, "" }

const monitorHelp = `Rewind monitor commands:
  when                 current instruction count and guest time (and, with
                       several harts, each hart's own count)
  seek ICOUNT          go to an instruction count (then: maint flush register-cache)
  checkpoint           remember the current position; prints its number
  restart N            go back to checkpoint N
  last-write ADDR [LEN]  go to the last instruction before now that wrote the
                       guest-physical range [ADDR, ADDR+LEN) (default LEN 8)
  info                 snapshots and memory use
  digest               the machine state digest (as rewind --stats prints it)
`

// Monitor implements gdbstub.Target.
func (t *Target) Monitor(cmd string, out io.Writer) error {
	f := strings.Fields(cmd)
	if len(f) == 0 || f[0] == "help" {
		_, err := io.WriteString(out, monitorHelp)
		return err
	}
	num := func(s string) (uint64, error) {
		v, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		return v, nil
	}
	m := t.d.m
	switch f[0] {
	case "when":
		ns := m.Clock.Now()
		fmt.Fprintf(out, "icount %d (of %d), guest time %d.%09d s, pc %#x\n", t.d.ICount(), t.d.End(), ns/1e9, ns%1e9, t.hart().PC())
		writeHarts(out, m, t.d.NextHart())
		return nil
	case "seek":
		if len(f) != 2 {
			return errors.New("usage: seek ICOUNT")
		}
		n, err := num(f[1])
		if err != nil {
			return err
		}
		if err := t.d.Seek(n); err != nil {
			return err
		}
		t.moved()
		fmt.Fprintf(out, "icount %d, pc %#x\n", t.d.ICount(), t.hart().PC())
		return nil
	case "checkpoint":
		t.checkpoints = append(t.checkpoints, t.d.ICount())
		fmt.Fprintf(out, "checkpoint %d at icount %d\n", len(t.checkpoints), t.d.ICount())
		return nil
	case "restart":
		if len(f) != 2 {
			return errors.New("usage: restart N")
		}
		n, err := num(f[1])
		if err != nil || n == 0 || n > uint64(len(t.checkpoints)) {
			return fmt.Errorf("no checkpoint %s (have %d)", f[1], len(t.checkpoints))
		}
		if err := t.d.Seek(t.checkpoints[n-1]); err != nil {
			return err
		}
		t.moved()
		fmt.Fprintf(out, "icount %d, pc %#x\n", t.d.ICount(), t.hart().PC())
		return nil
	case "last-write":
		if len(f) < 2 || len(f) > 3 {
			return errors.New("usage: last-write ADDR [LEN]")
		}
		addr, err := num(f[1])
		if err != nil {
			return err
		}
		n := uint64(8)
		if len(f) == 3 {
			if n, err = num(f[2]); err != nil {
				return err
			}
		}
		st, err := t.d.LastWrite(addr, n)
		if err != nil {
			return err
		}
		if st.Kind != StopWatchpoint {
			t.moved()
			fmt.Fprintf(out, "no write to [%#x, %#x) before this point in the recording\n", addr, addr+n)
			return nil
		}
		t.stopped(st)
		if len(m.Harts) > 1 {
			fmt.Fprintf(out, "icount %d: hart %d (thread %d) pc %#x writes %#x (then: maint flush register-cache; thread %d)\n",
				t.d.ICount(), st.Hart, st.Hart+1, t.hart().PC(), st.Watch.Addr, st.Hart+1)
			return nil
		}
		fmt.Fprintf(out, "icount %d: pc %#x writes %#x (then: maint flush register-cache)\n", t.d.ICount(), t.hart().PC(), st.Watch.Addr)
		return nil
	case "info":
		_, err := fmt.Fprintln(out, t.d.String())
		return err
	case "digest":
		_, err := fmt.Fprintf(out, "state digest %x at icount %d\n", m.Digest(), t.d.ICount())
		return err
	}
	return fmt.Errorf("unknown monitor command %q (try: monitor help)", f[0])
}
