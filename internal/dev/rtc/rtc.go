// Package rtc models the Goldfish real-time clock of QEMU's virt board
// (base 0x101000, IRQ 11), as driven by Linux's rtc-goldfish driver.
//
// Registers (32-bit; Android "GOLDFISH-VIRTUAL-HARDWARE" goldfish_rtc, with
// the alarm registers Linux's driver uses):
//
//	0x00 TIME_LOW         R: sample the time (ns), latch the high word, return the low word
//	                      W: set the time to TIME_HIGH(written)<<32 | value
//	0x04 TIME_HIGH        R: high word latched by the last TIME_LOW read
//	                      W: high word for the next TIME_LOW write
//	0x08 ALARM_LOW        W: alarm = ALARM_HIGH(written)<<32 | value, and arm it
//	                      R: low word of the alarm
//	0x0c ALARM_HIGH       W: high word for the next ALARM_LOW write; R: high word of the alarm
//	0x10 IRQ_ENABLED      RW: bit 0 enables the interrupt
//	0x14 CLEAR_ALARM      W: disarm the alarm
//	0x18 ALARM_STATUS     R: 1 while an alarm is armed
//	0x1c CLEAR_INTERRUPT  W: clear the pending alarm interrupt
//
// Time is virtual: time_ns = baseUnixNs + clock.Now() + offset, where
// baseUnixNs is the recorded start time (a machine parameter, in the
// replay log header) and offset is set by guest writes to TIME. The alarm
// is a vclock timer; the IRQ line is high while an alarm has fired, has
// not been cleared, and IRQ_ENABLED is set.
package rtc

import (
	"github.com/rewindvm/rewind/internal/bus"
	"github.com/rewindvm/rewind/internal/vclock"
)

// IRQ is the interrupt line into the PLIC (level-triggered).
type IRQ interface{ SetLevel(high bool) }

// Size is the MMIO window size on QEMU virt.
const Size = 0x1000

// Register offsets.
const (
	RegTimeLow        = 0x00
	RegTimeHigh       = 0x04
	RegAlarmLow       = 0x08
	RegAlarmHigh      = 0x0c
	RegIRQEnabled     = 0x10
	RegClearAlarm     = 0x14
	RegAlarmStatus    = 0x18
	RegClearInterrupt = 0x1c
)

// RTC is the Goldfish RTC. It is not safe for concurrent use; only the
// machine goroutine touches it.
type RTC struct {
	// Logf, if set, receives messages about unusual guest accesses.
	Logf func(format string, args ...any)

	clock *vclock.Clock
	irq   IRQ
	base  uint64

	offset        uint64 // added to base+Now (mod 2^64)
	timeHighRead  uint32 // latched by TIME_LOW reads
	timeHighWrite uint32 // staged by TIME_HIGH writes
	alarm         uint64
	alarmHigh     uint32 // staged by ALARM_HIGH writes
	alarmArmed    bool
	irqEnabled    bool
	irqPending    bool
	timer         vclock.Timer
}

var _ bus.Device = (*RTC)(nil)

// New returns an RTC whose time starts at baseUnixNs (nanoseconds since
// the Unix epoch) when virtual time is 0, and which drives irq.
func New(clock *vclock.Clock, irq IRQ, baseUnixNs uint64) *RTC {
	r := &RTC{clock: clock, irq: irq, base: baseUnixNs}
	r.timer.Fn = r.fire
	r.update()
	return r
}

// Now returns the current RTC time in nanoseconds since the Unix epoch.
func (r *RTC) Now() uint64 { return r.base + r.clock.Now() + r.offset }

func (r *RTC) update() { r.irq.SetLevel(r.irqPending && r.irqEnabled) }

func (r *RTC) fire() {
	r.alarmArmed = false
	r.irqPending = true
	r.update()
}

