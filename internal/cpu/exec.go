package cpu

import (
	"encoding/binary"
	"math/bits"
)

// step runs the inner interpreter loop until c.icount reaches c.limit.
// It executes the common instructions itself and leaves the rest to
// execSys.
// Anything that may change which interrupt is deliverable (CSR writes,
// traps, xRET, device lines) lowers c.limit so Run re-checks.
func (c *CPU) step() {
	// pc and icount live in locals: they are written back to the hart
	// before every call (a slow path may trap, read the time or the
	// instruction count) and read again after it.
	x := &c.x
	pc, icount := c.pc, c.icount
	for icount < c.limit {
		if c.debugOn && c.mayBreak(pc) {
			c.pc, c.icount = pc, icount
			if c.breakHere() {
				return
			}
		}
		icount++
		if pc>>8 != c.curChunkVA {
			if pc>>12 != c.curVPN {
				c.pc, c.icount = pc, icount
				ok := c.fetchPage()
				pc, icount = c.pc, c.icount
				if !ok {
					continue
				}
			}
			c.curChunk, c.curChunkVA = c.curPage.chunks[(pc&0xfff)>>8], pc>>8
		}
		in := &c.curChunk[(pc>>1)%chunkInsts]
		if in.gen != c.curGen {
			c.pc, c.icount = pc, icount
			var ok bool
			in, ok = c.decodeSlot(in)
			pc, icount = c.pc, c.icount
			if !ok {
				continue
			}
		}
		next := pc + uint64(in.length)
	dispatch:
		switch in.op {
		case opADDI:
			x[in.rd] = x[in.rs1] + uint64(in.imm)
		case opADD:
			x[in.rd] = x[in.rs1] + x[in.rs2]
		case opLD:
			va := x[in.rs1] + uint64(in.imm)
			var v uint64
			if off, ok := c.readOff(va, 7); ok {
				v = binary.LittleEndian.Uint64(c.ram[off:])
			} else if v, ok, pc, icount = c.loadAt(va, 8, pc, icount); !ok {
				continue
			}
			x[in.rd] = v
		case opSD:
			va, v := x[in.rs1]+uint64(in.imm), x[in.rs2]
			if off, ok := c.writeOff(va, 7); ok {
				binary.LittleEndian.PutUint64(c.ram[off:], v)
			} else if ok, pc, icount = c.storeAt(va, 8, v, pc, icount); !ok {
				continue
			}
		case opBEQ:
			if x[in.rs1] == x[in.rs2] {
				next = pc + uint64(in.imm)
			}
			c.jumped(icount)
		case opBNE:
			if x[in.rs1] != x[in.rs2] {
				next = pc + uint64(in.imm)
			}
			c.jumped(icount)
		case opJAL:
			x[in.rd] = next
			next = pc + uint64(in.imm)
			c.jumped(icount)
		case opJALR:
			t := (x[in.rs1] + uint64(in.imm)) &^ 1
			x[in.rd] = next
			next = t
			c.jumped(icount)
		case opLW:
			va := x[in.rs1] + uint64(in.imm)
			var v uint64
			if off, ok := c.readOff(va, 3); ok {
				v = uint64(binary.LittleEndian.Uint32(c.ram[off:]))
			} else if v, ok, pc, icount = c.loadAt(va, 4, pc, icount); !ok {
				continue
			}
			x[in.rd] = uint64(int64(int32(v)))
		case opSW:
			va, v := x[in.rs1]+uint64(in.imm), x[in.rs2]
			if off, ok := c.writeOff(va, 3); ok {
				binary.LittleEndian.PutUint32(c.ram[off:], uint32(v))
			} else if ok, pc, icount = c.storeAt(va, 4, v, pc, icount); !ok {
				continue
			}
		case opLBU:
			va := x[in.rs1] + uint64(in.imm)
			var v uint64
			if off, ok := c.readOff(va, 0); ok {
				v = uint64(c.ram[off])
			} else if v, ok, pc, icount = c.loadAt(va, 1, pc, icount); !ok {
				continue
			}
			x[in.rd] = v
		case opLB:
			va := x[in.rs1] + uint64(in.imm)
			var v uint64
			if off, ok := c.readOff(va, 0); ok {
				v = uint64(c.ram[off])
			} else if v, ok, pc, icount = c.loadAt(va, 1, pc, icount); !ok {
				continue
			}
			x[in.rd] = uint64(int64(int8(v)))
		case opLH:
			va := x[in.rs1] + uint64(in.imm)
			var v uint64
			if off, ok := c.readOff(va, 1); ok {
				v = uint64(binary.LittleEndian.Uint16(c.ram[off:]))
			} else if v, ok, pc, icount = c.loadAt(va, 2, pc, icount); !ok {
				continue
			}
			x[in.rd] = uint64(int64(int16(v)))
		case opLHU:
			va := x[in.rs1] + uint64(in.imm)
			var v uint64
			if off, ok := c.readOff(va, 1); ok {
				v = uint64(binary.LittleEndian.Uint16(c.ram[off:]))
			} else if v, ok, pc, icount = c.loadAt(va, 2, pc, icount); !ok {
				continue
			}
			x[in.rd] = v
		case opLWU:
			va := x[in.rs1] + uint64(in.imm)
			var v uint64
			if off, ok := c.readOff(va, 3); ok {
				v = uint64(binary.LittleEndian.Uint32(c.ram[off:]))
			} else if v, ok, pc, icount = c.loadAt(va, 4, pc, icount); !ok {
				continue
			}
			x[in.rd] = v
		case opSB:
			va, v := x[in.rs1]+uint64(in.imm), x[in.rs2]
			if off, ok := c.writeOff(va, 0); ok {
				c.ram[off] = byte(v)
			} else if ok, pc, icount = c.storeAt(va, 1, v, pc, icount); !ok {
				continue
			}
		case opSH:
			va, v := x[in.rs1]+uint64(in.imm), x[in.rs2]
			if off, ok := c.writeOff(va, 1); ok {
				binary.LittleEndian.PutUint16(c.ram[off:], uint16(v))
			} else if ok, pc, icount = c.storeAt(va, 2, v, pc, icount); !ok {
				continue
			}
		case opLUI:
			x[in.rd] = uint64(in.imm)
		case opAUIPC:
			x[in.rd] = pc + uint64(in.imm)
		case opBLT:
			if int64(x[in.rs1]) < int64(x[in.rs2]) {
				next = pc + uint64(in.imm)
			}
			c.jumped(icount)
		case opBGE:
			if int64(x[in.rs1]) >= int64(x[in.rs2]) {
				next = pc + uint64(in.imm)
			}
			c.jumped(icount)
		case opBLTU:
			if x[in.rs1] < x[in.rs2] {
				next = pc + uint64(in.imm)
			}
			c.jumped(icount)
		case opBGEU:
			if x[in.rs1] >= x[in.rs2] {
				next = pc + uint64(in.imm)
			}
			c.jumped(icount)
		case opSLTI:
			x[in.rd] = b2u(int64(x[in.rs1]) < int64(in.imm))
		case opSLTIU:
			x[in.rd] = b2u(x[in.rs1] < uint64(in.imm))
		case opXORI:
			x[in.rd] = x[in.rs1] ^ uint64(in.imm)
		case opORI:
			x[in.rd] = x[in.rs1] | uint64(in.imm)
		case opANDI:
			x[in.rd] = x[in.rs1] & uint64(in.imm)
		case opSLLI:
			x[in.rd] = x[in.rs1] << uint(in.imm)
		case opSRLI:
			x[in.rd] = x[in.rs1] >> uint(in.imm)
		case opSRAI:
			x[in.rd] = uint64(int64(x[in.rs1]) >> uint(in.imm))
		case opSUB:
			x[in.rd] = x[in.rs1] - x[in.rs2]
		case opSLL:
			x[in.rd] = x[in.rs1] << (x[in.rs2] & 63)
		case opSLT:
			x[in.rd] = b2u(int64(x[in.rs1]) < int64(x[in.rs2]))
		case opSLTU:
			x[in.rd] = b2u(x[in.rs1] < x[in.rs2])
		case opXOR:
			x[in.rd] = x[in.rs1] ^ x[in.rs2]
		case opSRL:
			x[in.rd] = x[in.rs1] >> (x[in.rs2] & 63)
		case opSRA:
			x[in.rd] = uint64(int64(x[in.rs1]) >> (x[in.rs2] & 63))
		case opOR:
			x[in.rd] = x[in.rs1] | x[in.rs2]
		case opAND:
			x[in.rd] = x[in.rs1] & x[in.rs2]
		case opADDIW:
			x[in.rd] = uint64(int64(int32(x[in.rs1] + uint64(in.imm))))
		case opSLLIW:
			x[in.rd] = uint64(int64(int32(uint32(x[in.rs1]) << uint(in.imm))))
		case opSRLIW:
			x[in.rd] = uint64(int64(int32(uint32(x[in.rs1]) >> uint(in.imm))))
		case opSRAIW:
			x[in.rd] = uint64(int64(int32(x[in.rs1]) >> uint(in.imm)))
		case opADDW:
			x[in.rd] = uint64(int64(int32(x[in.rs1] + x[in.rs2])))
		case opSUBW:
			x[in.rd] = uint64(int64(int32(x[in.rs1] - x[in.rs2])))
		case opSLLW:
			x[in.rd] = uint64(int64(int32(uint32(x[in.rs1]) << (x[in.rs2] & 31))))
		case opSRLW:
			x[in.rd] = uint64(int64(int32(uint32(x[in.rs1]) >> (x[in.rs2] & 31))))
		case opSRAW:
			x[in.rd] = uint64(int64(int32(x[in.rs1]) >> (x[in.rs2] & 31)))

		case opMUL:
			x[in.rd] = x[in.rs1] * x[in.rs2]
		case opMULH:
			x[in.rd] = mulh(int64(x[in.rs1]), int64(x[in.rs2]))
		case opMULHSU:
			x[in.rd] = mulhsu(int64(x[in.rs1]), x[in.rs2])
		case opMULHU:
			hi, _ := bits.Mul64(x[in.rs1], x[in.rs2])
			x[in.rd] = hi
		case opDIV:
			a, b := int64(x[in.rs1]), int64(x[in.rs2])
			switch {
			case b == 0:
				x[in.rd] = ^uint64(0)
			case a == -1<<63 && b == -1:
				x[in.rd] = uint64(a)
			default:
				x[in.rd] = uint64(a / b)
			}
		case opDIVU:
			if b := x[in.rs2]; b == 0 {
				x[in.rd] = ^uint64(0)
			} else {
				x[in.rd] = x[in.rs1] / b
			}
		case opREM:
			a, b := int64(x[in.rs1]), int64(x[in.rs2])
			switch {
			case b == 0:
				x[in.rd] = uint64(a)
			case a == -1<<63 && b == -1:
				x[in.rd] = 0
			default:
				x[in.rd] = uint64(a % b)
			}
		case opREMU:
			if b := x[in.rs2]; b == 0 {
				x[in.rd] = x[in.rs1]
			} else {
				x[in.rd] = x[in.rs1] % b
			}
		case opMULW:
			x[in.rd] = uint64(int64(int32(x[in.rs1] * x[in.rs2])))
		case opDIVW:
			a, b := int32(x[in.rs1]), int32(x[in.rs2])
			switch {
			case b == 0:
				x[in.rd] = ^uint64(0)
			case a == -1<<31 && b == -1:
				x[in.rd] = uint64(int64(a))
			default:
				x[in.rd] = uint64(int64(a / b))
			}
		case opDIVUW:
			a, b := uint32(x[in.rs1]), uint32(x[in.rs2])
			if b == 0 {
				x[in.rd] = ^uint64(0)
			} else {
				x[in.rd] = uint64(int64(int32(a / b)))
			}
		case opREMW:
			a, b := int32(x[in.rs1]), int32(x[in.rs2])
			switch {
			case b == 0:
				x[in.rd] = uint64(int64(a))
			case a == -1<<31 && b == -1:
				x[in.rd] = 0
			default:
				x[in.rd] = uint64(int64(a % b))
			}
		case opREMUW:
			a, b := uint32(x[in.rs1]), uint32(x[in.rs2])
			if b == 0 {
				x[in.rd] = uint64(int64(int32(a)))
			} else {
				x[in.rd] = uint64(int64(int32(a % b)))
			}

		// Fused pairs (fuse.go): the second instruction counts when it
		// runs; with one instruction left before the limit, or a
		// breakpoint on the second, the first runs alone.
		case opFuseLI:
			if c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			x[in.rd] = uint64(in.imm)
		case opFuseLA:
			if c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			x[in.rd] = pc + uint64(in.imm)
		case opFuseCall:
			if c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			x[in.rd] = pc + auipcOf(in.imm)
			x[in.rs2] = next
			next = (pc + uint64(in.imm)) &^ 1
			c.jumped(icount)
		case opFuseSLLIOr, opFuseSLLIXor, opFuseSLLIAdd:
			if c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			x[in.rd] = x[in.rs1] << uint(in.imm)
			x[in.fop] = shiftPairOp(in.op-opFuseSLLIOr, x[in.rs2], x[in.rs3])
		case opFuseSRLIOr, opFuseSRLIXor, opFuseSRLIAdd:
			if c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			x[in.rd] = x[in.rs1] >> uint(in.imm)
			x[in.fop] = shiftPairOp(in.op-opFuseSRLIOr, x[in.rs2], x[in.rs3])
		case opFuseSLLIWOr, opFuseSLLIWXor, opFuseSLLIWAdd:
			if c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			x[in.rd] = uint64(int64(int32(uint32(x[in.rs1]) << uint(in.imm))))
			x[in.fop] = shiftPairOp(in.op-opFuseSLLIWOr, x[in.rs2], x[in.rs3])
		case opFuseSRLIWOr, opFuseSRLIWXor, opFuseSRLIWAdd:
			if c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			x[in.rd] = uint64(int64(int32(uint32(x[in.rs1]) >> uint(in.imm))))
			x[in.fop] = shiftPairOp(in.op-opFuseSRLIWOr, x[in.rs2], x[in.rs3])
		// A fused load or store runs on the TLB's fast path only. When the
		// first access needs the slow path, the first instruction runs
		// alone; when the second does, the second runs by itself next.
		case opFuseLWAddi:
			off, ok := c.readOff(x[in.rs1]+immLo(in.imm), 3)
			if !ok || c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			x[in.rd] = uint64(int64(int32(binary.LittleEndian.Uint32(c.ram[off:]))))
			x[in.fop] = x[in.rs3] + immHi(in.imm)
		case opFuseLDAddi:
			off, ok := c.readOff(x[in.rs1]+immLo(in.imm), 7)
			if !ok || c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			x[in.rd] = binary.LittleEndian.Uint64(c.ram[off:])
			x[in.fop] = x[in.rs3] + immHi(in.imm)
		case opFuseSWAddi:
			off, ok := c.writeOff(x[in.rs1]+immLo(in.imm), 3)
			if !ok || c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			binary.LittleEndian.PutUint32(c.ram[off:], uint32(x[in.rs2]))
			x[in.fop] = x[in.rs3] + immHi(in.imm)
		case opFuseSDAddi:
			off, ok := c.writeOff(x[in.rs1]+immLo(in.imm), 7)
			if !ok || c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			icount++
			binary.LittleEndian.PutUint64(c.ram[off:], x[in.rs2])
			x[in.fop] = x[in.rs3] + immHi(in.imm)
		case opFuseLDLD:
			off, ok := c.readOff(x[in.rs1]+immLo(in.imm), 7)
			if !ok || c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			x[in.rd] = binary.LittleEndian.Uint64(c.ram[off:])
			if off, ok = c.readOff(x[in.rs3]+immHi(in.imm), 7); !ok {
				pc += uint64(in.fn3)
				continue
			}
			icount++
			x[in.fop] = binary.LittleEndian.Uint64(c.ram[off:])
		case opFuseSDSD:
			off, ok := c.writeOff(x[in.rs1]+immLo(in.imm), 7)
			if !ok || c.firstAlone(in, pc, icount) {
				in, next = c.firstOfPair(pc)
				goto dispatch
			}
			binary.LittleEndian.PutUint64(c.ram[off:], x[in.rs2])
			if off, ok = c.writeOff(x[in.rs3]+immHi(in.imm), 7); !ok {
				pc += uint64(in.fn3)
				continue
			}
			icount++
			binary.LittleEndian.PutUint64(c.ram[off:], x[in.fop])

		default:
			c.pc, c.icount = pc, icount
			ok := c.execSys(in, next)
			pc, icount = c.pc, c.icount
			if !ok {
				continue
			}
		}
		pc = next
	}
	c.pc, c.icount = pc, icount
}

