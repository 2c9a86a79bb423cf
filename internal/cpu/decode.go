package cpu

// op identifies a decoded instruction. Compressed instructions decode to
// the same ops as their 32-bit expansions (with length 2).
type op uint8

const (
	opNone op = iota // slot not decoded yet
	opIllegal

	opLUI
	opAUIPC
	opJAL
	opJALR
	opBEQ
	opBNE
	opBLT
	opBGE
	opBLTU
	opBGEU
	opLB
	opLH
	opLW
	opLD
	opLBU
	opLHU
	opLWU
	opSB
	opSH
	opSW
	opSD
	opADDI
	opSLTI
	opSLTIU
	opXORI
	opORI
	opANDI
	opSLLI
	opSRLI
	opSRAI
	opADD
	opSUB
	opSLL
	opSLT
	opSLTU
	opXOR
	opSRL
	opSRA
	opOR
	opAND
	opADDIW
	opSLLIW
	opSRLIW
	opSRAIW
	opADDW
	opSUBW
	opSLLW
	opSRLW
	opSRAW
	opFENCE
	opFENCEI
	opECALL
	opEBREAK
	opMRET
	opSRET
	opWFI
	opSFENCEVMA
	opCSRRW
	opCSRRS
	opCSRRC
	opCSRRWI
	opCSRRSI
	opCSRRCI

	opMUL
	opMULH
	opMULHSU
	opMULHU
	opDIV
	opDIVU
	opREM
	opREMU
	opMULW
	opDIVW
	opDIVUW
	opREMW
	opREMUW

	opLRW
	opSCW
	opAMOSWAPW
	opAMOADDW
	opAMOXORW
	opAMOANDW
	opAMOORW
	opAMOMINW
	opAMOMAXW
	opAMOMINUW
	opAMOMAXUW
	opLRD
	opSCD
	opAMOSWAPD
	opAMOADDD
	opAMOXORD
	opAMOANDD
	opAMOORD
	opAMOMIND
	opAMOMAXD
	opAMOMINUD
	opAMOMAXUD

	opFLW
	opFLD
	opFSW
	opFSD
	opFP // every other F/D instruction: sub-decoded in execFP

	// Fused pairs (see fuse.go): two instructions in one slot, which the
	// interpreter runs in one dispatch. decode32 and decode16 never
	// produce them.
	opFuseLI   // lui rd + addi(w) rd, rd: a constant
	opFuseLA   // auipc rd + addi rd, rd: a pc-relative address
	opFuseCall // auipc rd + jalr rd2, rd: a far call or jump
	opFuseSLLIOr
	opFuseSLLIXor
	opFuseSLLIAdd
	opFuseSRLIOr
	opFuseSRLIXor
	opFuseSRLIAdd
	opFuseSLLIWOr
	opFuseSLLIWXor
	opFuseSLLIWAdd
	opFuseSRLIWOr
	opFuseSRLIWXor
	opFuseSRLIWAdd
	opFuseLWAddi // lw + addi
	opFuseLDAddi // ld + addi
	opFuseSWAddi // sw + addi
	opFuseSDAddi // sd + addi
	opFuseLDLD   // ld + ld
	opFuseSDSD   // sd + sd

	opCount
)

// inst is one decoded instruction. Register numbers are already mapped:
// a write to x0 goes to the sink register 32, so the hot loop never tests
// for rd == 0.
type inst struct {
	op     op
	rd     uint8
	rs1    uint8
	rs2    uint8
	rs3    uint8 // FMA third operand; rm for FP ops lives in fn3
	fn3    uint8
	length uint8  // 2 or 4
	fop    uint8  // FP sub-op (funct7 / opcode class), see fp.go
	imm    int32  // every immediate of RV64GC fits in 32 bits
	gen    uint32 // decode-cache generation (see codePage); 0 = not decoded
}

const regSink = 32

func dst(r uint32) uint8 {
	if r == 0 {
		return regSink
	}
	return uint8(r)
}

func sext(v uint64, bits uint) int64 { return int64(v<<(64-bits)) >> (64 - bits) }

