// Package clint models the SiFive Core-Local Interruptor of QEMU's virt
// board for one to eight harts: each hart's machine software interrupt
// (msip[i]) and machine timer (mtimecmp[i]), and the mtime counter they
// share.
//
// Register map (SiFive CLINT, as used by QEMU virt and OpenSBI's ACLINT
// driver; RISC-V ACLINT spec §2 "MTIMER" and §3 "MSWI"):
//
//	0x0000 + 4*i  msip[i]      32-bit, bit 0 drives hart i's mip.MSIP (Privileged spec §3.1.9)
//	0x4000 + 8*i  mtimecmp[i]  64-bit
//	0xbff8        mtime        64-bit, shared by all harts
//
// The layout leaves room for 4095 harts; the slots of harts the machine
// does not have read 0 and ignore writes, as QEMU's CLINT does.
//
// mtime is derived from virtual time only: mtime = Now()*timebaseHz/1e9 +
// offset. Hart i's machine timer interrupt pending bit mip.MTIP is the level
// mtime >= mtimecmp[i] (Privileged spec §3.2.1); it is re-evaluated when
// mtimecmp[i] or mtime is written and when the vclock timer armed for
// hart i's mtimecmp deadline fires. Each hart has its own timer, so one
// hart's deadline never touches another hart's MTIP.
package clint

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/rewindvm/rewind/internal/bus"
	"github.com/rewindvm/rewind/internal/vclock"
)

// Hart is the interrupt input of one hart this CLINT drives.
type Hart interface {
	// SetPending sets (level true) or clears the hardware-driven mip bits
	// in mask.
	SetPending(mask uint64, level bool)
}

// mip bits driven by the CLINT (Privileged spec §3.1.9).
const (
	MSIP = 1 << 3 // machine software interrupt pending
	MTIP = 1 << 7 // machine timer interrupt pending
)

// Register offsets and window size (QEMU virt: base 0x2000000). Hart i's
// registers are at RegMSIP + MSIPStride*i and RegMTimeCmp +
// MTimeCmpStride*i.
const (
	Size           = 0x10000
	RegMSIP        = 0x0000
	MSIPStride     = 4
	RegMTimeCmp    = 0x4000
	MTimeCmpStride = 8
	RegMTime       = 0xbff8
)

// maxHarts is the largest hart count of the virt board (QEMU's
// VIRT_CPUS_MAX_BITS allows more; Rewind's machine stops at 8).
const maxHarts = 8

const nsPerSec = 1_000_000_000

// CLINT is the core-local interruptor. It is not safe for concurrent use;
// only the machine goroutine touches it.
type CLINT struct {
	// Logf, if set, receives messages about unusual guest accesses.
	Logf func(format string, args ...any)

	clock  *vclock.Clock
	hz     uint64
	offset uint64 // mtime = ticks(clock.Now()) + offset (mod 2^64)
	harts  []hartRegs
}

// hartRegs is one hart's slice of the CLINT.
type hartRegs struct {
	hart     Hart
	msip     uint32
	mtimecmp uint64
	mtip     bool // current MTIP level
	timer    vclock.Timer
}

var _ bus.Device = (*CLINT)(nil)

// New returns a CLINT reading virtual time from clock and driving the MSIP
// and MTIP bits of harts; harts[i] is hart i (mhartid i), whose registers
// are msip[i] and mtimecmp[i]. timebaseHz is the mtime frequency (QEMU virt:
// 10 MHz, i.e. 100 ns per tick; it must match the device tree's
// timebase-frequency) and must be in 1..1e9, and there must be 1 to 8
// harts; New panics otherwise (a wiring bug, not a guest error).
//
// At reset every msip is 0, mtime starts at 0 with virtual time, and every
// mtimecmp is all-ones (no spurious timer interrupt before firmware programs
// it; the privileged spec leaves the reset value unspecified).
func New(clock *vclock.Clock, harts []Hart, timebaseHz uint64) *CLINT {
	if timebaseHz == 0 || timebaseHz > nsPerSec {
		panic(fmt.Sprintf("clint: timebase %d Hz out of range 1..1e9", timebaseHz))
	}
	if len(harts) < 1 || len(harts) > maxHarts {
		panic(fmt.Sprintf("clint: %d harts, want 1..%d", len(harts), maxHarts))
	}
	c := &CLINT{clock: clock, hz: timebaseHz, harts: make([]hartRegs, len(harts))}
	for i := range c.harts {
		h := &c.harts[i]
		h.hart, h.mtimecmp = harts[i], ^uint64(0)
		h.timer.Fn = func() { c.update(i) }
		h.hart.SetPending(MTIP, false)
	}
	return c
}

