package fpu

// A reference implementation built on exact rational arithmetic (math/big),
// written independently of the package: operands are decoded from their bit
// fields into big.Rat values, the operation is carried out exactly, and the
// exact result is rounded to the destination format by integer division,
// emulating the exponent range, subnormals (rounding at the fixed subnormal
// quantum), overflow and tininess-after-rounding explicitly. Results are
// encoded back through big.Float, whose conversion must be exact.

import (
	"fmt"
	"math"
	"math/big"
)

// ofmt describes a binary interchange format for the oracle.
type ofmt struct {
	prec, emin, emax, width int
}

var (
	of64 = ofmt{prec: 53, emin: -1022, emax: 1023, width: 64}
	of32 = ofmt{prec: 24, emin: -126, emax: 127, width: 32}
)

func (f ofmt) mbits() int       { return f.prec - 1 }
func (f ofmt) ebits() int       { return f.width - f.prec }
func (f ofmt) expField() uint64 { return 1<<f.ebits() - 1 }
func (f ofmt) signBit() uint64  { return 1 << (f.width - 1) }
func (f ofmt) infBits() uint64  { return f.expField() << f.mbits() }
func (f ofmt) maxBits() uint64  { return f.infBits() - 1 }
func (f ofmt) canon() uint64 {
	return f.infBits() | 1<<(f.mbits()-1)
}
func (f ofmt) zero(neg bool) uint64 {
	if neg {
		return f.signBit()
	}
	return 0
}
func (f ofmt) inf(neg bool) uint64 { return f.zero(neg) | f.infBits() }

type okind int

const (
	kFinite okind = iota // nonzero finite
	kZero
	kInf
	kQNaN
	kSNaN
)

// oval is a decoded operand.
type oval struct {
	kind okind
	neg  bool
	r    *big.Rat // exact value for kFinite and kZero
	sub  bool     // subnormal
}

func (v oval) nan() bool { return v.kind == kQNaN || v.kind == kSNaN }

// pow2Rat returns m * 2^k as a big.Rat.
func pow2Rat(m *big.Int, k int) *big.Rat {
	num := new(big.Int).Set(m)
	den := big.NewInt(1)
	if k >= 0 {
		num.Lsh(num, uint(k))
	} else {
		den.Lsh(den, uint(-k))
	}
	return new(big.Rat).SetFrac(num, den)
}

// decode splits a bit pattern of format f into its fields.
func (f ofmt) decode(bits uint64) oval {
	neg := bits&f.signBit() != 0
	e := (bits >> f.mbits()) & f.expField()
	m := bits & (1<<f.mbits() - 1)
	switch {
	case e == f.expField() && m == 0:
		return oval{kind: kInf, neg: neg}
	case e == f.expField():
		if m>>(f.mbits()-1) != 0 {
			return oval{kind: kQNaN, neg: neg}
		}
		return oval{kind: kSNaN, neg: neg}
	case e == 0 && m == 0:
		return oval{kind: kZero, neg: neg, r: new(big.Rat)}
	}
	bias := f.emax
	var v *big.Rat
	if e == 0 {
		v = pow2Rat(new(big.Int).SetUint64(m), f.emin-f.mbits())
	} else {
		v = pow2Rat(new(big.Int).SetUint64(m|1<<f.mbits()), int(e)-bias-f.mbits())
	}
	if neg {
		v.Neg(v)
	}
	return oval{kind: kFinite, neg: neg, r: v, sub: e == 0}
}

// exactVal is a nonzero exact real value: its sign, floor(log2|v|), and a
// function rounding |v| to an integer multiple of 2^q (returning the
// multiple and whether it is inexact).
type exactVal struct {
	neg     bool
	ilog2   int
	roundAt func(q int, rm uint8) (*big.Int, bool)
}

// roundQuo rounds num/den (both positive) to an integer per rm for a value
// of sign neg.
func roundQuo(num, den *big.Int, neg bool, rm uint8) (*big.Int, bool) {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() == 0 {
		return q, false
	}
	c := new(big.Int).Lsh(r, 1).Cmp(den) // compare the fraction with 1/2
	up := false
	switch rm {
	case RNE:
		up = c > 0 || c == 0 && q.Bit(0) == 1
	case RMM:
		up = c >= 0
	case RTZ:
	case RDN:
		up = neg
	case RUP:
		up = !neg
	default:
		panic("bad rm")
	}
	if up {
		q.Add(q, big.NewInt(1))
	}
	return q, true
}

