package fpu

import "math"

// Conversions. Float-to-integer conversions follow the RISC-V table (FCVT):
// the value is rounded to an integer according to rm; if the rounded value
// does not fit the destination, the result saturates to the nearest
// representable integer (NaN counts as +infinity) and only NV is raised;
// otherwise NX is raised when the conversion was inexact.

// toInt rounds the non-NaN binary64 pattern a to an integer according to
// rm. It returns the sign, the rounded magnitude, whether rounding was
// inexact, and ovf when the rounded magnitude is at least 2^64 (then mag is
// meaningless).
func toInt(a uint64, rm uint8) (neg bool, mag uint64, inexact, ovf bool) {
	neg = a&sign64 != 0
	e := int(a>>52) & 0x7ff
	m := a & mant64
	switch {
	case e == 0x7ff:
		return neg, 0, false, true
	case e == 0:
		if m == 0 {
			return neg, 0, false, false
		}
		e = 1
	default:
		m |= 1 << 52
	}
	// |a| = m * 2^sh.
	sh := e - 1075
	if sh >= 0 {
		if sh > 11 { // m >= 2^52 here, so |a| >= 2^64
			return neg, 0, false, true
		}
		return neg, m << uint(sh), false, false
	}
	if sh < -53 { // 0 < |a| < 1/2: rounds to 0, or to 1 away from zero
		if rm == RDN && neg || rm == RUP && !neg {
			return neg, 1, true, false
		}
		return neg, 0, true, false
	}
	mag, inexact = roundSig(m, uint(-sh), neg, rm)
	return neg, mag, inexact, false
}

// F64ToI32 converts a to int32 (FCVT.W.D) with rounding mode rm.
// NaN and +inf or too large give MaxInt32, -inf or too small give
// MinInt32, both with NV.
func F64ToI32(a uint64, rm uint8) (int32, Flags) {
	if isNaN64(a) {
		return math.MaxInt32, NV
	}
	neg, mag, inexact, ovf := toInt(a, rm)
	if neg {
		if ovf || mag > 1<<31 {
			return math.MinInt32, NV
		}
		return int32(-int64(mag)), nxIf(inexact)
	}
	if ovf || mag > math.MaxInt32 {
		return math.MaxInt32, NV
	}
	return int32(mag), nxIf(inexact)
}

// F64ToU32 converts a to uint32 (FCVT.WU.D) with rounding mode rm.
// NaN and +inf or too large give MaxUint32; -inf and negative values that
// do not round to zero give 0; both with NV.
func F64ToU32(a uint64, rm uint8) (uint32, Flags) {
	if isNaN64(a) {
		return math.MaxUint32, NV
	}
	neg, mag, inexact, ovf := toInt(a, rm)
	if neg {
		if ovf || mag != 0 {
			return 0, NV
		}
		return 0, nxIf(inexact)
	}
	if ovf || mag > math.MaxUint32 {
		return math.MaxUint32, NV
	}
	return uint32(mag), nxIf(inexact)
}

// F64ToI64 converts a to int64 (FCVT.L.D) with rounding mode rm.
// NaN and +inf or too large give MaxInt64, -inf or too small give
// MinInt64, both with NV.
func F64ToI64(a uint64, rm uint8) (int64, Flags) {
	if isNaN64(a) {
		return math.MaxInt64, NV
	}
	neg, mag, inexact, ovf := toInt(a, rm)
	if neg {
		if ovf || mag > 1<<63 {
			return math.MinInt64, NV
		}
		return int64(-mag), nxIf(inexact)
	}
	if ovf || mag > math.MaxInt64 {
		return math.MaxInt64, NV
	}
	return int64(mag), nxIf(inexact)
}

// F64ToU64 converts a to uint64 (FCVT.LU.D) with rounding mode rm.
// NaN and +inf or too large give MaxUint64; -inf and negative values that
// do not round to zero give 0; both with NV.
func F64ToU64(a uint64, rm uint8) (uint64, Flags) {
	if isNaN64(a) {
		return math.MaxUint64, NV
	}
	neg, mag, inexact, ovf := toInt(a, rm)
	if neg {
		if ovf || mag != 0 {
			return 0, NV
		}
		return 0, nxIf(inexact)
	}
	if ovf {
		return math.MaxUint64, NV
	}
	return mag, nxIf(inexact)
}

// F32ToI32 converts a to int32 (FCVT.W.S); see F64ToI32.
func F32ToI32(a uint32, rm uint8) (int32, Flags) { return F64ToI32(widen32(a), rm) }

// F32ToU32 converts a to uint32 (FCVT.WU.S); see F64ToU32.
func F32ToU32(a uint32, rm uint8) (uint32, Flags) { return F64ToU32(widen32(a), rm) }

