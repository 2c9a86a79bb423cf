package amd64

import (
	"bytes"
	"fmt"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// The encoder is checked against an independent decoder: every form is
// encoded with many register, width and addressing combinations, then
// decoded with golang.org/x/arch/x86/x86asm, and the mnemonic, operands
// and length must match what was asked for.

func xreg(r Reg, w Width) x86asm.Reg {
	switch w {
	case W8:
		switch {
		case r < 4:
			return x86asm.AL + x86asm.Reg(r)
		case r < 8:
			return x86asm.SPB + x86asm.Reg(r-4)
		default:
			return x86asm.R8B + x86asm.Reg(r-8)
		}
	case W16:
		return x86asm.AX + x86asm.Reg(r)
	case W32:
		return x86asm.EAX + x86asm.Reg(r)
	}
	return x86asm.RAX + x86asm.Reg(r)
}

const testOrigin = 0x7f0000001000

func xmem(m Mem, end uint64) x86asm.Mem {
	if m.RIP {
		return x86asm.Mem{Base: x86asm.RIP, Disp: int64(m.Abs - end)}
	}
	xm := x86asm.Mem{Base: xreg(m.Base, W64), Disp: int64(m.Disp)}
	if m.hasIndex {
		xm.Index = xreg(m.Index, W64)
		xm.Scale = m.Scale
	} else {
		xm.Scale = 0
	}
	return xm
}

type check struct {
	name string
	emit func(a *Asm)
	op   x86asm.Op
	args func(end uint64) []x86asm.Arg
}

func run(t *testing.T, c check) {
	t.Helper()
	var a Asm
	a.Reset(testOrigin)
	c.emit(&a)
	if err := a.Finish(); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	inst, err := x86asm.Decode(a.Buf, 64)
	if err != nil {
		t.Fatalf("%s: % x does not decode: %v", c.name, a.Buf, err)
	}
	if inst.Len != len(a.Buf) {
		t.Fatalf("%s: % x decodes as %d bytes (%v)", c.name, a.Buf, inst.Len, inst)
	}
	if inst.Op != c.op {
		t.Fatalf("%s: % x decodes as %v, want %v", c.name, a.Buf, inst, c.op)
	}
	want := c.args(testOrigin + uint64(len(a.Buf)))
	for i := range inst.Args {
		var w x86asm.Arg
		if i < len(want) {
			w = want[i]
		}
		got := inst.Args[i]
		// x86asm reports a memory operand's scale as 1 with no index.
		if gm, ok := got.(x86asm.Mem); ok && gm.Index == 0 {
			gm.Scale = 0
			got = gm
		}
		// Immediates compare at the operation's width (x86asm shows a
		// byte immediate unsigned and a 32-bit one signed).
		if gi, ok := got.(x86asm.Imm); ok {
			if wi, ok := w.(x86asm.Imm); ok {
				m := opMask(inst)
				if uint64(gi)&m == uint64(wi)&m {
					continue
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Fatalf("%s: % x decodes as %v: operand %d is %v, want %v", c.name, a.Buf, x86asm.IntelSyntax(inst, testOrigin, nil), i, got, w)
		}
	}
}

func opMask(inst x86asm.Inst) uint64 {
	bytes := inst.MemBytes
	if r, ok := inst.Args[0].(x86asm.Reg); ok {
		switch {
		case r >= x86asm.AL && r <= x86asm.R15B:
			bytes = 1
		case r >= x86asm.AX && r <= x86asm.R15W:
			bytes = 2
		case r >= x86asm.EAX && r <= x86asm.R15L:
			bytes = 4
		default:
			bytes = 8
		}
	}
	if bytes >= 8 || bytes == 0 {
		return ^uint64(0)
	}
	return 1<<(8*bytes) - 1
}

var allRegs = []Reg{RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15}

func mems() []Mem {
	var out []Mem
	for _, b := range allRegs {
		for _, d := range []int32{0, 8, -128, 127, 128, -129, 0x12345, -0x7fffffff} {
			out = append(out, M(b, d))
		}
		for _, ix := range []Reg{RAX, RBP, R12, R13, R15} {
			for _, s := range []uint8{1, 2, 4, 8} {
				out = append(out, MI(b, ix, s, 16), MI(b, ix, s, 0), MI(b, ix, s, 1000))
			}
		}
	}
	out = append(out, RIPRel(testOrigin+0x100), RIPRel(testOrigin-0x1000))
	return out
}

var widths = []Width{W8, W16, W32, W64}

func TestRegReg(t *testing.T) {
	alus := map[ALU]x86asm.Op{ADD: x86asm.ADD, OR: x86asm.OR, ADC: x86asm.ADC, SBB: x86asm.SBB,
		AND: x86asm.AND, SUB: x86asm.SUB, XOR: x86asm.XOR, CMP: x86asm.CMP}
	for _, w := range widths {
		for _, d := range allRegs {
			for _, s := range allRegs {
				w, d, s := w, d, s
				rr := func(e x86asm.Reg, f x86asm.Reg) func(uint64) []x86asm.Arg {
					return func(uint64) []x86asm.Arg { return []x86asm.Arg{e, f} }
				}
				run(t, check{fmt.Sprintf("mov %v,%v w%d", d, s, w), func(a *Asm) { a.MovRR(w, d, s) }, x86asm.MOV, rr(xreg(d, w), xreg(s, w))})
				for op, xop := range alus {
					run(t, check{fmt.Sprintf("alu%d %v,%v w%d", op, d, s, w), func(a *Asm) { a.ALURR(w, op, d, s) }, xop, rr(xreg(d, w), xreg(s, w))})
				}
				run(t, check{"test", func(a *Asm) { a.TestRR(w, d, s) }, x86asm.TEST, rr(xreg(d, w), xreg(s, w))})
				if w != W8 {
					run(t, check{"imul", func(a *Asm) { a.ImulRR(w, d, s) }, x86asm.IMUL, rr(xreg(d, w), xreg(s, w))})
					run(t, check{"cmov", func(a *Asm) { a.Cmov(w, CondL, d, s) }, x86asm.CMOVL, rr(xreg(d, w), xreg(s, w))})
				}
			}
		}
	}
	for _, d := range allRegs {
		for _, s := range allRegs {
			d, s := d, s
			run(t, check{"movzx8", func(a *Asm) { a.MovzxRR(d, W8, s) }, x86asm.MOVZX, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(d, W32), xreg(s, W8)} }})
			run(t, check{"movzx16", func(a *Asm) { a.MovzxRR(d, W16, s) }, x86asm.MOVZX, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(d, W32), xreg(s, W16)} }})
			run(t, check{"movsx8", func(a *Asm) { a.MovsxRR(d, W8, s) }, x86asm.MOVSX, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(d, W64), xreg(s, W8)} }})
			run(t, check{"movsx16", func(a *Asm) { a.MovsxRR(d, W16, s) }, x86asm.MOVSX, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(d, W64), xreg(s, W16)} }})
			run(t, check{"movsxd", func(a *Asm) { a.MovsxRR(d, W32, s) }, x86asm.MOVSXD, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(d, W64), xreg(s, W32)} }})
		}
	}
}

