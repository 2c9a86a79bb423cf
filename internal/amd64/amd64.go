// Package amd64 is a small x86-64 machine-code encoder: the subset of
// integer instructions Rewind's compiled execution tier emits, with
// labels and forward jumps. It encodes; it never executes anything.
//
// Operand order follows Intel syntax: destination first. Widths are
// explicit (W8, W16, W32, W64); a 32-bit register write zero-extends to
// 64 bits as on the hardware.
package amd64

import (
	"encoding/binary"
	"fmt"
)

// Reg is a general-purpose register number (the hardware encoding).
type Reg uint8

// General-purpose registers.
const (
	RAX Reg = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

var regNames = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}

func (r Reg) String() string { return regNames[r&15] }

// Width is an operand size in bytes.
type Width uint8

// Operand widths.
const (
	W8  Width = 1
	W16 Width = 2
	W32 Width = 4
	W64 Width = 8
)

// Mem is a memory operand: [Base + Index*Scale + Disp], or, with RIP set,
// the absolute address Abs reached RIP-relatively (it must lie within
// ±2 GiB of the code, whose address is the assembler's Origin).
type Mem struct {
	Base     Reg
	Index    Reg
	Scale    uint8 // 1, 2, 4 or 8; 0 means no index
	Disp     int32
	RIP      bool
	Abs      uint64
	hasIndex bool
}

// M returns [base + disp].
func M(base Reg, disp int32) Mem { return Mem{Base: base, Disp: disp} }

// MI returns [base + index*scale + disp].
func MI(base, index Reg, scale uint8, disp int32) Mem {
	return Mem{Base: base, Index: index, Scale: scale, Disp: disp, hasIndex: true}
}

// RIPRel returns a RIP-relative operand for absolute address abs.
func RIPRel(abs uint64) Mem { return Mem{RIP: true, Abs: abs} }

// Cond is a condition code (the low nibble of Jcc/SETcc/CMOVcc).
type Cond uint8

// Condition codes.
const (
	CondO  Cond = 0x0
	CondNO Cond = 0x1
	CondB  Cond = 0x2 // unsigned <
	CondAE Cond = 0x3 // unsigned >=
	CondE  Cond = 0x4
	CondNE Cond = 0x5
	CondBE Cond = 0x6 // unsigned <=
	CondA  Cond = 0x7 // unsigned >
	CondS  Cond = 0x8
	CondNS Cond = 0x9
	CondP  Cond = 0xa // parity (unordered after ucomisd)
	CondNP Cond = 0xb
	CondL  Cond = 0xc // signed <
	CondGE Cond = 0xd // signed >=
	CondLE Cond = 0xe // signed <=
	CondG  Cond = 0xf // signed >
)

// Invert returns the opposite condition.
func (c Cond) Invert() Cond { return c ^ 1 }

// ALU is one of the eight classic two-operand arithmetic operations.
type ALU uint8

// ALU operations (their /digit in the 0x80/0x81/0x83 group).
const (
	ADD ALU = 0
	OR  ALU = 1
	ADC ALU = 2
	SBB ALU = 3
	AND ALU = 4
	SUB ALU = 5
	XOR ALU = 6
	CMP ALU = 7
)

// Shift is a shift or rotate operation (its /digit in the 0xC1/0xD3 group).
type Shift uint8

// Shift operations.
const (
	ROL Shift = 0
	ROR Shift = 1
	SHL Shift = 4
	SHR Shift = 5
	SAR Shift = 7
)

// Label is a position in the code, bound once, referenced by jumps before
// or after it is bound.
type Label int

type fixup struct {
	at    int // offset of the rel32 field
	label Label
}

// Asm accumulates machine code.
type Asm struct {
	// Buf is the code so far.
	Buf []byte
	// Origin is the address Buf[0] will have when executed; it is only
	// used for RIP-relative operands.
	Origin uint64

	labels []int // bound offset or -1
	fixups []fixup
	err    error
}

// Len returns the number of bytes emitted.
func (a *Asm) Len() int { return len(a.Buf) }

