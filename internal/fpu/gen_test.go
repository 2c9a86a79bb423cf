package fpu

import (
	"math/rand/v2"
)

// gen produces biased random operands of one format: special values,
// subnormals, values near the extreme exponents, significands with few
// significant bits (which make exact results and exact ties likely) or long
// runs of ones, and operands related to each other (nearby exponents,
// near-cancellation, products and quotients close to representable values).
type gen struct {
	r *rand.Rand
	f ofmt
}

func newGen(f ofmt, seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, 0x5eed^uint64(f.width))), f: f}
}

func (g *gen) make(neg bool, e, m uint64) uint64 {
	f := g.f
	b := (e&f.expField())<<f.mbits() | m&(1<<f.mbits()-1)
	if neg {
		b |= f.signBit()
	}
	return b
}

func (g *gen) bias() uint64 { return uint64(g.f.emax) }

func (g *gen) specials() []uint64 {
	f := g.f
	mb := uint(f.mbits())
	one := g.bias() << mb
	return []uint64{
		0, 1, 2, 3, 1<<mb - 1, 1<<mb - 2, 1 << (mb - 1), 1<<(mb-1) | 1,
		1 << mb, 1<<mb | 1, 2<<mb - 1, 2 << mb,
		f.maxBits(), f.maxBits() - 1, f.maxBits() &^ (1<<mb - 1),
		f.infBits(), f.canon(), f.infBits() | 1, f.infBits() | 1<<(mb-2), f.canon() | 1, f.infBits() | (1<<mb - 1),
		one, one | 1, one - 1, one + 1<<mb, one - 1<<mb, one | 1<<(mb-1), one + 1<<mb | 1<<(mb-1),
		one | (1<<mb - 1), (g.bias() + uint64(f.prec)) << mb, (g.bias()+uint64(f.prec)-1)<<mb | (1<<mb - 1),
		(g.bias() + 31) << mb, (g.bias() + 32) << mb, (g.bias() + 63) << mb, (g.bias() + 64) << mb,
		(g.bias()+31)<<mb | (1<<mb - 1), (g.bias()+63)<<mb | (1<<mb - 1),
		(g.bias()+30)<<mb | (1<<mb - 1), (g.bias()+62)<<mb | (1<<mb - 1),
	}
}

func (g *gen) special() uint64 {
	s := g.specials()
	v := s[g.r.IntN(len(s))]
	if g.r.IntN(2) == 0 {
		v |= g.f.signBit()
	}
	return v
}

// mant returns a random trailing significand with a biased bit structure.
func (g *gen) mant() uint64 {
	mb := uint(g.f.mbits())
	mask := uint64(1)<<mb - 1
	switch g.r.IntN(8) {
	case 0, 1:
		return g.r.Uint64() & mask
	case 2, 3: // few significant bits: k top bits random
		k := uint(g.r.IntN(int(mb) + 1))
		return (g.r.Uint64() & mask) &^ (mask >> k)
	case 4: // long run of ones at the bottom
		k := uint(g.r.IntN(int(mb) + 1))
		return (g.r.Uint64()&mask)&^(mask>>k) | mask>>k
	case 5: // a single bit
		return 1 << uint(g.r.IntN(int(mb)))
	case 6: // all ones or zero
		if g.r.IntN(2) == 0 {
			return mask
		}
		return 0
	}
	// halfway-ish patterns: a few bits then 1 followed by zeros
	k := uint(g.r.IntN(int(mb)))
	return (g.r.Uint64()&mask)&^(mask>>k) | 1<<(mb-1-k)>>1
}

