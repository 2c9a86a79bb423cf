// Package loader places boot images in guest RAM: firmware (OpenSBI), a
// Linux kernel Image, an initrd, the device tree and OpenSBI's
// fw_dynamic_info, at the addresses QEMU's virt board uses, plus a strict
// ELF64 loader for bare-metal programs and ELF firmware.
//
// The package knows nothing of the bus: it writes through the small Memory
// interface and takes the RAM range as a parameter.
//
// Booting is two steps so the device tree can describe the initrd: Plan
// computes every address (the machine then builds the DTB with the initrd
// range in /chosen), and Layout.Load writes everything.
package loader

import (
	"fmt"
)

// Memory is guest physical memory as the loader sees it. *bus.Bus
// implements it. A Memory that also has an InRAM(pa, n uint64) bool method
// (as *bus.Bus does) lets LoadELF check every segment before writing.
type Memory interface {
	WriteBytes(pa uint64, p []byte) error
}

// rangeChecker is an optional ability of a Memory: when present, LoadELF
// checks every segment with it before writing anything.
type rangeChecker interface {
	InRAM(pa, n uint64) bool
}

// RAM is the guest RAM window.
type RAM struct {
	Base, Size uint64
}

// End returns the first address after RAM.
func (r RAM) End() uint64 { return r.Base + r.Size }

// Contains reports whether [pa, pa+n) lies entirely in RAM.
func (r RAM) Contains(pa, n uint64) bool {
	return pa >= r.Base && pa-r.Base <= r.Size && n <= r.Size-(pa-r.Base)
}

// String formats RAM as an inclusive range, "0x80000000-0x8fffffff".
func (r RAM) String() string { return fmt.Sprintf("%#x-%#x", r.Base, r.End()-1) }

// Range is a half-open physical address range [Start, End). The zero Range
// means "not used".
type Range struct {
	Start, End uint64
}

// Size returns End - Start.
func (r Range) Size() uint64 { return r.End - r.Start }

// String formats the range as "[0x80200000, 0x80600000)".
func (r Range) String() string { return fmt.Sprintf("[%#x, %#x)", r.Start, r.End) }

// overlaps reports whether two non-empty ranges share a byte.
func (r Range) overlaps(o Range) bool {
	return r.Size() > 0 && o.Size() > 0 && r.Start < o.End && o.Start < r.End
}

// LoadRaw copies data to pa, after checking that it fits in ram. name says
// what the data is in the error ("kernel Image").
func LoadRaw(mem Memory, ram RAM, name string, pa uint64, data []byte) error {
	if !ram.Contains(pa, uint64(len(data))) {
		return notFit(name, uint64(len(data)), uint64(len(data)), pa, ram)
	}
	if err := mem.WriteBytes(pa, data); err != nil {
		return fmt.Errorf("loader: %s at %#x: %w", name, pa, err)
	}
	return nil
}

// notFit is the error for an image that does not fit in RAM; memSize is the
// footprint (file size plus bss) when it differs from size.
func notFit(name string, size, memSize, pa uint64, ram RAM) error {
	what := fmt.Sprintf("%d bytes", size)
	if memSize != size {
		what = fmt.Sprintf("%d bytes, %d in memory", size, memSize)
	}
	return fmt.Errorf("loader: %s (%s) does not fit in RAM at %#x (RAM %s)", name, what, pa, ram)
}

func alignDown(v, a uint64) uint64 { return v &^ (a - 1) }

func alignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }
