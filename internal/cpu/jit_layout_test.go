//go:build linux && amd64

package cpu

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/bus"
)

// The generated code addresses CPU fields and TLB entries with constant
// displacements; this pins the layout it assumes.
func TestJITLayout(t *testing.T) {
	var c CPU
	if unsafe.Sizeof(tlbEntry{}) != 16 || offTLBAdd != 8 || uintptr(unsafe.Pointer(&c.tlbR[0]))-uintptr(unsafe.Pointer(&c)) != offTLBR {
		t.Fatalf("tlbEntry layout: size %d, add at %d", unsafe.Sizeof(tlbEntry{}), offTLBAdd)
	}
	if tlbSize != tlbMask+1 || tlbMask > 1<<27 {
		t.Fatalf("the TLB index is the VPN masked in 32 bits: %d entries", tlbSize)
	}
	if unsafe.Sizeof(c.x[0]) != 8 || len(c.x) <= regSink {
		t.Fatal("x registers are not 8-byte words with a sink")
	}
	// x0..x31 must be reachable with 8-bit displacements from R15.
	if int(offX)-jitBias < -128 || int(offX)+8*31-jitBias > 127 {
		t.Fatalf("x registers at %d are out of disp8 reach with bias %d", offX, jitBias)
	}
	if unsafe.Sizeof(c.resValid) != 1 || unsafe.Sizeof(c.resAddr) != 8 {
		t.Fatal("resValid must be one byte, resAddr 64-bit")
	}
	if unsafe.Sizeof(c.priv) != 1 || unsafe.Sizeof(c.limit) != 8 || unsafe.Sizeof(c.sscratch) != 8 || unsafe.Sizeof(c.curVPN) != 8 || unsafe.Sizeof(c.curChunkVA) != 8 {
		t.Fatal("priv must be one byte; limit, sscratch, curVPN and curChunkVA 64-bit")
	}
	if unsafe.Sizeof(c.sepc) != 8 || unsafe.Sizeof(c.scause) != 8 || unsafe.Sizeof(c.stval) != 8 ||
		unsafe.Sizeof(c.mscratch) != 8 || unsafe.Sizeof(c.mepc) != 8 || unsafe.Sizeof(c.mcause) != 8 || unsafe.Sizeof(c.mtval) != 8 {
		t.Fatal("the plain CSRs must be 64-bit")
	}
	if unsafe.Sizeof(c.mie) != 8 || unsafe.Sizeof(c.mipSW) != 8 || unsafe.Sizeof(c.mipHW) != 8 {
		t.Fatal("mie and mip must be 64-bit")
	}
	for _, off := range []uintptr{offPC, offICount, offDctx, offXctx, offTLBR, offTLBW, offTLBX, offResV, offResA,
		offPriv, offLimit, offSscr, offCurVPN, offCurCVA} {
		if off+16*tlbSize > 1<<31-1 {
			t.Fatalf("field offset %d out of disp32 reach", off)
		}
	}
	if unsafe.Sizeof(c.pc) != 8 || unsafe.Sizeof(c.icount) != 8 || unsafe.Sizeof(c.dctx) != 8 || unsafe.Sizeof(c.xctx) != 8 {
		t.Fatal("pc, icount, dctx and xctx must be 64-bit")
	}
}

// The generated code must not allocate or leak: a steady-state slice of
// the Sv39 workload allocates nothing on the compiled engine either.
func TestJITNoAllocs(t *testing.T) {
	c := newSv39Workload(t)
	if err := c.EnableJIT(1 << 20); err != nil {
		t.Fatalf("compiled engine: %v", err)
	}
	for i := 0; i < 20; i++ {
		c.Run(1 << 16) // compile a block at every pc a slice can end at
	}
	if n := testing.AllocsPerRun(5, func() { c.Run(1 << 16) }); n != 0 {
		t.Fatalf("%v allocations per slice", n)
	}
}