// ticks converts virtual nanoseconds to timebase ticks (floor).
func (c *CLINT) ticks(ns uint64) uint64 {
	hi, lo := bits.Mul64(ns, c.hz)
	q, _ := bits.Div64(hi, lo, nsPerSec) // hi < 1e9 because hz <= 1e9
	return q
}

// nsAt returns the first virtual time at which ticks() reaches t, or
// false if that lies beyond 2^64 ns.
func (c *CLINT) nsAt(t uint64) (uint64, bool) {
	hi, lo := bits.Mul64(t, nsPerSec)
	lo, carry := bits.Add64(lo, c.hz-1, 0)
	hi += carry
	if hi >= c.hz {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, c.hz)
	return q, true
}

// Time returns the current mtime value (the time and timeh CSRs read it;
// Privileged spec §3.2.1, Unprivileged spec "Zicntr").
func (c *CLINT) Time() uint64 { return c.ticks(c.clock.Now()) + c.offset }

// update re-evaluates hart i's MTIP and (re)arms its timer for the
// mtimecmp[i] deadline.
func (c *CLINT) update(i int) {
	h := &c.harts[i]
	now := c.clock.Now()
	raw := c.ticks(now)
	mtime := raw + c.offset
	h.mtip = mtime >= h.mtimecmp
	h.hart.SetPending(MTIP, h.mtip)
	if h.mtip {
		c.clock.Disarm(&h.timer)
		return
	}
	// mtime reaches mtimecmp after delta more ticks (no wrap: delta > 0
	// and raw+delta is checked). If mtime wraps past 2^64 first, MTIP is
	// not re-evaluated at the wrap: with a 10 MHz timebase that is 58,000
	// years away unless the guest writes mtime close to 2^64 itself.
	target, carry := bits.Add64(raw, h.mtimecmp-mtime, 0)
	ns, ok := c.nsAt(target)
	if carry != 0 || !ok {
		c.clock.Disarm(&h.timer)
		return
	}
	if !h.timer.Armed() || h.timer.Deadline() != ns {
		c.clock.Arm(&h.timer, ns)
	}
}

// updateAll re-evaluates every hart's MTIP, in hart order.
func (c *CLINT) updateAll() {
	for i := range c.harts {
		c.update(i)
	}
}

// register kinds.
const (
	kindMSIP = iota + 1
	kindMTimeCmp
	kindMTime
)

// reg finds the register containing [off, off+size): its kind, the hart
// it belongs to (msip and mtimecmp; the hart may not exist) and its
// offset. ok is false if the access does not lie inside one register.
func reg(off uint64, size int) (kind, hart int, base uint64, ok bool) {
	end := off + uint64(size)
	if end < off {
		return 0, 0, 0, false
	}
	switch {
	case off >= RegMSIP && off < RegMTimeCmp:
		i := (off - RegMSIP) / MSIPStride
		base = RegMSIP + MSIPStride*i
		if end <= base+MSIPStride {
			return kindMSIP, int(i), base, true
		}
	case off >= RegMTimeCmp && off < RegMTime:
		i := (off - RegMTimeCmp) / MTimeCmpStride
		base = RegMTimeCmp + MTimeCmpStride*i
		if end <= base+MTimeCmpStride {
			return kindMTimeCmp, int(i), base, true
		}
	case off >= RegMTime && end <= RegMTime+8:
		return kindMTime, 0, RegMTime, true
	}
	return 0, 0, 0, false
}

// Read implements bus.Device. Any access of 1, 2, 4 or 8 bytes that lies
// inside one register reads those bytes of it (so RV32-style 32-bit halves
// of mtime/mtimecmp work); anything else, and the registers of harts the
// machine does not have, read 0.
func (c *CLINT) Read(off uint64, size int) uint64 {
	kind, i, base, ok := reg(off, size)
	if !ok || !validSize(size) {
		return 0
	}
	if kind != kindMTime && i >= len(c.harts) {
		return 0
	}
	var v uint64
	switch kind {
	case kindMSIP:
		v = uint64(c.harts[i].msip)
	case kindMTimeCmp:
		v = c.harts[i].mtimecmp
	case kindMTime:
		v = c.Time()
	}
	return extract(v, off-base, size)
}