// exp returns a random biased exponent field for a finite number.
func (g *gen) exp() uint64 {
	maxE := g.f.expField() - 1
	switch g.r.IntN(6) {
	case 0, 1:
		return uint64(g.r.Int64N(int64(maxE) + 1))
	case 2: // near 1.0
		return uint64(int64(g.bias()) + g.r.Int64N(2*int64(g.f.prec)+1) - int64(g.f.prec))
	case 3: // bottom
		return uint64(g.r.IntN(g.f.prec + 3))
	case 4: // top
		return maxE - uint64(g.r.IntN(g.f.prec+3))
	}
	return uint64(int64(g.bias()) + g.r.Int64N(9) - 4)
}

// val returns a random operand.
func (g *gen) val() uint64 {
	neg := g.r.IntN(2) == 0
	switch g.r.IntN(10) {
	case 0:
		return g.special()
	case 1:
		return g.r.Uint64() & (g.f.signBit()<<1 - 1)
	case 2: // subnormal
		return g.make(neg, 0, g.mant())
	}
	return g.make(neg, g.exp(), g.mant())
}

// finite returns a random finite nonzero operand.
func (g *gen) finite() uint64 {
	for {
		v := g.val()
		e := (v >> g.f.mbits()) & g.f.expField()
		if e != g.f.expField() && v&^g.f.signBit() != 0 {
			return v
		}
	}
}

// expOf returns the unbiased exponent of the finite bit pattern v (subnormals
// count as emin).
func (g *gen) expOf(v uint64) int {
	e := int((v >> g.f.mbits()) & g.f.expField())
	if e == 0 {
		e = 1
	}
	return e - g.f.emax
}

// withExp returns v's sign and significand with unbiased exponent e, clamped
// to the finite range (below emin it becomes a subnormal with the
// significand shifted accordingly).
func (g *gen) withExp(v uint64, e int) uint64 {
	f := g.f
	neg := v&f.signBit() != 0
	m := v & (1<<f.mbits() - 1)
	if e > f.emax {
		e = f.emax
	}
	if e >= f.emin {
		return g.make(neg, uint64(e+f.emax), m)
	}
	sh := f.emin - e
	if sh > f.prec {
		sh = f.prec
	}
	full := m | 1<<f.mbits()
	return g.make(neg, 0, full>>uint(sh))
}

// near returns an operand related to a: a few ulps away, with a nearby
// exponent, or negated.
func (g *gen) near(a uint64) uint64 {
	f := g.f
	if (a>>f.mbits())&f.expField() == f.expField() {
		return g.val()
	}
	switch g.r.IntN(5) {
	case 0: // a few ulps away, possibly negated
		d := uint64(g.r.IntN(5))
		b := a + d
		if g.r.IntN(2) == 0 && a&^f.signBit() >= d {
			b = a - d
		}
		if g.r.IntN(2) == 0 {
			b ^= f.signBit()
		}
		return b
	case 1, 2: // nearby exponent, random significand
		d := g.r.IntN(2*f.prec+7) - f.prec - 3
		b := g.withExp(g.make(g.r.IntN(2) == 0, 1, g.mant()), g.expOf(a)+d)
		return b
	case 3: // exponent exactly prec or prec+1 below, with a single-bit
		// or few-bit significand: halfway cases for addition
		d := f.prec + g.r.IntN(3) - 1
		return g.withExp(g.make(g.r.IntN(2) == 0, 1, g.mant()&^(1<<f.mbits()-1>>uint(g.r.IntN(4)))), g.expOf(a)-d)
	}
	return a ^ f.signBit()
}

func (g *gen) rm() uint8 { return uint8(g.r.IntN(5)) }

// The helpers below use the package's own round-to-nearest operations only
// to steer generation towards interesting regions; correctness of the
// results is never assumed.

func (g *gen) mulRNE(a, b uint64) uint64 {
	if g.f.width == 64 {
		r, _ := Mul64(a, b, RNE)
		return r
	}
	r, _ := Mul32(uint32(a), uint32(b), RNE)
	return uint64(r)
}

func (g *gen) addPair() (uint64, uint64) {
	switch g.r.IntN(3) {
	case 0:
		return g.val(), g.val()
	}
	a := g.val()
	return a, g.near(a)
}

