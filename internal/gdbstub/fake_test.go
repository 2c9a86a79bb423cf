package gdbstub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The fake target is a tiny replaying machine: a fixed execution history
// (the pc of every instruction executed, with the memory each one wrote or
// read) and a position in it. Stepping and continuing move the position in
// either direction, undoing and redoing the memory writes, so breakpoints,
// watchpoints and the replay edges behave as on the real machine.

const (
	fakeCode   = 0x80000000 // code: a prologue, a 4-iteration loop, an epilogue
	fakeData   = 0x80001000 // the loop stores its counter here (8 bytes)
	fakeInput  = 0x80001008 // the loop loads from here
	fakeMemLen = 0x2000
	fakeLoop   = fakeCode + 0xc  // loop head
	fakeStore  = fakeCode + 0x10 // sd: writes fakeData
	fakeLoad   = fakeCode + 0x14 // ld: reads fakeInput
	fakeBranch = fakeCode + 0x18
	fakeIters  = 4
)

type access struct {
	addr uint64
	data []byte // bytes written (stores), nil for loads
	old  []byte // bytes overwritten (stores)
	n    uint64 // size of the access
}

type fakeInsn struct {
	pc    uint64
	write *access
	read  *access
}

type bpKey struct {
	kind       BPKind
	addr, size uint64
}

type fakeTarget struct {
	mu      sync.Mutex // the stub is single-threaded; this guards test peeks
	x       [32]uint64
	f       [32]uint64
	csr     map[int]uint64
	mem     []byte
	hist    []fakeInsn
	pos     int
	bps     map[bpKey]bool
	reverse bool          // CanReverse answer
	spin    bool          // forward Continue runs until interrupted (a live guest)
	started chan struct{} // gets a value when a spinning Continue starts
	calls   []string
	nomemAt uint64 // first unreadable address (0: none)
}

func newFakeTarget() *fakeTarget {
	t := &fakeTarget{
		csr:     map[int]uint64{0x300: 0xa00000000, 0x301: 0x800000000014112d, 1: 0, 2: 0, 3: 0, 0xf14: 0},
		mem:     make([]byte, fakeMemLen),
		bps:     map[bpKey]bool{},
		reverse: true,
		started: make(chan struct{}, 1),
	}
	// Every instruction is "addi x0,x0,0" except the loop's store/load/branch.
	for a := 0; a < 0x40; a += 4 {
		copy(t.mem[a:], []byte{0x13, 0, 0, 0})
	}
	copy(t.mem[fakeStore-fakeCode:], le32(0x00533023)) // sd t0,0(t1)
	copy(t.mem[fakeLoad-fakeCode:], le32(0x0083b383))  // ld t2,8(t2)
	copy(t.mem[fakeBranch-fakeCode:], le32(0xfe029ae3))
	copy(t.mem[fakeInput-fakeCode:], le64(0x1234))
	pcs := []uint64{fakeCode, fakeCode + 4, fakeCode + 8}
	t.hist = append(t.hist, fakeInsn{pc: pcs[0]}, fakeInsn{pc: pcs[1]}, fakeInsn{pc: pcs[2]})
	for i := 1; i <= fakeIters; i++ {
		t.hist = append(t.hist,
			fakeInsn{pc: fakeLoop},
			fakeInsn{pc: fakeStore, write: &access{addr: fakeData, data: le64(uint64(i) * 0x11), n: 8}},
			fakeInsn{pc: fakeLoad, read: &access{addr: fakeInput, n: 8}},
			fakeInsn{pc: fakeBranch})
	}
	t.hist = append(t.hist,
		fakeInsn{pc: fakeBranch + 4}, fakeInsn{pc: fakeBranch + 8}, fakeInsn{pc: fakeBranch + 12})
	t.x[2] = 0x80002000 // sp
	t.f[0] = 0x400921fb54442d18
	return t
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
func le64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

// last is the position at the end of the recording.
func (t *fakeTarget) last() int { return len(t.hist) - 1 }

func (t *fakeTarget) pcAt(pos int) uint64 { return t.hist[pos].pc }

func (t *fakeTarget) note(format string, args ...any) {
	t.calls = append(t.calls, fmt.Sprintf(format, args...))
}

func (t *fakeTarget) ReadReg(n int) (uint64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case n == 0:
		return 0, nil
	case n == RegPC:
		return t.pcAt(t.pos), nil
	case n == 10: // a0 holds the icount
		return uint64(t.pos), nil
	case n < 32:
		return t.x[n], nil
	case n >= RegF0 && n < RegF0+32:
		return t.f[n-RegF0], nil
	case n == RegPriv:
		return 3, nil
	case n >= RegCSR0 && n < RegCSR0+4096:
		if v, ok := t.csr[n-RegCSR0]; ok {
			return v, nil
		}
		return 0, fmt.Errorf("fake: no CSR %#x", n-RegCSR0)
	}
	return 0, fmt.Errorf("fake: no register %d", n)
}