// decode32 decodes a 32-bit instruction.
func decode32(w uint32) inst {
	in := inst{length: 4}
	rd := (w >> 7) & 31
	rs1 := (w >> 15) & 31
	rs2 := (w >> 20) & 31
	fn3 := (w >> 12) & 7
	fn7 := w >> 25
	in.rd = dst(rd)
	in.rs1 = uint8(rs1)
	in.rs2 = uint8(rs2)
	in.fn3 = uint8(fn3)
	immI := sext(uint64(w>>20), 12)
	immS := sext(uint64((w>>25)<<5|(w>>7)&31), 12)
	immB := sext(uint64((w>>31)<<12|((w>>7)&1)<<11|((w>>25)&63)<<5|((w>>8)&15)<<1), 13)
	immU := int64(int32(w & 0xfffff000))
	immJ := sext(uint64((w>>31)<<20|((w>>12)&0xff)<<12|((w>>20)&1)<<11|((w>>21)&0x3ff)<<1), 21)
	ill := inst{op: opIllegal, length: 4}

	switch w & 0x7f {
	case 0x37:
		in.op, in.imm = opLUI, int32(immU)
	case 0x17:
		in.op, in.imm = opAUIPC, int32(immU)
	case 0x6f:
		in.op, in.imm = opJAL, int32(immJ)
	case 0x67:
		if fn3 != 0 {
			return ill
		}
		in.op, in.imm = opJALR, int32(immI)
	case 0x63:
		in.imm = int32(immB)
		switch fn3 {
		case 0:
			in.op = opBEQ
		case 1:
			in.op = opBNE
		case 4:
			in.op = opBLT
		case 5:
			in.op = opBGE
		case 6:
			in.op = opBLTU
		case 7:
			in.op = opBGEU
		default:
			return ill
		}
	case 0x03:
		in.imm = int32(immI)
		switch fn3 {
		case 0:
			in.op = opLB
		case 1:
			in.op = opLH
		case 2:
			in.op = opLW
		case 3:
			in.op = opLD
		case 4:
			in.op = opLBU
		case 5:
			in.op = opLHU
		case 6:
			in.op = opLWU
		default:
			return ill
		}
	case 0x23:
		in.imm = int32(immS)
		switch fn3 {
		case 0:
			in.op = opSB
		case 1:
			in.op = opSH
		case 2:
			in.op = opSW
		case 3:
			in.op = opSD
		default:
			return ill
		}
	case 0x13:
		in.imm = int32(immI)
		switch fn3 {
		case 0:
			in.op = opADDI
		case 2:
			in.op = opSLTI
		case 3:
			in.op = opSLTIU
		case 4:
			in.op = opXORI
		case 6:
			in.op = opORI
		case 7:
			in.op = opANDI
		case 1:
			if w>>26 != 0 {
				return ill
			}
			in.op, in.imm = opSLLI, int32((w>>20)&63)
		case 5:
			switch w >> 26 {
			case 0:
				in.op = opSRLI
			case 0x10:
				in.op = opSRAI
			default:
				return ill
			}
			in.imm = int32((w >> 20) & 63)
		}
	case 0x1b:
		in.imm = int32(immI)
		switch fn3 {
		case 0:
			in.op = opADDIW
		case 1:
			if fn7 != 0 {
				return ill
			}
			in.op, in.imm = opSLLIW, int32(rs2)
		case 5:
			switch fn7 {
			case 0:
				in.op = opSRLIW
			case 0x20:
				in.op = opSRAIW
			default:
				return ill
			}
			in.imm = int32(rs2)
		default:
			return ill
		}
	case 0x33:
		switch fn7 {
		case 0:
			in.op = [8]op{opADD, opSLL, opSLT, opSLTU, opXOR, opSRL, opOR, opAND}[fn3]
		case 0x20:
			switch fn3 {
			case 0:
				in.op = opSUB
			case 5:
				in.op = opSRA
			default:
				return ill
			}
		case 1:
			in.op = [8]op{opMUL, opMULH, opMULHSU, opMULHU, opDIV, opDIVU, opREM, opREMU}[fn3]
		default:
			return ill
		}
	case 0x3b:
		switch {
		case fn7 == 0 && fn3 == 0:
			in.op = opADDW
		case fn7 == 0x20 && fn3 == 0:
			in.op = opSUBW
		case fn7 == 0 && fn3 == 1:
			in.op = opSLLW
		case fn7 == 0 && fn3 == 5:
			in.op = opSRLW
		case fn7 == 0x20 && fn3 == 5:
			in.op = opSRAW
		case fn7 == 1:
			switch fn3 {
			case 0:
				in.op = opMULW
			case 4:
				in.op = opDIVW
			case 5:
				in.op = opDIVUW
			case 6:
				in.op = opREMW
			case 7:
				in.op = opREMUW
			default:
				return ill
			}
		default:
			return ill
		}
	case 0x0f:
		switch fn3 {
		case 0:
			in.op = opFENCE
		case 1:
			in.op = opFENCEI
		default:
			return ill
		}
	case 0x73:
		in.imm = int32(w >> 20) // CSR number
		switch fn3 {
		case 0:
			switch {
			case w == 0x00000073:
				in.op = opECALL
			case w == 0x00100073:
				in.op = opEBREAK
			case w == 0x30200073:
				in.op = opMRET
			case w == 0x10200073:
				in.op = opSRET
			case w == 0x10500073:
				in.op = opWFI
			case fn7 == 0x09 && rd == 0:
				in.op = opSFENCEVMA
			default:
				return ill
			}
		case 1:
			in.op = opCSRRW
		case 2:
			in.op = opCSRRS
		case 3:
			in.op = opCSRRC
		case 5:
			in.op = opCSRRWI
		case 6:
			in.op = opCSRRSI
		case 7:
			in.op = opCSRRCI
		default:
			return ill
		}
	case 0x2f:
		f5 := w >> 27
		var base op
		switch fn3 {
		case 2:
			base = opLRW
		case 3:
			base = opLRD
		default:
			return ill
		}
		switch f5 {
		case 0x02:
			if rs2 != 0 {
				return ill
			}
			in.op = base
		case 0x03:
			in.op = base + 1
		case 0x01:
			in.op = base + 2
		case 0x00:
			in.op = base + 3
		case 0x04:
			in.op = base + 4
		case 0x0c:
			in.op = base + 5
		case 0x08:
			in.op = base + 6
		case 0x10:
			in.op = base + 7
		case 0x14:
			in.op = base + 8
		case 0x18:
			in.op = base + 9
		case 0x1c:
			in.op = base + 10
		default:
			return ill
		}
	case 0x07:
		in.imm = int32(immI)
		switch fn3 {
		case 2:
			in.op = opFLW
		case 3:
			in.op = opFLD
		default:
			return ill
		}
		in.rd = uint8(rd) // FP destination: no sink mapping
	case 0x27:
		in.imm = int32(immS)
		switch fn3 {
		case 2:
			in.op = opFSW
		case 3:
			in.op = opFSD
		default:
			return ill
		}
	case 0x43, 0x47, 0x4b, 0x4f, 0x53:
		return decodeFP(w)
	default:
		return ill
	}
	return in
}

