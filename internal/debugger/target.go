package debugger

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rewindvm/rewind/internal/gdbstub"
)

// Target adapts a Debugger to the GDB stub.
type Target struct {
	points
	d           *Debugger
	checkpoints []uint64
}

var _ gdbstub.Target = (*Target)(nil)

// NewTarget returns the gdb view of d.
func NewTarget(d *Debugger) *Target { return &Target{d: d} }

var errReplayWrite = errors.New("this is a recording: changing registers or memory would make the replay diverge")

// ReadReg implements gdbstub.Target.
func (t *Target) ReadReg(n int) (uint64, error) {
	c := t.d.m.Cur()
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

// ReadMem implements gdbstub.Target. Addresses go through the hart's
// current translation; an address that does not translate (or with
// translation off) is read as a physical address.
func (t *Target) ReadMem(addr uint64, p []byte) error {
	m := t.d.m
	for i := 0; i < len(p); {
		va := addr + uint64(i)
		pa, ok := m.Cur().Translate(va)
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

// Step implements gdbstub.Target.
func (t *Target) Step(dir gdbstub.Direction) (gdbstub.StopEvent, error) {
	t.arm()
	if dir == gdbstub.Forward {
		if t.d.ICount() >= t.d.End() {
			return gdbstub.StopEvent{Reason: gdbstub.StopReplayEnd}, nil
		}
		st, err := t.d.StepForwardWatched()
		return t.event(st), err
	}
	st, err := t.d.StepBackwardWatched()
	return t.event(st), err
}

// Continue implements gdbstub.Target.
func (t *Target) Continue(dir gdbstub.Direction, interrupt <-chan struct{}) (gdbstub.StopEvent, error) {
	t.arm()
	if dir == gdbstub.Forward {
		st, err := t.d.Continue(interrupt)
		return t.event(st), err
	}
	st, err := t.d.ReverseContinue(interrupt)
	return t.event(st), err
}

// CanReverse implements gdbstub.Target.
func (t *Target) CanReverse() (bool, string) { return true, "" }

const monitorHelp = `Rewind monitor commands:
  when                 current instruction count and guest time
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
		fmt.Fprintf(out, "icount %d (of %d), guest time %d.%09d s, pc %#x\n", t.d.ICount(), t.d.End(), ns/1e9, ns%1e9, m.Cur().PC())
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
		fmt.Fprintf(out, "icount %d, pc %#x\n", t.d.ICount(), m.Cur().PC())
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
		fmt.Fprintf(out, "icount %d, pc %#x\n", t.d.ICount(), m.Cur().PC())
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
			fmt.Fprintf(out, "no write to [%#x, %#x) before this point in the recording\n", addr, addr+n)
			return nil
		}
		fmt.Fprintf(out, "icount %d: pc %#x writes %#x (then: maint flush register-cache)\n", t.d.ICount(), m.Cur().PC(), st.Watch.Addr)
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
