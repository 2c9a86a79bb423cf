package fpu

import "math"

// Binary32 arithmetic is carried out in binary64, which is exact for the
// operands and for products, and then narrowed with the sign of the binary64
// rounding error:
//
//   - add: r = RN64(x+y), error from TwoSum (never overflows here);
//   - mul: x*y is exact in binary64 (24+24 <= 53 bits, exponents within range);
//   - div: r = RN64(x/y), x - r*y is exact (exponent sums are far above the
//     binary64 underflow threshold), error sign = its sign times sign(y);
//   - sqrt: r = RN64(sqrt(x)), x - r*r exact, error sign = its sign;
//   - fma: p = x*y is exact, r = RN64(p+z), error from TwoSum.
//
// Every binary32 rounding boundary (binary32 numbers, the midpoints between
// them, including the subnormal ones, and the overflow threshold) is a
// binary64 number. r = RN64(exact) has no binary64 number strictly between
// it and the exact value, so no boundary either; hence the exact value and
// r + (a tiny amount with the error's sign) round identically to binary32 in
// every rounding mode, with the same tininess (after rounding), overflow and
// inexactness. narrow implements that, and only uses the host's float32
// conversion when rounding to nearest-even from a non-midpoint (or an exact
// one), where it is provably the same.

// widen32 returns the binary64 pattern with the same value as the binary32
// pattern a; NaNs become a binary64 NaN that is signaling iff a is.
func widen32(a uint32) uint64 {
	if isNaN32(a) {
		if a&quiet32 == 0 {
			return 0x7ff4000000000000
		}
		return CanonicalNaN64
	}
	return math.Float64bits(float64(math.Float32frombits(a)))
}

// special32 narrows the binary64 result of a binary32 operation with a
// special (infinite or NaN) operand or a zero divisor. Such results are
// NaN, infinite, zero or one of the operands, so the narrowing is exact.
func special32(r uint64, fl Flags) (uint32, Flags) {
	v, _ := F64ToF32(r, RNE)
	return v, fl
}

// zero32 returns the binary32 zero with the sign of the binary64 zero r.
func zero32(r float64) uint32 { return uint32(math.Float64bits(r) >> 32) }

// narrow rounds to binary32, according to rm, the exact value r + e where r
// is a nonzero binary64 number equal to RN64(exact) and err is zero if e is
// zero and otherwise has the sign of e.
func narrow(r, err float64, rm uint8) (uint32, Flags) {
	rb := math.Float64bits(r)
	if rm == RNE {
		low := rb & (1<<29 - 1) // bits below binary32 precision (normal range)
		if low != 1<<28 || err == 0 {
			fb := math.Float32bits(float32(r))
			// Biased exponent 2..254: normal, not tiny, not overflowed.
			if (fb>>23)&0xff-2 < 253 {
				return fb, nxIf(low != 0 || err != 0)
			}
		}
	}
	return narrowSoft(rb, err, rm)
}

// narrowRNE is the part of narrow's fast path that needs no error sign:
// when rounding to nearest-even and r is neither a binary32 number nor a
// binary32 midpoint (in the normal range), the result is float32(r) and is
// inexact whatever the error is. ok is false when that does not apply.
func narrowRNE(r float64) (v uint32, ok bool) {
	low := math.Float64bits(r) & (1<<29 - 1)
	if low == 0 || low == 1<<28 {
		return 0, false
	}
	v = math.Float32bits(float32(r))
	return v, (v>>23)&0xff-2 < 253
}

// narrowSoft is narrow for every case, using the software rounder. The
// error is encoded as a sticky bit below the binary64 significand: +1 unit
// of 2^-62 relative if |exact| > |r|, -1 unit if |exact| < |r|.
func narrowSoft(rb uint64, err float64, rm uint8) (uint32, Flags) {
	neg := rb>>63 != 0
	exp, sig := unpack64(rb)
	if err != 0 {
		if (err > 0) != neg {
			sig |= 1
		} else {
			sig--
			if sig < 1<<62 {
				sig, exp = sig<<1|1, exp-1
			}
		}
	}
	v, fl := roundPack(&binary32, neg, exp, sig, rm)
	return uint32(v), fl
}

