package plic

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type fakeHart struct{ mip uint64 }

func (h *fakeHart) SetPending(mask uint64, level bool) {
	if level {
		h.mip |= mask
	} else {
		h.mip &^= mask
	}
}

func newPLIC(t *testing.T) (*PLIC, *fakeHart) {
	p, hs := newPLICN(t, 1)
	return p, hs[0]
}

// newPLICN returns a PLIC for n harts and the harts.
func newPLICN(t *testing.T, n int) (*PLIC, []*fakeHart) {
	var fakes []*fakeHart
	var hs []Hart
	for i := 0; i < n; i++ {
		h := &fakeHart{}
		fakes, hs = append(fakes, h), append(hs, h)
	}
	p := New(hs)
	p.Logf = t.Logf
	return p, fakes
}

func mips(hs []*fakeHart) []uint64 {
	var out []uint64
	for _, h := range hs {
		out = append(out, h.mip)
	}
	return out
}

// mctx and sctx are hart i's M-mode and S-mode contexts.
func mctx(i int) int { return 2 * i }
func sctx(i int) int { return 2*i + 1 }

func prioReg(n int) uint64        { return RegPriority + 4*uint64(n) }
func enableReg(ctx, w int) uint64 { return RegEnable + EnableStride*uint64(ctx) + 4*uint64(w) }
func threshReg(ctx int) uint64    { return RegContext + ContextStride*uint64(ctx) }
func claimReg(ctx int) uint64     { return RegContext + ContextStride*uint64(ctx) + 4 }

func enable(p *PLIC, ctx int, srcs ...int) {
	var w [words]uint32
	for _, n := range srcs {
		w[n/32] |= 1 << (n % 32)
	}
	for i, v := range w {
		p.Write(enableReg(ctx, i), 4, uint64(v))
	}
}

func TestRegisters(t *testing.T) {
	p, _ := newPLIC(t)
	for _, tc := range []struct {
		name  string
		off   uint64
		write uint64
		want  uint64
	}{
		{"priority WARL", prioReg(5), 0xffffffff, MaxPriority},
		{"priority", prioReg(95), 3, 3},
		{"source 0 priority", prioReg(0), 5, 0},
		{"no source 96", prioReg(96), 5, 0},
		{"pending read-only", RegPending, 0xffffffff, 0},
		{"enable bit 0 hardwired", enableReg(0, 0), 0xffffffff, 0xfffffffe},
		{"enable ctx1 word 2", enableReg(1, 2), 0xffffffff, 0xffffffff},
		{"enable word 3 absent", enableReg(1, 3), 0xffffffff, 0},
		{"enable ctx 2 absent", enableReg(2, 0), 0xffffffff, 0},
		{"threshold WARL", threshReg(1), 0x1f, MaxPriority},
		{"threshold ctx 2 absent", threshReg(2), 3, 0},
	} {
		p.Write(tc.off, 4, tc.write)
		if got := p.Read(tc.off, 4); got != tc.want {
			t.Errorf("%s: read %#x after writing %#x, want %#x", tc.name, got, tc.write, tc.want)
		}
	}
}

func TestClaimComplete(t *testing.T) {
	p, h := newPLIC(t)
	irq := p.Line(10)
	p.Write(prioReg(10), 4, 1)
	enable(p, 1, 10)

	irq.SetLevel(true)
	if h.mip != SEIP {
		t.Fatalf("mip = %#x, want SEIP only", h.mip)
	}
	if got := p.Read(RegPending, 4); got != 1<<10 {
		t.Fatalf("pending = %#x", got)
	}
	if got := p.Read(claimReg(0), 4); got != 0 {
		t.Fatalf("context 0 claimed %d although not enabled", got)
	}
	if got := p.Read(claimReg(1), 4); got != 10 {
		t.Fatalf("claim = %d, want 10", got)
	}
	if h.mip != 0 || p.Read(RegPending, 4) != 0 {
		t.Fatalf("after claim: mip = %#x, pending = %#x", h.mip, p.Read(RegPending, 4))
	}
	if got := p.Read(claimReg(1), 4); got != 0 {
		t.Fatalf("second claim = %d, want 0", got)
	}
	// While in service, the gateway forwards nothing.
	irq.SetLevel(false)
	irq.SetLevel(true)
	if h.mip != 0 {
		t.Fatal("source pending again before completion")
	}
	// Completion with the level still high: pending again.
	p.Write(claimReg(1), 4, 10)
	if h.mip != SEIP {
		t.Fatalf("after completion with level high: mip = %#x", h.mip)
	}
	// A forwarded request is not retracted when the line drops.
	irq.SetLevel(false)
	if h.mip != SEIP {
		t.Fatal("pending request retracted when the level dropped")
	}
	if got := p.Read(claimReg(1), 4); got != 10 {
		t.Fatalf("claim = %d, want 10", got)
	}
	p.Write(claimReg(1), 4, 10)
	if h.mip != 0 || p.Read(RegPending, 4) != 0 {
		t.Fatal("pending after completion with level low")
	}
}

