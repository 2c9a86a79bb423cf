package fpu

import "math"

// Fast-path guards, as bounds on |bit pattern| (sign cleared). A binary64
// with biased exponent field E has magnitude in [2^(E-1023), 2^(E-1022)).
const (
	// add: |x|, |y| < 2^1022, so |x+y| < 2^1023: TwoSum cannot overflow
	// and stepping r by one ulp stays finite. Sums of binary64 numbers are
	// multiples of 2^-1074, so a tiny sum is always exact: no UF is possible
	// and an inexact sum is at least 2^-1022.
	addLimit uint64 = 0x7fd << 52
	// mul, div: 2^-967 <= |r| < 2^1023. The lower bound keeps the exact
	// residual representable (Boldo & Daumas: e_x + e_y >= emin + p - 1 =
	// -970 for the product; e_r + e_y >= -970 for the division residual
	// x - r*y) and keeps the result far above the tininess threshold.
	mulLo uint64 = 56 << 52
	mulHi uint64 = 0x7fe << 52
	// sqrt: operands below 2^-959 are scaled by 2^110 (exact), so that the
	// residual x - r*r (quantum ulp(r)^2 >= 2^-1074 needs x >= 2^-970) is
	// exact. A square root is never tiny and never overflows.
	sqrtScale uint64 = 64 << 52
	// fma: 2^-960 <= |RN(x*y)| < 2^1000 and |z| < 2^1000. Then TwoProduct
	// is exact, x*y+z is a multiple of 2^-1074 (so a tiny result is exact),
	// and no intermediate of the error computation can overflow.
	fmaPLo uint64 = 63 << 52
	fmaPHi uint64 = 2023 << 52
	fmaZHi uint64 = 2023 << 52
)

// Add64 returns the binary64 sum a+b rounded according to rm, and the
// exception flags it raises.
func Add64(a, b uint64, rm uint8) (uint64, Flags) {
	if a&^sign64 < addLimit && b&^sign64 < addLimit {
		x, y := math.Float64frombits(a), math.Float64frombits(b)
		r, err := twoSum(x, y)
		if err == 0 {
			// An exact zero sum of operands that are not both +0
			// is -0 when rounding down (IEEE 754 6.3); the host
			// already gives the RNE sign in every other case.
			if r == 0 && rm == RDN && a|b != 0 {
				return sign64, 0
			}
			return math.Float64bits(r), 0
		}
		if rm == RNE {
			return math.Float64bits(r), NX
		}
		return stepDirected(math.Float64bits(r), err, rm), NX
	}
	return fmaSoft64(a, one64, b, rm)
}

// Sub64 returns the binary64 difference a-b rounded according to rm, and
// the exception flags it raises.
func Sub64(a, b uint64, rm uint8) (uint64, Flags) {
	return Add64(a, b^sign64, rm)
}

// Mul64 returns the binary64 product a*b rounded according to rm, and the
// exception flags it raises.
func Mul64(a, b uint64, rm uint8) (uint64, Flags) {
	x, y := math.Float64frombits(a), math.Float64frombits(b)
	r := float64(x * y)
	rb := math.Float64bits(r)
	if rb&^sign64-mulLo < mulHi-mulLo {
		err := math.FMA(x, y, -r) // exact: x*y - r
		if err == 0 {
			return rb, 0
		}
		if rm == RNE {
			return rb, NX
		}
		return stepDirected(rb, err, rm), NX
	}
	return fmaSoft64(a, b, (a^b)&sign64, rm)
}

// Div64 returns the binary64 quotient a/b rounded according to rm, and the
// exception flags it raises (DZ for a finite nonzero a divided by zero).
func Div64(a, b uint64, rm uint8) (uint64, Flags) {
	x, y := math.Float64frombits(a), math.Float64frombits(b)
	r := x / y
	rb := math.Float64bits(r)
	if rb&^sign64-mulLo < mulHi-mulLo && a&^sign64 >= mulLo {
		// rem = x - r*y exactly; the exact quotient minus r is rem/y.
		rem := math.FMA(-r, y, x)
		if rem == 0 {
			return rb, 0
		}
		// A quotient of binary64 numbers cannot be a tie (its odd
		// significand would need 54 bits while dividing x's, which has
		// at most 53), so RMM rounds like RNE.
		if rm == RNE || rm == RMM {
			return rb, NX
		}
		if b&sign64 != 0 {
			rem = -rem
		}
		return stepDirected(rb, rem, rm), NX
	}
	return divSoft64(a, b, rm)
}