// The code cache keeps to its budget: when a block does not fit, the
// cache is flushed and compilation starts over, in the same mapping; the
// code written never exceeds the budget, and the engines still agree.
func TestJITCodeBudget(t *testing.T) {
	const budget = 16 << 10
	var flushes uint64
	for seed := uint64(1); seed <= 20; seed++ {
		p := genDiffProg(seed)
		ci, cj := newDiffCPU(t, p, false, 0), newDiffCPU(t, p, true, budget)
		cj.setJITHot(1)
		mem := cj.jit.mem
		for slice := 0; slice < 40; slice++ {
			ri, rj := ci.Run(500), cj.Run(500)
			if s := cj.JITStats(); s.CodeBytes > budget {
				t.Fatalf("seed %d: %d bytes of code in a %d-byte cache", seed, s.CodeBytes, budget)
			}
			if len(cj.jit.mem) != len(mem) || &cj.jit.mem[0] != &mem[0] {
				t.Fatalf("seed %d: the code cache was remapped", seed)
			}
			if si, sj := ci.Save(), cj.Save(); ri != rj || si != sj {
				t.Fatalf("seed %d: engines differ after slice %d (%v / %v):\n%s", seed, slice, ri, rj, cmp.Diff(si, sj))
			}
			if ri == StopIdle {
				ci.SetPending(MipMTIP|MipMEIP, true)
				cj.SetPending(MipMTIP|MipMEIP, true)
			}
		}
		flushes += cj.JITStats().Flushes
	}
	if flushes == 0 {
		t.Fatal("no program filled the cache: the test does not test the flush")
	}
	t.Logf("%d flushes", flushes)
}

// A code cache the host cannot map is an error that says so, and the
// hart runs on, interpreted, to the same state as a hart that never
// asked for the compiled engine.
func TestJITUnavailable(t *testing.T) {
	a, b := newSv39Workload(t), newSv39Workload(t)
	err := b.EnableJIT(1 << 50)
	if err == nil {
		t.Fatal("EnableJIT(1 PiB) succeeded")
	}
	if !strings.Contains(err.Error(), "code cache") {
		t.Errorf("EnableJIT error %q does not say what failed", err)
	}
	a.Run(300007)
	b.Run(300007)
	if b.JITStats() != (JITStats{}) {
		t.Errorf("a hart without a code cache reports compiled work: %+v", b.JITStats())
	}
	if sa, sb := a.Save(), b.Save(); sa != sb {
		t.Fatalf("states differ:\n%s", cmp.Diff(sa, sb))
	}
}

// The Sv39 workload gives the same state on both engines at every slice
// boundary, and the compiled engine really runs it.
func TestJITWorkload(t *testing.T) {
	a := newSv39Workload(t)
	b := newSv39Workload(t)
	if err := b.EnableJIT(1 << 20); err != nil {
		t.Fatalf("compiled engine: %v", err)
	}
	for i := 0; i < 20; i++ {
		a.Run(100003)
		b.Run(100003)
		if a.Save() != b.Save() {
			t.Fatalf("slice %d: state differs:\n%+v\n%+v", i, a.Save(), b.Save())
		}
	}
	if s := b.JITStats(); s.Blocks == 0 || s.Chains == 0 {
		t.Fatalf("compiled engine not used: %+v", s)
	}
}

// The debug dump lists every compiled block with its guest words and its
// host code, and the disassembler reads all of the host code: nothing
// the encoder emits is undecodable.
func TestJITDump(t *testing.T) {
	c := newSv39Workload(t)
	if err := c.EnableJIT(1 << 20); err != nil {
		t.Fatalf("compiled engine: %v", err)
	}
	c.Run(100003)
	var buf bytes.Buffer
	if err := c.JITDump(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	s := c.JITStats()
	if n := strings.Count(out, "\nblock "); s.Blocks == 0 || uint64(n) != s.Blocks {
		t.Errorf("%d blocks in the dump, %d compiled", n, s.Blocks)
	}
	for _, want := range []string{"stubs", "guest 0x", "lea rax, ptr [rbx+", "jmp "} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q", want)
		}
	}
	if strings.Contains(out, "(bad)") {
		t.Errorf("undecodable host code:\n%s", out)
	}
	if t.Failed() {
		t.Logf("dump:\n%s", out)
	}
}

