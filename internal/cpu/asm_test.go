package cpu

// A tiny RV64 encoder for tests: enough to write programs in Go without a
// cross toolchain.

type reg = uint32

const (
	zero reg = iota
	ra
	sp
	gp
	tp
	t0
	t1
	t2
	s0
	s1
	a0
	a1
	a2
	a3
	a4
	a5
	a6
	a7
	s2
	s3
	s4
	s5
	s6
	s7
	s8
	s9
	s10
	s11
	t3
	t4
	t5
	t6
)

func encR(opc, f3, f7 uint32, rd, rs1, rs2 reg) uint32 {
	return f7<<25 | rs2<<20 | rs1<<15 | f3<<12 | rd<<7 | opc
}

func encI(opc, f3 uint32, rd, rs1 reg, imm int64) uint32 {
	return uint32(imm&0xfff)<<20 | rs1<<15 | f3<<12 | rd<<7 | opc
}

func encS(opc, f3 uint32, rs1, rs2 reg, imm int64) uint32 {
	u := uint32(imm & 0xfff)
	return (u>>5)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (u&31)<<7 | opc
}

func encB(f3 uint32, rs1, rs2 reg, imm int64) uint32 {
	u := uint32(imm & 0x1fff)
	return (u>>12&1)<<31 | (u>>5&63)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (u>>1&15)<<8 | (u>>11&1)<<7 | 0x63
}

func encU(opc uint32, rd reg, imm int64) uint32 { return uint32(imm)&0xfffff000 | rd<<7 | opc }

func encJ(rd reg, imm int64) uint32 {
	u := uint32(imm & 0x1fffff)
	return (u>>20&1)<<31 | (u>>1&0x3ff)<<21 | (u>>11&1)<<20 | (u>>12&0xff)<<12 | rd<<7 | 0x6f
}

func addi(rd, rs1 reg, imm int64) uint32 { return encI(0x13, 0, rd, rs1, imm) }
func slli(rd, rs1 reg, sh int64) uint32  { return encI(0x13, 1, rd, rs1, sh) }
func srli(rd, rs1 reg, sh int64) uint32  { return encI(0x13, 5, rd, rs1, sh) }
func andi(rd, rs1 reg, imm int64) uint32 { return encI(0x13, 7, rd, rs1, imm) }
func add(rd, rs1, rs2 reg) uint32        { return encR(0x33, 0, 0, rd, rs1, rs2) }
func sub(rd, rs1, rs2 reg) uint32        { return encR(0x33, 0, 0x20, rd, rs1, rs2) }
func xor(rd, rs1, rs2 reg) uint32        { return encR(0x33, 4, 0, rd, rs1, rs2) }
func mul(rd, rs1, rs2 reg) uint32        { return encR(0x33, 0, 1, rd, rs1, rs2) }
func ld(rd, rs1 reg, imm int64) uint32   { return encI(0x03, 3, rd, rs1, imm) }
func lw(rd, rs1 reg, imm int64) uint32   { return encI(0x03, 2, rd, rs1, imm) }
func sd(rs2, rs1 reg, imm int64) uint32  { return encS(0x23, 3, rs1, rs2, imm) }
func sw(rs2, rs1 reg, imm int64) uint32  { return encS(0x23, 2, rs1, rs2, imm) }
func beq(rs1, rs2 reg, off int64) uint32 { return encB(0, rs1, rs2, off) }
func bne(rs1, rs2 reg, off int64) uint32 { return encB(1, rs1, rs2, off) }
func lui(rd reg, imm int64) uint32       { return encU(0x37, rd, imm) }
func auipc(rd reg, imm int64) uint32     { return encU(0x17, rd, imm) }
func jal(rd reg, off int64) uint32       { return encJ(rd, off) }
func jalr(rd, rs1 reg, imm int64) uint32 { return encI(0x67, 0, rd, rs1, imm) }

func or(rd, rs1, rs2 reg) uint32          { return encR(0x33, 6, 0, rd, rs1, rs2) }
func addiw(rd, rs1 reg, imm int64) uint32 { return encI(0x1b, 0, rd, rs1, imm) }
func slliw(rd, rs1 reg, sh int64) uint32  { return encI(0x1b, 1, rd, rs1, sh) }
func srliw(rd, rs1 reg, sh int64) uint32  { return encI(0x1b, 5, rd, rs1, sh) }
func csrrw(rd reg, csr uint32, rs1 reg) uint32 {
	return csr<<20 | rs1<<15 | 1<<12 | rd<<7 | 0x73
}

const (
	ecall = 0x00000073
	mret  = 0x30200073
	sret  = 0x10200073
	wfi   = 0x10500073
)

// li loads a 64-bit constant (small sequence, no pseudo-instruction
// optimisation).
func li(rd reg, v uint64) []uint32 {
	if int64(v) >= -2048 && int64(v) < 2048 {
		return []uint32{addi(rd, zero, int64(v))}
	}
	if int64(v) == int64(int32(v)) {
		hi := (int64(int32(v)) + 0x800) &^ 0xfff
		lo := int64(int32(v)) - hi
		return []uint32{lui(rd, hi), addi(rd, rd, lo)}
	}
	// Build from the top: upper 32 bits, then shift in 11-bit chunks.
	out := li(rd, uint64(int64(v)>>32))
	rest := v & 0xffffffff
	for _, sh := range []uint{21, 10, 0} {
		var chunk uint64
		var width int64
		switch sh {
		case 21:
			chunk, width = rest>>21, 11
		case 10:
			chunk, width = (rest>>10)&0x7ff, 11
		default:
			chunk, width = rest&0x3ff, 10
		}
		out = append(out, slli(rd, rd, width), encI(0x13, 6, rd, rd, int64(chunk))) // ori
	}
	return out
}

// prog concatenates instruction words and slices.
func prog(parts ...any) []uint32 {
	var out []uint32
	for _, p := range parts {
		switch v := p.(type) {
		case uint32:
			out = append(out, v)
		case int:
			out = append(out, uint32(v))
		case []uint32:
			out = append(out, v...)
		default:
			panic("prog: bad part")
		}
	}
	return out
}