// Sqrt64 returns the binary64 square root of a rounded according to rm, and
// the exception flags it raises (NV for a negative nonzero a).
func Sqrt64(a uint64, rm uint8) (uint64, Flags) {
	if a-1 < inf64-1 { // positive, nonzero, finite
		x := math.Float64frombits(a)
		small := a < sqrtScale
		if small {
			x = float64(x * 0x1p110)
		}
		r := math.Sqrt(x)
		rem := math.FMA(-r, r, x) // exact: x - r*r, same sign as sqrt(x) - r
		if small {
			r = float64(r * 0x1p-55) // exact: r >= 2^-482
		}
		rb := math.Float64bits(r)
		if rem == 0 {
			return rb, 0
		}
		// A square root is never a tie (the square of a 54-bit odd
		// significand has more than 53 bits), so RMM rounds like RNE.
		if rm == RNE || rm == RMM {
			return rb, NX
		}
		return stepDirected(rb, rem, rm), NX
	}
	switch {
	case isNaN64(a):
		return CanonicalNaN64, nvIf(isSNaN64(a))
	case a&^sign64 == 0 || a == inf64: // ±0, +inf
		return a, 0
	}
	return CanonicalNaN64, NV // negative
}

// FMA64 returns a*b+c computed with a single rounding according to rm, and
// the exception flags it raises. As the RISC-V specification requires,
// a*b with one factor zero and the other infinite raises NV even when c is a
// quiet NaN. The CPU implements fmsub, fnmsub and fnmadd by flipping the
// signs of the inputs.
func FMA64(a, b, c uint64, rm uint8) (uint64, Flags) {
	x, y, z := math.Float64frombits(a), math.Float64frombits(b), math.Float64frombits(c)
	p := float64(x * y) // the conversion forbids fusing this product
	if math.Float64bits(p)&^sign64-fmaPLo < fmaPHi-fmaPLo && c&^sign64 < fmaZHi && rm != RMM {
		r := math.FMA(x, y, z)
		pl := math.FMA(x, y, -p) // p + pl == x*y exactly
		s, t := twoSum(p, z)     // p + z == s + t exactly
		// The exact error is E - r = (s - r) + t + pl.
		var err float64
		if s == r {
			// RN(t+pl) is zero iff t+pl is, and has its sign.
			err = t + pl
		} else {
			err = fmaErr(p, pl, z, r)
		}
		rb := math.Float64bits(r)
		if err == 0 {
			// An exact zero from nonzero operands is +0, or -0 when
			// rounding down (IEEE 754 6.3).
			if r == 0 && rm == RDN {
				return sign64, 0
			}
			return rb, 0
		}
		if rm == RNE {
			return rb, NX
		}
		return stepDirected(rb, err, rm), NX
	}
	return fmaSoft64(a, b, c, rm)
}

// fmaErr returns a float64 with the sign of p + pl + z - r (zero iff that sum
// is zero). It builds the exact sum as a nonoverlapping expansion with
// Shewchuk's Grow-Expansion ([pl, p] is nonoverlapping since |pl| <=
// ulp(p)/2): in a nonoverlapping expansion the largest nonzero component
// exceeds the sum of all the others in magnitude, so it carries the sign.
func fmaErr(p, pl, z, r float64) float64 {
	q, h1 := twoSum(z, pl)
	h3, h2 := twoSum(q, p)
	q, g1 := twoSum(-r, h1)
	q, g2 := twoSum(q, h2)
	g4, g3 := twoSum(q, h3)
	switch {
	case g4 != 0:
		return g4
	case g3 != 0:
		return g3
	case g2 != 0:
		return g2
	}
	return g1
}