func (t *fakeTarget) WriteReg(n int, v uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.note("WriteReg %d %#x", n, v)
	switch {
	case n == 0:
		return nil
	case n == RegPC || n == 10:
		return errors.New("fake: register is replayed")
	case n < 32:
		t.x[n] = v
	case n >= RegF0 && n < RegF0+32:
		t.f[n-RegF0] = v
	case n >= RegCSR0 && n < RegCSR0+4096:
		if _, ok := t.csr[n-RegCSR0]; !ok {
			return errors.New("fake: no such CSR")
		}
		t.csr[n-RegCSR0] = v
	default:
		return errors.New("fake: no such register")
	}
	return nil
}

func (t *fakeTarget) inRange(addr uint64, n int) bool {
	if addr < fakeCode || addr-fakeCode > fakeMemLen || uint64(n) > fakeMemLen-(addr-fakeCode) {
		return false
	}
	if t.nomemAt != 0 && addr+uint64(n) > t.nomemAt {
		return false
	}
	return true
}

func (t *fakeTarget) ReadMem(addr uint64, p []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.inRange(addr, len(p)) {
		return fmt.Errorf("fake: no memory at %#x+%d", addr, len(p))
	}
	copy(p, t.mem[addr-fakeCode:])
	return nil
}

func (t *fakeTarget) WriteMem(addr uint64, p []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.note("WriteMem %#x %x", addr, p)
	if !t.inRange(addr, len(p)) {
		return fmt.Errorf("fake: no memory at %#x+%d", addr, len(p))
	}
	copy(t.mem[addr-fakeCode:], p)
	return nil
}

// exec runs the instruction at pos (forward) and returns its watch event.
func (t *fakeTarget) exec() (StopEvent, bool) {
	in := t.hist[t.pos]
	if w := in.write; w != nil {
		off := w.addr - fakeCode
		w.old = append([]byte(nil), t.mem[off:off+w.n]...)
		copy(t.mem[off:], w.data)
	}
	t.pos++
	return t.watchHit(in)
}

// unexec undoes the instruction before pos (backward).
func (t *fakeTarget) unexec() (StopEvent, bool) {
	t.pos--
	in := t.hist[t.pos]
	if w := in.write; w != nil {
		copy(t.mem[w.addr-fakeCode:], w.old)
	}
	return t.watchHit(in)
}

func overlaps(a, an, b, bn uint64) bool { return a < b+bn && b < a+an }

func (t *fakeTarget) watchHit(in fakeInsn) (StopEvent, bool) {
	for k := range t.bps {
		switch {
		case in.write != nil && (k.kind == WriteWatch || k.kind == AccessWatch) &&
			overlaps(in.write.addr, in.write.n, k.addr, k.size):
			r := StopWatch
			if k.kind == AccessWatch {
				r = StopAccessWatch
			}
			return StopEvent{Reason: r, Addr: max(in.write.addr, k.addr)}, true
		case in.read != nil && (k.kind == ReadWatch || k.kind == AccessWatch) &&
			overlaps(in.read.addr, in.read.n, k.addr, k.size):
			r := StopReadWatch
			if k.kind == AccessWatch {
				r = StopAccessWatch
			}
			return StopEvent{Reason: r, Addr: max(in.read.addr, k.addr)}, true
		}
	}
	return StopEvent{}, false
}