// Reset empties the assembler for a new origin.
func (a *Asm) Reset(origin uint64) {
	a.Buf = a.Buf[:0]
	a.Origin = origin
	a.labels = a.labels[:0]
	a.fixups = a.fixups[:0]
	a.err = nil
}

// Err returns the first encoding error (an unencodable operand), if any.
func (a *Asm) Err() error { return a.err }

func (a *Asm) fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf("amd64: "+format, args...)
	}
}

// NewLabel returns an unbound label.
func (a *Asm) NewLabel() Label {
	a.labels = append(a.labels, -1)
	return Label(len(a.labels) - 1)
}

// Bind binds l to the current position.
func (a *Asm) Bind(l Label) { a.labels[l] = len(a.Buf) }

// Bound reports whether l is bound (and where).
func (a *Asm) Bound(l Label) (int, bool) { p := a.labels[l]; return p, p >= 0 }

// Finish resolves every jump to a label. It fails if a label is unbound.
func (a *Asm) Finish() error {
	for _, f := range a.fixups {
		p := a.labels[f.label]
		if p < 0 {
			a.fail("label %d never bound", f.label)
			continue
		}
		binary.LittleEndian.PutUint32(a.Buf[f.at:], uint32(int32(p-(f.at+4))))
	}
	a.fixups = a.fixups[:0]
	return a.err
}

func (a *Asm) b(bs ...byte) { a.Buf = append(a.Buf, bs...) }

func (a *Asm) u32(v uint32) { a.Buf = binary.LittleEndian.AppendUint32(a.Buf, v) }

func (a *Asm) u64(v uint64) { a.Buf = binary.LittleEndian.AppendUint64(a.Buf, v) }

func fitsInt8(v int64) bool  { return v >= -128 && v <= 127 }
func fitsInt32(v int64) bool { return v >= -1<<31 && v < 1<<31 }

// FitsInt32 reports whether v can be a sign-extended 32-bit immediate.
func FitsInt32(v int64) bool { return fitsInt32(v) }

// operand is a register or a memory operand in the ModRM r/m field.
type operand struct {
	mem bool
	r   Reg
	m   Mem
}

func regOp(r Reg) operand { return operand{r: r} }
func memOp(m Mem) operand { return operand{mem: true, m: m} }

// enc emits [66] [REX] opcode ModRM [SIB] [disp] and returns where the
// RIP-relative displacement field is (or -1); the caller appends any
// immediate and then calls ripFix. reg is the ModRM reg field (a register
// number or an opcode extension).
func (a *Asm) enc(w Width, opcode []byte, reg uint8, rm operand, regIsByte bool) int {
	return a.encB(w, opcode, reg, rm, regIsByte, w == W8)
}

// encB is enc with explicit byte-register flags for the reg field and for
// a register r/m operand (movzx/movsx read a byte register at a wider
// width).
func (a *Asm) encB(w Width, opcode []byte, reg uint8, rm operand, regIsByte, rmIsByte bool) int {
	if w == W16 {
		a.b(0x66)
	}
	rex := byte(0)
	if w == W64 {
		rex |= 8
	}
	if reg&8 != 0 {
		rex |= 4
	}
	if rm.mem {
		if !rm.m.RIP {
			if rm.m.hasIndex && rm.m.Index&8 != 0 {
				rex |= 2
			}
			if rm.m.Base&8 != 0 {
				rex |= 1
			}
		}
	} else if rm.r&8 != 0 {
		rex |= 1
	}
	need := rex != 0
	if rmIsByte && !rm.mem && rm.r >= 4 && rm.r < 8 {
		need = true
	}
	if regIsByte && w == W8 && reg >= 4 && reg < 8 {
		need = true
	}
	if need {
		a.b(0x40 | rex)
	}
	a.b(opcode...)
	return a.modRM(reg, rm)
}

