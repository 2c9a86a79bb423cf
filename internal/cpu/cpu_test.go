package cpu

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/bus"
)

const ramBase = 0x80000000

func newTestCPU(t testing.TB, code []uint32) *CPU {
	t.Helper()
	b := bus.New(ramBase, 4<<20)
	for i, w := range code {
		binary.LittleEndian.PutUint32(b.RAM[4*i:], w)
	}
	c := New(b)
	c.SetPC(ramBase)
	return c
}

// halt is an instruction that jumps to itself.
var halt = jal(zero, 0)

func TestALU(t *testing.T) {
	tests := []struct {
		name string
		a, b uint64
		insn uint32
		want uint64
	}{
		{"add", 5, 7, add(a2, a0, a1), 12},
		{"sub wrap", 0, 1, sub(a2, a0, a1), ^uint64(0)},
		{"xor", 0xf0f0, 0x0ff0, xor(a2, a0, a1), 0xff00},
		{"mul", 1 << 40, 3, mul(a2, a0, a1), 3 << 40},
		{"mulh neg", ^uint64(0), ^uint64(0), encR(0x33, 1, 1, a2, a0, a1), 0},
		{"mulhu", ^uint64(0), ^uint64(0), encR(0x33, 3, 1, a2, a0, a1), ^uint64(1)},
		{"mulhsu", ^uint64(0), 2, encR(0x33, 2, 1, a2, a0, a1), ^uint64(0)},
		{"div by zero", 7, 0, encR(0x33, 4, 1, a2, a0, a1), ^uint64(0)},
		{"div overflow", 1 << 63, ^uint64(0), encR(0x33, 4, 1, a2, a0, a1), 1 << 63},
		{"rem overflow", 1 << 63, ^uint64(0), encR(0x33, 6, 1, a2, a0, a1), 0},
		{"remu by zero", 9, 0, encR(0x33, 7, 1, a2, a0, a1), 9},
		{"divw", 0xffffffff80000000, 0xffffffffffffffff, encR(0x3b, 4, 1, a2, a0, a1), 0xffffffff80000000},
		{"divuw by zero", 5, 0, encR(0x3b, 5, 1, a2, a0, a1), ^uint64(0)},
		{"remw neg", uint64(0xfffffffffffffff9), 2, encR(0x3b, 6, 1, a2, a0, a1), ^uint64(0)},
		{"addw wrap", 0x7fffffff, 1, encR(0x3b, 0, 0, a2, a0, a1), 0xffffffff80000000},
		{"sllw", 1, 31, encR(0x3b, 1, 0, a2, a0, a1), 0xffffffff80000000},
		{"srlw", 0xffffffff80000000, 31, encR(0x3b, 5, 0, a2, a0, a1), 1},
		{"sraw", 0x80000000, 31, encR(0x3b, 5, 0x20, a2, a0, a1), ^uint64(0)},
		{"sra 64", 1 << 63, 63, encR(0x33, 5, 0x20, a2, a0, a1), ^uint64(0)},
		{"slt", ^uint64(0), 0, encR(0x33, 2, 0, a2, a0, a1), 1},
		{"sltu", ^uint64(0), 0, encR(0x33, 3, 0, a2, a0, a1), 0},
		{"x0 stays zero", 1, 2, add(zero, a0, a1), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCPU(t, prog(li(a0, tc.a), li(a1, tc.b), tc.insn, halt))
			c.Run(100)
			rd := int((tc.insn >> 7) & 31)
			if got := c.Reg(rd); got != tc.want {
				t.Errorf("x%d = %#x, want %#x", rd, got, tc.want)
			}
		})
	}
}

func TestLi(t *testing.T) {
	for _, v := range []uint64{0, 1, 0x7ff, 0x800, 0x12345678, 0xffffffff80000000, 0xdeadbeefcafef00d, 1 << 63, ^uint64(0)} {
		c := newTestCPU(t, prog(li(a0, v), halt))
		c.Run(50)
		if got := c.Reg(int(a0)); got != v {
			t.Errorf("li %#x gave %#x", v, got)
		}
	}
}