func TestRegMem(t *testing.T) {
	for _, m := range mems() {
		for _, r := range []Reg{RAX, RSP, RSI, RDI, R8, R15} {
			for _, w := range widths {
				m, r, w := m, r, w
				rm := func(end uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, w), xmem(m, end)} }
				mr := func(end uint64) []x86asm.Arg { return []x86asm.Arg{xmem(m, end), xreg(r, w)} }
				run(t, check{fmt.Sprintf("load %v %+v w%d", r, m, w), func(a *Asm) { a.Load(w, r, m) }, x86asm.MOV, rm})
				run(t, check{fmt.Sprintf("store %v %+v w%d", r, m, w), func(a *Asm) { a.Store(w, m, r) }, x86asm.MOV, mr})
				run(t, check{"add rm", func(a *Asm) { a.ALURM(w, ADD, r, m) }, x86asm.ADD, rm})
				run(t, check{"cmp rm", func(a *Asm) { a.ALURM(w, CMP, r, m) }, x86asm.CMP, rm})
				run(t, check{"or mr", func(a *Asm) { a.ALUMR(w, OR, m, r) }, x86asm.OR, mr})
				if w == W64 {
					run(t, check{"lea", func(a *Asm) { a.Lea(r, m) }, x86asm.LEA, rm})
					run(t, check{"imul rm", func(a *Asm) { a.ImulRM(w, r, m) }, x86asm.IMUL, rm})
				}
				if w != W64 {
					run(t, check{"movzx", func(a *Asm) { a.Movzx(r, w, m) }, map[Width]x86asm.Op{W8: x86asm.MOVZX, W16: x86asm.MOVZX, W32: x86asm.MOV}[w], func(end uint64) []x86asm.Arg {
						return []x86asm.Arg{xreg(r, W32), xmem(m, end)}
					}})
					run(t, check{"movsx", func(a *Asm) { a.Movsx(r, w, m) }, map[Width]x86asm.Op{W8: x86asm.MOVSX, W16: x86asm.MOVSX, W32: x86asm.MOVSXD}[w], func(end uint64) []x86asm.Arg {
						return []x86asm.Arg{xreg(r, W64), xmem(m, end)}
					}})
				}
			}
		}
		for _, w := range widths {
			m, w := m, w
			for _, imm := range []int32{0, 1, -1, 127, -128, 0x7f, 0x1234, -0x12345678} {
				imm := imm
				want := int64(imm)
				switch w {
				case W8:
					want = int64(int8(imm))
				case W16:
					want = int64(int16(imm))
				}
				mi := func(end uint64) []x86asm.Arg { return []x86asm.Arg{xmem(m, end), x86asm.Imm(want)} }
				run(t, check{fmt.Sprintf("storeimm %+v %d w%d", m, imm, w), func(a *Asm) { a.StoreImm(w, m, imm) }, x86asm.MOV, mi})
				run(t, check{"add mi", func(a *Asm) { a.ALUMI(w, ADD, m, imm) }, x86asm.ADD, mi})
				run(t, check{"cmp mi", func(a *Asm) { a.ALUMI(w, CMP, m, imm) }, x86asm.CMP, mi})
			}
		}
		m := m
		run(t, check{"jmp mem", func(a *Asm) { a.JmpMem(m) }, x86asm.JMP, func(end uint64) []x86asm.Arg { return []x86asm.Arg{xmem(m, end)} }})
	}
}