func TestPriorityOrder(t *testing.T) {
	p, h := newPLIC(t)
	prios := map[int]uint64{3: 2, 7: 5, 5: 5, 40: 1, 90: 6, 60: 0}
	for _, n := range []int{3, 7, 5, 40, 90, 60} {
		p.Write(prioReg(n), 4, prios[n])
		p.Line(n).SetLevel(true)
	}
	enable(p, 0, 3, 5, 7, 40, 90, 60)
	if h.mip != MEIP {
		t.Fatalf("mip = %#x, want MEIP", h.mip)
	}
	var order []int
	for {
		n := int(p.Read(claimReg(0), 4))
		if n == 0 {
			break
		}
		order = append(order, n)
	}
	// Priority 0 never interrupts and is never claimed; ties by lowest ID.
	if diff := cmp.Diff([]int{90, 5, 7, 3, 40}, order); diff != "" {
		t.Fatalf("claim order (-want +got):\n%s", diff)
	}
	if h.mip != 0 {
		t.Fatalf("mip = %#x after claiming everything", h.mip)
	}
}

func TestThreshold(t *testing.T) {
	p, h := newPLIC(t)
	p.Write(prioReg(1), 4, 3)
	enable(p, 1, 1)
	p.Write(threshReg(1), 4, 3)
	p.Line(1).SetLevel(true)
	if h.mip != 0 {
		t.Fatal("notification although priority <= threshold")
	}
	p.Write(threshReg(1), 4, 2)
	if h.mip != SEIP {
		t.Fatal("no notification after lowering the threshold")
	}
	p.Write(threshReg(1), 4, 7)
	if h.mip != 0 {
		t.Fatal("notification after raising the threshold")
	}
	// Claims ignore the threshold (PLIC spec, "Interrupt Claim Process").
	if got := p.Read(claimReg(1), 4); got != 1 {
		t.Fatalf("polling claim = %d, want 1", got)
	}
}

func TestCompletionRules(t *testing.T) {
	p, h := newPLIC(t)
	p.Write(prioReg(4), 4, 1)
	enable(p, 1, 4)
	p.Line(4).SetLevel(true)
	if got := p.Read(claimReg(1), 4); got != 4 {
		t.Fatalf("claim = %d", got)
	}
	// Completion for a source not enabled in this context is ignored.
	enable(p, 1)
	p.Write(claimReg(1), 4, 4)
	enable(p, 1, 4)
	if h.mip != 0 {
		t.Fatal("completion of a disabled source took effect")
	}
	// Nonsense completions are ignored.
	for _, id := range []uint64{0, 5, 96, 1 << 31, ^uint64(0)} {
		p.Write(claimReg(1), 4, id)
	}
	if h.mip != 0 {
		t.Fatal("bogus completion took effect")
	}
	// Linux's plic_irq_eoi: enable, complete, (disable).
	p.Write(claimReg(1), 4, 4)
	if h.mip != SEIP {
		t.Fatal("completion did not re-pend the still-high source")
	}
}

func TestBothContexts(t *testing.T) {
	p, h := newPLIC(t)
	p.Write(prioReg(2), 4, 1)
	enable(p, 0, 2)
	enable(p, 1, 2)
	p.Line(2).SetLevel(true)
	if h.mip != MEIP|SEIP {
		t.Fatalf("mip = %#x, want MEIP|SEIP", h.mip)
	}
	if got := p.Read(claimReg(0), 4); got != 2 {
		t.Fatalf("claim = %d", got)
	}
	if h.mip != 0 {
		t.Fatalf("mip = %#x after context 0 claimed", h.mip)
	}
	if got := p.Read(claimReg(1), 4); got != 0 {
		t.Fatalf("context 1 claimed %d after context 0 did", got)
	}
}

