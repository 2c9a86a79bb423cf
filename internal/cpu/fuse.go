package cpu

// Pair fusion. When decodeSlot decodes an instruction that can start one
// of a few common pairs, it looks at the instruction after it in the same
// page, and if the two form such a pair it stores both in the first slot
// as one fused op, which step runs in one dispatch. The pairs were chosen
// by counting adjacent pairs over the Linux sessions:
//
//   - lui rd + addi(w) rd, rd (a 32-bit constant), auipc rd + addi rd, rd
//     (a pc-relative address) and auipc rd + jalr rd2, rd (a far call or
//     jump): what compilers emit for constants, addresses and calls out of
//     range of one instruction.
//   - slli, srli, slliw or srliw + or, xor or add that reads the shifted
//     register: rotations (rotate is shift, shift, or without the Zbb
//     extension; 13 % of the adjacent pairs of a SHA-256 loop), bit-field
//     packing and index scaling.
//   - lw, ld, sw or sd + addi (copy and fill loops step their pointers
//     this way: a fifth of the boot's pairs), ld + ld and sd + sd
//     (register saves and restores, unrolled copies).
//
// A fused slot runs the two instructions in order, as two instructions:
// the instruction count goes up by two, the second sees the first's
// result, and a write of the second to the first's register wins. The
// pair is never split by an interrupt or the end of a slice, because
// step runs only the first instruction of a pair (decoded again, alone,
// by firstOfPair) when a single instruction is left before the limit.
// It does the same when a breakpoint is set on the second instruction,
// so that the breakpoint is seen. Watchpoints need nothing: a watched
// page is never on the TLB's fast path, the only one fused accesses take.
//
// Only the fused memory ops can fail, and only on the TLB's fast path is
// a pair run fused: when the first access would take the slow path (a
// TLB miss, MMIO, a misaligned address, a page of code, a fault), the
// first instruction runs alone; when the second's would, the first has
// run and the second runs next, by itself. The slow paths, the traps and
// the devices therefore see exactly what they see without fusion. The
// second instruction is in the same page as the first, so it cannot
// fault on fetch.
//
// A store into either instruction invalidates the fused slot: codeWrite
// invalidates the slots of every instruction that starts up to 6 bytes
// before the bytes written (see fuseReach), which covers a 4-byte first
// instruction followed by a 4-byte second one that the store hits in its
// upper half.
//
// The compiled engine decodes guest code itself and never sees fused ops.

// fuseReach is how many bytes before a written halfword the first
// instruction of a fused pair that contains it can start: the second
// instruction starts at most 2 bytes before the halfword, the first at
// most 4 bytes before the second.
const fuseReach = 6

// leadsPair reports whether an instruction with op o can be the first of
// a fused pair.
func leadsPair(o op) bool {
	switch o {
	case opLUI, opAUIPC, opSLLI, opSRLI, opSLLIW, opSRLIW, opLW, opLD, opSW, opSD:
		return true
	}
	return false
}

// fuseAddi maps a load or store to the fused op with a following addi.
var fuseAddi = [...]op{
	opLW: opFuseLWAddi,
	opLD: opFuseLDAddi,
	opSW: opFuseSWAddi,
	opSD: opFuseSDAddi,
}

// fuseShift maps the first instruction of a shift pair to the fused op
// whose second instruction is or; xor and add follow it in that order.
var fuseShift = [...]op{
	opSLLI:  opFuseSLLIOr,
	opSRLI:  opFuseSRLIOr,
	opSLLIW: opFuseSLLIWOr,
	opSRLIW: opFuseSRLIWOr,
}