// TestJITLines checks where long straight-line code is cut into blocks
// and where the interpreter stops running it cold: at the boundaries of
// jitLine-byte lines, once a block has jitLineMin instructions, so that
// blocks entered in the middle of the code end where the others do.
func TestJITLines(t *testing.T) {
	code := make([]uint32, 300) // 1,200 bytes without a branch
	for i := range code {
		code[i] = addi(a0, a0, 1)
	}
	p := machineModeProg(code)
	c := newDiffCPU(t, p, true, 1<<20)
	page := uint64(dCode-ramBase) >> 12
	for _, tc := range []struct{ start, end uint64 }{
		{0, jitLine},
		{8, jitLine},
		{jitLine - 4*(jitLineMin-1), 2 * jitLine}, // too short at the first boundary
		{jitLine - 4*jitLineMin, jitLine},
		{jitLine, 2 * jitLine},
		{2*jitLine + 4, 3 * jitLine},
	} {
		ins, _, _ := c.jit.decodeBlock(c, dCode+tc.start, page, -1)
		if end := tc.start + 4*uint64(len(ins)); end != tc.end {
			t.Errorf("block at +%d ends at +%d, want +%d", tc.start, end, tc.end)
		}
	}
	for _, tc := range []struct{ start, end uint64 }{
		{8, jitLine},
		{jitLine - 4, jitLine},
		{jitLine + 100, 2 * jitLine},
	} {
		c.pc = dCode + tc.start
		c.stop, c.limit = c.icount+10_000, c.icount+10_000
		if !c.coldRun() {
			t.Fatalf("coldRun from +%d reports a stop", tc.start)
		}
		if c.pc != dCode+tc.end || c.jumpStop {
			t.Errorf("coldRun from +%d stopped at +%d (jumpStop %v), want +%d", tc.start, c.pc-dCode, c.jumpStop, tc.end)
		}
	}
}

// TestJITSharedCode: two harts share one compiled engine. Hart 0 calls a
// function until it is compiled; hart 1 calls the same compiled code,
// then rewrites the function (a page it never looked up itself) and
// calls it again; hart 0 then calls it once more. Both must see the new
// code at once, as on the interpreter.
func TestJITSharedCode(t *testing.T) {
	const (
		fn    = ramBase + 0x1000 // addi a0, zero, K; ret
		prog0 = ramBase + 0x2000
		prog1 = ramBase + 0x3000
		n     = 100
	)
	loop := func(at uint64) []uint32 { // call fn n times, summing a0 into s1
		return []uint32{
			addi(s0, zero, n),
			jal(ra, int64(fn)-int64(at+4)),
			add(s1, s1, a0),
			addi(s0, s0, -1),
			bne(s0, zero, -12),
		}
	}
	p0 := append(loop(prog0), addi(s0, zero, 1), jal(ra, int64(fn)-int64(prog0+24)), add(s1, s1, a0), jal(zero, 0))
	p1 := append(loop(prog1), sw(t1, t0, 0))
	p1 = append(p1, loop(prog1+4*uint64(len(p1)))...)
	p1 = append(p1, jal(zero, 0))

	run := func(jit bool) (s0, s1 State, st JITStats) {
		b := bus.New(ramBase, 1<<20)
		put := func(at uint64, code []uint32) {
			for k, w := range code {
				binary.LittleEndian.PutUint32(b.RAM[at-ramBase+4*uint64(k):], w)
			}
		}
		put(fn, []uint32{addi(a0, zero, 1), jalr(zero, ra, 0)})
		put(prog0, p0)
		put(prog1, p1)
		h := []*CPU{New(b), New(b)}
		Link(h)
		for i, c := range h {
			s := c.Save()
			s.PC = []uint64{prog0, prog1}[i]
			s.X[t0], s.X[t1] = fn, uint64(addi(a0, zero, 2))
			c.Load(s)
		}
		if jit {
			if err := h[0].EnableJIT(0); err != nil {
				t.Fatalf("compiled engine: %v", err)
			}
			if !h[1].ShareJIT(h[0]) {
				t.Fatal("hart 1 does not share hart 0's compiled engine")
			}
			h[0].setJITHot(2)
		}
		const loopInsns = 1 + 6*n
		h[0].Run(loopInsns)       // hart 0's loop: fn gets compiled
		h[1].Run(2*loopInsns + 1) // hart 1: calls, rewrites, calls
		h[0].Run(5)               // hart 0: one more call
		return h[0].Save(), h[1].Save(), h[0].JITStats()
	}
	i0, i1, _ := run(false)
	j0, j1, st := run(true)
	if diff := cmp.Diff(i0, j0); diff != "" {
		t.Errorf("hart 0 (-interp +jit):\n%s", diff)
	}
	if diff := cmp.Diff(i1, j1); diff != "" {
		t.Errorf("hart 1 (-interp +jit):\n%s", diff)
	}
	if j0.X[s1] != n+2 || j1.X[s1] != 3*n {
		t.Errorf("sums %d and %d, want %d and %d", j0.X[s1], j1.X[s1], n+2, 3*n)
	}
	if st.Blocks == 0 || st.Invalidated == 0 {
		t.Errorf("the shared engine compiled %d blocks and invalidated %d: want both", st.Blocks, st.Invalidated)
	}
}