// A budget split in any way gives the same state as one run.
func TestRunBudgetExact(t *testing.T) {
	code := prog(
		li(a0, 0),
		li(a1, 1000),
		addi(a0, a0, 3), // loop:
		addi(a1, a1, -1),
		bne(a1, zero, -8),
		halt,
	)
	whole := newTestCPU(t, code)
	if r := whole.Run(1234); r != StopBudget {
		t.Fatalf("stop reason %v", r)
	}
	if whole.ICount() != 1234 {
		t.Fatalf("icount %d, want 1234", whole.ICount())
	}
	split := newTestCPU(t, code)
	for _, n := range []uint64{1, 0, 7, 100, 1, 1125} {
		split.Run(n)
	}
	if split.ICount() != 1234 || split.PC() != whole.PC() || split.x != whole.x {
		t.Fatalf("split run differs: icount %d pc %#x vs %#x", split.ICount(), split.PC(), whole.PC())
	}
}

func TestIllegalInstructionTrap(t *testing.T) {
	handler := uint64(ramBase + 0x100)
	code := prog(li(t0, handler), csrrw(zero, csrMtvec, t0), 0xffffffff, halt)
	c := newTestCPU(t, code)
	binary.LittleEndian.PutUint32(c.ram[0x100:], halt)
	c.Run(20)
	if c.PC() != handler || c.mcause != CauseIllegalInstruction || c.mtval != 0xffffffff {
		t.Fatalf("pc %#x mcause %d mtval %#x", c.PC(), c.mcause, c.mtval)
	}
	want := uint64(ramBase + 4*uint64(len(li(t0, handler))+1))
	if c.mepc != want {
		t.Fatalf("mepc %#x, want %#x", c.mepc, want)
	}
}

// An illegal-instruction trap reports the instruction's bits in mtval:
// reserved encodings and valid ones used where they are not allowed,
// 16- and 32-bit, on a page or straddling two, and the second time from
// the decoded slot (which does not keep the bits).
func TestIllegalInstructionMtval(t *testing.T) {
	const faddD = 0x02b57553 // fadd.d fa0, fa0, fa1 (dynamic rounding)
	tests := []struct {
		name  string
		off   uint64 // where the instruction is, from ramBase
		bits  []byte
		priv  uint8
		fsOff bool // mstatus.FS = Off
		want  uint64
	}{
		{"reserved 32-bit", 0x200, le32(0xffffffff), PrivM, false, 0xffffffff},
		{"reserved 16-bit (c.addi4spn, zero immediate)", 0x202, le16(0x0004), PrivM, false, 0x0004},
		{"fadd.d with FS off", 0x204, le32(faddD), PrivM, true, faddD},
		{"c.fld with FS off", 0x20a, le16(0x2000), PrivM, true, 0x2000},
		{"mret in S-mode", 0x210, le32(0x30200073), PrivS, false, 0x30200073},
		{"reserved 32-bit across pages", 0xffe, le32(0xffffffff), PrivM, false, 0xffffffff},
		{"fadd.d with FS off across pages", 0x1ffe, le32(faddD), PrivM, true, faddD},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCPU(t, nil)
			handler := uint64(ramBase + 0x3000)
			binary.LittleEndian.PutUint32(c.ram[0x3000:], halt)
			copy(c.ram[tc.off:], tc.bits)
			for range 2 {
				c.mtvec, c.mcause, c.mtval = handler, 0, 0
				c.priv = tc.priv
				if tc.fsOff {
					c.mstatus &^= msFS
				} else {
					c.mstatus |= msFS
				}
				c.SetPC(ramBase + tc.off)
				c.Run(1)
				if c.mcause != CauseIllegalInstruction || c.mtval != tc.want || c.mepc != ramBase+tc.off || c.PC() != handler {
					t.Fatalf("mcause %d mtval %#x mepc %#x pc %#x, want an illegal-instruction trap with mtval %#x at %#x",
						c.mcause, c.mtval, c.mepc, c.PC(), tc.want, ramBase+tc.off)
				}
			}
		})
	}
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// Overwriting an instruction that has already run must take effect.
func TestSelfModifyingCode(t *testing.T) {
	// loop: a0 += 1 at "target"; then patch target to a0 += 100 and run it again.
	patched := addi(a0, a0, 100)
	code := prog(
		li(a0, 0),               // 0
		jal(ra, 24),             // 4: call target (at 28)
		li(t1, uint64(patched)), // 8..: 2 insns (lui+addi)
		auipc(t2, 0),            // 16
		sw(t1, t2, 12),          // 20: store at 28
		jal(ra, 4),              // 24: call target again
		addi(a0, a0, 1),         // 28: target
		jalr(zero, ra, 0),       // 32: return
	)
	c := newTestCPU(t, code)
	// Execute: li, jal, target, ret, li(2), auipc, sw, jal, target', ret.
	c.Run(10)
	if got := c.Reg(int(a0)); got != 101 {
		t.Fatalf("a0 = %d, want 101 (1 from the original, 100 from the patched instruction)", got)
	}
}