// modRM emits ModRM [SIB] [disp] for reg and rm and returns where the
// RIP-relative displacement field is (or -1).
func (a *Asm) modRM(reg uint8, rm operand) int {
	r := (reg & 7) << 3
	if !rm.mem {
		a.b(0xc0 | r | byte(rm.r&7))
		return -1
	}
	m := rm.m
	if m.RIP {
		a.b(r | 5)
		at := len(a.Buf)
		a.u32(0)
		return at
	}
	if m.hasIndex && m.Index == RSP {
		a.fail("rsp cannot be an index register")
	}
	disp := int64(m.Disp)
	var mod byte
	switch {
	case disp == 0 && m.Base&7 != 5:
		mod = 0
	case fitsInt8(disp):
		mod = 1
	default:
		mod = 2
	}
	if m.hasIndex {
		var ss byte
		switch m.Scale {
		case 1:
		case 2:
			ss = 1
		case 4:
			ss = 2
		case 8:
			ss = 3
		default:
			a.fail("bad scale %d", m.Scale)
		}
		a.b(mod<<6|r|4, ss<<6|byte(m.Index&7)<<3|byte(m.Base&7))
	} else if m.Base&7 == 4 {
		a.b(mod<<6|r|4, 0x24)
	} else {
		a.b(mod<<6 | r | byte(m.Base&7))
	}
	switch mod {
	case 1:
		a.b(byte(int8(disp)))
	case 2:
		a.u32(uint32(int32(disp)))
	}
	return -1
}

// ripFix fills a RIP-relative displacement once the instruction is
// complete.
func (a *Asm) ripFix(at int, abs uint64) {
	if at < 0 {
		return
	}
	end := a.Origin + uint64(len(a.Buf))
	d := int64(abs - end)
	if !fitsInt32(d) {
		a.fail("RIP-relative target %#x out of range of %#x", abs, end)
	}
	binary.LittleEndian.PutUint32(a.Buf[at:], uint32(int32(d)))
}

func (a *Asm) encRR(w Width, opcode []byte, reg uint8, rm Reg) {
	a.enc(w, opcode, reg, regOp(rm), w == W8)
}

func (a *Asm) encRM(w Width, opcode []byte, reg uint8, m Mem, regIsByte bool) {
	at := a.enc(w, opcode, reg, memOp(m), regIsByte)
	a.ripFix(at, m.Abs)
}

func (a *Asm) encRMImm(w Width, opcode []byte, ext uint8, m Mem, imm int64, immBytes int) {
	at := a.enc(w, opcode, ext, memOp(m), false)
	a.imm(imm, immBytes)
	a.ripFix(at, m.Abs)
}

func (a *Asm) imm(v int64, n int) {
	switch n {
	case 1:
		a.b(byte(v))
	case 2:
		a.b(byte(v), byte(v>>8))
	case 4:
		a.u32(uint32(v))
	}
}

func op8(w Width, op8, op byte) []byte {
	if w == W8 {
		return []byte{op8}
	}
	return []byte{op}
}

// MovRR: dst = src.
func (a *Asm) MovRR(w Width, dst, src Reg) { a.encRR(w, op8(w, 0x88, 0x89), uint8(src), dst) }

// Load: dst = [m] (W32 zero-extends; W8/W16 merge, see Movzx for loads
// that extend).
func (a *Asm) Load(w Width, dst Reg, m Mem) { a.encRM(w, op8(w, 0x8a, 0x8b), uint8(dst), m, true) }

// Store: [m] = src.
func (a *Asm) Store(w Width, m Mem, src Reg) { a.encRM(w, op8(w, 0x88, 0x89), uint8(src), m, true) }

// StoreImm: [m] = imm (sign-extended from 32 bits for W64).
func (a *Asm) StoreImm(w Width, m Mem, imm int32) {
	n := int(w)
	if w == W64 {
		n = 4
	}
	a.encRMImm(w, op8(w, 0xc6, 0xc7), 0, m, int64(imm), n)
}

// MovImm: dst = v, with the shortest encoding.
func (a *Asm) MovImm(dst Reg, v uint64) {
	switch {
	case v == 0:
		a.ALURR(W32, XOR, dst, dst)
	case v <= 0xffffffff:
		a.enc32op(0xb8, dst)
		a.u32(uint32(v))
	case fitsInt32(int64(v)):
		a.enc(W64, []byte{0xc7}, 0, regOp(dst), false)
		a.u32(uint32(v))
	default:
		a.b(0x48|byte(dst>>3), 0xb8+byte(dst&7))
		a.u64(v)
	}
}