// shiftPairOp is the second instruction of a fused shift pair: or, xor
// or add, by k = 0, 1, 2 (the fused op's distance from the or form).
func shiftPairOp(k op, a, b uint64) uint64 {
	switch k {
	case 0:
		return a | b
	case 1:
		return a ^ b
	}
	return a + b
}

// loadAt is step's slow path of a load. The slow path may trap, or read
// the instruction count (the time, through a device), so it writes the
// instruction's pc and count back to the hart first, and returns them as
// they are after it (step's locals are then not live across the call,
// which keeps them in registers on the fast paths).
func (c *CPU) loadAt(va uint64, size int, pc, icount uint64) (v uint64, ok bool, npc, nicount uint64) {
	c.pc, c.icount = pc, icount
	v, ok = c.loadSlow(va, size)
	return v, ok, c.pc, c.icount
}

// storeAt is loadAt for a store.
func (c *CPU) storeAt(va uint64, size int, v, pc, icount uint64) (ok bool, npc, nicount uint64) {
	c.pc, c.icount = pc, icount
	ok = c.storeSlow(va, size, v)
	return ok, c.pc, c.icount
}

// execSys executes the instructions that step leaves to it: fences,
// system instructions, CSR accesses, atomics and floating point. c.pc and
// c.icount are current. It reports whether the instruction completed
// (step then moves on to next); otherwise it trapped or set c.pc itself.
func (c *CPU) execSys(in *inst, next uint64) bool {
	x := &c.x
	switch in.op {
	case opFENCE:
	case opFENCEI:
		// Stores already invalidate decoded code eagerly.
	case opECALL:
		c.exception(CauseEcallU+uint64(c.priv), 0)
		return false
	case opEBREAK:
		c.exception(CauseBreakpoint, c.pc)
		return false
	case opMRET:
		if c.priv < PrivM {
			c.illegal(in)
			return false
		}
		mpp := uint8((c.mstatus & msMPP) >> 11)
		s := c.mstatus &^ (msMIE | msMPP)
		if s&msMPIE != 0 {
			s |= msMIE
		}
		s |= msMPIE
		if mpp != PrivM {
			s &^= msMPRV
		}
		c.mstatus = s
		c.priv = mpp
		c.updateCtx()
		c.pc = c.mepc
		c.limit = c.icount
		return false
	case opSRET:
		if c.priv < PrivS || c.priv == PrivS && c.mstatus&msTSR != 0 {
			c.illegal(in)
			return false
		}
		spp := uint8((c.mstatus & msSPP) >> 8)
		s := c.mstatus &^ (msSIE | msSPP | msMPRV)
		if s&msSPIE != 0 {
			s |= msSIE
		}
		s |= msSPIE
		c.mstatus = s
		c.priv = spp
		c.updateCtx()
		c.pc = c.sepc
		c.limit = c.icount
		return false
	case opWFI:
		if c.priv == PrivU || c.priv == PrivS && c.mstatus&msTW != 0 {
			c.illegal(in)
			return false
		}
		c.pc = next
		if c.mip()&c.mie == 0 {
			c.waiting = true
			c.limit = c.icount
		}
		return false
	case opSFENCEVMA:
		if c.priv < PrivS || c.priv == PrivS && c.mstatus&msTVM != 0 {
			c.illegal(in)
			return false
		}
		if in.rs1 == 0 {
			c.flushTLB()
		} else {
			c.flushTLBPage(x[in.rs1])
		}
	case opCSRRW, opCSRRS, opCSRRC, opCSRRWI, opCSRRSI, opCSRRCI:
		if !c.execCSR(in) {
			return false
		}
		c.limit = c.icount

	case opLRW, opLRD:
		size := 4
		if in.op == opLRD {
			size = 8
		}
		va := x[in.rs1]
		off, ok := c.amoAddr(va, size, accRead)
		if !ok {
			return false
		}
		x[in.rd] = c.ramLoad(off, size)
		c.resValid, c.resAddr = true, va
	case opSCW, opSCD:
		size := 4
		if in.op == opSCD {
			size = 8
		}
		va := x[in.rs1]
		off, ok := c.amoAddr(va, size, accWrite)
		if !ok {
			return false
		}
		if c.resValid && c.resAddr == va {
			c.ramStore(off, size, x[in.rs2])
			c.amoWritten(va, off)
			x[in.rd] = 0
		} else {
			x[in.rd] = 1
		}
		c.resValid = false
	case opAMOSWAPW, opAMOADDW, opAMOXORW, opAMOANDW, opAMOORW, opAMOMINW, opAMOMAXW, opAMOMINUW, opAMOMAXUW,
		opAMOSWAPD, opAMOADDD, opAMOXORD, opAMOANDD, opAMOORD, opAMOMIND, opAMOMAXD, opAMOMINUD, opAMOMAXUD:
		size, kind, apply := 4, in.op-opAMOSWAPW, amo32
		if in.op >= opAMOSWAPD {
			size, kind, apply = 8, in.op-opAMOSWAPD, amo64
		}
		va := x[in.rs1]
		off, ok := c.amoAddr(va, size, accWrite)
		if !ok {
			return false
		}
		old := c.ramLoad(off, size)
		c.ramStore(off, size, apply(kind, old, x[in.rs2]))
		c.amoWritten(va, off)
		x[in.rd] = old

	case opFLW, opFLD:
		if c.mstatus&msFS == 0 {
			c.illegal(in)
			return false
		}
		va := x[in.rs1] + uint64(in.imm)
		if in.op == opFLW {
			v, ok := c.load32(va)
			if !ok {
				return false
			}
			c.f[in.rd&31] = box32(uint32(v))
		} else {
			v, ok := c.load64(va)
			if !ok {
				return false
			}
			c.f[in.rd&31] = v
		}
		c.mstatus |= msFS
	case opFSW, opFSD:
		if c.mstatus&msFS == 0 {
			c.illegal(in)
			return false
		}
		va := x[in.rs1] + uint64(in.imm)
		if in.op == opFSW {
			if !c.store32(va, c.f[in.rs2&31]) {
				return false
			}
		} else if !c.store64(va, c.f[in.rs2&31]) {
			return false
		}
	case opFP:
		if !c.execFP(in) {
			return false
		}
	default: // opIllegal
		c.illegal(in)
		return false
	}
	return true
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func mulh(a, b int64) uint64 {
	hi, _ := bits.Mul64(uint64(a), uint64(b))
	if a < 0 {
		hi -= uint64(b)
	}
	if b < 0 {
		hi -= uint64(a)
	}
	return hi
}

func mulhsu(a int64, b uint64) uint64 {
	hi, _ := bits.Mul64(uint64(a), b)
	if a < 0 {
		hi -= b
	}
	return hi
}

func (c *CPU) ramLoad(off uint64, size int) uint64 {
	if size == 4 {
		return uint64(int64(int32(uint32(c.ram[off]) | uint32(c.ram[off+1])<<8 | uint32(c.ram[off+2])<<16 | uint32(c.ram[off+3])<<24)))
	}
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(c.ram[off+uint64(i)])
	}
	return v
}