// extremeExpPair returns finite operands whose exponents sum (or, with
// diff, differ) to around the underflow or overflow threshold.
func (g *gen) extremeExpPair(diff bool) (uint64, uint64) {
	f := g.f
	var target int
	switch g.r.IntN(3) {
	case 0:
		target = f.emin - g.r.IntN(f.prec+3) + 1
	case 1:
		target = f.emin + g.r.IntN(4) - 2
	default:
		target = f.emax + g.r.IntN(4) - 2
	}
	a := g.finite()
	ea := g.expOf(a)
	eb := target - ea
	if diff {
		eb = ea - target
	}
	return a, g.withExp(g.make(g.r.IntN(2) == 0, 1, g.mant()), eb)
}

func (g *gen) mulPair() (uint64, uint64) {
	switch g.r.IntN(4) {
	case 0:
		return g.val(), g.val()
	case 1, 2:
		return g.extremeExpPair(false)
	}
	// both with few significant bits near 1: exact products and ties
	k := uint(g.r.IntN(g.f.prec/2 + 2))
	mask := uint64(1)<<g.f.mbits() - 1
	a := g.make(g.r.IntN(2) == 0, g.exp(), g.r.Uint64()&mask&^(mask>>k))
	b := g.make(g.r.IntN(2) == 0, g.exp(), g.r.Uint64()&mask&^(mask>>k))
	return a, b
}

func (g *gen) divPair() (uint64, uint64) {
	switch g.r.IntN(4) {
	case 0:
		return g.val(), g.val()
	case 1:
		return g.extremeExpPair(true)
	}
	// a = b*q (rounded) +- a few ulps: quotients that are exact or close
	// to representable numbers and midpoints.
	b := g.finite()
	q := g.finite()
	if g.r.IntN(2) == 0 {
		q = g.withExp(q, g.r.IntN(20)-10)
	}
	a := g.mulRNE(b, q)
	if (a>>g.f.mbits())&g.f.expField() == g.f.expField() {
		return a, b
	}
	a += uint64(g.r.IntN(3))
	return a, b
}

func (g *gen) sqrtArg() uint64 {
	switch g.r.IntN(3) {
	case 0:
		return g.val()
	case 1:
		return g.finite() &^ g.f.signBit()
	}
	// squares of numbers with few significant bits (+- ulps)
	mask := uint64(1)<<g.f.mbits() - 1
	k := uint(g.r.IntN(g.f.prec/2 + 2))
	s := g.make(false, g.exp(), g.r.Uint64()&mask&^(mask>>k))
	a := g.mulRNE(s, s)
	if (a>>g.f.mbits())&g.f.expField() == g.f.expField() || a == 0 {
		return a
	}
	d := uint64(g.r.IntN(3))
	if g.r.IntN(2) == 0 && a > d {
		return a - d
	}
	return a + d
}

func (g *gen) fmaTriple() (uint64, uint64, uint64) {
	switch g.r.IntN(6) {
	case 0:
		return g.val(), g.val(), g.val()
	case 1:
		a, b := g.mulPair()
		return a, b, g.val()
	case 2:
		a, b := g.extremeExpPair(false)
		return a, b, g.near(g.mulRNE(a, b))
	}
	// c close to -(a*b): cancellation, and exact or near-tie results
	a, b := g.mulPair()
	p := g.mulRNE(a, b)
	if (p>>g.f.mbits())&g.f.expField() == g.f.expField() {
		return a, b, g.val()
	}
	c := p ^ g.f.signBit()
	switch g.r.IntN(4) {
	case 0:
		c += uint64(g.r.IntN(3))
	case 1:
		if c&^g.f.signBit() > 2 {
			c -= uint64(g.r.IntN(3))
		}
	case 2:
		c = g.near(c)
	}
	return a, b, c
}