// F32ToI64 converts a to int64 (FCVT.L.S); see F64ToI64.
func F32ToI64(a uint32, rm uint8) (int64, Flags) { return F64ToI64(widen32(a), rm) }

// F32ToU64 converts a to uint64 (FCVT.LU.S); see F64ToU64.
func F32ToU64(a uint32, rm uint8) (uint64, Flags) { return F64ToU64(widen32(a), rm) }

// intToFloat rounds (-1)^neg * mag to format f.
func intToFloat(f *format, neg bool, mag uint64, rm uint8) (uint64, Flags) {
	if mag == 0 {
		return 0, 0
	}
	exp, sig := normalize64(mag, 0)
	return roundPack(f, neg, exp, sig, rm)
}

// I32ToF64 converts v to binary64 (FCVT.D.W); always exact.
func I32ToF64(v int32, rm uint8) (uint64, Flags) {
	return math.Float64bits(float64(v)), 0
}

// U32ToF64 converts v to binary64 (FCVT.D.WU); always exact.
func U32ToF64(v uint32, rm uint8) (uint64, Flags) {
	return math.Float64bits(float64(v)), 0
}

// I64ToF64 converts v to binary64 (FCVT.D.L) rounding according to rm.
func I64ToF64(v int64, rm uint8) (uint64, Flags) {
	if v >= -1<<53 && v <= 1<<53 {
		return math.Float64bits(float64(v)), 0
	}
	if v < 0 {
		return intToFloat(&binary64, true, -uint64(v), rm)
	}
	return intToFloat(&binary64, false, uint64(v), rm)
}

// U64ToF64 converts v to binary64 (FCVT.D.LU) rounding according to rm.
func U64ToF64(v uint64, rm uint8) (uint64, Flags) {
	if v <= 1<<53 {
		return math.Float64bits(float64(v)), 0
	}
	return intToFloat(&binary64, false, v, rm)
}

// I32ToF32 converts v to binary32 (FCVT.S.W) rounding according to rm.
func I32ToF32(v int32, rm uint8) (uint32, Flags) {
	return I64ToF32(int64(v), rm)
}

// U32ToF32 converts v to binary32 (FCVT.S.WU) rounding according to rm.
func U32ToF32(v uint32, rm uint8) (uint32, Flags) {
	return U64ToF32(uint64(v), rm)
}

// I64ToF32 converts v to binary32 (FCVT.S.L) rounding according to rm.
func I64ToF32(v int64, rm uint8) (uint32, Flags) {
	if v >= -1<<24 && v <= 1<<24 {
		return math.Float32bits(float32(v)), 0
	}
	var r uint64
	var fl Flags
	if v < 0 {
		r, fl = intToFloat(&binary32, true, -uint64(v), rm)
	} else {
		r, fl = intToFloat(&binary32, false, uint64(v), rm)
	}
	return uint32(r), fl
}

// U64ToF32 converts v to binary32 (FCVT.S.LU) rounding according to rm.
func U64ToF32(v uint64, rm uint8) (uint32, Flags) {
	if v <= 1<<24 {
		return math.Float32bits(float32(v)), 0
	}
	r, fl := intToFloat(&binary32, false, v, rm)
	return uint32(r), fl
}

// F32ToF64 converts a to binary64 (FCVT.D.S). The conversion is exact; a
// NaN becomes the canonical NaN, with NV if it was signaling.
func F32ToF64(a uint32, rm uint8) (uint64, Flags) {
	if isNaN32(a) {
		return CanonicalNaN64, nvIf(isSNaN32(a))
	}
	return widen32(a), 0
}

// F64ToF32 converts a to binary32 (FCVT.S.D) rounding according to rm; a
// NaN becomes the canonical NaN, with NV if it was signaling.
func F64ToF32(a uint64, rm uint8) (uint32, Flags) {
	if rm == RNE {
		x := math.Float64frombits(a)
		f := float32(x)
		fb := math.Float32bits(f)
		if (fb>>23)&0xff-2 < 253 { // normal, not tiny, finite
			return fb, nxIf(float64(f) != x)
		}
	}
	switch {
	case isNaN64(a):
		return CanonicalNaN32, nvIf(isSNaN64(a))
	case a&^sign64 == inf64:
		return uint32(a>>32)&sign32 | inf32, 0
	case a&^sign64 == 0:
		return uint32(a >> 32), 0 // ±0
	}
	exp, sig := unpack64(a)
	r, fl := roundPack(&binary32, a&sign64 != 0, exp, sig, rm)
	return uint32(r), fl
}