// Write implements bus.Device. Partial writes merge into the register
// (e.g. two 32-bit halves of mtimecmp). Writing mtime keeps the virtual
// clock untouched and stores the difference as an offset, so mtime keeps
// counting from the written value; every hart's MTIP follows it.
func (c *CLINT) Write(off uint64, size int, val uint64) {
	kind, i, base, ok := reg(off, size)
	if !ok || !validSize(size) {
		c.logf("clint: ignored %d-byte write of %#x at offset %#x", size, val, off)
		return
	}
	if kind != kindMTime && i >= len(c.harts) {
		c.logf("clint: ignored %d-byte write of %#x at offset %#x: no hart %d", size, val, off, i)
		return
	}
	switch kind {
	case kindMSIP:
		h := &c.harts[i]
		h.msip = uint32(merge(uint64(h.msip), off-base, size, val)) & 1
		h.hart.SetPending(MSIP, h.msip != 0)
	case kindMTimeCmp:
		h := &c.harts[i]
		h.mtimecmp = merge(h.mtimecmp, off-base, size, val)
		c.update(i)
	case kindMTime:
		mtime := merge(c.Time(), off-base, size, val)
		c.offset = mtime - c.ticks(c.clock.Now())
		c.updateAll()
	}
}

func validSize(size int) bool { return size == 1 || size == 2 || size == 4 || size == 8 }

// extract returns size bytes of v starting at byte shift.
func extract(v, shift uint64, size int) uint64 {
	v >>= 8 * shift
	if size < 8 {
		v &= 1<<(8*size) - 1
	}
	return v
}

// merge replaces size bytes of old at byte shift with val.
func merge(old, shift uint64, size int, val uint64) uint64 {
	mask := ^uint64(0)
	if size < 8 {
		mask = 1<<(8*size) - 1
	}
	return old&^(mask<<(8*shift)) | (val&mask)<<(8*shift)
}

func (c *CLINT) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// State is the snapshot form of a CLINT. The timer deadlines are not part
// of it: Load recomputes them from the restored virtual clock.
//
// MSIP and MTimeCmp are hart 0's, as they were when the CLINT served one
// hart; Others holds harts 1.. and is nil on a one-hart machine. So a
// State gob-encoded by a single-hart Rewind decodes unchanged, and a
// single-hart State prints (and digests) as it always did (see GoString).
type State struct {
	MSIP     uint32
	MTimeCmp uint64
	// Offset is mtime minus the tick count of virtual time.
	Offset uint64
	// Others holds hart i's registers at Others[i-1].
	Others []HartState
}

// HartState is the part of State that belongs to one hart other than hart
// 0.
type HartState struct {
	MSIP     uint32
	MTimeCmp uint64
}

// stateV1 is State as it was before the CLINT served several harts.
type stateV1 struct {
	MSIP     uint32
	MTimeCmp uint64
	Offset   uint64
}

// stateFields is State without its methods, for printing it in full.
type stateFields State

// GoString implements fmt.GoStringer, which the %#v verb uses. State
// digests hash the %#v text of every device's State, so a one-hart State
// prints exactly as the single-hart State without Others did: a recording
// made before multi-hart machines keeps matching its digests.
func (s State) GoString() string {
	if len(s.Others) == 0 {
		return renamed(fmt.Sprintf("%#v", stateV1{s.MSIP, s.MTimeCmp, s.Offset}), "clint.stateV1")
	}
	return renamed(fmt.Sprintf("%#v", stateFields(s)), "clint.stateFields")
}

// renamed replaces the type name prefix of a %#v text with clint.State.
func renamed(text, prefix string) string {
	return "clint.State" + strings.TrimPrefix(text, prefix)
}

// Save returns the CLINT state.
func (c *CLINT) Save() State {
	h0 := &c.harts[0]
	s := State{MSIP: h0.msip, MTimeCmp: h0.mtimecmp, Offset: c.offset}
	for i := 1; i < len(c.harts); i++ {
		h := &c.harts[i]
		s.Others = append(s.Others, HartState{MSIP: h.msip, MTimeCmp: h.mtimecmp})
	}
	return s
}

// Load restores s, which must describe as many harts as the CLINT has. The
// virtual clock must already be restored. Load re-drives every hart's MSIP
// and MTIP and re-arms the timers.
func (c *CLINT) Load(s State) error {
	if n := 1 + len(s.Others); n != len(c.harts) {
		return fmt.Errorf("clint: load: the state has %d harts, the CLINT %d", n, len(c.harts))
	}
	regs := append([]HartState{{MSIP: s.MSIP, MTimeCmp: s.MTimeCmp}}, s.Others...)
	for i, r := range regs {
		if r.MSIP > 1 {
			return fmt.Errorf("clint: load: hart %d msip %#x has bits other than bit 0", i, r.MSIP)
		}
	}
	c.offset = s.Offset
	for i, r := range regs {
		h := &c.harts[i]
		h.msip, h.mtimecmp = r.MSIP, r.MTimeCmp
		h.hart.SetPending(MSIP, h.msip != 0)
	}
	c.updateAll()
	return nil
}
