package clint

import (
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/vclock"
)

// fakeHart records the hardware-driven mip bits.
type fakeHart struct{ mip uint64 }

func (h *fakeHart) SetPending(mask uint64, level bool) {
	if level {
		h.mip |= mask
	} else {
		h.mip &^= mask
	}
}

type rig struct {
	icount uint64
	clock  *vclock.Clock
	hart   *fakeHart
	c      *CLINT
}

// newRig: 1 ns per instruction, 10 MHz timebase (100 instructions/tick).
func newRig(t *testing.T) *rig {
	r := &rig{hart: &fakeHart{}}
	r.clock = vclock.New(func() uint64 { return r.icount }, 0)
	r.c = New(r.clock, r.hart, 10_000_000)
	r.c.Logf = t.Logf
	return r
}

// advance runs "instructions" up to icount n, firing timers as the
// machine loop would.
func (r *rig) advance(n uint64) {
	r.icount = n
	r.clock.FireDue()
}

func TestMTime(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct{ icount, want uint64 }{
		{0, 0}, {99, 0}, {100, 1}, {12345, 123}, {1 << 40, (1 << 40) / 100},
	} {
		r.icount = tc.icount
		if got := r.c.Read(RegMTime, 8); got != tc.want {
			t.Errorf("icount %d: mtime = %d, want %d", tc.icount, got, tc.want)
		}
		if got := r.c.Time(); got != tc.want {
			t.Errorf("icount %d: Time() = %d, want %d", tc.icount, got, tc.want)
		}
	}
	r.icount = 0x1234567890 * 100
	if lo, hi := r.c.Read(RegMTime, 4), r.c.Read(RegMTime+4, 4); lo != 0x34567890 || hi != 0x12 {
		t.Errorf("32-bit halves = %#x %#x", hi, lo)
	}
	if b := r.c.Read(RegMTime+1, 1); b != 0x78 {
		t.Errorf("byte 1 = %#x", b)
	}
}

func TestTimerInterrupt(t *testing.T) {
	r := newRig(t)
	if r.hart.mip&MTIP != 0 {
		t.Fatal("MTIP set at reset")
	}
	r.c.Write(RegMTimeCmp, 8, 500) // deadline 50000 ns
	if r.hart.mip&MTIP != 0 {
		t.Fatal("MTIP set before deadline")
	}
	if when, ok := r.clock.Next(); !ok || when != 50000 {
		t.Fatalf("timer deadline = %d, %v; want 50000", when, ok)
	}
	r.advance(49999)
	if r.hart.mip&MTIP != 0 {
		t.Fatal("MTIP set at 49999 ns")
	}
	r.advance(50000)
	if r.hart.mip&MTIP == 0 {
		t.Fatal("MTIP not set at deadline")
	}
	if _, ok := r.clock.Next(); ok {
		t.Fatal("timer still armed after firing")
	}
	// Moving mtimecmp into the future clears MTIP and re-arms.
	r.c.Write(RegMTimeCmp, 8, 1000)
	if r.hart.mip&MTIP != 0 {
		t.Fatal("MTIP still set after mtimecmp moved forward")
	}
	if when, _ := r.clock.Next(); when != 100000 {
		t.Fatalf("deadline = %d, want 100000", when)
	}
	// Moving it into the past raises MTIP at once and disarms the timer.
	r.c.Write(RegMTimeCmp, 8, 10)
	if r.hart.mip&MTIP == 0 {
		t.Fatal("MTIP not set for mtimecmp in the past")
	}
	if _, ok := r.clock.Next(); ok {
		t.Fatal("timer armed although MTIP is set")
	}
	// All-ones: never fires.
	r.c.Write(RegMTimeCmp, 8, ^uint64(0))
	if r.hart.mip&MTIP != 0 {
		t.Fatal("MTIP set for mtimecmp = max")
	}
	if when, ok := r.clock.Next(); ok {
		t.Logf("deadline for max mtimecmp: %d", when)
	}
}

func TestMTimeCmpHalves(t *testing.T) {
	r := newRig(t)
	// RV32 idiom: low half to -1 first, then high, then low.
	r.c.Write(RegMTimeCmp, 4, 0xffffffff)
	r.c.Write(RegMTimeCmp+4, 4, 0)
	r.c.Write(RegMTimeCmp, 4, 200)
	if got := r.c.Read(RegMTimeCmp, 8); got != 200 {
		t.Fatalf("mtimecmp = %#x, want 200", got)
	}
	if got := r.c.Read(RegMTimeCmp+4, 4); got != 0 {
		t.Fatalf("mtimecmp high = %#x", got)
	}
	r.advance(20000)
	if r.hart.mip&MTIP == 0 {
		t.Fatal("MTIP not set")
	}
}

