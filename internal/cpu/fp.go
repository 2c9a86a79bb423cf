package cpu

import "github.com/rewindvm/rewind/internal/fpu"

// FP sub-operations (inst.fop). fpDouble is or-ed in for D instructions.
const (
	fpFMADD uint8 = iota
	fpFMSUB
	fpFNMSUB
	fpFNMADD
	fpADD
	fpSUB
	fpMUL
	fpDIV
	fpSQRT
	fpSGNJ
	fpSGNJN
	fpSGNJX
	fpMIN
	fpMAX
	fpCVTtoW  // fcvt.w.fmt
	fpCVTtoWU // fcvt.wu.fmt
	fpCVTtoL  // fcvt.l.fmt
	fpCVTtoLU // fcvt.lu.fmt
	fpCVTfromW
	fpCVTfromWU
	fpCVTfromL
	fpCVTfromLU
	fpMVtoX // fmv.x.w / fmv.x.d
	fpMVfromX
	fpCLASS
	fpEQ
	fpLT
	fpLE
	fpCVTsd // fcvt.s.d (fmt S, source D)
	fpCVTds // fcvt.d.s (fmt D, source S)

	fpDouble uint8 = 0x80
)

func decodeFP(w uint32) inst {
	ill := inst{op: opIllegal, length: 4}
	in := inst{op: opFP, length: 4,
		rd: uint8((w >> 7) & 31), rs1: uint8((w >> 15) & 31), rs2: uint8((w >> 20) & 31),
		rs3: uint8(w >> 27), fn3: uint8((w >> 12) & 7)}
	fmt := (w >> 25) & 3
	if fmt > 1 {
		return ill // only S and D
	}
	var dbl uint8
	if fmt == 1 {
		dbl = fpDouble
	}
	intDst := false
	rm := (w >> 12) & 7
	switch w & 0x7f {
	case 0x43:
		in.fop = fpFMADD
	case 0x47:
		in.fop = fpFMSUB
	case 0x4b:
		in.fop = fpFNMSUB
	case 0x4f:
		in.fop = fpFNMADD
	case 0x53:
		f5 := w >> 27
		rs2 := (w >> 20) & 31
		switch f5 {
		case 0x00:
			in.fop = fpADD
		case 0x01:
			in.fop = fpSUB
		case 0x02:
			in.fop = fpMUL
		case 0x03:
			in.fop = fpDIV
		case 0x0b:
			if rs2 != 0 {
				return ill
			}
			in.fop = fpSQRT
		case 0x04:
			switch rm {
			case 0:
				in.fop = fpSGNJ
			case 1:
				in.fop = fpSGNJN
			case 2:
				in.fop = fpSGNJX
			default:
				return ill
			}
		case 0x05:
			switch rm {
			case 0:
				in.fop = fpMIN
			case 1:
				in.fop = fpMAX
			default:
				return ill
			}
		case 0x08: // fcvt.s.d (fmt=S, rs2=1) / fcvt.d.s (fmt=D, rs2=0)
			switch {
			case fmt == 0 && rs2 == 1:
				in.fop = fpCVTsd
			case fmt == 1 && rs2 == 0:
				in.fop = fpCVTds
			default:
				return ill
			}
		case 0x14:
			intDst = true
			switch rm {
			case 2:
				in.fop = fpEQ
			case 1:
				in.fop = fpLT
			case 0:
				in.fop = fpLE
			default:
				return ill
			}
		case 0x18:
			intDst = true
			if rs2 > 3 {
				return ill
			}
			in.fop = fpCVTtoW + uint8(rs2)
		case 0x1a:
			if rs2 > 3 {
				return ill
			}
			in.fop = fpCVTfromW + uint8(rs2)
		case 0x1c:
			intDst = true
			if rs2 != 0 {
				return ill
			}
			switch rm {
			case 0:
				in.fop = fpMVtoX
			case 1:
				in.fop = fpCLASS
			default:
				return ill
			}
		case 0x1e:
			if rs2 != 0 || rm != 0 {
				return ill
			}
			in.fop = fpMVfromX
		default:
			return ill
		}
	}
	in.fop |= dbl
	if intDst {
		in.rd = dst((w >> 7) & 31)
	}
	return in
}