func TestBadAccesses(t *testing.T) {
	p, _ := newPLIC(t)
	offs := []uint64{0, 2, 0xffc, 0x1000, 0x100c, 0x107c, 0x2000, 0x2001, 0x20fc, 0x1f1ffc,
		0x1ffffc, 0x200000, 0x200004, 0x200008, 0x201004, 0x202004, 0x3ffff04, 0x5ffffc, 0x600000, ^uint64(0) - 3}
	for _, off := range offs {
		for _, size := range []int{0, 1, 2, 3, 4, 8} {
			p.Write(off, size, ^uint64(0))
			p.Read(off, size)
		}
	}
	if func() (panicked bool) {
		defer func() { panicked = recover() != nil }()
		p.Line(96)
		return false
	}() == false {
		t.Error("Line(96) did not panic")
	}
}

func TestSaveLoad(t *testing.T) {
	p, h := newPLIC(t)
	for n := 1; n < 8; n++ {
		p.Write(prioReg(n), 4, uint64(n))
		p.Line(n).SetLevel(n%2 == 1)
	}
	enable(p, 0, 1, 2, 3)
	enable(p, 1, 5, 7, 60)
	p.Write(threshReg(0), 4, 1)
	p.Read(claimReg(1), 4) // claims 7
	saved := p.Save()
	mip := h.mip

	p.Write(claimReg(1), 4, 7)
	p.Line(3).SetLevel(false)
	enable(p, 0)
	p.Write(prioReg(1), 4, 0)
	if err := p.Load(saved); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, p.Save()); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	if h.mip != mip {
		t.Fatalf("mip = %#x after Load, want %#x", h.mip, mip)
	}

	bad := saved
	bad.Priority[3] = 8
	if p.Load(bad) == nil {
		t.Error("Load accepted priority 8")
	}
	bad = saved
	bad.Enable[1][0] |= 1
	if p.Load(bad) == nil {
		t.Error("Load accepted an enable bit for source 0")
	}
	bad = saved
	bad.Threshold[0] = 9
	if p.Load(bad) == nil {
		t.Error("Load accepted threshold 9")
	}
}

func TestNewPanicsOnHartCount(t *testing.T) {
	for _, n := range []int{0, 9} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with %d harts did not panic", n)
				}
			}()
			New(make([]Hart, n))
		}()
	}
}

func TestRegistersHarts(t *testing.T) {
	p, hs := newPLICN(t, 3)
	for _, tc := range []struct {
		name  string
		off   uint64
		write uint64
		want  uint64
	}{
		{"enable ctx 5 (hart 2 S)", enableReg(5, 1), 0xffffffff, 0xffffffff},
		{"enable ctx 4 bit 0 hardwired", enableReg(4, 0), 0xffffffff, 0xfffffffe},
		{"enable ctx 6 absent", enableReg(6, 0), 0xffffffff, 0},
		{"enable ctx 15 absent", enableReg(15, 2), 0xffffffff, 0},
		{"threshold ctx 3", threshReg(3), 5, 5},
		{"threshold ctx 5 WARL", threshReg(5), 0xff, MaxPriority},
		{"threshold ctx 6 absent", threshReg(6), 3, 0},
		{"claim ctx 6 absent", claimReg(6), 0, 0},
	} {
		p.Write(tc.off, 4, tc.write)
		if got := p.Read(tc.off, 4); got != tc.want {
			t.Errorf("%s: read %#x after writing %#x, want %#x", tc.name, got, tc.write, tc.want)
		}
	}
	if diff := cmp.Diff([]uint64{0, 0, 0}, mips(hs)); diff != "" {
		t.Errorf("mip per hart (-want +got):\n%s", diff)
	}
}

