// Package clint models the SiFive Core-Local Interruptor of QEMU's virt
// board for one hart: the machine software interrupt (msip) and the machine
// timer (mtime, mtimecmp).
//
// Register map (SiFive CLINT, as used by QEMU virt and OpenSBI's ACLINT
// driver; RISC-V ACLINT spec §2 "MTIMER" and §3 "MSWI"):
//
//	0x0000  msip[0]      32-bit, bit 0 drives mip.MSIP (Privileged spec §3.1.9)
//	0x4000  mtimecmp[0]  64-bit
//	0xbff8  mtime        64-bit
//
// mtime is derived from virtual time only: mtime = Now()*timebaseHz/1e9 +
// offset. The machine timer interrupt pending bit mip.MTIP is the level
// mtime >= mtimecmp (Privileged spec §3.2.1); it is re-evaluated when
// mtimecmp or mtime is written and when a vclock timer armed for the
// mtimecmp deadline fires.
package clint

import (
	"fmt"
	"math/bits"

	"github.com/rewindvm/rewind/internal/bus"
	"github.com/rewindvm/rewind/internal/vclock"
)

// Hart is the interrupt input of the hart this CLINT drives.
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

// Register offsets and window size (QEMU virt: base 0x2000000).
const (
	Size        = 0x10000
	RegMSIP     = 0x0000
	RegMTimeCmp = 0x4000
	RegMTime    = 0xbff8
)

const nsPerSec = 1_000_000_000

// CLINT is the core-local interruptor of a single-hart machine. It is not
// safe for concurrent use; only the machine goroutine touches it.
type CLINT struct {
	// Logf, if set, receives messages about unusual guest accesses.
	Logf func(format string, args ...any)

	clock *vclock.Clock
	hart  Hart
	hz    uint64

	msip     uint32
	mtimecmp uint64
	offset   uint64 // mtime = ticks(clock.Now()) + offset (mod 2^64)
	mtip     bool   // current MTIP level
	timer    vclock.Timer
}

var _ bus.Device = (*CLINT)(nil)

// New returns a CLINT reading virtual time from clock and driving hart's
// MSIP and MTIP. timebaseHz is the mtime frequency (QEMU virt: 10 MHz, i.e.
// 100 ns per tick; it must match the device tree's timebase-frequency) and
// must be in 1..1e9; New panics otherwise (a wiring bug, not a guest error).
//
// At reset msip is 0, mtime starts at 0 with virtual time, and mtimecmp is
// all-ones (no spurious timer interrupt before firmware programs it; the
// privileged spec leaves the reset value unspecified).
func New(clock *vclock.Clock, hart Hart, timebaseHz uint64) *CLINT {
	if timebaseHz == 0 || timebaseHz > nsPerSec {
		panic(fmt.Sprintf("clint: timebase %d Hz out of range 1..1e9", timebaseHz))
	}
	c := &CLINT{clock: clock, hart: hart, hz: timebaseHz, mtimecmp: ^uint64(0)}
	c.timer.Fn = c.update
	c.hart.SetPending(MTIP, false)
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

// update re-evaluates MTIP and (re)arms the timer for the mtimecmp
// deadline.
func (c *CLINT) update() {
	now := c.clock.Now()
	raw := c.ticks(now)
	mtime := raw + c.offset
	c.mtip = mtime >= c.mtimecmp
	c.hart.SetPending(MTIP, c.mtip)
	if c.mtip {
		c.clock.Disarm(&c.timer)
		return
	}
	// mtime reaches mtimecmp after delta more ticks (no wrap: delta > 0
	// and raw+delta is checked). If mtime wraps past 2^64 first, MTIP is
	// not re-evaluated at the wrap: with a 10 MHz timebase that is 58,000
	// years away unless the guest writes mtime close to 2^64 itself.
	target, carry := bits.Add64(raw, c.mtimecmp-mtime, 0)
	ns, ok := c.nsAt(target)
	if carry != 0 || !ok {
		c.clock.Disarm(&c.timer)
		return
	}
	if !c.timer.Armed() || c.timer.Deadline() != ns {
		c.clock.Arm(&c.timer, ns)
	}
}

// reg returns the offset of the register containing [off, off+size), or
// ok=false.
func reg(off uint64, size int) (base uint64, ok bool) {
	end := off + uint64(size)
	switch {
	case off >= RegMSIP && end <= RegMSIP+4:
		return RegMSIP, true
	case off >= RegMTimeCmp && end <= RegMTimeCmp+8:
		return RegMTimeCmp, true
	case off >= RegMTime && end <= RegMTime+8:
		return RegMTime, true
	}
	return 0, false
}

// Read implements bus.Device. Any access of 1, 2, 4 or 8 bytes that lies
// inside one register reads those bytes of it (so RV32-style 32-bit halves
// of mtime/mtimecmp work); anything else reads 0.
func (c *CLINT) Read(off uint64, size int) uint64 {
	base, ok := reg(off, size)
	if !ok || !validSize(size) {
		return 0
	}
	var v uint64
	switch base {
	case RegMSIP:
		v = uint64(c.msip)
	case RegMTimeCmp:
		v = c.mtimecmp
	case RegMTime:
		v = c.Time()
	}
	return extract(v, off-base, size)
}

// Write implements bus.Device. Partial writes merge into the register
// (e.g. two 32-bit halves of mtimecmp). Writing mtime keeps the virtual
// clock untouched and stores the difference as an offset, so mtime keeps
// counting from the written value.
func (c *CLINT) Write(off uint64, size int, val uint64) {
	base, ok := reg(off, size)
	if !ok || !validSize(size) {
		c.logf("clint: ignored %d-byte write of %#x at offset %#x", size, val, off)
		return
	}
	switch base {
	case RegMSIP:
		c.msip = uint32(merge(uint64(c.msip), off-base, size, val)) & 1
		c.hart.SetPending(MSIP, c.msip != 0)
	case RegMTimeCmp:
		c.mtimecmp = merge(c.mtimecmp, off-base, size, val)
		c.update()
	case RegMTime:
		mtime := merge(c.Time(), off-base, size, val)
		c.offset = mtime - c.ticks(c.clock.Now())
		c.update()
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

// State is the snapshot form of a CLINT. The timer deadline is not part of
// it: Load recomputes it from the restored virtual clock.
type State struct {
	MSIP     uint32
	MTimeCmp uint64
	// Offset is mtime minus the tick count of virtual time.
	Offset uint64
}

// Save returns the CLINT state.
func (c *CLINT) Save() State {
	return State{MSIP: c.msip, MTimeCmp: c.mtimecmp, Offset: c.offset}
}

// Load restores s. The virtual clock must already be restored. Load
// re-drives MSIP and MTIP onto the hart and re-arms the timer.
func (c *CLINT) Load(s State) error {
	if s.MSIP > 1 {
		return fmt.Errorf("clint: load: msip %#x has bits other than bit 0", s.MSIP)
	}
	c.msip, c.mtimecmp, c.offset = s.MSIP, s.MTimeCmp, s.Offset
	c.hart.SetPending(MSIP, c.msip != 0)
	c.update()
	return nil
}