// Add32 returns the binary32 sum a+b rounded according to rm, and the
// exception flags it raises.
func Add32(a, b uint32, rm uint8) (uint32, Flags) {
	if a&^sign32 < inf32 && b&^sign32 < inf32 {
		x, y := float64(math.Float32frombits(a)), float64(math.Float32frombits(b))
		r := x + y
		if rm == RNE {
			if v, ok := narrowRNE(r); ok {
				return v, NX
			}
		}
		r, t := twoSum(x, y)
		if r == 0 { // exact
			if rm == RDN && a|b != 0 {
				return sign32, 0
			}
			return zero32(r), 0
		}
		return narrow(r, t, rm)
	}
	return special32(Add64(widen32(a), widen32(b), rm))
}

// Sub32 returns the binary32 difference a-b rounded according to rm, and
// the exception flags it raises.
func Sub32(a, b uint32, rm uint8) (uint32, Flags) {
	return Add32(a, b^sign32, rm)
}

// Mul32 returns the binary32 product a*b rounded according to rm, and the
// exception flags it raises.
func Mul32(a, b uint32, rm uint8) (uint32, Flags) {
	if a&^sign32 < inf32 && b&^sign32 < inf32 {
		r := float64(float64(math.Float32frombits(a)) * float64(math.Float32frombits(b)))
		if r == 0 {
			return zero32(r), 0
		}
		return narrow(r, 0, rm)
	}
	return special32(Mul64(widen32(a), widen32(b), rm))
}

// Div32 returns the binary32 quotient a/b rounded according to rm, and the
// exception flags it raises (DZ for a finite nonzero a divided by zero).
func Div32(a, b uint32, rm uint8) (uint32, Flags) {
	if a&^sign32 < inf32 && b&^sign32-1 < inf32-1 {
		x, y := float64(math.Float32frombits(a)), float64(math.Float32frombits(b))
		r := x / y
		if r == 0 {
			return zero32(r), 0
		}
		if rm == RNE {
			if v, ok := narrowRNE(r); ok {
				return v, NX
			}
		}
		rem := math.FMA(-r, y, x)
		if b&sign32 != 0 {
			rem = -rem
		}
		return narrow(r, rem, rm)
	}
	return special32(Div64(widen32(a), widen32(b), rm))
}

// Sqrt32 returns the binary32 square root of a rounded according to rm, and
// the exception flags it raises (NV for a negative nonzero a).
func Sqrt32(a uint32, rm uint8) (uint32, Flags) {
	if a-1 < inf32-1 { // positive, nonzero, finite
		x := float64(math.Float32frombits(a))
		r := math.Sqrt(x)
		if rm == RNE {
			if v, ok := narrowRNE(r); ok {
				return v, NX
			}
		}
		return narrow(r, math.FMA(-r, r, x), rm)
	}
	return special32(Sqrt64(widen32(a), rm))
}

// FMA32 returns a*b+c computed with a single rounding according to rm, and
// the exception flags it raises (see FMA64).
func FMA32(a, b, c uint32, rm uint8) (uint32, Flags) {
	if a&^sign32 < inf32 && b&^sign32 < inf32 && c&^sign32 < inf32 {
		p := float64(float64(math.Float32frombits(a)) * float64(math.Float32frombits(b)))
		z := float64(math.Float32frombits(c))
		if rm == RNE {
			if v, ok := narrowRNE(p + z); ok {
				return v, NX
			}
		}
		r, t := twoSum(p, z)
		if r == 0 { // exact zero: the host gives the RNE sign; RDN gives -0 unless both addends are +0
			if rm == RDN && math.Float64bits(p)|math.Float64bits(z) != 0 {
				return sign32, 0
			}
			return zero32(r), 0
		}
		return narrow(r, t, rm)
	}
	return special32(FMA64(widen32(a), widen32(b), widen32(c), rm))
}