// enc32op emits a 32-bit "opcode+reg" instruction (B8+r).
func (a *Asm) enc32op(op byte, r Reg) {
	if r&8 != 0 {
		a.b(0x41)
	}
	a.b(op + byte(r&7))
}

// Movzx: dst = zero-extended [m] of width w (W8, W16, or W32).
func (a *Asm) Movzx(dst Reg, w Width, m Mem) {
	switch w {
	case W8:
		a.encRM(W32, []byte{0x0f, 0xb6}, uint8(dst), m, false)
	case W16:
		a.encRM(W32, []byte{0x0f, 0xb7}, uint8(dst), m, false)
	default:
		a.encRM(W32, []byte{0x8b}, uint8(dst), m, false)
	}
}

// Movsx: dst (64 bits) = sign-extended [m] of width w.
func (a *Asm) Movsx(dst Reg, w Width, m Mem) {
	switch w {
	case W8:
		a.encRM(W64, []byte{0x0f, 0xbe}, uint8(dst), m, false)
	case W16:
		a.encRM(W64, []byte{0x0f, 0xbf}, uint8(dst), m, false)
	default:
		a.encRM(W64, []byte{0x63}, uint8(dst), m, false)
	}
}

// MovzxRR: dst (32/64 bits) = zero-extended low w bits of src.
func (a *Asm) MovzxRR(dst Reg, w Width, src Reg) {
	switch w {
	case W8:
		a.encB(W32, []byte{0x0f, 0xb6}, uint8(dst), regOp(src), false, true)
	case W16:
		a.enc(W32, []byte{0x0f, 0xb7}, uint8(dst), regOp(src), false)
	default:
		a.MovRR(W32, dst, src)
	}
}

// MovsxRR: dst (64 bits) = sign-extended low w bits of src.
func (a *Asm) MovsxRR(dst Reg, w Width, src Reg) {
	switch w {
	case W8:
		a.encB(W64, []byte{0x0f, 0xbe}, uint8(dst), regOp(src), false, true)
	case W16:
		a.enc(W64, []byte{0x0f, 0xbf}, uint8(dst), regOp(src), false)
	default:
		a.enc(W64, []byte{0x63}, uint8(dst), regOp(src), false)
	}
}

// Lea: dst = address of m.
func (a *Asm) Lea(dst Reg, m Mem) { a.encRM(W64, []byte{0x8d}, uint8(dst), m, false) }

// ALURR: dst = dst op src.
func (a *Asm) ALURR(w Width, op ALU, dst, src Reg) {
	a.encRR(w, op8(w, byte(op)<<3, byte(op)<<3|1), uint8(src), dst)
}

// ALURM: dst = dst op [m].
func (a *Asm) ALURM(w Width, op ALU, dst Reg, m Mem) {
	a.encRM(w, op8(w, byte(op)<<3|2, byte(op)<<3|3), uint8(dst), m, true)
}

// ALUMR: [m] = [m] op src.
func (a *Asm) ALUMR(w Width, op ALU, m Mem, src Reg) {
	a.encRM(w, op8(w, byte(op)<<3, byte(op)<<3|1), uint8(src), m, true)
}

// ALURI: dst = dst op imm (sign-extended 32-bit immediate).
func (a *Asm) ALURI(w Width, op ALU, dst Reg, imm int32) {
	switch {
	case w == W8:
		a.enc(w, []byte{0x80}, uint8(op), regOp(dst), false)
		a.b(byte(imm))
	case fitsInt8(int64(imm)):
		a.enc(w, []byte{0x83}, uint8(op), regOp(dst), false)
		a.b(byte(imm))
	default:
		a.enc(w, []byte{0x81}, uint8(op), regOp(dst), false)
		a.imm(int64(imm), min(int(w), 4))
	}
}