func (c *CPU) ramStore(off uint64, size int, v uint64) {
	for i := 0; i < size; i++ {
		c.ram[off+uint64(i)] = byte(v >> (8 * i))
	}
}

// amo32 computes an AMO*.W result; old is already sign-extended.
func amo32(k op, old, src uint64) uint64 {
	a, b := int32(old), int32(src)
	switch k {
	case 0:
		return src
	case 1:
		return uint64(a + b)
	case 2:
		return uint64(uint32(a) ^ uint32(b))
	case 3:
		return uint64(uint32(a) & uint32(b))
	case 4:
		return uint64(uint32(a) | uint32(b))
	case 5:
		return uint64(min(a, b))
	case 6:
		return uint64(max(a, b))
	case 7:
		return uint64(min(uint32(a), uint32(b)))
	default:
		return uint64(max(uint32(a), uint32(b)))
	}
}

func amo64(k op, old, src uint64) uint64 {
	switch k {
	case 0:
		return src
	case 1:
		return old + src
	case 2:
		return old ^ src
	case 3:
		return old & src
	case 4:
		return old | src
	case 5:
		return uint64(min(int64(old), int64(src)))
	case 6:
		return uint64(max(int64(old), int64(src)))
	case 7:
		return min(old, src)
	default:
		return max(old, src)
	}
}

// jumped is called by step after a branch or jump, with the instruction
// count after it: with jumpStop set, the interpreter stops there.
func (c *CPU) jumped(icount uint64) {
	if c.jumpStop {
		c.limit, c.jumpStop = icount, false
	}
}