func TestImmediates(t *testing.T) {
	for _, r := range allRegs {
		for _, v := range []uint64{0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, ^uint64(0), 0xffffffff80000000, 0x123456789abcdef0} {
			r, v := r, v
			want := func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, W64), x86asm.Imm(v)} }
			op := x86asm.MOV
			if v == 0 {
				op = x86asm.XOR
				want = func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, W32), xreg(r, W32)} }
			} else if v <= 0xffffffff {
				want = func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, W32), x86asm.Imm(v)} }
			}
			run(t, check{fmt.Sprintf("movimm %v %#x", r, v), func(a *Asm) { a.MovImm(r, v) }, op, want})
		}
		for _, w := range widths {
			for _, imm := range []int32{0, 5, -1, 127, -128, 128, 0x7fffffff, -0x80000000} {
				r, w, imm := r, w, imm
				want := int64(imm)
				switch w {
				case W8:
					want = int64(int8(imm))
				case W16:
					want = int64(int16(imm))
				}
				ri := func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, w), x86asm.Imm(want)} }
				run(t, check{fmt.Sprintf("sub %v %d w%d", r, imm, w), func(a *Asm) { a.ALURI(w, SUB, r, imm) }, x86asm.SUB, ri})
				run(t, check{"and", func(a *Asm) { a.ALURI(w, AND, r, imm) }, x86asm.AND, ri})
				run(t, check{"test", func(a *Asm) { a.TestRI(w, r, imm) }, x86asm.TEST, ri})
			}
			for _, n := range []uint8{1, 3, 31} {
				r, w, n := r, w, n
				ri := func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, w), x86asm.Imm(n)} }
				for sh, op := range map[Shift]x86asm.Op{SHL: x86asm.SHL, SHR: x86asm.SHR, SAR: x86asm.SAR, ROL: x86asm.ROL, ROR: x86asm.ROR} {
					run(t, check{fmt.Sprintf("shift %v %d", r, n), func(a *Asm) { a.ShiftRI(w, sh, r, n) }, op, ri})
				}
			}
			r, w := r, w
			one := func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, w)} }
			run(t, check{"shl cl", func(a *Asm) { a.ShiftRCL(w, SHL, r) }, x86asm.SHL, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, w), x86asm.CL} }})
			run(t, check{"sar cl", func(a *Asm) { a.ShiftRCL(w, SAR, r) }, x86asm.SAR, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, w), x86asm.CL} }})
			run(t, check{"not", func(a *Asm) { a.Not(w, r) }, x86asm.NOT, one})
			run(t, check{"neg", func(a *Asm) { a.Neg(w, r) }, x86asm.NEG, one})
			run(t, check{"mul", func(a *Asm) { a.Mul(w, r) }, x86asm.MUL, one})
			run(t, check{"imul1", func(a *Asm) { a.Imul1(w, r) }, x86asm.IMUL, one})
			run(t, check{"div", func(a *Asm) { a.Div(w, r) }, x86asm.DIV, one})
			run(t, check{"idiv", func(a *Asm) { a.Idiv(w, r) }, x86asm.IDIV, one})
		}
		r := r
		for c := Cond(0); c < 16; c++ {
			c := c
			run(t, check{fmt.Sprintf("set%d %v", c, r), func(a *Asm) { a.Setcc(c, r) }, x86asm.SETO + x86asm.Op(0), func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, W8)} }}.withOp(setOps[c]))
		}
		run(t, check{"jmp reg", func(a *Asm) { a.JmpReg(r) }, x86asm.JMP, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, W64)} }})
		run(t, check{"call reg", func(a *Asm) { a.CallReg(r) }, x86asm.CALL, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, W64)} }})
	}
	none := func(uint64) []x86asm.Arg { return nil }
	run(t, check{"cqo", (*Asm).Cqo, x86asm.CQO, none})
	run(t, check{"cdq", (*Asm).Cdq, x86asm.CDQ, none})
	run(t, check{"ret", (*Asm).Ret, x86asm.RET, none})
	run(t, check{"ud2", (*Asm).Ud2, x86asm.UD2, none})
	run(t, check{"int3", (*Asm).Int3, x86asm.INT, func(uint64) []x86asm.Arg { return []x86asm.Arg{x86asm.Imm(3)} }})
}

