package clint

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math/rand"
	"strings"
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
	hart   *fakeHart   // hart 0
	harts  []*fakeHart // all harts
	c      *CLINT
}

// newRig: one hart, 1 ns per instruction, 10 MHz timebase (100
// instructions/tick).
func newRig(t *testing.T) *rig { return newRigN(t, 1) }

// newRigN is newRig with n harts.
func newRigN(t *testing.T, n int) *rig {
	r := &rig{}
	hs := make([]Hart, n)
	for i := range hs {
		h := &fakeHart{}
		r.harts = append(r.harts, h)
		hs[i] = h
	}
	r.hart = r.harts[0]
	r.clock = vclock.New(func() uint64 { return r.icount }, 0)
	r.c = New(r.clock, hs, 10_000_000)
	r.c.Logf = t.Logf
	return r
}

// mips returns every hart's mip, hart 0 first.
func (r *rig) mips() []uint64 {
	var out []uint64
	for _, h := range r.harts {
		out = append(out, h.mip)
	}
	return out
}

func msipReg(i int) uint64     { return RegMSIP + MSIPStride*uint64(i) }
func mtimecmpReg(i int) uint64 { return RegMTimeCmp + MTimeCmpStride*uint64(i) }

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

func TestNewPanicsOnHartCount(t *testing.T) {
	clock := vclock.New(func() uint64 { return 0 }, 0)
	for _, n := range []int{0, 9} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with %d harts did not panic", n)
				}
			}()
			New(clock, make([]Hart, n), 10_000_000)
		}()
	}
}