// A 4-byte instruction that straddles two chunks of decoded slots (its
// halves in different 256-byte stretches of the page) is invalidated by
// a store to either half.
func TestSelfModifyingCodeAcrossChunks(t *testing.T) {
	const target = 0xfe // its upper half is at 0x100, in the next chunk
	patched := addi(a0, a0, 100)
	for _, tc := range []struct {
		orig uint32 // differs from patched in one half only
		off  int64  // where the half that differs is
		bits uint32
		want uint64
	}{
		{addi(a1, a0, 100), target, patched & 0xffff, 100}, // rd: the lower half
		{addi(a0, a0, 1), target + 2, patched >> 16, 101},  // the immediate: the upper half
	} {
		code := prog(
			li(a0, 0),
			li(t0, ramBase+uint64(tc.off)),
			li(t1, uint64(tc.bits)),
			jal(ra, 0),               // patched below: call target
			encS(0x23, 1, t0, t1, 0), // sh t1, 0(t0)
			jal(ra, 0),               // patched below: call target again
			halt,
		)
		c := newTestCPU(t, code)
		callTarget(c, code, target)
		binary.LittleEndian.PutUint16(c.ram[target-2:], 0x0001) // c.nop
		binary.LittleEndian.PutUint32(c.ram[target:], tc.orig)
		binary.LittleEndian.PutUint32(c.ram[target+4:], jalr(zero, ra, 0))
		c.Run(100)
		if got := c.Reg(int(a0)); got != tc.want {
			t.Fatalf("store to offset %#x: a0 = %d, want %d (the patched instruction ran once)", tc.off, got, tc.want)
		}
	}
}

// callTarget makes each jal(ra, 0) of code, loaded at ramBase, a call
// of target, an offset from ramBase.
func callTarget(c *CPU, code []uint32, target int64) {
	for i, w := range code {
		if w == jal(ra, 0) {
			binary.LittleEndian.PutUint32(c.ram[4*i:], jal(ra, target-4*int64(i)))
		}
	}
}

func TestWFIIdleAndWake(t *testing.T) {
	code := prog(li(t0, MipMTIP), csrrw(zero, csrMie, t0), wfi, addi(a0, zero, 42), halt)
	c := newTestCPU(t, code)
	if r := c.Run(100); r != StopIdle {
		t.Fatalf("Run = %v, want StopIdle", r)
	}
	n := c.ICount()
	if r := c.Run(100); r != StopIdle || c.ICount() != n {
		t.Fatalf("idle hart ran: %v icount %d->%d", r, n, c.ICount())
	}
	// Interrupt pending but globally disabled (MIE=0): WFI still wakes.
	c.SetPending(MipMTIP, true)
	c.Run(2)
	if c.Reg(int(a0)) != 42 {
		t.Fatalf("hart did not resume after WFI")
	}
}