// frmResolve returns the effective rounding mode, or false if it is
// reserved (illegal instruction).
func (c *CPU) frmResolve(rm uint8) (uint8, bool) {
	if rm == 7 {
		rm = c.frm
	}
	return rm, rm <= 4
}

func unbox32(v uint64) uint32 {
	if v>>32 != 0xffffffff {
		return fpu.CanonicalNaN32
	}
	return uint32(v)
}

func box32(v uint32) uint64 { return 0xffffffff00000000 | uint64(v) }

// execFP executes an OP-FP or FMA instruction. It returns false when the
// instruction trapped.
func (c *CPU) execFP(in *inst) bool {
	if c.mstatus&msFS == 0 {
		c.illegal(in)
		return false
	}
	rm, ok := c.frmResolve(in.fn3)
	fop := in.fop &^ fpDouble
	needsRM := fop <= fpSQRT || (fop >= fpCVTtoW && fop <= fpCVTfromLU) || fop == fpCVTsd || fop == fpCVTds
	if needsRM && !ok {
		c.illegal(in)
		return false
	}
	f := &c.f
	a, b := f[in.rs1&31], f[in.rs2&31]
	var fl fpu.Flags
	if in.fop&fpDouble != 0 {
		var r uint64
		switch fop {
		case fpFMADD:
			r, fl = fpu.FMA64(a, b, f[in.rs3&31], rm)
		case fpFMSUB:
			r, fl = fpu.FMA64(a, b, f[in.rs3&31]^(1<<63), rm)
		case fpFNMSUB:
			r, fl = fpu.FMA64(a^(1<<63), b, f[in.rs3&31], rm)
		case fpFNMADD:
			r, fl = fpu.FMA64(a^(1<<63), b, f[in.rs3&31]^(1<<63), rm)
		case fpADD:
			r, fl = fpu.Add64(a, b, rm)
		case fpSUB:
			r, fl = fpu.Sub64(a, b, rm)
		case fpMUL:
			r, fl = fpu.Mul64(a, b, rm)
		case fpDIV:
			r, fl = fpu.Div64(a, b, rm)
		case fpSQRT:
			r, fl = fpu.Sqrt64(a, rm)
		case fpSGNJ:
			r = a&^(1<<63) | b&(1<<63)
		case fpSGNJN:
			r = a&^(1<<63) | ^b&(1<<63)
		case fpSGNJX:
			r = a ^ b&(1<<63)
		case fpMIN:
			r, fl = fpu.Min64(a, b)
		case fpMAX:
			r, fl = fpu.Max64(a, b)
		case fpCVTds:
			r, fl = fpu.F32ToF64(unbox32(a), rm)
		case fpMVfromX:
			r = c.x[in.rs1]
		case fpCVTfromW:
			r, fl = fpu.I32ToF64(int32(c.x[in.rs1]), rm)
		case fpCVTfromWU:
			r, fl = fpu.U32ToF64(uint32(c.x[in.rs1]), rm)
		case fpCVTfromL:
			r, fl = fpu.I64ToF64(int64(c.x[in.rs1]), rm)
		case fpCVTfromLU:
			r, fl = fpu.U64ToF64(c.x[in.rs1], rm)
		default:
			return c.fpIntDest(in, fop, true, a, b, rm)
		}
		f[in.rd&31] = r
	} else {
		a32, b32 := unbox32(a), unbox32(b)
		var r uint32
		switch fop {
		case fpFMADD:
			r, fl = fpu.FMA32(a32, b32, unbox32(f[in.rs3&31]), rm)
		case fpFMSUB:
			r, fl = fpu.FMA32(a32, b32, unbox32(f[in.rs3&31])^(1<<31), rm)
		case fpFNMSUB:
			r, fl = fpu.FMA32(a32^(1<<31), b32, unbox32(f[in.rs3&31]), rm)
		case fpFNMADD:
			r, fl = fpu.FMA32(a32^(1<<31), b32, unbox32(f[in.rs3&31])^(1<<31), rm)
		case fpADD:
			r, fl = fpu.Add32(a32, b32, rm)
		case fpSUB:
			r, fl = fpu.Sub32(a32, b32, rm)
		case fpMUL:
			r, fl = fpu.Mul32(a32, b32, rm)
		case fpDIV:
			r, fl = fpu.Div32(a32, b32, rm)
		case fpSQRT:
			r, fl = fpu.Sqrt32(a32, rm)
		case fpSGNJ:
			r = a32&^(1<<31) | b32&(1<<31)
		case fpSGNJN:
			r = a32&^(1<<31) | ^b32&(1<<31)
		case fpSGNJX:
			r = a32 ^ b32&(1<<31)
		case fpMIN:
			r, fl = fpu.Min32(a32, b32)
		case fpMAX:
			r, fl = fpu.Max32(a32, b32)
		case fpCVTsd:
			r, fl = fpu.F64ToF32(a, rm)
		case fpMVfromX:
			r = uint32(c.x[in.rs1])
		case fpCVTfromW:
			r, fl = fpu.I32ToF32(int32(c.x[in.rs1]), rm)
		case fpCVTfromWU:
			r, fl = fpu.U32ToF32(uint32(c.x[in.rs1]), rm)
		case fpCVTfromL:
			r, fl = fpu.I64ToF32(int64(c.x[in.rs1]), rm)
		case fpCVTfromLU:
			r, fl = fpu.U64ToF32(c.x[in.rs1], rm)
		default:
			return c.fpIntDest(in, fop, false, a, b, rm)
		}
		f[in.rd&31] = box32(r)
	}
	c.fflags |= uint8(fl)
	c.mstatus |= msFS
	return true
}