// ilog2Frac returns floor(log2(num/den)) for positive num, den.
func ilog2Frac(num, den *big.Int) int {
	e := num.BitLen() - den.BitLen()
	// num/den >= 2^e ?
	var lhs, rhs *big.Int
	if e >= 0 {
		lhs, rhs = num, new(big.Int).Lsh(den, uint(e))
	} else {
		lhs, rhs = new(big.Int).Lsh(num, uint(-e)), den
	}
	if lhs.Cmp(rhs) < 0 {
		e--
	}
	return e
}

func ratExact(v *big.Rat) exactVal {
	if v.Sign() == 0 {
		panic("ratExact(0)")
	}
	num := new(big.Int).Abs(v.Num())
	den := new(big.Int).Set(v.Denom())
	return exactVal{
		neg:   v.Sign() < 0,
		ilog2: ilog2Frac(num, den),
		roundAt: func(q int, rm uint8) (*big.Int, bool) {
			n, d := new(big.Int).Set(num), new(big.Int).Set(den)
			if q >= 0 {
				d.Lsh(d, uint(q))
			} else {
				n.Lsh(n, uint(-q))
			}
			return roundQuo(n, d, v.Sign() < 0, rm)
		},
	}
}

// sqrtExact is the exact square root of the positive dyadic rational v.
func sqrtExact(v *big.Rat) exactVal {
	num := new(big.Int).Set(v.Num())
	den := new(big.Int).Set(v.Denom())
	l := ilog2Frac(num, den)
	return exactVal{
		ilog2: int(math.Floor(float64(l) / 2)),
		roundAt: func(q int, rm uint8) (*big.Int, bool) {
			// sqrt(v)/2^q = sqrt(t) with t = v * 2^(-2q), an integer
			// for every q used here.
			n, d := new(big.Int).Set(num), new(big.Int).Set(den)
			if q >= 0 {
				d.Lsh(d, uint(2*q))
			} else {
				n.Lsh(n, uint(-2*q))
			}
			t, rem := new(big.Int).QuoRem(n, d, new(big.Int))
			if rem.Sign() != 0 {
				panic(fmt.Sprintf("sqrtExact: non-integer radicand at q=%d", q))
			}
			s := new(big.Int).Sqrt(t)
			s2 := new(big.Int).Mul(s, s)
			if s2.Cmp(t) == 0 {
				return s, false
			}
			// t is an integer, so sqrt(t) is never s+1/2: it is above
			// the midpoint iff t > s^2 + s.
			above := t.Cmp(s2.Add(s2, s)) > 0
			up := false
			switch rm {
			case RNE, RMM:
				up = above
			case RUP:
				up = true
			}
			if up {
				s.Add(s, big.NewInt(1))
			}
			return s, true
		},
	}
}

// encode returns the bit pattern of (-1)^neg * n * 2^q, which must be
// representable in f.
func (f ofmt) encode(neg bool, n *big.Int, q int) uint64 {
	if n.Sign() == 0 {
		return f.zero(neg)
	}
	x := new(big.Float).SetInt(n)
	x.SetMantExp(x, q)
	if neg {
		x.Neg(x)
	}
	if f.width == 64 {
		v, acc := x.Float64()
		if acc != big.Exact {
			panic(fmt.Sprintf("encode: %v*2^%d not exact in binary64", n, q))
		}
		return math.Float64bits(v)
	}
	v, acc := x.Float32()
	if acc != big.Exact {
		panic(fmt.Sprintf("encode: %v*2^%d not exact in binary32", n, q))
	}
	return uint64(math.Float32bits(v))
}

// round rounds the exact nonzero value x to format f, computing the flags
// the IEEE 754 / RISC-V way.
func (f ofmt) round(x exactVal, rm uint8) (uint64, Flags) {
	// Rounded to prec bits with an unbounded exponent range.
	qU := x.ilog2 - f.prec + 1
	nU, inexU := x.roundAt(qU, rm)
	eU := x.ilog2
	if nU.BitLen() > f.prec {
		eU++
	}
	if eU > f.emax {
		toMax := rm == RTZ || rm == RDN && !x.neg || rm == RUP && x.neg
		if toMax {
			return f.zero(x.neg) | f.maxBits(), OF | NX
		}
		return f.inf(x.neg), OF | NX
	}
	tiny := eU < f.emin
	n, q, inexact := nU, qU, inexU
	if x.ilog2 < f.emin {
		q = f.emin - f.prec + 1
		n, inexact = x.roundAt(q, rm)
	}
	var fl Flags
	if inexact {
		fl |= NX
		if tiny {
			fl |= UF
		}
	}
	return f.encode(x.neg, n, q), fl
}