// Sv39: map a virtual page to physical memory, run in S-mode, check A/D
// bits and a store page fault on a read-only page.
func TestSv39(t *testing.T) {
	const (
		root  = ramBase + 0x100000
		l1    = ramBase + 0x101000
		l0    = ramBase + 0x102000
		data  = ramBase + 0x200000
		vcode = 0x40000000 // S-mode code virtual address
		vdata = 0x40001000
		vro   = 0x40002000
	)
	sprog := prog(
		li(t0, vdata),
		li(t1, 0x1234),
		sd(t1, t0, 8),
		ld(a0, t0, 8),
		li(t0, vro),
		sd(t1, t0, 0), // store page fault
		halt,
	)
	mhandler := uint64(ramBase + 0x3000)
	sentry := uint64(ramBase + 0x4000)
	boot := prog(
		li(t0, mhandler), csrrw(zero, csrMtvec, t0),
		li(t0, 8<<60|root>>12), csrrw(zero, csrSatp, t0),
		li(t0, 1<<11), csrrw(zero, csrMstatus, t0), // MPP = S
		li(t0, vcode), csrrw(zero, csrMepc, t0),
		mret,
	)
	c := newTestCPU(t, boot)
	for i, w := range sprog {
		binary.LittleEndian.PutUint32(c.ram[sentry-ramBase+uint64(4*i):], w)
	}
	binary.LittleEndian.PutUint32(c.ram[mhandler-ramBase:], halt)
	pte := func(pa, flags uint64) uint64 { return (pa>>12)<<10 | flags }
	put := func(pa, v uint64) { binary.LittleEndian.PutUint64(c.ram[pa-ramBase:], v) }
	const V, R, W, X = 1, 2, 4, 8
	put(root+8*1, pte(l1, V))               // VPN[2] = 1 (0x40000000)
	put(l1+8*0, pte(l0, V))                 // VPN[1] = 0
	put(l0+8*0, pte(sentry, V|R|X))         // code
	put(l0+8*1, pte(data, V|R|W))           // data, A/D clear
	put(l0+8*2, pte(data+0x1000, V|R|0x40)) // read-only, A set
	c.Run(200)
	if c.PC() != mhandler || c.mcause != CauseStorePageFault || c.mtval != vro {
		t.Fatalf("pc %#x mcause %d mtval %#x; want store page fault at %#x", c.PC(), c.mcause, c.mtval, vro)
	}
	if got := c.Reg(int(a0)); got != 0x1234 {
		t.Fatalf("a0 = %#x", got)
	}
	gotPTE := binary.LittleEndian.Uint64(c.ram[l0+8-ramBase:])
	if gotPTE&0xc0 != 0xc0 {
		t.Fatalf("data PTE %#x: A and D not set", gotPTE)
	}
	if code := binary.LittleEndian.Uint64(c.ram[l0-ramBase:]); code&0x40 == 0 || code&0x80 != 0 {
		t.Fatalf("code PTE %#x: want A set, D clear", code)
	}
	if c.mepc != vcode+uint64(4*(len(li(t0, vdata))+len(li(t1, 0x1234))+2+len(li(t0, vro)))) {
		t.Fatalf("mepc %#x", c.mepc)
	}
}

// Every compressed instruction must decode to what its documented 32-bit
// expansion decodes to.
func FuzzDecodeCompressed(f *testing.F) {
	for _, h := range []uint16{0x4501, 0x8082, 0x1141, 0xe406, 0x6108, 0x0001, 0x9002, 0x4000} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h uint16) {
		if h&3 == 3 {
			return
		}
		in := decode16(h)
		if in.length != 2 {
			t.Fatalf("%#04x: length %d", h, in.length)
		}
		if in.op == opIllegal || in.op == opFP {
			return
		}
		w, ok := reencode(in)
		if !ok {
			return
		}
		out := decode32(w)
		type view struct {
			Op           op
			Rd, Rs1, Rs2 uint8
			Imm          int64
		}
		norm := func(i inst) view {
			v := view{i.op, i.rd, i.rs1, i.rs2, int64(i.imm)}
			switch i.op {
			case opADD, opSUB, opXOR, opOR, opAND, opADDW, opSUBW, opSW, opSD, opBEQ, opBNE:
			default:
				v.Rs2 = 0
			}
			switch i.op {
			case opSW, opSD, opBEQ, opBNE:
				v.Rd = 0
			case opLUI, opJAL:
				v.Rs1 = 0 // those bits are immediate bits
			}
			if i.op == opEBREAK {
				v.Rd, v.Imm = 0, 0
			}
			return v
		}
		if diff := cmp.Diff(norm(in), norm(out)); diff != "" {
			t.Fatalf("%#04x expands differently from its 32-bit form %#08x:\n%s", h, w, diff)
		}
	})
}

func FuzzDecode32(f *testing.F) {
	for _, w := range []uint32{0x00000013, 0xffffffff, 0x30200073, 0x0005b503, 0x02b50533} {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, w uint32) {
		in := decode32(w | 3)
		if in.op == opNone || in.op >= opCount {
			t.Fatalf("%#08x decoded to op %d", w, in.op)
		}
		if in.op != opIllegal && in.op != opFP && in.op != opFLW && in.op != opFLD && in.rd == 0 {
			t.Fatalf("%#08x: integer destination x0 not mapped to the sink", w)
		}
	})
}

