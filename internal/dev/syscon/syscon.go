// Package syscon models the "sifive,test" finisher of QEMU's virt board
// (base 0x100000): a write-only register the guest uses to power off or
// reset the machine. Linux reaches it through the syscon-poweroff and
// syscon-reboot device-tree nodes, OpenSBI through its sifive_test reset
// driver.
//
// A write of at least 16 bits at offset 0 is decoded as:
//
//	val & 0xffff == 0x5555            power off, success
//	val & 0xffff == 0x3333            power off, failure; exit code val >> 16
//	val & 0xffff == 0x7777            reset
//
// Anything else is ignored. Reads return 0.
package syscon

import "github.com/rewindvm/rewind/internal/bus"

// Size is the MMIO window size on QEMU virt.
const Size = 0x1000

// Finisher command codes (low 16 bits of the written value).
const (
	CmdFail  = 0x3333
	CmdPass  = 0x5555
	CmdReset = 0x7777
)

// Kind says what the guest asked for.
type Kind int

const (
	// PowerOff is a successful power-off (exit code 0).
	PowerOff Kind = iota
	// Fail is a power-off reporting failure with an exit code.
	Fail
	// Reset is a request to reset the machine.
	Reset
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case PowerOff:
		return "power-off"
	case Fail:
		return "fail"
	case Reset:
		return "reset"
	}
	return "unknown"
}

// Syscon is the test finisher. It has no state.
type Syscon struct {
	// OnPowerOff is called, on the machine goroutine and inside the
	// guest's store, when the guest writes a finisher command. code is
	// the failure exit code for Fail and 0 otherwise. The machine should
	// end the current CPU slice after the store completes; it must not
	// re-enter the device.
	OnPowerOff func(kind Kind, code int)
	// Logf, if set, receives messages about unusual guest accesses.
	Logf func(format string, args ...any)
}

var _ bus.Device = (*Syscon)(nil)

// New returns a finisher reporting through onPowerOff (which may be nil
// and set later through the field).
func New(onPowerOff func(kind Kind, code int)) *Syscon {
	return &Syscon{OnPowerOff: onPowerOff}
}

// Read implements bus.Device: the register is write-only and reads 0.
func (s *Syscon) Read(off uint64, size int) uint64 { return 0 }

// Write implements bus.Device.
func (s *Syscon) Write(off uint64, size int, val uint64) {
	if off != 0 || size < 2 {
		s.logf("syscon: ignored %d-byte write of %#x at offset %#x", size, val, off)
		return
	}
	var kind Kind
	code := 0
	switch val & 0xffff {
	case CmdPass:
		kind = PowerOff
	case CmdFail:
		kind = Fail
		code = int(uint16(val >> 16))
	case CmdReset:
		kind = Reset
	default:
		s.logf("syscon: ignored unknown command %#x", val)
		return
	}
	if s.OnPowerOff != nil {
		s.OnPowerOff(kind, code)
	}
}

func (s *Syscon) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// State is the snapshot form of the finisher: it has no state, the type
// exists so every device offers the same Save/Load pair.
type State struct{}

// Save returns the (empty) state.
func (s *Syscon) Save() State { return State{} }

// Load restores the (empty) state.
func (s *Syscon) Load(State) error { return nil }