// decode16 expands a compressed instruction (unprivileged spec chapter
// "C" Standard Extension, RV64 column) into the equivalent decoded form.
func decode16(h uint16) inst {
	w := uint32(h)
	ill := inst{op: opIllegal, length: 2}
	if h == 0 {
		return ill // the all-zero halfword is defined illegal
	}
	bit := func(i uint) uint32 { return (w >> i) & 1 }
	bits := func(hi, lo uint) uint32 { return (w >> lo) & (1<<(hi-lo+1) - 1) }
	rdFull := bits(11, 7)
	rs2Full := bits(6, 2)
	rdP := bits(4, 2) + 8  // rd' / rs2'
	rs1P := bits(9, 7) + 8 // rs1' / rd'
	in := inst{length: 2}
	mk := func(o op, rd, rs1, rs2 uint32, imm int64) inst {
		return inst{op: o, rd: dst(rd), rs1: uint8(rs1), rs2: uint8(rs2), imm: int32(imm), length: 2}
	}
	mkF := func(o op, rd, rs1, rs2 uint32, imm int64, fn3 uint8) inst {
		return inst{op: o, rd: uint8(rd), rs1: uint8(rs1), rs2: uint8(rs2), imm: int32(imm), length: 2, fn3: fn3}
	}
	_ = in
	switch w & 3 {
	case 0:
		switch bits(15, 13) {
		case 0: // c.addi4spn
			imm := bits(10, 7)<<6 | bits(12, 11)<<4 | bit(5)<<3 | bit(6)<<2
			if imm == 0 {
				return ill
			}
			return mk(opADDI, rdP, 2, 0, int64(imm))
		case 1: // c.fld
			imm := bits(6, 5)<<6 | bits(12, 10)<<3
			return mkF(opFLD, rdP, rs1P, 0, int64(imm), 3)
		case 2: // c.lw
			imm := bit(5)<<6 | bits(12, 10)<<3 | bit(6)<<2
			return mk(opLW, rdP, rs1P, 0, int64(imm))
		case 3: // c.ld
			imm := bits(6, 5)<<6 | bits(12, 10)<<3
			return mk(opLD, rdP, rs1P, 0, int64(imm))
		case 5: // c.fsd
			imm := bits(6, 5)<<6 | bits(12, 10)<<3
			return mkF(opFSD, 0, rs1P, rdP, int64(imm), 3)
		case 6: // c.sw
			imm := bit(5)<<6 | bits(12, 10)<<3 | bit(6)<<2
			return mk(opSW, 0, rs1P, rdP, int64(imm))
		case 7: // c.sd
			imm := bits(6, 5)<<6 | bits(12, 10)<<3
			return mk(opSD, 0, rs1P, rdP, int64(imm))
		}
		return ill
	case 1:
		imm6 := sext(uint64(bit(12)<<5|bits(6, 2)), 6)
		switch bits(15, 13) {
		case 0: // c.addi / c.nop
			return mk(opADDI, rdFull, rdFull, 0, imm6)
		case 1: // c.addiw
			if rdFull == 0 {
				return ill
			}
			return mk(opADDIW, rdFull, rdFull, 0, imm6)
		case 2: // c.li
			return mk(opADDI, rdFull, 0, 0, imm6)
		case 3:
			if rdFull == 2 { // c.addi16sp
				imm := sext(uint64(bit(12)<<9|bits(4, 3)<<7|bit(5)<<6|bit(2)<<5|bit(6)<<4), 10)
				if imm == 0 {
					return ill
				}
				return mk(opADDI, 2, 2, 0, imm)
			}
			if imm6 == 0 { // c.lui with nzimm == 0 is reserved
				return ill
			}
			return mk(opLUI, rdFull, 0, 0, imm6<<12)
		case 4:
			switch bits(11, 10) {
			case 0: // c.srli
				return mk(opSRLI, rs1P, rs1P, 0, int64(bit(12)<<5|bits(6, 2)))
			case 1: // c.srai
				return mk(opSRAI, rs1P, rs1P, 0, int64(bit(12)<<5|bits(6, 2)))
			case 2: // c.andi
				return mk(opANDI, rs1P, rs1P, 0, imm6)
			case 3:
				f := bit(12)<<2 | bits(6, 5)
				ops := [8]op{opSUB, opXOR, opOR, opAND, opSUBW, opADDW, opIllegal, opIllegal}
				o := ops[f]
				if o == opIllegal {
					return ill
				}
				return mk(o, rs1P, rs1P, rdP, 0)
			}
		case 5: // c.j
			imm := sext(uint64(bit(12)<<11|bit(11)<<4|bits(10, 9)<<8|bit(8)<<10|bit(7)<<6|bit(6)<<7|bits(5, 3)<<1|bit(2)<<5), 12)
			return mk(opJAL, 0, 0, 0, imm)
		case 6, 7: // c.beqz, c.bnez
			imm := sext(uint64(bit(12)<<8|bits(11, 10)<<3|bits(6, 5)<<6|bits(4, 3)<<1|bit(2)<<5), 9)
			o := opBEQ
			if bits(15, 13) == 7 {
				o = opBNE
			}
			return mk(o, 0, rs1P, 0, imm)
		}
		return ill
	case 2:
		switch bits(15, 13) {
		case 0: // c.slli
			return mk(opSLLI, rdFull, rdFull, 0, int64(bit(12)<<5|bits(6, 2)))
		case 1: // c.fldsp
			imm := bits(4, 2)<<6 | bit(12)<<5 | bits(6, 5)<<3
			return mkF(opFLD, rdFull, 2, 0, int64(imm), 3)
		case 2: // c.lwsp
			if rdFull == 0 {
				return ill
			}
			imm := bits(3, 2)<<6 | bit(12)<<5 | bits(6, 4)<<2
			return mk(opLW, rdFull, 2, 0, int64(imm))
		case 3: // c.ldsp
			if rdFull == 0 {
				return ill
			}
			imm := bits(4, 2)<<6 | bit(12)<<5 | bits(6, 5)<<3
			return mk(opLD, rdFull, 2, 0, int64(imm))
		case 4:
			if bit(12) == 0 {
				if rs2Full == 0 { // c.jr
					if rdFull == 0 {
						return ill
					}
					return mk(opJALR, 0, rdFull, 0, 0)
				}
				return mk(opADD, rdFull, 0, rs2Full, 0) // c.mv
			}
			if rs2Full == 0 {
				if rdFull == 0 { // c.ebreak
					return inst{op: opEBREAK, length: 2}
				}
				return mk(opJALR, 1, rdFull, 0, 0) // c.jalr
			}
			return mk(opADD, rdFull, rdFull, rs2Full, 0) // c.add
		case 5: // c.fsdsp
			imm := bits(9, 7)<<6 | bits(12, 10)<<3
			return mkF(opFSD, 0, 2, rs2Full, int64(imm), 3)
		case 6: // c.swsp
			imm := bits(8, 7)<<6 | bits(12, 9)<<2
			return mk(opSW, 0, 2, rs2Full, int64(imm))
		case 7: // c.sdsp
			imm := bits(9, 7)<<6 | bits(12, 10)<<3
			return mk(opSD, 0, 2, rs2Full, int64(imm))
		}
	}
	return ill
}