// fuse returns the fused slot for a followed by b, if they form one of the
// pairs fusion knows. The slot's fields:
//
//	opFuseLI    rd, imm = the constant
//	opFuseLA    rd, imm = the offset from pc of the address
//	opFuseCall  rd = auipc's rd, rs2 = jalr's rd, imm = the target's
//	            offset from pc (auipc's immediate is recovered from it)
//	shift ops   rd, rs1, imm = the shift; fop = the second's rd,
//	            rs2 and rs3 = its sources
//	memory ops  rd, rs1, rs2 = the first's registers; fop and rs3 =
//	            the second's rd (rs2 for sd) and rs1; imm = the two
//	            immediates (immLo, immHi)
//
// and in all of them fn3 = the first instruction's length.
func fuse(a, b *inst) (inst, bool) {
	f := inst{rd: a.rd, length: a.length + b.length, fn3: a.length}
	// The offset or value of a pair whose second instruction adds a
	// 12-bit immediate to the first's; the slot holds it only if it fits
	// in 32 bits (lui 0x80000 + addi -1 does not).
	sum := int64(a.imm) + int64(b.imm)
	fits := sum == int64(int32(sum))
	// The ALU pairs need the second to read the first's result. A first
	// instruction that writes x0 writes the sink register, which no
	// instruction reads, so it never starts one.
	switch a.op {
	case opLUI:
		switch {
		case b.rd != a.rd || b.rs1 != a.rd:
			return inst{}, false
		case b.op == opADDIW:
			// addiw wraps the sum to 32 bits and sign-extends it.
			f.op, f.imm = opFuseLI, a.imm+b.imm
		case b.op == opADDI && fits:
			f.op, f.imm = opFuseLI, int32(sum)
		default:
			return inst{}, false
		}
	case opAUIPC:
		switch {
		case !fits || b.rs1 != a.rd:
			return inst{}, false
		case b.op == opADDI && b.rd == a.rd:
			f.op, f.imm = opFuseLA, int32(sum)
		case b.op == opJALR:
			f.op, f.imm, f.rs2 = opFuseCall, int32(sum), b.rd
		default:
			return inst{}, false
		}
	case opSLLI, opSRLI, opSLLIW, opSRLIW:
		if b.rs1 != a.rd && b.rs2 != a.rd {
			return inst{}, false
		}
		switch b.op {
		case opOR:
			f.op = fuseShift[a.op]
		case opXOR:
			f.op = fuseShift[a.op] + 1
		case opADD:
			f.op = fuseShift[a.op] + 2
		default:
			return inst{}, false
		}
		f.rs1, f.imm, f.fop, f.rs2, f.rs3 = a.rs1, a.imm, b.rd, b.rs1, b.rs2
	case opLW, opLD, opSW, opSD:
		switch {
		case b.op == opADDI:
			f.op, f.fop, f.rs3 = fuseAddi[a.op], b.rd, b.rs1
		case b.op == opLD && a.op == opLD:
			f.op, f.fop, f.rs3 = opFuseLDLD, b.rd, b.rs1
		case b.op == opSD && a.op == opSD:
			f.op, f.fop, f.rs3 = opFuseSDSD, b.rs2, b.rs1
		default:
			return inst{}, false
		}
		// Both immediates are 12 bits: the first's in the low half.
		f.rs1, f.rs2 = a.rs1, a.rs2
		f.imm = int32(uint32(uint16(a.imm)) | uint32(b.imm)<<16)
	default:
		return inst{}, false
	}
	return f, true
}

// immLo and immHi are the first and second instruction's immediates of
// a fused memory pair.
func immLo(imm int32) uint64 { return uint64(int64(int16(imm))) }
func immHi(imm int32) uint64 { return uint64(int64(imm >> 16)) }

// auipcOf returns the immediate of the auipc of a fused call whose target
// is off from pc. jalr added a 12-bit immediate in [-2048, 2047] to it,
// and auipc's immediate is a multiple of 4096, so it is the one multiple
// of 4096 in (off-2048, off+2048].
func auipcOf(off int32) uint64 {
	return uint64((int64(off) + 2048) &^ 4095)
}

// pairWith fuses the instruction just decoded into slot, at page offset po
// of the current fetch page, with the one after it, when they form a pair.
func (c *CPU) pairWith(slot *inst, po uint64) {
	if !leadsPair(slot.op) {
		return
	}
	pb := po + uint64(slot.length)
	if pb > 0xffe {
		return
	}
	b, ok := c.decodeInPage(pb)
	if !ok {
		return
	}
	if f, ok := fuse(slot, &b); ok {
		f.gen = slot.gen
		*slot = f
	}
}

// firstAlone reports whether the fused pair in, at pc, must run its
// first instruction alone: icount (counting the first) is at the limit,
// or the second has a breakpoint.
func (c *CPU) firstAlone(in *inst, pc, icount uint64) bool {
	return icount >= c.limit || c.debugOn && c.breakAt(pc+uint64(in.fn3))
}

// firstOfPair decodes the first instruction of the fused pair at pc
// alone, for step to run it by itself, and returns it with the pc after
// it. pc is in the current fetch page, as the pair's slot is.
func (c *CPU) firstOfPair(pc uint64) (*inst, uint64) {
	c.single, _ = c.decodeInPage(pc & 0xfff)
	return &c.single, pc + uint64(c.single.length)
}