// roundRat rounds v, or gives the exact-zero result zero if v is zero.
func (f ofmt) roundRat(v *big.Rat, zero uint64, rm uint8) (uint64, Flags) {
	if v.Sign() == 0 {
		return zero, 0
	}
	return f.round(ratExact(v), rm)
}

func nvFlag(b bool) Flags {
	if b {
		return NV
	}
	return 0
}

// exactZeroSum is the sign rule for an exact zero sum x+y (IEEE 754 6.3).
func (f ofmt) exactZeroSum(xZero, xNeg, yZero, yNeg bool, rm uint8) uint64 {
	if xZero && yZero && xNeg == yNeg {
		return f.zero(xNeg)
	}
	return f.zero(rm == RDN)
}

func (f ofmt) oAdd(a, b uint64, rm uint8) (uint64, Flags) {
	x, y := f.decode(a), f.decode(b)
	switch {
	case x.nan() || y.nan():
		return f.canon(), nvFlag(x.kind == kSNaN || y.kind == kSNaN)
	case x.kind == kInf && y.kind == kInf:
		if x.neg != y.neg {
			return f.canon(), NV
		}
		return f.inf(x.neg), 0
	case x.kind == kInf:
		return f.inf(x.neg), 0
	case y.kind == kInf:
		return f.inf(y.neg), 0
	}
	s := new(big.Rat).Add(x.r, y.r)
	return f.roundRat(s, f.exactZeroSum(x.kind == kZero, x.neg, y.kind == kZero, y.neg, rm), rm)
}

func (f ofmt) oSub(a, b uint64, rm uint8) (uint64, Flags) {
	return f.oAdd(a, b^f.signBit(), rm)
}

func (f ofmt) oMul(a, b uint64, rm uint8) (uint64, Flags) {
	x, y := f.decode(a), f.decode(b)
	neg := x.neg != y.neg
	switch {
	case x.nan() || y.nan():
		return f.canon(), nvFlag(x.kind == kSNaN || y.kind == kSNaN)
	case x.kind == kInf && y.kind == kZero, x.kind == kZero && y.kind == kInf:
		return f.canon(), NV
	case x.kind == kInf || y.kind == kInf:
		return f.inf(neg), 0
	}
	return f.roundRat(new(big.Rat).Mul(x.r, y.r), f.zero(neg), rm)
}

func (f ofmt) oDiv(a, b uint64, rm uint8) (uint64, Flags) {
	x, y := f.decode(a), f.decode(b)
	neg := x.neg != y.neg
	switch {
	case x.nan() || y.nan():
		return f.canon(), nvFlag(x.kind == kSNaN || y.kind == kSNaN)
	case x.kind == kInf && y.kind == kInf, x.kind == kZero && y.kind == kZero:
		return f.canon(), NV
	case x.kind == kInf:
		return f.inf(neg), 0
	case y.kind == kInf:
		return f.zero(neg), 0
	case y.kind == kZero:
		return f.inf(neg), DZ
	}
	return f.roundRat(new(big.Rat).Quo(x.r, y.r), f.zero(neg), rm)
}

func (f ofmt) oSqrt(a uint64, rm uint8) (uint64, Flags) {
	x := f.decode(a)
	switch {
	case x.nan():
		return f.canon(), nvFlag(x.kind == kSNaN)
	case x.kind == kZero:
		return f.zero(x.neg), 0
	case x.neg:
		return f.canon(), NV
	case x.kind == kInf:
		return f.inf(false), 0
	}
	return f.round(sqrtExact(x.r), rm)
}