// ALUMI: [m] = [m] op imm.
func (a *Asm) ALUMI(w Width, op ALU, m Mem, imm int32) {
	switch {
	case w == W8:
		a.encRMImm(w, []byte{0x80}, uint8(op), m, int64(imm), 1)
	case fitsInt8(int64(imm)):
		a.encRMImm(w, []byte{0x83}, uint8(op), m, int64(imm), 1)
	default:
		a.encRMImm(w, []byte{0x81}, uint8(op), m, int64(imm), min(int(w), 4))
	}
}

// TestRR: flags of a & b.
func (a *Asm) TestRR(w Width, x, y Reg) { a.encRR(w, op8(w, 0x84, 0x85), uint8(y), x) }

// TestRI: flags of r & imm.
func (a *Asm) TestRI(w Width, r Reg, imm int32) {
	if w == W8 {
		a.enc(w, []byte{0xf6}, 0, regOp(r), false)
		a.b(byte(imm))
		return
	}
	a.enc(w, []byte{0xf7}, 0, regOp(r), false)
	a.imm(int64(imm), min(int(w), 4))
}

// ShiftRI: dst = dst shift n.
func (a *Asm) ShiftRI(w Width, op Shift, dst Reg, n uint8) {
	if n == 1 {
		a.enc(w, op8(w, 0xd0, 0xd1), uint8(op), regOp(dst), false)
		return
	}
	a.enc(w, op8(w, 0xc0, 0xc1), uint8(op), regOp(dst), false)
	a.b(n)
}

// ShiftRCL: dst = dst shift cl (the count is masked by the hardware to 5
// bits for W32 and 6 for W64).
func (a *Asm) ShiftRCL(w Width, op Shift, dst Reg) {
	a.enc(w, op8(w, 0xd2, 0xd3), uint8(op), regOp(dst), false)
}

// ImulRR: dst = dst * src (low half).
func (a *Asm) ImulRR(w Width, dst, src Reg) { a.encRR(w, []byte{0x0f, 0xaf}, uint8(dst), src) }

// ImulRM: dst = dst * [m] (low half).
func (a *Asm) ImulRM(w Width, dst Reg, m Mem) { a.encRM(w, []byte{0x0f, 0xaf}, uint8(dst), m, false) }

// group3 emits an F6/F7 /ext instruction on a register.
func (a *Asm) group3(w Width, ext uint8, r Reg) { a.enc(w, op8(w, 0xf6, 0xf7), ext, regOp(r), false) }

// Not: r = ^r.
func (a *Asm) Not(w Width, r Reg) { a.group3(w, 2, r) }

// Neg: r = -r.
func (a *Asm) Neg(w Width, r Reg) { a.group3(w, 3, r) }

// Mul: rdx:rax = rax * r (unsigned).
func (a *Asm) Mul(w Width, r Reg) { a.group3(w, 4, r) }

// Imul1: rdx:rax = rax * r (signed).
func (a *Asm) Imul1(w Width, r Reg) { a.group3(w, 5, r) }

// Div: rax, rdx = rdx:rax / r, remainder (unsigned). Faults on r == 0.
func (a *Asm) Div(w Width, r Reg) { a.group3(w, 6, r) }

// Idiv: signed division. Faults on r == 0 and on overflow.
func (a *Asm) Idiv(w Width, r Reg) { a.group3(w, 7, r) }

// Cqo sign-extends rax into rdx:rax.
func (a *Asm) Cqo() { a.b(0x48, 0x99) }

// Cdq sign-extends eax into edx:eax.
func (a *Asm) Cdq() { a.b(0x99) }

// Setcc: the low byte of r = cond ? 1 : 0 (the rest of r is unchanged).
func (a *Asm) Setcc(c Cond, r Reg) {
	if r >= 4 {
		a.b(0x40 | byte(r>>3))
	}
	a.b(0x0f, 0x90|byte(c), 0xc0|byte(r&7))
}

// Cmov: if cond { dst = src }.
func (a *Asm) Cmov(w Width, c Cond, dst, src Reg) {
	a.encRR(w, []byte{0x0f, 0x40 | byte(c)}, uint8(dst), src)
}