// schedule arms the vclock timer for the alarm, or fires at once if the
// alarm time has passed.
func (r *RTC) schedule() {
	if !r.alarmArmed {
		r.clock.Disarm(&r.timer)
		return
	}
	now := r.Now()
	if r.alarm <= now {
		r.clock.Disarm(&r.timer)
		r.fire()
		return
	}
	vnow := r.clock.Now()
	when := vnow + (r.alarm - now)
	if when < vnow { // beyond 2^64 ns of virtual time: never
		r.clock.Disarm(&r.timer)
		return
	}
	r.clock.Arm(&r.timer, when)
}

// Read implements bus.Device. Only aligned 32-bit reads are defined; other
// widths read 0.
func (r *RTC) Read(off uint64, size int) uint64 {
	if size != 4 {
		r.logf("rtc: ignored %d-byte read at offset %#x", size, off)
		return 0
	}
	switch off {
	case RegTimeLow:
		t := r.Now()
		r.timeHighRead = uint32(t >> 32)
		return uint64(uint32(t))
	case RegTimeHigh:
		return uint64(r.timeHighRead)
	case RegAlarmLow:
		return uint64(uint32(r.alarm))
	case RegAlarmHigh:
		return r.alarm >> 32
	case RegIRQEnabled:
		return b2u(r.irqEnabled)
	case RegAlarmStatus:
		return b2u(r.alarmArmed)
	}
	return 0
}

// Write implements bus.Device. Only aligned 32-bit writes are defined;
// others are ignored.
func (r *RTC) Write(off uint64, size int, val uint64) {
	if size != 4 {
		r.logf("rtc: ignored %d-byte write of %#x at offset %#x", size, val, off)
		return
	}
	v := uint32(val)
	switch off {
	case RegTimeLow:
		t := uint64(r.timeHighWrite)<<32 | uint64(v)
		r.offset = t - r.base - r.clock.Now()
		r.schedule() // the alarm is in RTC time: move its deadline
	case RegTimeHigh:
		r.timeHighWrite = v
	case RegAlarmLow:
		r.alarm = uint64(r.alarmHigh)<<32 | uint64(v)
		r.alarmArmed = true
		r.schedule()
	case RegAlarmHigh:
		r.alarmHigh = v
	case RegIRQEnabled:
		r.irqEnabled = v&1 != 0
		r.update()
	case RegClearAlarm:
		r.alarmArmed = false
		r.schedule()
	case RegClearInterrupt:
		r.irqPending = false
		r.update()
	default:
		r.logf("rtc: ignored write of %#x at offset %#x", val, off)
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func (r *RTC) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}

// State is the snapshot form of an RTC. The timer deadline is not part of
// it: Load recomputes it from Alarm and the restored virtual clock.
type State struct {
	Offset        uint64
	TimeHighRead  uint32
	TimeHighWrite uint32
	Alarm         uint64
	AlarmHigh     uint32
	AlarmArmed    bool
	IRQEnabled    bool
	IRQPending    bool
}

// Save returns the RTC state.
func (r *RTC) Save() State {
	return State{
		Offset: r.offset, TimeHighRead: r.timeHighRead, TimeHighWrite: r.timeHighWrite,
		Alarm: r.alarm, AlarmHigh: r.alarmHigh, AlarmArmed: r.alarmArmed,
		IRQEnabled: r.irqEnabled, IRQPending: r.irqPending,
	}
}

// Load restores s. The virtual clock must already be restored. Load
// re-arms the alarm timer and re-drives the IRQ line. (An armed alarm that
// is already due in s fires during Load; a consistent snapshot never has
// one, since the timer fires as soon as the alarm is due.)
func (r *RTC) Load(s State) error {
	r.offset, r.timeHighRead, r.timeHighWrite = s.Offset, s.TimeHighRead, s.TimeHighWrite
	r.alarm, r.alarmHigh, r.alarmArmed = s.Alarm, s.AlarmHigh, s.AlarmArmed
	r.irqEnabled, r.irqPending = s.IRQEnabled, s.IRQPending
	r.schedule()
	r.update()
	return nil
}
