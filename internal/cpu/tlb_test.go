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

// pteFlags returns the low byte of the PTE at physical address pa.
func pteFlags(c *CPU, pa uint64) uint64 { return binary.LittleEndian.Uint64(c.ram[pa-ramBase:]) & 0xff }

// TestTLBDeterministic checks that what the TLB holds, which a guest
// can see through the A and D bits, depends only on the guest: dirty
// tracking, code caching and watchpoints leave translations in place,
// and a hart restored with LoadTLB caches what the saved one did.
func TestTLBDeterministic(t *testing.T) {
	const va, pte = 0x80200000, tlbL0 // a 4 KiB page and its PTE
	clearAD := func(c *CPU) {
		binary.LittleEndian.PutUint64(c.ram[pte-ramBase:], binary.LittleEndian.Uint64(c.ram[pte-ramBase:])&^0xc0)
	}
	tests := []struct {
		name    string
		between func(t *testing.T, c *CPU) *CPU // returns the hart to go on with
	}{
		{"nothing", func(t *testing.T, c *CPU) *CPU { return c }},
		{"TakeDirty", func(t *testing.T, c *CPU) *CPU { c.TakeDirty(func(uint64) {}); return c }},
		{"watchpoint set and cleared", func(t *testing.T, c *CPU) *CPU {
			c.SetWatchpoints([]Watch{{Addr: va + 0x800, Len: 8, Kind: WatchWrite}})
			c.SetWatchpoints(nil)
			return c
		}},
		{"restored with LoadTLB", func(t *testing.T, c *CPU) *CPU {
			d := tlbTestCPU(t, 0)
			copy(d.ram, c.ram)
			d.TrackDirty()
			d.Load(c.Save())
			if err := d.LoadTLB(c.SaveTLB()); err != nil {
				t.Fatal(err)
			}
			return d
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tlbTestCPU(t, 0)
			c.TrackDirty()
			if _, ok := c.load64(va); !ok {
				t.Fatal("load faulted")
			}
			if !c.store64(va+8, 1) {
				t.Fatal("store faulted")
			}
			// The guest clears A and D without sfence.vma: the cached
			// translations stay in use and the bits stay clear.
			clearAD(c)
			c = tt.between(t, c)
			c.load64(va)
			c.store64(va+16, 2)
			if f := pteFlags(c, pte); f&0xc0 != 0 {
				t.Errorf("PTE flags %#x: a cached translation was dropped (A or D set again)", f)
			}
			var dirty []uint64
			c.TakeDirty(func(p uint64) { dirty = append(dirty, p) })
			if len(dirty) != 1 || dirty[0] != 0x400 {
				t.Errorf("dirty pages %#x, want [0x400]", dirty)
			}
		})
	}
}

func TestLoadTLBRefuses(t *testing.T) {
	tests := []struct {
		name string
		e    TLBEntry
	}{
		{"unknown TLB", TLBEntry{TLB: 3, Key: 0x80200, Add: 0}},
		{"unknown level", TLBEntry{Level: 4, Key: 0x80200, Add: 0}},
		{"key bits", TLBEntry{Key: 0x80200 | tlbSlow, Add: 0}},
		{"outside RAM", TLBEntry{Key: 0x80200, Add: 16 << 20}},
		{"below RAM", TLBEntry{Key: 0x80200, Add: -0x80201000 & (1<<64 - 1)}},
		{"unaligned", TLBEntry{Key: 0x80200, Add: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tlbTestCPU(t, 0)
			if err := c.LoadTLB([]TLBEntry{tt.e}); err == nil {
				t.Fatalf("LoadTLB(%+v) accepted", tt.e)
			}
		})
	}
	c := tlbTestCPU(t, 0)
	e := TLBEntry{Key: 0x80200, Add: -0x80200000 & (1<<64 - 1)} // RAM page 0
	if err := c.LoadTLB([]TLBEntry{e, e}); err == nil {
		t.Fatal("LoadTLB accepted an index twice")
	}
	if err := c.LoadTLB([]TLBEntry{e}); err != nil {
		t.Fatalf("LoadTLB(%+v): %v", e, err)
	}
}
