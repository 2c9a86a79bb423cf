package plic

import (
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
	h := &fakeHart{}
	p := New(h)
	p.Logf = t.Logf
	return p, h
}

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