func (f ofmt) oFMA(a, b, c uint64, rm uint8) (uint64, Flags) {
	x, y, z := f.decode(a), f.decode(b), f.decode(c)
	pneg := x.neg != y.neg
	invalid := x.kind == kSNaN || y.kind == kSNaN || z.kind == kSNaN ||
		x.kind == kInf && y.kind == kZero || x.kind == kZero && y.kind == kInf
	switch {
	case invalid || x.nan() || y.nan() || z.nan():
		return f.canon(), nvFlag(invalid)
	case x.kind == kInf || y.kind == kInf:
		if z.kind == kInf && z.neg != pneg {
			return f.canon(), NV
		}
		return f.inf(pneg), 0
	case z.kind == kInf:
		return f.inf(z.neg), 0
	}
	p := new(big.Rat).Mul(x.r, y.r)
	s := new(big.Rat).Add(p, z.r)
	return f.roundRat(s, f.exactZeroSum(p.Sign() == 0, pneg, z.kind == kZero, z.neg, rm), rm)
}

// oToInt converts to an integer in [lo, hi] with RISC-V saturation.
func (f ofmt) oToInt(a uint64, rm uint8, lo, hi *big.Int) (*big.Int, Flags) {
	x := f.decode(a)
	switch x.kind {
	case kQNaN, kSNaN:
		return hi, NV
	case kInf:
		if x.neg {
			return lo, NV
		}
		return hi, NV
	case kZero:
		return new(big.Int), 0
	}
	n, inexact := ratExact(x.r).roundAt(0, rm)
	if x.neg {
		n.Neg(n)
	}
	if n.Cmp(lo) < 0 {
		return lo, NV
	}
	if n.Cmp(hi) > 0 {
		return hi, NV
	}
	if inexact {
		return n, NX
	}
	return n, 0
}

func (f ofmt) oFromInt(v *big.Int, rm uint8) (uint64, Flags) {
	return f.roundRat(new(big.Rat).SetInt(v), 0, rm)
}

// oConvert converts the pattern a of format from to format f.
func (f ofmt) oConvert(from ofmt, a uint64, rm uint8) (uint64, Flags) {
	x := from.decode(a)
	switch x.kind {
	case kQNaN, kSNaN:
		return f.canon(), nvFlag(x.kind == kSNaN)
	case kInf:
		return f.inf(x.neg), 0
	case kZero:
		return f.zero(x.neg), 0
	}
	return f.round(ratExact(x.r), rm)
}

// ocmp compares two non-NaN operands: -1, 0, +1 (-0 == +0).
func ocmp(x, y oval) int {
	key := func(v oval) (int, *big.Rat) {
		if v.kind == kInf {
			if v.neg {
				return -1, nil
			}
			return 1, nil
		}
		return 0, v.r
	}
	kx, rx := key(x)
	ky, ry := key(y)
	if kx != ky {
		if kx < ky {
			return -1
		}
		return 1
	}
	if kx != 0 {
		return 0
	}
	return rx.Cmp(ry)
}

func (f ofmt) oMinMax(a, b uint64, isMax bool) (uint64, Flags) {
	x, y := f.decode(a), f.decode(b)
	fl := nvFlag(x.kind == kSNaN || y.kind == kSNaN)
	switch {
	case x.nan() && y.nan():
		return f.canon(), fl
	case x.nan():
		return b, fl
	case y.nan():
		return a, fl
	}
	c := ocmp(x, y)
	if c == 0 && x.kind == kZero && y.kind == kZero && x.neg != y.neg {
		// -0 < +0 for minimumNumber/maximumNumber
		if x.neg {
			c = -1
		} else {
			c = 1
		}
	}
	if (c <= 0) != isMax {
		return a, fl
	}
	if c == 0 {
		return a, fl
	}
	return b, fl
}

// oCompare returns a==b, a<b, a<=b and the flags of FEQ, FLT/FLE.
func (f ofmt) oCompare(a, b uint64) (eq, lt, le bool, eqFl, ltFl Flags) {
	x, y := f.decode(a), f.decode(b)
	if x.nan() || y.nan() {
		return false, false, false, nvFlag(x.kind == kSNaN || y.kind == kSNaN), NV
	}
	c := ocmp(x, y)
	return c == 0, c < 0, c <= 0, 0, 0
}

func (f ofmt) oClass(a uint64) uint64 {
	x := f.decode(a)
	var bit uint
	switch x.kind {
	case kInf:
		bit = 7
	case kSNaN:
		return 1 << 8
	case kQNaN:
		return 1 << 9
	case kZero:
		bit = 4
	default:
		if x.sub {
			bit = 5
		} else {
			bit = 6
		}
	}
	if x.neg {
		bit = 7 - bit
	}
	return 1 << bit
}