var setOps = map[Cond]x86asm.Op{CondO: x86asm.SETO, CondNO: x86asm.SETNO, CondB: x86asm.SETB, CondAE: x86asm.SETAE,
	CondE: x86asm.SETE, CondNE: x86asm.SETNE, CondBE: x86asm.SETBE, CondA: x86asm.SETA, CondS: x86asm.SETS,
	CondNS: x86asm.SETNS, CondP: x86asm.SETP, CondNP: x86asm.SETNP, CondL: x86asm.SETL, CondGE: x86asm.SETGE, CondLE: x86asm.SETLE, CondG: x86asm.SETG}

func (c check) withOp(op x86asm.Op) check { c.op = op; return c }

// Jumps: every label distance, short and long, forward and backward.
func TestJumps(t *testing.T) {
	for _, gap := range []int{0, 1, 100, 125, 126, 127, 128, 129, 1000, 100000} {
		for _, back := range []bool{false, true} {
			var a Asm
			a.Reset(testOrigin)
			l := a.NewLabel()
			if back {
				a.Bind(l)
				for i := 0; i < gap; i++ {
					a.Int3()
				}
			}
			at := a.Len()
			a.Jcc(CondNE, l)
			mid := a.Len()
			a.Jmp(l)
			end := a.Len()
			if !back {
				for i := 0; i < gap; i++ {
					a.Int3()
				}
				a.Bind(l)
			}
			if err := a.Finish(); err != nil {
				t.Fatal(err)
			}
			target, _ := a.Bound(l)
			for _, j := range []struct {
				from, to int
				op       x86asm.Op
			}{{at, mid, x86asm.JNE}, {mid, end, x86asm.JMP}} {
				inst, err := x86asm.Decode(a.Buf[j.from:], 64)
				if err != nil || inst.Op != j.op || inst.Len != j.to-j.from {
					t.Fatalf("gap %d back %v: % x decodes as %v (%v)", gap, back, a.Buf[j.from:j.to], inst, err)
				}
				rel := int(inst.Args[0].(x86asm.Rel))
				if j.to+rel != target {
					t.Fatalf("gap %d back %v: jump from %d lands at %d, want %d", gap, back, j.from, j.to+rel, target)
				}
			}
		}
	}
	var a Asm
	a.Reset(testOrigin)
	a.JmpAbs(testOrigin + 0x5000)
	a.JccAbs(CondA, testOrigin-0x5000)
	inst, _ := x86asm.Decode(a.Buf, 64)
	if inst.Op != x86asm.JMP || testOrigin+5+uint64(int64(inst.Args[0].(x86asm.Rel))) != testOrigin+0x5000 {
		t.Fatalf("JmpAbs: %v", inst)
	}
	inst, _ = x86asm.Decode(a.Buf[5:], 64)
	if inst.Op != x86asm.JA || testOrigin+11+uint64(int64(inst.Args[0].(x86asm.Rel))) != testOrigin-0x5000 {
		t.Fatalf("JccAbs: %v", inst)
	}
	a.Reset(testOrigin)
	a.Jmp(a.NewLabel())
	if a.Finish() == nil {
		t.Fatal("unbound label accepted")
	}
}