// Jcc jumps to l if c holds (rel32).
func (a *Asm) Jcc(c Cond, l Label) {
	if p, ok := a.Bound(l); ok && fitsInt8(int64(p-(len(a.Buf)+2))) {
		a.b(0x70|byte(c), byte(int8(p-(len(a.Buf)+2))))
		return
	}
	a.b(0x0f, 0x80|byte(c))
	a.fixups = append(a.fixups, fixup{at: len(a.Buf), label: l})
	a.u32(0)
}

// Jmp jumps to l.
func (a *Asm) Jmp(l Label) {
	if p, ok := a.Bound(l); ok && fitsInt8(int64(p-(len(a.Buf)+2))) {
		a.b(0xeb, byte(int8(p-(len(a.Buf)+2))))
		return
	}
	a.b(0xe9)
	a.fixups = append(a.fixups, fixup{at: len(a.Buf), label: l})
	a.u32(0)
}

// JmpAbs jumps to absolute address target, which must be within ±2 GiB
// of the code (rel32).
func (a *Asm) JmpAbs(target uint64) {
	a.b(0xe9)
	end := a.Origin + uint64(len(a.Buf)) + 4
	d := int64(target - end)
	if !fitsInt32(d) {
		a.fail("jump target %#x out of range", target)
	}
	a.u32(uint32(int32(d)))
}

// JccAbs jumps to absolute address target if c holds (rel32).
func (a *Asm) JccAbs(c Cond, target uint64) {
	a.b(0x0f, 0x80|byte(c))
	end := a.Origin + uint64(len(a.Buf)) + 4
	d := int64(target - end)
	if !fitsInt32(d) {
		a.fail("jump target %#x out of range", target)
	}
	a.u32(uint32(int32(d)))
}

// JmpReg jumps to the address in r.
func (a *Asm) JmpReg(r Reg) { a.enc(W32, []byte{0xff}, 4, regOp(r), false) }

// JmpMem jumps to the address stored at m.
func (a *Asm) JmpMem(m Mem) { a.encRM(W32, []byte{0xff}, 4, m, false) }

// CallReg calls the address in r.
func (a *Asm) CallReg(r Reg) { a.enc(W32, []byte{0xff}, 2, regOp(r), false) }

// Ret returns.
func (a *Asm) Ret() { a.b(0xc3) }

// Int3 is a breakpoint trap (padding that must never run).
func (a *Asm) Int3() { a.b(0xcc) }

// Ud2 is a guaranteed invalid instruction.
func (a *Asm) Ud2() { a.b(0x0f, 0x0b) }

// XReg is an SSE register number.
type XReg uint8

// SSE registers (X15 is Go's zero register: the compiled code never
// touches it).
const (
	X0 XReg = iota
	X1
	X2
	X3
	X4
	X5
	X6
	X7
	X8
	X9
	X10
	X11
	X12
	X13
	X14
)

// SSEOp is a scalar double-precision SSE2 operation (its opcode byte
// after 0F, with its mandatory prefix).
type SSEOp uint16

// Scalar SSE2 operations: prefix<<8 | opcode.
const (
	MOVSD   SSEOp = 0xf2<<8 | 0x10 // load (register or memory source)
	ADDSD   SSEOp = 0xf2<<8 | 0x58
	MULSD   SSEOp = 0xf2<<8 | 0x59
	SUBSD   SSEOp = 0xf2<<8 | 0x5c
	DIVSD   SSEOp = 0xf2<<8 | 0x5e
	SQRTSD  SSEOp = 0xf2<<8 | 0x51
	UCOMISD SSEOp = 0x66<<8 | 0x2e
	COMISD  SSEOp = 0x66<<8 | 0x2f
)

// sse emits [prefix] [REX] 0F op ModRM... and returns the RIP fixup
// position.
func (a *Asm) sse(prefix byte, w64 bool, op byte, reg uint8, rm operand) int {
	if prefix != 0 {
		a.b(prefix)
	}
	w := W32
	if w64 {
		w = W64
	}
	return a.encB(w, []byte{0x0f, op}, reg, rm, false, false)
}