func TestMTimeWrite(t *testing.T) {
	r := newRig(t)
	r.icount = 1000 // mtime 10
	r.c.Write(RegMTimeCmp, 8, 100)
	r.c.Write(RegMTime, 8, 100) // jump forward: interrupt now
	if r.hart.mip&MTIP == 0 {
		t.Fatal("MTIP not set after mtime write past mtimecmp")
	}
	r.icount = 1500
	if got := r.c.Time(); got != 105 {
		t.Fatalf("mtime = %d, want 105 (counting on from the written value)", got)
	}
	r.c.Write(RegMTime+4, 4, 0) // high half only: no change
	r.c.Write(RegMTime, 4, 50)  // back in time
	if r.hart.mip&MTIP != 0 {
		t.Fatal("MTIP still set after mtime moved back")
	}
	// 50 ticks to go: 5000 ns from icount 1500.
	if when, _ := r.clock.Next(); when != 6500 {
		t.Fatalf("deadline = %d, want 6500", when)
	}
	r.advance(6500)
	if r.hart.mip&MTIP == 0 {
		t.Fatal("MTIP not set at deadline")
	}
}

func TestMSIP(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct {
		size int
		val  uint64
		want uint64
	}{
		{4, 1, 1}, {4, 0, 0}, {4, 0xfffffffe, 0}, {4, 3, 1}, {1, 0, 0}, {8, 1, 1},
	} {
		if tc.size == 8 {
			// 8-byte access spills into msip[1]: not inside one register.
			r.c.Write(RegMSIP, 8, tc.val)
			if got := r.c.Read(RegMSIP, 4); got != 0 {
				t.Errorf("8-byte write changed msip to %d", got)
			}
			continue
		}
		r.c.Write(RegMSIP, tc.size, tc.val)
		if got := r.c.Read(RegMSIP, 4); got != tc.want {
			t.Errorf("write %#x/%d: msip = %d, want %d", tc.val, tc.size, got, tc.want)
		}
		if got := r.hart.mip & MSIP; (got != 0) != (tc.want != 0) {
			t.Errorf("write %#x/%d: mip.MSIP = %v", tc.val, tc.size, got != 0)
		}
	}
}

func TestBadAccesses(t *testing.T) {
	r := newRig(t)
	for _, off := range []uint64{4, 0x3ffc, 0x4004 + 2, 0xbff6, 0xbffc + 2, 0xfffc, 0x10000, ^uint64(0) - 2} {
		for _, size := range []int{0, 1, 2, 3, 4, 8, 16} {
			r.c.Write(off, size, ^uint64(0))
			_ = r.c.Read(off, size)
		}
	}
}

func TestTickConversion(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, hz := range []uint64{1, 3, 32768, 10_000_000, 999_999_937, 1_000_000_000} {
		c := &CLINT{hz: hz}
		for i := 0; i < 2000; i++ {
			tk := rng.Uint64() >> rng.Intn(64)
			ns, ok := c.nsAt(tk)
			if !ok {
				continue
			}
			if c.ticks(ns) < tk {
				t.Fatalf("hz %d: ticks(nsAt(%d)=%d) = %d", hz, tk, ns, c.ticks(ns))
			}
			if ns > 0 && c.ticks(ns-1) >= tk {
				t.Fatalf("hz %d: nsAt(%d)=%d is not the first such time", hz, tk, ns)
			}
		}
	}
}

func TestSaveLoad(t *testing.T) {
	r := newRig(t)
	r.icount = 777
	r.c.Write(RegMSIP, 4, 1)
	r.c.Write(RegMTime, 8, 5000)
	r.c.Write(RegMTimeCmp, 8, 5100)
	saved := r.c.Save()
	when, _ := r.clock.Next()

	r.c.Write(RegMSIP, 4, 0)
	r.c.Write(RegMTimeCmp, 8, 0)
	r.c.Write(RegMTime, 8, 1)
	if err := r.c.Load(saved); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, r.c.Save()); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	if r.hart.mip != MSIP {
		t.Fatalf("mip = %#x after Load, want MSIP only", r.hart.mip)
	}
	if got, _ := r.clock.Next(); got != when {
		t.Fatalf("deadline after Load = %d, want %d", got, when)
	}
	if err := r.c.Load(State{MSIP: 2}); err == nil {
		t.Fatal("Load accepted msip=2")
	}
}