// TestRouting raises one source enabled in some contexts of a four-hart
// PLIC and checks which harts see MEIP or SEIP.
func TestRouting(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ctxs      []int
		threshold map[int]uint64
		want      []uint64
	}{
		{"hart 1 S only", []int{sctx(1)}, nil, []uint64{0, SEIP, 0, 0}},
		{"hart 0 M only", []int{mctx(0)}, nil, []uint64{MEIP, 0, 0, 0}},
		{"hart 3 M and S", []int{mctx(3), sctx(3)}, nil, []uint64{0, 0, 0, MEIP | SEIP}},
		{"every S context", []int{1, 3, 5, 7}, nil, []uint64{SEIP, SEIP, SEIP, SEIP}},
		{"hart 2 S masked by its threshold", []int{sctx(2), sctx(0)}, map[int]uint64{sctx(2): 3}, []uint64{SEIP, 0, 0, 0}},
		{"hart 0 S threshold leaves hart 1 S alone", []int{sctx(0), sctx(1)}, map[int]uint64{sctx(0): 7}, []uint64{0, SEIP, 0, 0}},
		{"enabled nowhere", nil, nil, []uint64{0, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, hs := newPLICN(t, 4)
			p.Write(prioReg(10), 4, 3)
			for _, c := range tc.ctxs {
				enable(p, c, 10)
			}
			for c, th := range tc.threshold {
				p.Write(threshReg(c), 4, th)
			}
			p.Line(10).SetLevel(true)
			if diff := cmp.Diff(tc.want, mips(hs)); diff != "" {
				t.Errorf("mip per hart (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimAcrossHarts(t *testing.T) {
	p, hs := newPLICN(t, 2)
	irq := p.Line(7)
	p.Write(prioReg(7), 4, 1)
	enable(p, mctx(0), 7)
	enable(p, sctx(1), 7)
	irq.SetLevel(true)
	if diff := cmp.Diff([]uint64{MEIP, SEIP}, mips(hs)); diff != "" {
		t.Fatalf("mip per hart (-want +got):\n%s", diff)
	}
	// Contexts that do not have the source enabled claim nothing.
	for _, c := range []int{sctx(0), mctx(1)} {
		if got := p.Read(claimReg(c), 4); got != 0 {
			t.Fatalf("context %d claimed %d", c, got)
		}
	}
	// Hart 0's M context claims it: no longer pending for hart 1 either.
	if got := p.Read(claimReg(mctx(0)), 4); got != 7 {
		t.Fatalf("hart 0 M claim = %d, want 7", got)
	}
	if diff := cmp.Diff([]uint64{0, 0}, mips(hs)); diff != "" {
		t.Fatalf("mip after claim (-want +got):\n%s", diff)
	}
	if got := p.Read(claimReg(sctx(1)), 4); got != 0 {
		t.Fatalf("hart 1 S claimed %d after hart 0 M did", got)
	}
	// Completion from a context without the source enabled is ignored.
	p.Write(claimReg(sctx(0)), 4, 7)
	if diff := cmp.Diff([]uint64{0, 0}, mips(hs)); diff != "" {
		t.Fatalf("mip after a foreign completion (-want +got):\n%s", diff)
	}
	// Hart 1 S may complete it (enabled there): the gateway forwards the
	// still-high level again, to both contexts.
	p.Write(claimReg(sctx(1)), 4, 7)
	if diff := cmp.Diff([]uint64{MEIP, SEIP}, mips(hs)); diff != "" {
		t.Fatalf("mip after completion (-want +got):\n%s", diff)
	}
	if got := p.Read(claimReg(sctx(1)), 4); got != 7 {
		t.Fatalf("hart 1 S claim = %d, want 7", got)
	}
	irq.SetLevel(false)
	p.Write(claimReg(sctx(1)), 4, 7)
	if diff := cmp.Diff([]uint64{0, 0}, mips(hs)); diff != "" {
		t.Fatalf("mip after the last completion (-want +got):\n%s", diff)
	}
}

func TestSaveLoadHarts(t *testing.T) {
	p, hs := newPLICN(t, 3)
	for n := 1; n < 8; n++ {
		p.Write(prioReg(n), 4, uint64(n))
		p.Line(n).SetLevel(n%2 == 1)
	}
	enable(p, mctx(0), 1)
	enable(p, sctx(0), 3)
	enable(p, mctx(1), 5)
	enable(p, sctx(2), 7, 60)
	p.Write(threshReg(sctx(1)), 4, 2)
	p.Write(threshReg(mctx(2)), 4, 4)
	p.Read(claimReg(mctx(0)), 4) // claims 1
	saved := p.Save()
	if len(saved.MoreEnable) != 4 || len(saved.MoreThreshold) != 4 {
		t.Fatalf("Save: %d extra enable sets, %d extra thresholds; want 4 each", len(saved.MoreEnable), len(saved.MoreThreshold))
	}
	if saved.MoreEnable[sctx(2)-2][1] != 1<<(60-32) || saved.MoreThreshold[mctx(2)-2] != 4 || saved.MoreThreshold[sctx(1)-2] != 2 {
		t.Fatalf("Save: contexts 2.. misplaced: %#v", saved)
	}
	want := mips(hs)
	if diff := cmp.Diff([]uint64{SEIP, MEIP, SEIP}, want); diff != "" {
		t.Fatalf("mip per hart before Save (-want +got):\n%s", diff)
	}

	enable(p, sctx(2))
	enable(p, mctx(1))
	p.Write(threshReg(mctx(2)), 4, 0)
	if err := p.Load(saved); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, p.Save()); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, mips(hs)); diff != "" {
		t.Fatalf("mip after Load (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name string
		mod  func(s *State)
	}{
		{"one hart", func(s *State) { s.MoreEnable, s.MoreThreshold = nil, nil }},
		{"four harts", func(s *State) {
			s.MoreEnable = append(s.MoreEnable, [words]uint32{}, [words]uint32{})
			s.MoreThreshold = append(s.MoreThreshold, 0, 0)
		}},
		{"uneven extras", func(s *State) { s.MoreThreshold = s.MoreThreshold[:3] }},
		{"threshold 8 in context 5", func(s *State) { s.MoreThreshold[3] = 8 }},
		{"source 0 enabled in context 4", func(s *State) { s.MoreEnable[2][0] |= 1 }},
	} {
		bad := p.Save()
		tc.mod(&bad)
		err := p.Load(bad)
		if err == nil {
			t.Errorf("%s: Load accepted it", tc.name)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
	}
	if diff := cmp.Diff(saved, p.Save()); diff != "" {
		t.Fatalf("a rejected Load changed the state (-want +got):\n%s", diff)
	}
	one, _ := newPLIC(t)
	if one.Load(saved) == nil {
		t.Error("a one-hart PLIC loaded a three-hart state")
	}
}

// testStateV1 is State as the single-hart PLIC defined it; recordings hold
// it gob-encoded.
type testStateV1 struct {
	Priority  [NumSources]uint32
	Level     [words]uint32
	Pending   [words]uint32
	Claimed   [words]uint32
	Enable    [2][words]uint32
	Threshold [2]uint32
}

func TestStateGobV1(t *testing.T) {
	var old testStateV1
	old.Priority[10], old.Priority[1] = 3, 1
	old.Level[0] = 1<<10 | 1<<1
	old.Pending[0] = 1 << 10
	old.Claimed[0] = 1 << 1
	old.Enable[0][0] = 1 << 1
	old.Enable[1][0] = 1<<10 | 1<<1
	old.Threshold = [2]uint32{4, 2}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(old); err != nil {
		t.Fatal(err)
	}
	var s State
	if err := gob.NewDecoder(&buf).Decode(&s); err != nil {
		t.Fatal(err)
	}
	want := State{Priority: old.Priority, Level: old.Level, Pending: old.Pending, Claimed: old.Claimed, Enable: old.Enable, Threshold: old.Threshold}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("decoded (-want +got):\n%s", diff)
	}
	p, h := newPLIC(t)
	if err := p.Load(s); err != nil {
		t.Fatalf("one-hart PLIC rejects a v1 state: %v", err)
	}
	if h.mip != SEIP {
		t.Fatalf("mip = %#x after loading, want SEIP", h.mip)
	}

	// And a multi-hart state survives gob.
	s.MoreEnable = [][words]uint32{{0, 1, 2}, {3, 4, 5}}
	s.MoreThreshold = []uint32{6, 7}
	buf.Reset()
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
	p, _ := newPLIC(t)
	p.Write(prioReg(3), 4, 2)
	enable(p, 1, 3, 40)
	p.Write(threshReg(0), 4, 1)
	p.Line(3).SetLevel(true)
	s := p.Save()
	v1 := fmt.Sprintf("%#v", testStateV1{s.Priority, s.Level, s.Pending, s.Claimed, s.Enable, s.Threshold})
	want := "plic.State" + strings.TrimPrefix(v1, "plic.testStateV1")
	if got := fmt.Sprintf("%#v", s); got != want {
		t.Errorf("%%#v =\n%s\nwant\n%s", got, want)
	}

	pn, _ := newPLICN(t, 2)
	got := fmt.Sprintf("%#v", pn.Save())
	for _, part := range []string{"plic.State{Priority:", "MoreEnable:[][3]uint32{[3]uint32{0x0, 0x0, 0x0}, [3]uint32{0x0, 0x0, 0x0}}", "MoreThreshold:[]uint32{0x0, 0x0}}"} {
		if !strings.Contains(got, part) {
			t.Errorf("%%#v of a two-hart state lacks %q:\n%s", part, got)
		}
	}
}