func TestSSE(t *testing.T) {
	xr := func(x XReg) x86asm.Reg { return x86asm.X0 + x86asm.Reg(x) }
	ops := map[SSEOp]x86asm.Op{MOVSD: x86asm.MOVSD_XMM, ADDSD: x86asm.ADDSD, MULSD: x86asm.MULSD, SUBSD: x86asm.SUBSD,
		DIVSD: x86asm.DIVSD, SQRTSD: x86asm.SQRTSD, UCOMISD: x86asm.UCOMISD, COMISD: x86asm.COMISD}
	for _, d := range []XReg{X0, X1, X2, X3, X7, X8, X14} {
		for _, s := range []XReg{X0, X1, X2, X3, X7, X8, X14} {
			for op, xop := range ops {
				d, s, op := d, s, op
				run(t, check{fmt.Sprintf("sse %x %d %d", op, d, s), func(a *Asm) { a.SSERR(op, d, s) }, xop, func(uint64) []x86asm.Arg { return []x86asm.Arg{xr(d), xr(s)} }})
			}
			run(t, check{fmt.Sprintf("movaps %d %d", d, s), func(a *Asm) { a.MovapsRR(d, s) }, x86asm.MOVAPS, func(uint64) []x86asm.Arg { return []x86asm.Arg{xr(d), xr(s)} }})
		}
		for _, m := range mems() {
			d, m := d, m
			for op, xop := range ops {
				op := op
				run(t, check{fmt.Sprintf("sse mem %x %d %+v", op, d, m), func(a *Asm) { a.SSERM(op, d, m) }, xop, func(end uint64) []x86asm.Arg { return []x86asm.Arg{xr(d), xmem(m, end)} }})
			}
			run(t, check{"movsd store", func(a *Asm) { a.MovsdStore(m, d) }, x86asm.MOVSD_XMM, func(end uint64) []x86asm.Arg { return []x86asm.Arg{xmem(m, end), xr(d)} }})
		}
		for _, r := range allRegs {
			d, r := d, r
			run(t, check{"movq x,r", func(a *Asm) { a.MovqXR(d, r) }, x86asm.MOVQ, func(uint64) []x86asm.Arg { return []x86asm.Arg{xr(d), xreg(r, W64)} }})
			run(t, check{"movq r,x", func(a *Asm) { a.MovqRX(r, d) }, x86asm.MOVQ, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, W64), xr(d)} }})
			for _, w := range []Width{W32, W64} {
				w := w
				run(t, check{"cvtsi2sd", func(a *Asm) { a.Cvtsi2sd(d, w, r) }, x86asm.CVTSI2SD, func(uint64) []x86asm.Arg { return []x86asm.Arg{xr(d), xreg(r, w)} }})
				run(t, check{"cvtsd2si", func(a *Asm) { a.Cvtsd2si(w, r, d, false) }, x86asm.CVTSD2SI, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, w), xr(d)} }})
				run(t, check{"cvttsd2si", func(a *Asm) { a.Cvtsd2si(w, r, d, true) }, x86asm.CVTTSD2SI, func(uint64) []x86asm.Arg { return []x86asm.Arg{xreg(r, w), xr(d)} }})
			}
		}
	}
	for _, m := range mems() {
		m := m
		run(t, check{"ldmxcsr", func(a *Asm) { a.Ldmxcsr(m) }, x86asm.LDMXCSR, func(end uint64) []x86asm.Arg { return []x86asm.Arg{xmem(m, end)} }})
		run(t, check{"stmxcsr", func(a *Asm) { a.Stmxcsr(m) }, x86asm.STMXCSR, func(end uint64) []x86asm.Arg { return []x86asm.Arg{xmem(m, end)} }})
	}
}

