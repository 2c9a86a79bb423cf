// Package bus is the machine's physical address space: one RAM range and a
// set of memory-mapped device windows.
//
// The CPU reaches RAM directly through its TLB (it holds the RAM slice) and
// falls back to Bus.Read/Bus.Write for everything else. Device models that
// do DMA (virtio) use ReadBytes/WriteBytes, which tell the registered write
// observers (the CPU's decoded-instruction cache, snapshot dirty tracking)
// which physical bytes changed.
package bus

import (
	"fmt"
	"sort"

	"github.com/rewindvm/rewind/internal/hugemem"
)

// Device is a memory-mapped device window. Offsets are relative to the
// window base; size is 1, 2, 4 or 8. A device decides itself what an access
// of an unsupported width means (usually: ignored write, zero read).
type Device interface {
	Read(off uint64, size int) uint64
	Write(off uint64, size int, val uint64)
}

// WriteObserver is told about every write to RAM that does not come from
// the CPU's own store path (DMA, loaders, debugger writes).
type WriteObserver func(pa, n uint64)

type region struct {
	base, size uint64
	name       string
	dev        Device
}

// Bus is the physical address map. It is not safe for concurrent use; only
// the machine goroutine touches it.
type Bus struct {
	// RAM is guest RAM, RAMBase its physical address.
	RAM     []byte
	RAMBase uint64

	regions   []region
	observers []WriteObserver
	guard     WriteObserver // before a write; see Guard
}

// New returns a bus with ramSize bytes of zeroed RAM at ramBase.
func New(ramBase, ramSize uint64) *Bus {
	return NewWithRAM(ramBase, hugemem.Alloc(int(ramSize)))
}

// NewWithRAM returns a bus with ram, which must be zeroed, at ramBase.
func NewWithRAM(ramBase uint64, ram []byte) *Bus {
	return &Bus{RAM: ram, RAMBase: ramBase}
}

// Map places d at [base, base+size). Overlapping windows are an error.
func (b *Bus) Map(base, size uint64, name string, d Device) error {
	end := base + size
	if size == 0 || end < base {
		return fmt.Errorf("bus: map %s: bad window %#x+%#x", name, base, size)
	}
	if base < b.RAMBase+uint64(len(b.RAM)) && end > b.RAMBase {
		return fmt.Errorf("bus: map %s at %#x: overlaps RAM", name, base)
	}
	for _, r := range b.regions {
		if base < r.base+r.size && end > r.base {
			return fmt.Errorf("bus: map %s at %#x: overlaps %s at %#x", name, base, r.name, r.base)
		}
	}
	b.regions = append(b.regions, region{base, size, name, d})
	sort.Slice(b.regions, func(i, j int) bool { return b.regions[i].base < b.regions[j].base })
	return nil
}

// Observe registers fn to be told about non-CPU writes to RAM.
func (b *Bus) Observe(fn WriteObserver) { b.observers = append(b.observers, fn) }

// Guard makes fn run before every non-CPU write to RAM, with the bytes
// still unchanged (nil: no guard): copy-on-write of a snapshot that
// another goroutine reads.
func (b *Bus) Guard(fn WriteObserver) { b.guard = fn }

// InRAM reports whether [pa, pa+n) lies entirely in RAM.
func (b *Bus) InRAM(pa, n uint64) bool {
	off := pa - b.RAMBase
	return pa >= b.RAMBase && off < uint64(len(b.RAM)) && n <= uint64(len(b.RAM))-off
}

func (b *Bus) find(pa uint64) *region {
	// Few regions: a linear scan beats a binary search here.
	for i := range b.regions {
		r := &b.regions[i]
		if pa >= r.base && pa-r.base < r.size {
			return r
		}
	}
	return nil
}

// Read performs a physical read of size bytes. ok is false when nothing is
// mapped there (the CPU turns that into an access fault).
func (b *Bus) Read(pa uint64, size int) (val uint64, ok bool) {
	if b.InRAM(pa, uint64(size)) {
		off := pa - b.RAMBase
		for i := size - 1; i >= 0; i-- {
			val = val<<8 | uint64(b.RAM[off+uint64(i)])
		}
		return val, true
	}
	r := b.find(pa)
	if r == nil || pa-r.base+uint64(size) > r.size {
		return 0, false
	}
	return r.dev.Read(pa-r.base, size), true
}

// Write performs a physical write of size bytes. RAM writes through this
// path are reported to the observers.
func (b *Bus) Write(pa uint64, size int, val uint64) bool {
	if b.InRAM(pa, uint64(size)) {
		off := pa - b.RAMBase
		if b.guard != nil {
			b.guard(pa, uint64(size))
		}
		for i := 0; i < size; i++ {
			b.RAM[off+uint64(i)] = byte(val >> (8 * i))
		}
		b.notify(pa, uint64(size))
		return true
	}
	r := b.find(pa)
	if r == nil || pa-r.base+uint64(size) > r.size {
		return false
	}
	r.dev.Write(pa-r.base, size, val)
	return true
}

// IsMMIO reports whether pa falls in a device window.
func (b *Bus) IsMMIO(pa uint64) bool { return b.find(pa) != nil }

// ReadBytes copies guest RAM at pa into p (DMA read).
func (b *Bus) ReadBytes(pa uint64, p []byte) error {
	if !b.InRAM(pa, uint64(len(p))) {
		return fmt.Errorf("bus: DMA read of %d bytes at %#x is outside RAM", len(p), pa)
	}
	copy(p, b.RAM[pa-b.RAMBase:])
	return nil
}

// WriteBytes copies p into guest RAM at pa (DMA write) and tells the
// observers.
func (b *Bus) WriteBytes(pa uint64, p []byte) error {
	if !b.InRAM(pa, uint64(len(p))) {
		return fmt.Errorf("bus: DMA write of %d bytes at %#x is outside RAM", len(p), pa)
	}
	if b.guard != nil && len(p) > 0 {
		b.guard(pa, uint64(len(p)))
	}
	copy(b.RAM[pa-b.RAMBase:], p)
	b.notify(pa, uint64(len(p)))
	return nil
}

func (b *Bus) notify(pa, n uint64) {
	for _, fn := range b.observers {
		fn(pa, n)
	}
}