// fpIntDest executes the OP-FP instructions whose destination is an
// integer register (conversions to integers, moves, fclass, comparisons)
// for double (dbl) or single precision operands a and b.
func (c *CPU) fpIntDest(in *inst, fop uint8, dbl bool, a, b uint64, rm uint8) bool {
	a32, b32 := unbox32(a), unbox32(b)
	var x uint64
	var fl fpu.Flags
	switch fop {
	case fpCVTtoW:
		var v int32
		if dbl {
			v, fl = fpu.F64ToI32(a, rm)
		} else {
			v, fl = fpu.F32ToI32(a32, rm)
		}
		x = uint64(int64(v))
	case fpCVTtoWU:
		var v uint32
		if dbl {
			v, fl = fpu.F64ToU32(a, rm)
		} else {
			v, fl = fpu.F32ToU32(a32, rm)
		}
		x = uint64(int64(int32(v))) // RV64: the 32-bit result is sign-extended
	case fpCVTtoL:
		var v int64
		if dbl {
			v, fl = fpu.F64ToI64(a, rm)
		} else {
			v, fl = fpu.F32ToI64(a32, rm)
		}
		x = uint64(v)
	case fpCVTtoLU:
		if dbl {
			x, fl = fpu.F64ToU64(a, rm)
		} else {
			x, fl = fpu.F32ToU64(a32, rm)
		}
	case fpMVtoX:
		x = a
		if !dbl {
			x = uint64(int64(int32(uint32(a)))) // raw low bits, sign-extended, no unboxing
		}
	case fpCLASS:
		if dbl {
			x = fpu.Class64(a)
		} else {
			x = fpu.Class32(a32)
		}
	case fpEQ, fpLT, fpLE:
		var t bool
		switch {
		case fop == fpEQ && dbl:
			t, fl = fpu.Eq64(a, b)
		case fop == fpEQ:
			t, fl = fpu.Eq32(a32, b32)
		case fop == fpLT && dbl:
			t, fl = fpu.Lt64(a, b)
		case fop == fpLT:
			t, fl = fpu.Lt32(a32, b32)
		case dbl:
			t, fl = fpu.Le64(a, b)
		default:
			t, fl = fpu.Le32(a32, b32)
		}
		x = b2u(t)
	default:
		c.illegal(in)
		return false
	}
	c.x[in.rd] = x
	c.fflags |= uint8(fl)
	if fl != 0 {
		c.mstatus |= msFS
	}
	return true
}