// TestFMA231 checks the VEX encoding against GNU as (x86asm does not
// decode VEX): "as --64" of e.g. "vfmadd231sd 0x10(%r15),%xmm1,%xmm0".
func TestFMA231(t *testing.T) {
	tests := []struct {
		op       FMAOp
		dst, src XReg
		m        Mem
		want     []byte
	}{
		{VFMADD231SD, X0, X1, M(R15, 0x10), []byte{0xc4, 0xc2, 0xf1, 0xb9, 0x47, 0x10}},
		{VFMSUB231SD, X0, X1, M(R15, 0x1234), []byte{0xc4, 0xc2, 0xf1, 0xbb, 0x87, 0x34, 0x12, 0x00, 0x00}},
		{VFNMADD231SD, X2, X3, M(RAX, 0), []byte{0xc4, 0xe2, 0xe1, 0xbd, 0x10}},
		{VFNMSUB231SD, X1, X0, M(RSP, 8), []byte{0xc4, 0xe2, 0xf9, 0xbf, 0x4c, 0x24, 0x08}},
	}
	for _, tt := range tests {
		var a Asm
		a.FMA231(tt.op, tt.dst, tt.src, tt.m)
		if err := a.Finish(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Buf, tt.want) {
			t.Errorf("FMA231(%#x, x%d, x%d, %+v) = % x, want % x", tt.op, tt.dst, tt.src, tt.m, a.Buf, tt.want)
		}
	}
}