// SSERR: dst = dst op src (MOVSD: dst = src).
func (a *Asm) SSERR(op SSEOp, dst, src XReg) {
	a.sse(byte(op>>8), false, byte(op), uint8(dst), regOp(Reg(src)))
}

// SSERM: dst = dst op [m] (MOVSD: dst = [m]).
func (a *Asm) SSERM(op SSEOp, dst XReg, m Mem) {
	at := a.sse(byte(op>>8), false, byte(op), uint8(dst), memOp(m))
	a.ripFix(at, m.Abs)
}

// FMAOp is a scalar double-precision fused multiply-add in the 231 form
// (dst = ±(src × [m]) ± dst), its opcode byte after VEX 0F38.
type FMAOp byte

// Fused multiply-adds (rounded once, as RISC-V's fmadd.d family).
const (
	VFMADD231SD  FMAOp = 0xb9 // dst = src×m + dst
	VFMSUB231SD  FMAOp = 0xbb // dst = src×m − dst
	VFNMADD231SD FMAOp = 0xbd // dst = −(src×m) + dst
	VFNMSUB231SD FMAOp = 0xbf // dst = −(src×m) − dst
)

// FMA231 emits op dst, src, [m] (VEX.LIG.66.0F38.W1 op /r; needs the
// host's FMA extension).
func (a *Asm) FMA231(op FMAOp, dst, src XReg, m Mem) {
	// The VEX prefix carries REX.R, REX.X and REX.B inverted.
	rxb := byte(7)
	if dst&8 != 0 {
		rxb &^= 4
	}
	if !m.RIP {
		if m.hasIndex && m.Index&8 != 0 {
			rxb &^= 2
		}
		if m.Base&8 != 0 {
			rxb &^= 1
		}
	}
	a.b(0xc4, rxb<<5|0x02, 0x80|(^byte(src)&15)<<3|0x01, byte(op))
	at := a.modRM(uint8(dst), memOp(m))
	a.ripFix(at, m.Abs)
}

// MovapsRR: dst = src (the whole register: no dependency on dst's old
// value, unlike MOVSD between registers).
func (a *Asm) MovapsRR(dst, src XReg) {
	a.sse(0, false, 0x28, uint8(dst), regOp(Reg(src)))
}

// MovsdStore: [m] = the low double of src.
func (a *Asm) MovsdStore(m Mem, src XReg) {
	at := a.sse(0xf2, false, 0x11, uint8(src), memOp(m))
	a.ripFix(at, m.Abs)
}

// MovqXR: dst = src (64 bits into the low lane, the rest zeroed).
func (a *Asm) MovqXR(dst XReg, src Reg) { a.sse(0x66, true, 0x6e, uint8(dst), regOp(src)) }

// MovqRX: dst = the low 64 bits of src.
func (a *Asm) MovqRX(dst Reg, src XReg) { a.sse(0x66, true, 0x7e, uint8(src), regOp(dst)) }

// Cvtsi2sd: dst = the signed integer in src (W32 or W64), rounded per
// MXCSR.
func (a *Asm) Cvtsi2sd(dst XReg, w Width, src Reg) {
	a.sse(0xf2, w == W64, 0x2a, uint8(dst), regOp(src))
}

// Cvtsd2si: dst (W32 or W64) = src rounded per MXCSR; truncate rounds
// toward zero instead (cvttsd2si).
func (a *Asm) Cvtsd2si(w Width, dst Reg, src XReg, truncate bool) {
	op := byte(0x2d)
	if truncate {
		op = 0x2c
	}
	a.sse(0xf2, w == W64, op, uint8(dst), regOp(Reg(src)))
}

// Ldmxcsr loads MXCSR from the 32-bit word at m.
func (a *Asm) Ldmxcsr(m Mem) { a.encRM(W32, []byte{0x0f, 0xae}, 2, m, false) }

// Stmxcsr stores MXCSR to the 32-bit word at m.
func (a *Asm) Stmxcsr(m Mem) { a.encRM(W32, []byte{0x0f, 0xae}, 3, m, false) }