// TestPerHart drives each hart's registers of a four-hart CLINT and checks
// that only that hart's mip bits move.
func TestPerHart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		do      func(r *rig)
		advance uint64 // icount to run to afterwards (0: none)
		want    []uint64
	}{
		{
			name: "msip of hart 1 raises only hart 1's MSIP",
			do:   func(r *rig) { r.c.Write(msipReg(1), 4, 1) },
			want: []uint64{0, MSIP, 0, 0},
		},
		{
			name: "msip of hart 3, byte write",
			do:   func(r *rig) { r.c.Write(msipReg(3), 1, 0xff) },
			want: []uint64{0, 0, 0, MSIP},
		},
		{
			name: "msip set and cleared again",
			do: func(r *rig) {
				r.c.Write(msipReg(2), 4, 1)
				r.c.Write(msipReg(2), 4, 0)
			},
			want: []uint64{0, 0, 0, 0},
		},
		{
			name:    "timer of hart 2 fires only hart 2's MTIP",
			do:      func(r *rig) { r.c.Write(mtimecmpReg(2), 8, 500) },
			advance: 50000,
			want:    []uint64{0, 0, MTIP, 0},
		},
		{
			name: "timer of hart 2 not yet due",
			do: func(r *rig) {
				r.c.Write(mtimecmpReg(2), 8, 500)
				r.c.Write(mtimecmpReg(1), 8, 600)
			},
			advance: 59999,
			want:    []uint64{0, 0, MTIP, 0},
		},
		{
			name: "mtimecmp halves of hart 3",
			do: func(r *rig) {
				r.c.Write(mtimecmpReg(3), 4, 0xffffffff)
				r.c.Write(mtimecmpReg(3)+4, 4, 0)
				r.c.Write(mtimecmpReg(3), 4, 10)
			},
			advance: 1000,
			want:    []uint64{0, 0, 0, MTIP},
		},
		{
			name: "mtime write past two deadlines",
			do: func(r *rig) {
				r.c.Write(mtimecmpReg(0), 8, 100)
				r.c.Write(mtimecmpReg(3), 8, 200)
				r.c.Write(mtimecmpReg(1), 8, 300)
				r.c.Write(RegMTime, 8, 250)
			},
			want: []uint64{MTIP, 0, 0, MTIP},
		},
		{
			name: "msip of nonexistent hart 4 ignored",
			do: func(r *rig) {
				r.c.Write(msipReg(4), 4, 1)
				r.c.Write(msipReg(7), 4, 1)
			},
			want: []uint64{0, 0, 0, 0},
		},
		{
			name:    "mtimecmp of nonexistent hart 4 ignored",
			do:      func(r *rig) { r.c.Write(mtimecmpReg(4), 8, 0) },
			advance: 1 << 20,
			want:    []uint64{0, 0, 0, 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRigN(t, 4)
			tc.do(r)
			if tc.advance != 0 {
				r.advance(tc.advance)
			}
			if diff := cmp.Diff(tc.want, r.mips()); diff != "" {
				t.Errorf("mip per hart (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPerHartRegisters(t *testing.T) {
	r := newRigN(t, 3)
	for i := 0; i < 3; i++ {
		r.c.Write(mtimecmpReg(i), 8, uint64(1000+i))
		r.c.Write(msipReg(i), 4, uint64(i%2))
	}
	for i := 0; i < 3; i++ {
		if got := r.c.Read(mtimecmpReg(i), 8); got != uint64(1000+i) {
			t.Errorf("mtimecmp[%d] = %d", i, got)
		}
		if got := r.c.Read(msipReg(i), 4); got != uint64(i%2) {
			t.Errorf("msip[%d] = %d", i, got)
		}
	}
	// Harts the machine does not have read 0.
	for _, off := range []uint64{msipReg(3), msipReg(7), msipReg(4094), mtimecmpReg(3), mtimecmpReg(4094)} {
		r.c.Write(off, 4, 1)
		if got := r.c.Read(off, 4); got != 0 {
			t.Errorf("offset %#x reads %#x, want 0", off, got)
		}
	}
	// Each hart has its own timer: the earliest deadline is hart 0's.
	if when, ok := r.clock.Next(); !ok || when != 100000 {
		t.Fatalf("next deadline = %d, %v; want 100000", when, ok)
	}
	r.advance(100100)
	if diff := cmp.Diff([]uint64{MTIP, MTIP | MSIP, 0}, r.mips()); diff != "" {
		t.Errorf("mip per hart (-want +got):\n%s", diff)
	}
	if when, _ := r.clock.Next(); when != 100200 {
		t.Fatalf("next deadline = %d, want hart 2's at 100200", when)
	}
}

func TestSaveLoadHarts(t *testing.T) {
	r := newRigN(t, 3)
	r.icount = 777
	r.c.Write(msipReg(2), 4, 1)
	r.c.Write(RegMTime, 8, 5000)
	r.c.Write(mtimecmpReg(0), 8, 4000)
	r.c.Write(mtimecmpReg(1), 8, 5100)
	saved := r.c.Save()
	want := State{MSIP: 0, MTimeCmp: 4000, Offset: saved.Offset, Others: []HartState{{0, 5100}, {1, ^uint64(0)}}}
	if diff := cmp.Diff(want, saved); diff != "" {
		t.Fatalf("Save (-want +got):\n%s", diff)
	}
	mips := r.mips()
	when, _ := r.clock.Next()

	r.c.Write(msipReg(2), 4, 0)
	r.c.Write(msipReg(1), 4, 1)
	r.c.Write(mtimecmpReg(0), 8, ^uint64(0))
	r.c.Write(mtimecmpReg(1), 8, 0)
	if err := r.c.Load(saved); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, r.c.Save()); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(mips, r.mips()); diff != "" {
		t.Fatalf("mip after Load (-want +got):\n%s", diff)
	}
	if got, _ := r.clock.Next(); got != when {
		t.Fatalf("deadline after Load = %d, want %d", got, when)
	}

	for _, tc := range []struct {
		name string
		s    State
	}{
		{"one hart", State{MTimeCmp: 1}},
		{"four harts", State{Others: make([]HartState, 3)}},
		{"msip 2 on hart 2", State{Others: []HartState{{}, {MSIP: 2}}}},
	} {
		err := r.c.Load(tc.s)
		if err == nil {
			t.Errorf("%s: Load accepted %#v", tc.name, tc.s)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
	}
	if diff := cmp.Diff(saved, r.c.Save()); diff != "" {
		t.Fatalf("a rejected Load changed the state (-want +got):\n%s", diff)
	}
	if err := newRig(t).c.Load(saved); err == nil {
		t.Error("a one-hart CLINT loaded a three-hart state")
	}
}

// testStateV1 is State as the single-hart CLINT defined it; recordings hold it
// gob-encoded.
type testStateV1 struct {
	MSIP     uint32
	MTimeCmp uint64
	Offset   uint64
}

func TestStateGobV1(t *testing.T) {
	old := testStateV1{MSIP: 1, MTimeCmp: 40, Offset: 42}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(old); err != nil {
		t.Fatal(err)
	}
	var s State
	if err := gob.NewDecoder(&buf).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(State{MSIP: 1, MTimeCmp: 40, Offset: 42}, s); diff != "" {
		t.Fatalf("decoded (-want +got):\n%s", diff)
	}
	r := newRig(t)
	if err := r.c.Load(s); err != nil {
		t.Fatalf("one-hart CLINT rejects a v1 state: %v", err)
	}
	if r.hart.mip != MSIP|MTIP {
		t.Fatalf("mip = %#x after loading, want MSIP|MTIP", r.hart.mip)
	}

	// And a multi-hart state survives gob.
	buf.Reset()
	s.Others = []HartState{{MSIP: 1, MTimeCmp: 7}, {MTimeCmp: 9}}
	if err := gob.NewEncoder(&buf).Encode(s); err != nil {
		t.Fatal(err)
	}
	var back State
	if err := gob.NewDecoder(&buf).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Fatalf("gob round trip (-want +got):\n%s", diff)
	}
}

// TestGoStringV1 checks that a one-hart State prints as the v1 State did:
// state digests hash that text.
func TestGoStringV1(t *testing.T) {
	for _, s := range []State{{}, {MSIP: 1, MTimeCmp: ^uint64(0), Offset: 0xdead_beef}} {
		v1 := fmt.Sprintf("%#v", testStateV1{s.MSIP, s.MTimeCmp, s.Offset})
		want := "clint.State" + strings.TrimPrefix(v1, "clint.testStateV1")
		if got := fmt.Sprintf("%#v", s); got != want {
			t.Errorf("%%#v = %s, want %s", got, want)
		}
		if got := fmt.Sprintf("%#v", []any{s}); !strings.Contains(got, want) {
			t.Errorf("%%#v nested = %s, want it to contain %s", got, want)
		}
	}
	s := State{MTimeCmp: 1, Others: []HartState{{MSIP: 1, MTimeCmp: 2}}}
	want := "clint.State{MSIP:0x0, MTimeCmp:0x1, Offset:0x0, Others:[]clint.HartState{clint.HartState{MSIP:0x1, MTimeCmp:0x2}}}"
	if got := fmt.Sprintf("%#v", s); got != want {
		t.Errorf("%%#v = %s, want %s", got, want)
	}
}