func (t *fakeTarget) breakAt(pc uint64) (StopEvent, bool) {
	for k := range t.bps {
		if k.addr == pc && (k.kind == SWBreak || k.kind == HWBreak) {
			if k.kind == SWBreak {
				return StopEvent{Reason: StopSWBreak}, true
			}
			return StopEvent{Reason: StopHWBreak}, true
		}
	}
	return StopEvent{}, false
}

func (t *fakeTarget) Step(dir Direction) (StopEvent, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.note("Step %s", dir)
	if dir == Forward {
		if t.pos == t.last() {
			return StopEvent{Reason: StopReplayEnd}, nil
		}
		if ev, ok := t.exec(); ok {
			return ev, nil
		}
		return StopEvent{Reason: StopStep}, nil
	}
	if !t.reverse {
		return StopEvent{}, errors.New("fake: cannot reverse")
	}
	if t.pos == 0 {
		return StopEvent{Reason: StopReplayBegin}, nil
	}
	if ev, ok := t.unexec(); ok {
		return ev, nil
	}
	return StopEvent{Reason: StopStep}, nil
}

func (t *fakeTarget) Continue(dir Direction, interrupt <-chan struct{}) (StopEvent, error) {
	t.mu.Lock()
	t.note("Continue %s", dir)
	spin := t.spin
	t.mu.Unlock()
	if spin && dir == Forward {
		select {
		case t.started <- struct{}{}:
		default:
		}
		select {
		case <-interrupt:
			return StopEvent{Reason: StopInterrupted}, nil
		case <-time.After(10 * time.Second):
			return StopEvent{}, errors.New("fake: never interrupted")
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		select {
		case <-interrupt:
			return StopEvent{Reason: StopInterrupted}, nil
		default:
		}
		if dir == Forward {
			if t.pos == t.last() {
				return StopEvent{Reason: StopReplayEnd}, nil
			}
			if ev, ok := t.exec(); ok {
				return ev, nil
			}
		} else {
			if t.pos == 0 {
				return StopEvent{Reason: StopReplayBegin}, nil
			}
			if ev, ok := t.unexec(); ok {
				return ev, nil
			}
		}
		if ev, ok := t.breakAt(t.pcAt(t.pos)); ok {
			return ev, nil
		}
	}
}

func (t *fakeTarget) SetBreakpoint(kind BPKind, addr, length uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.note("Set %s %#x %d", kind, addr, length)
	if kind == ReadWatch && addr == 0 {
		return errors.ErrUnsupported
	}
	if addr == 1 {
		return errors.New("fake: bad address")
	}
	k := bpKey{kind, addr, length}
	t.bps[k] = true
	return nil
}

func (t *fakeTarget) ClearBreakpoint(kind BPKind, addr, length uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.note("Clear %s %#x %d", kind, addr, length)
	delete(t.bps, bpKey{kind, addr, length})
	return nil
}

func (t *fakeTarget) seek(n int) {
	for t.pos < n {
		t.exec()
	}
	for t.pos > n {
		t.unexec()
	}
}

func (t *fakeTarget) Monitor(cmd string, out io.Writer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.note("Monitor %q", cmd)
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return errors.New("commands: when, seek N")
	}
	switch f[0] {
	case "when":
		fmt.Fprintf(out, "icount %d\n", t.pos)
		return nil
	case "seek":
		if len(f) != 2 {
			return errors.New("usage: seek ICOUNT")
		}
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 0 || n > t.last() {
			return fmt.Errorf("seek: icount %q out of range [0,%d]", f[1], t.last())
		}
		t.seek(n)
		fmt.Fprintf(out, "at icount %d\n", n)
		return nil
	case "big":
		_, err := out.Write(bytes.Repeat([]byte("0123456789abcdef"), 2000))
		return err
	}
	return fmt.Errorf("unknown monitor command %q", f[0])
}

func (t *fakeTarget) CanReverse() (bool, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reverse {
		return true, ""
	}
	return false, "live machine: record with 'rewind record' and debug the replay to go backwards"
}

var _ Target = (*fakeTarget)(nil)
