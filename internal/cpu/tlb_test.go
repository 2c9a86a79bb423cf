package cpu

import (
	"encoding/binary"
	"testing"

	"github.com/rewindvm/rewind/internal/bus"
)

// The address space of TestSfenceVMAPage (Sv39, S-mode):
//
//	0x80000000 2 MiB superpage -> ramBase (the code)
//	0x80200000 4 KiB page      -> ramBase+0x400000
//	0x80201000 4 KiB page      -> ramBase+0x401000
//	0x80400000 2 MiB superpage -> ramBase+0x600000
//
// Every data page starts with a marker naming its physical page.
const (
	tlbRoot = ramBase + 0x300000
	tlbL1   = ramBase + 0x301000
	tlbL0   = ramBase + 0x302000
)

func tlbTestCPU(t *testing.T, sfence uint32) *CPU {
	t.Helper()
	b := bus.New(ramBase, 16<<20)
	c := New(b)
	put := func(pa, v uint64) { binary.LittleEndian.PutUint64(b.RAM[pa-ramBase:], v) }
	const leaf = 0xcf // V R W X A D
	put(tlbRoot+2*8, tlbL1>>12<<10|1)
	put(tlbL1+0*8, ramBase>>12<<10|leaf)
	put(tlbL1+1*8, tlbL0>>12<<10|1)
	put(tlbL1+2*8, (ramBase+0x600000)>>12<<10|leaf)
	put(tlbL0+0*8, (ramBase+0x400000)>>12<<10|leaf)
	put(tlbL0+1*8, (ramBase+0x401000)>>12<<10|leaf)
	for pa := uint64(ramBase + 0x400000); pa < ramBase+0xc00000; pa += 0x1000 {
		put(pa, pa)
	}
	binary.LittleEndian.PutUint32(b.RAM[0x10000:], sfence)
	s := c.Save()
	s.Priv = PrivS
	s.Satp = satpSv39<<60 | tlbRoot>>12
	s.PC = ramBase + 0x10000
	c.Load(s)
	return c
}

// TestSfenceVMAPage checks which cached translations an sfence.vma
// drops: all of them without an address; with one, the page's own entry
// and every entry that came from a superpage containing it, and no other.
func TestSfenceVMAPage(t *testing.T) {
	const sfenceA0 = 0x12000073 | uint32(a0)<<15
	const sfenceAll = 0x12000073
	tests := []struct {
		name   string
		sfence uint32
		flush  uint64 // a0
		pte    uint64 // the PTE rewritten after the first load ...
		newPA  uint64 // ... to map this page instead
		va     uint64 // loaded before and after
		want   uint64 // the marker the second load sees
	}{
		{"4K page, its address", sfenceA0, 0x80200010, tlbL0, ramBase + 0x402000, 0x80200000, ramBase + 0x402000},
		{"4K page, another page", sfenceA0, 0x80201000, tlbL0, ramBase + 0x402000, 0x80200000, ramBase + 0x400000},
		{"4K page, no address", sfenceAll, 0, tlbL0, ramBase + 0x402000, 0x80200000, ramBase + 0x402000},
		{"superpage, another of its pages", sfenceA0, 0x80475000, tlbL1 + 2*8, ramBase + 0x800000, 0x80401000, ramBase + 0x801000},
		{"superpage, a page beside it", sfenceA0, 0x80201000, tlbL1 + 2*8, ramBase + 0x800000, 0x80401000, ramBase + 0x601000},
		{"superpage, same index outside it", sfenceA0, 0x80401000 + 1<<30, tlbL1 + 2*8, ramBase + 0x800000, 0x80401000, ramBase + 0x601000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tlbTestCPU(t, tt.sfence)
			c.x[a0] = tt.flush
			if v, ok := c.load64(tt.va); !ok || v&^0xfff == 0 {
				t.Fatalf("first load of %#x: %#x, %v", tt.va, v, ok)
			}
			old := binary.LittleEndian.Uint64(c.ram[tt.pte-ramBase:])
			binary.LittleEndian.PutUint64(c.ram[tt.pte-ramBase:], tt.newPA>>12<<10|old&0x3ff)
			c.Run(1)
			if c.PC() != ramBase+0x10004 {
				t.Fatalf("sfence.vma did not run: pc %#x", c.PC())
			}
			v, ok := c.load64(tt.va)
			if !ok || v != tt.want {
				t.Fatalf("load of %#x after sfence.vma %#x: %#x, %v; want %#x", tt.va, tt.flush, v, ok, tt.want)
			}
		})
	}
}