// reencode turns an integer-register decoded instruction back into a
// 32-bit word (test helper for the compressed-expansion property).
func reencode(in inst) (uint32, bool) {
	rd := uint32(in.rd)
	if rd == regSink {
		rd = 0
	}
	rs1, rs2 := uint32(in.rs1), uint32(in.rs2)
	imm := int64(in.imm)
	switch in.op {
	case opADDI:
		return addi(rd, rs1, imm), true
	case opADDIW:
		return encI(0x1b, 0, rd, rs1, imm), true
	case opANDI:
		return andi(rd, rs1, imm), true
	case opSLLI:
		return slli(rd, rs1, imm), true
	case opSRLI:
		return srli(rd, rs1, imm), true
	case opSRAI:
		return encI(0x13, 5, rd, rs1, imm|0x400), true
	case opLUI:
		return lui(rd, imm), true
	case opADD:
		return add(rd, rs1, rs2), true
	case opSUB:
		return sub(rd, rs1, rs2), true
	case opXOR:
		return xor(rd, rs1, rs2), true
	case opOR:
		return encR(0x33, 6, 0, rd, rs1, rs2), true
	case opAND:
		return encR(0x33, 7, 0, rd, rs1, rs2), true
	case opADDW:
		return encR(0x3b, 0, 0, rd, rs1, rs2), true
	case opSUBW:
		return encR(0x3b, 0, 0x20, rd, rs1, rs2), true
	case opLW:
		return lw(rd, rs1, imm), true
	case opLD:
		return ld(rd, rs1, imm), true
	case opSW:
		return sw(rs2, rs1, imm), true
	case opSD:
		return sd(rs2, rs1, imm), true
	case opJAL:
		return jal(rd, imm), true
	case opJALR:
		return jalr(rd, rs1, imm), true
	case opBEQ:
		return beq(rs1, rs2, imm), true
	case opBNE:
		return bne(rs1, rs2, imm), true
	case opEBREAK:
		return 0x00100073, true
	}
	return 0, false
}

// The per-instruction breakpoint check skips pcs by a 4096-bit filter:
// a breakpoint whose pc shares the filter bit (8 KiB away) must not stop
// the hart, and a skip-once set for a pc the hart does not start at ends
// at the first instruction, so the breakpoint stops the hart later.
func TestBreakpointFilter(t *testing.T) {
	code := prog(
		addi(a0, a0, 1), // loop:
		addi(a1, a1, 2), // +4
		addi(a2, a2, 3), // +8
		jal(zero, -12),
	)
	c := newTestCPU(t, code)
	c.SetBreakpoints([]uint64{ramBase + 8 + 8192})
	if r := c.Run(100); r != StopBudget {
		t.Fatalf("Run with a breakpoint 8 KiB away = %v at pc %#x, want StopBudget", r, c.PC())
	}
	c.SetBreakpoints([]uint64{ramBase + 8, ramBase + 8 + 8192})
	c.SkipBreakpointOnce(ramBase + 8)
	c.SetPC(ramBase)
	if r := c.Run(100); r != StopBreakpoint || c.PC() != ramBase+8 || c.ICount() != 102 {
		t.Fatalf("Run = %v at pc %#x icount %d; want a stop at %#x after 2 instructions (the skip ended at the first)",
			r, c.PC(), c.ICount(), ramBase+8)
	}
}

func TestBreakpointAndWatchpoint(t *testing.T) {
	pre := li(a0, ramBase+0x2000)
	code := prog(
		pre,
		addi(a1, zero, 7), // +0
		sd(a1, a0, 0),     // +4: writes the watched word
		addi(a2, zero, 1), // +8: breakpoint here
		ld(a3, a0, 0),     // +12
		halt,
	)
	base := uint64(ramBase + 4*len(pre))
	c := newTestCPU(t, code)
	c.SetWatchpoints([]Watch{{Addr: ramBase + 0x2000, Len: 8, Kind: WatchWrite}})
	c.SetBreakpoints([]uint64{base + 8})
	if r := c.Run(100); r != StopWatchpoint {
		t.Fatalf("Run = %v, want StopWatchpoint", r)
	}
	if hit := c.LastWatchHit(); hit.PC != base+4 || !hit.Write || c.PC() != base+8 {
		t.Fatalf("watch hit %+v, pc %#x: want the store at +12 to have completed", hit, c.PC())
	}
	n := c.ICount()
	if r := c.Run(100); r != StopBreakpoint || c.PC() != base+8 || c.ICount() != n {
		t.Fatalf("Run = %v at pc %#x icount %d; want a breakpoint stop before +16 without executing", r, c.PC(), c.ICount())
	}
	c.SkipBreakpointOnce(c.PC())
	c.SetWatchpoints(nil)
	c.Run(3)
	if c.Reg(int(a3)) != 7 || c.Reg(int(a2)) != 1 {
		t.Fatalf("did not resume past the breakpoint")
	}
}
