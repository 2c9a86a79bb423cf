package hugemem

import (
	"testing"
	"unsafe"
)

func TestAlloc(t *testing.T) {
	for _, n := range []int{0, 1, 4096, MinSize, MinSize + 12345} {
		b := Alloc(n)
		if len(b) != n {
			t.Fatalf("Alloc(%d): length %d", n, len(b))
		}
		if cap(b) != n {
			t.Fatalf("Alloc(%d): capacity %d", n, cap(b))
		}
		for i, c := range b {
			if c != 0 {
				t.Fatalf("Alloc(%d): byte %d is %d", n, i, c)
			}
		}
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(b))); n >= MinSize && p%HugePage != 0 {
			t.Errorf("Alloc(%d) at %#x: not on a huge-page boundary", n, p)
		}
	}
}

// TestSlab: buffers carved from slabs have the capacity asked for, are
// empty, and never overlap, whatever the mix of sizes.
func TestSlab(t *testing.T) {
	var s Slab
	type span struct{ lo, hi uintptr }
	var spans []span
	var keep [][]byte // alive, so the collector cannot reuse their memory
	sizes := []int{1, 100, 64 << 10, 1 << 20, 3 << 20, MaxSlab/4 + 1, 7, 2 << 20, 1 << 20, 5}
	for round := range 4 {
		for _, n := range sizes {
			b := s.Take(n)
			if len(b) != 0 || cap(b) != n {
				t.Fatalf("round %d: Take(%d): len %d cap %d", round, n, len(b), cap(b))
			}
			b = b[:n]
			b[n-1] = 0x55 // writable end to end
			b[0] = 0xaa
			lo := uintptr(unsafe.Pointer(&b[0]))
			sp := span{lo, lo + uintptr(n)}
			for _, o := range spans {
				if sp.lo < o.hi && o.lo < sp.hi {
					t.Fatalf("round %d: Take(%d) overlaps an earlier buffer", round, n)
				}
			}
			spans = append(spans, sp)
			keep = append(keep, b)
		}
	}
	for _, b := range keep {
		if b[0] != 0xaa || len(b) > 1 && b[len(b)-1] != 0x55 {
			t.Fatal("a buffer was overwritten by a later one")
		}
	}
}

func TestMap(t *testing.T) {
	for _, n := range []int{1, 4096, MinSize + 12345} {
		b, err := Map(n)
		if err != nil {
			t.Fatalf("Map(%d): %v", n, err)
		}
		if len(b) != n {
			t.Fatalf("Map(%d): length %d", n, len(b))
		}
		if b[0] != 0 || b[n-1] != 0 {
			t.Fatalf("Map(%d): not zeroed", n)
		}
		b[0], b[n-1] = 1, 2
		Unmap(b[:1]) // the whole mapping, whatever the length
	}
	if b, err := Map(0); err != nil || b != nil {
		t.Fatalf("Map(0) = %v, %v; want nil, nil", b, err)
	}
	Unmap(nil)
}
