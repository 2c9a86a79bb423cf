package fpu

import "math/bits"

// Software binary64 arithmetic on integer significands. These functions are
// exact for every operand and rounding mode; they handle everything the
// fast paths reject (special operands, results near the overflow or
// underflow thresholds, FMA under RMM).

// shr128Jam shifts the 128-bit value hi:lo right by n bits, OR-ing any bit
// shifted out into bit 0.
func shr128Jam(hi, lo uint64, n int) (uint64, uint64) {
	switch {
	case n <= 0:
		return hi, lo
	case n >= 128:
		if hi|lo != 0 {
			return 0, 1
		}
		return 0, 0
	case n >= 64:
		sticky := lo != 0 || hi<<(128-uint(n)) != 0 // Go: x<<64 == 0
		lo = hi >> uint(n-64)
		if sticky {
			lo |= 1
		}
		return 0, lo
	}
	sticky := lo<<(64-uint(n)) != 0
	lo = lo>>uint(n) | hi<<(64-uint(n))
	if sticky {
		lo |= 1
	}
	return hi >> uint(n), lo
}

// fmaSoft64 computes a*b+c with a single rounding. It also implements
// addition (b = 1.0) and multiplication (c = a zero carrying the sign of
// the product, which never changes a nonzero product and gives an exact
// zero product its own sign in every rounding mode).
func fmaSoft64(a, b, c uint64, rm uint8) (uint64, Flags) {
	aInf, bInf, cInf := a&^sign64 == inf64, b&^sign64 == inf64, c&^sign64 == inf64
	aZero, bZero, cZero := a&^sign64 == 0, b&^sign64 == 0, c&^sign64 == 0
	if isNaN64(a) || isNaN64(b) || isNaN64(c) || aInf && bZero || aZero && bInf {
		invalid := isSNaN64(a) || isSNaN64(b) || isSNaN64(c) || aInf && bZero || aZero && bInf
		return CanonicalNaN64, nvIf(invalid)
	}
	ps := (a ^ b) & sign64 // sign of the product
	if aInf || bInf {
		if cInf && c&sign64 != ps {
			return CanonicalNaN64, NV // inf - inf
		}
		return ps | inf64, 0
	}
	if cInf {
		return c, 0
	}
	if aZero || bZero {
		if !cZero {
			return c, 0
		}
		if c&sign64 == ps {
			return c, 0
		}
		return exactZero(rm), 0
	}

	// Product of the normalized significands, in [2^124, 2^126); shift it
	// so that its top bit is bit 125 of hi:lo. Value: hi:lo * 2^(ep-125).
	ea, ma := unpack64(a)
	eb, mb := unpack64(b)
	hi, lo := bits.Mul64(ma, mb)
	ep := ea + eb
	if hi>>61 == 0 {
		hi, lo = hi<<1|lo>>63, lo<<1
	} else {
		ep++
	}
	pneg := ps != 0
	if cZero {
		_, lo = shr128Jam(hi, lo, 63)
		return roundPack(&binary64, pneg, ep, lo, rm)
	}

	// Addend with its top bit also at bit 125: chi:clo * 2^(ec-125).
	ec, mc := unpack64(c)
	chi, clo := mc>>1, mc<<63
	cneg := c&sign64 != 0

	// Order by magnitude: (bhi:blo, e, neg) is the larger operand.
	var bhi, blo, shi, slo uint64
	var e int
	var neg bool
	if ep > ec || ep == ec && (hi > chi || hi == chi && lo >= clo) {
		bhi, blo, e, neg = hi, lo, ep, pneg
		shi, slo = shr128Jam(chi, clo, ep-ec)
	} else {
		bhi, blo, e, neg = chi, clo, ec, cneg
		shi, slo = shr128Jam(hi, lo, ec-ep)
	}
	// Both operands have at least 20 trailing zero bits, so an alignment
	// shift of at most 1 is exact, and after a larger one the difference
	// keeps its top bit at 124 or 125: the jammed sticky bit stays far below
	// the rounding position (see the note on jamming in fpu.go).
	var rhi, rlo uint64
	if pneg == cneg {
		var carry uint64
		rlo, carry = bits.Add64(blo, slo, 0)
		rhi, _ = bits.Add64(bhi, shi, carry)
	} else {
		var borrow uint64
		rlo, borrow = bits.Sub64(blo, slo, 0)
		rhi, _ = bits.Sub64(bhi, shi, borrow)
		if rhi|rlo == 0 {
			return exactZero(rm), 0
		}
	}
	// Normalize hi:lo (value * 2^(e-125)) to a 63-bit significand.
	var m int // index of the top set bit
	if rhi != 0 {
		m = 127 - bits.LeadingZeros64(rhi)
	} else {
		m = 63 - bits.LeadingZeros64(rlo)
	}
	var sig uint64
	if m >= 62 {
		_, sig = shr128Jam(rhi, rlo, m-62)
	} else {
		sig = rlo << uint(62-m)
	}
	return roundPack(&binary64, neg, e-125+m, sig, rm)
}

// exactZero returns the binary64 zero that an exact zero sum of operands of
// opposite signs produces: +0, except -0 when rounding down.
func exactZero(rm uint8) uint64 {
	if rm == RDN {
		return sign64
	}
	return 0
}

// divSoft64 computes a/b with a single rounding.
func divSoft64(a, b uint64, rm uint8) (uint64, Flags) {
	if isNaN64(a) || isNaN64(b) {
		return CanonicalNaN64, nvIf(isSNaN64(a) || isSNaN64(b))
	}
	s := (a ^ b) & sign64
	aInf, bInf := a&^sign64 == inf64, b&^sign64 == inf64
	aZero, bZero := a&^sign64 == 0, b&^sign64 == 0
	switch {
	case aInf && bInf, aZero && bZero:
		return CanonicalNaN64, NV
	case aInf:
		return s | inf64, 0
	case bInf, aZero:
		return s, 0
	case bZero:
		return s | inf64, DZ
	}
	ea, ma := unpack64(a)
	eb, mb := unpack64(b)
	// q = floor(ma * 2^63 / mb) lies in (2^62, 2^64) since ma/mb is in
	// (1/2, 2); a nonzero remainder is the sticky bit.
	q, rem := bits.Div64(ma>>1, ma<<63, mb)
	var sig uint64
	var e int
	if q>>63 != 0 {
		sig, e = q>>1|q&1, ea-eb
	} else {
		sig, e = q, ea-eb-1
	}
	if rem != 0 {
		sig |= 1
	}
	return roundPack(&binary64, s != 0, e, sig, rm)
}
