package bus

import "testing"

type regDev struct{ last uint64 }

func (d *regDev) Read(off uint64, size int) uint64       { return off<<8 | uint64(size) }
func (d *regDev) Write(off uint64, size int, val uint64) { d.last = val }

func TestMapAndAccess(t *testing.T) {
	b := New(0x80000000, 0x1000)
	d := &regDev{}
	if err := b.Map(0x10000000, 0x100, "dev", d); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ base, size uint64 }{{0x10000080, 0x100}, {0x80000800, 0x10}, {0x20000000, 0}} {
		if err := b.Map(bad.base, bad.size, "x", d); err == nil {
			t.Errorf("Map(%#x, %#x) accepted an overlapping or empty window", bad.base, bad.size)
		}
	}
	if v, ok := b.Read(0x10000004, 4); !ok || v != 4<<8|4 {
		t.Fatalf("MMIO read = %#x, %v", v, ok)
	}
	if _, ok := b.Read(0x100000fe, 4); ok {
		t.Fatal("read straddling the window end succeeded")
	}
	if _, ok := b.Read(0x30000000, 8); ok {
		t.Fatal("unmapped read succeeded")
	}
	var seen []uint64
	b.Observe(func(pa, n uint64) { seen = append(seen, pa, n) })
	if !b.Write(0x80000010, 8, 0x1122334455667788) {
		t.Fatal("RAM write failed")
	}
	if v, _ := b.Read(0x80000010, 2); v != 0x7788 {
		t.Fatalf("RAM read back %#x", v)
	}
	if err := b.WriteBytes(0x80000ff0, make([]byte, 0x20)); err == nil {
		t.Fatal("DMA past the end of RAM succeeded")
	}
	if len(seen) != 2 || seen[0] != 0x80000010 || seen[1] != 8 {
		t.Fatalf("observer saw %v", seen)
	}
}
