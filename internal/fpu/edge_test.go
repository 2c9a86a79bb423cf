package fpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Hand-picked edge cases with hand-derived expected results. Each case is
// checked against both the implementation and the oracle, so these tables
// also validate the oracle.

func d(x float64) uint64 { return math.Float64bits(x) }
func s(x float32) uint64 { return uint64(math.Float32bits(x)) }

const (
	one64c   = 0x3ff0000000000000
	maxF64   = 0x7fefffffffffffff
	minNorm  = 0x0010000000000000
	maxSub64 = 0x000fffffffffffff
	pInf64   = 0x7ff0000000000000
	nInf64   = 0xfff0000000000000
	qNaN64   = 0x7ff8000000000000
	sNaN64   = 0x7ff0000000000001
	nQNaN64  = 0xfff8000000000123 // negative quiet NaN with a payload
	nZero64  = 0x8000000000000000

	one32c   = 0x3f800000
	maxF32   = 0x7f7fffff
	pInf32   = 0x7f800000
	nInf32   = 0xff800000
	qNaN32   = 0x7fc00000
	sNaN32   = 0x7f800001
	nQNaN32  = 0xffc00123
	nZero32  = 0x80000000
	minNorm2 = 0x00800000
)

type edgeCase struct {
	op      string
	a, b, c uint64
	rm      uint8
	want    result
}

// all5 expands one case into the five rounding modes with the given
// expected results (RNE, RTZ, RDN, RUP, RMM).
func all5(op string, a, b, c uint64, w [5]result) []edgeCase {
	var cs []edgeCase
	for rm := range uint8(5) {
		cs = append(cs, edgeCase{op, a, b, c, rm, w[rm]})
	}
	return cs
}

// same5 expands a case whose result does not depend on the rounding mode.
func same5(op string, a, b, c uint64, w result) []edgeCase {
	return all5(op, a, b, c, [5]result{w, w, w, w, w})
}

type opPair struct {
	impl, oracle opImpl
}

func edgeOps() map[string]opPair {
	m := map[string]opPair{}
	for _, op := range arithOps() {
		m[op.name] = opPair{op.impls[op.name], op.oracle}
	}
	for _, op := range convOps() {
		op := op
		m[op.name] = opPair{
			func(a, _, _ uint64, rm uint8) result { return op.impl(a, rm) },
			func(a, _, _ uint64, rm uint8) result { return op.oracle(a, rm) },
		}
	}
	return m
}

func edgeTable() []edgeCase {
	var t []edgeCase
	add := func(cs ...[]edgeCase) {
		for _, c := range cs {
			t = append(t, c...)
		}
	}
	R := func(v uint64, f Flags) result { return result{v, f} }
	p52 := d(1 + 0x1p-52)
	m52 := d(-1 - 0x1p-52)
	add(
		// ---- Add64: halfway cases in every mode
		all5("Add64", one64c, d(0x1p-53), 0, [5]result{R(one64c, NX), R(one64c, NX), R(one64c, NX), R(p52, NX), R(p52, NX)}),
		all5("Add64", p52, d(0x1p-53), 0, [5]result{R(d(1+0x1p-51), NX), R(p52, NX), R(p52, NX), R(d(1+0x1p-51), NX), R(d(1+0x1p-51), NX)}),
		all5("Add64", d(-1), d(-0x1p-53), 0, [5]result{R(d(-1), NX), R(d(-1), NX), R(m52, NX), R(d(-1), NX), R(m52, NX)}),
		all5("Add64", one64c, d(-0x1p-54), 0, [5]result{R(one64c, NX), R(d(1-0x1p-53), NX), R(d(1-0x1p-53), NX), R(one64c, NX), R(one64c, NX)}),
		// overflow: inf or max finite per mode
		all5("Add64", maxF64, maxF64, 0, [5]result{R(pInf64, OF|NX), R(maxF64, OF|NX), R(maxF64, OF|NX), R(pInf64, OF|NX), R(pInf64, OF|NX)}),
		all5("Add64", maxF64|sign64, maxF64|sign64, 0, [5]result{R(nInf64, OF|NX), R(maxF64|sign64, OF|NX), R(nInf64, OF|NX), R(maxF64|sign64, OF|NX), R(nInf64, OF|NX)}),
		// max + half an ulp: a tie at the overflow threshold
		all5("Add64", maxF64, d(0x1p970), 0, [5]result{R(pInf64, OF|NX), R(maxF64, NX), R(maxF64, NX), R(pInf64, OF|NX), R(pInf64, OF|NX)}),
		all5("Add64", maxF64, d(0x1p969), 0, [5]result{R(maxF64, NX), R(maxF64, NX), R(maxF64, NX), R(pInf64, OF|NX), R(maxF64, NX)}),
		// exact zero sums
		all5("Add64", d(1.5), d(-1.5), 0, [5]result{R(0, 0), R(0, 0), R(nZero64, 0), R(0, 0), R(0, 0)}),
		all5("Add64", 1, 1|sign64, 0, [5]result{R(0, 0), R(0, 0), R(nZero64, 0), R(0, 0), R(0, 0)}),
		all5("Add64", 0, nZero64, 0, [5]result{R(0, 0), R(0, 0), R(nZero64, 0), R(0, 0), R(0, 0)}),
		same5("Add64", nZero64, nZero64, 0, R(nZero64, 0)),
		same5("Add64", 0, 0, 0, R(0, 0)),
		same5("Add64", nZero64, d(-0x1p-1074), 0, R(d(-0x1p-1074), 0)),
		// subnormal results of addition are exact: no UF
		same5("Add64", minNorm, 1|sign64, 0, R(maxSub64, 0)),
		same5("Add64", maxSub64, 1, 0, R(minNorm, 0)),
		// infinities and NaNs
		same5("Add64", pInf64, nInf64, 0, R(qNaN64, NV)),
		same5("Add64", pInf64, pInf64, 0, R(pInf64, 0)),
		same5("Add64", nInf64, maxF64, 0, R(nInf64, 0)),
		same5("Add64", sNaN64, one64c, 0, R(qNaN64, NV)),
		same5("Add64", one64c, sNaN64|sign64, 0, R(qNaN64, NV)),
		same5("Add64", qNaN64, one64c, 0, R(qNaN64, 0)),
		same5("Add64", nQNaN64, one64c, 0, R(qNaN64, 0)),
		same5("Add64", qNaN64, sNaN64, 0, R(qNaN64, NV)),
		same5("Add64", qNaN64, pInf64, 0, R(qNaN64, 0)),
		// ---- Sub64
		all5("Sub64", one64c, one64c, 0, [5]result{R(0, 0), R(0, 0), R(nZero64, 0), R(0, 0), R(0, 0)}),
		same5("Sub64", nZero64, 0, 0, R(nZero64, 0)),
		all5("Sub64", 0, 0, 0, [5]result{R(0, 0), R(0, 0), R(nZero64, 0), R(0, 0), R(0, 0)}),
		same5("Sub64", pInf64, pInf64, 0, R(qNaN64, NV)),
		same5("Sub64", pInf64, nInf64, 0, R(pInf64, 0)),

		// ---- Mul64: underflow, tininess after rounding
		all5("Mul64", 1, d(0.5), 0, [5]result{R(0, UF|NX), R(0, UF|NX), R(0, UF|NX), R(1, UF|NX), R(1, UF|NX)}),
		all5("Mul64", 1|sign64, d(0.5), 0, [5]result{R(nZero64, UF|NX), R(nZero64, UF|NX), R(1|sign64, UF|NX), R(nZero64, UF|NX), R(1|sign64, UF|NX)}),
		all5("Mul64", 3, d(0.5), 0, [5]result{R(2, UF|NX), R(1, UF|NX), R(1, UF|NX), R(2, UF|NX), R(2, UF|NX)}),
		// (1-2^-27) * (1+2^-27)*2^-1022 = 2^-1022*(1-2^-54): rounded to 53
		// bits with unbounded exponent this is 2^-1022 under RNE, RUP, RMM
		// (not tiny: no UF) but 2^-1022*(1-2^-53) under RTZ, RDN (tiny).
		all5("Mul64", d(1-0x1p-27), 0x0010000002000000, 0, [5]result{R(minNorm, NX), R(maxSub64, UF|NX), R(maxSub64, UF|NX), R(minNorm, NX), R(minNorm, NX)}),
		// (2-2^-52)*2^-1022 * 0.5 = 2^-1022 - 2^-1075: exact with 53 bits
		// and unbounded exponent, hence tiny in every mode.
		all5("Mul64", 0x001fffffffffffff, d(0.5), 0, [5]result{R(minNorm, UF|NX), R(maxSub64, UF|NX), R(maxSub64, UF|NX), R(minNorm, UF|NX), R(minNorm, UF|NX)}),
		same5("Mul64", minNorm, d(0.5), 0, R(0x0008000000000000, 0)), // tiny but exact: no UF
		all5("Mul64", maxF64, d(2), 0, [5]result{R(pInf64, OF|NX), R(maxF64, OF|NX), R(maxF64, OF|NX), R(pInf64, OF|NX), R(pInf64, OF|NX)}),
		all5("Mul64", maxF64, d(-2), 0, [5]result{R(nInf64, OF|NX), R(maxF64|sign64, OF|NX), R(nInf64, OF|NX), R(maxF64|sign64, OF|NX), R(nInf64, OF|NX)}),
		all5("Mul64", p52, p52, 0, [5]result{R(d(1+0x1p-51), NX), R(d(1+0x1p-51), NX), R(d(1+0x1p-51), NX), R(d(1+0x1p-51+0x1p-52), NX), R(d(1+0x1p-51), NX)}),
		// 3 * (1+3*2^-52) = 3 + 4.5*2^-51: an exact tie, RMM differs from RNE
		all5("Mul64", d(3), 0x3ff0000000000003, 0, [5]result{R(0x4008000000000004, NX), R(0x4008000000000004, NX), R(0x4008000000000004, NX), R(0x4008000000000005, NX), R(0x4008000000000005, NX)}),
		all5("Mul64", d(-3), 0x3ff0000000000003, 0, [5]result{R(0xc008000000000004, NX), R(0xc008000000000004, NX), R(0xc008000000000005, NX), R(0xc008000000000004, NX), R(0xc008000000000005, NX)}),
		same5("Mul64", 0, pInf64, 0, R(qNaN64, NV)),
		same5("Mul64", nInf64, nZero64, 0, R(qNaN64, NV)),
		same5("Mul64", nZero64, d(5), 0, R(nZero64, 0)),
		same5("Mul64", pInf64, d(-2), 0, R(nInf64, 0)),
		same5("Mul64", 0, qNaN64, 0, R(qNaN64, 0)),
		same5("Mul64", sNaN64, 0, 0, R(qNaN64, NV)),

		// ---- Div64
		all5("Div64", one64c, d(3), 0, [5]result{R(0x3fd5555555555555, NX), R(0x3fd5555555555555, NX), R(0x3fd5555555555555, NX), R(0x3fd5555555555556, NX), R(0x3fd5555555555555, NX)}),
		all5("Div64", d(-1), d(3), 0, [5]result{R(0xbfd5555555555555, NX), R(0xbfd5555555555555, NX), R(0xbfd5555555555556, NX), R(0xbfd5555555555555, NX), R(0xbfd5555555555555, NX)}),
		same5("Div64", d(6), d(3), 0, R(d(2), 0)),
		same5("Div64", one64c, 0, 0, R(pInf64, DZ)),
		same5("Div64", d(-1), 0, 0, R(nInf64, DZ)),
		same5("Div64", one64c, nZero64, 0, R(nInf64, DZ)),
		same5("Div64", 0, 0, 0, R(qNaN64, NV)),
		same5("Div64", pInf64, nInf64, 0, R(qNaN64, NV)),
		same5("Div64", pInf64, 0, 0, R(pInf64, 0)),
		same5("Div64", 0, pInf64, 0, R(0, 0)),
		same5("Div64", d(-5), pInf64, 0, R(nZero64, 0)),
		same5("Div64", qNaN64, 0, 0, R(qNaN64, 0)),
		same5("Div64", sNaN64, one64c, 0, R(qNaN64, NV)),
		all5("Div64", 1, d(2), 0, [5]result{R(0, UF|NX), R(0, UF|NX), R(0, UF|NX), R(1, UF|NX), R(1, UF|NX)}),
		all5("Div64", maxF64, d(0.5), 0, [5]result{R(pInf64, OF|NX), R(maxF64, OF|NX), R(maxF64, OF|NX), R(pInf64, OF|NX), R(pInf64, OF|NX)}),
		// 1/max = 2^-1024 * (1 + 2^-53 + ...): subnormal, inexact
		all5("Div64", one64c, maxF64, 0, [5]result{R(0x0004000000000000, UF|NX), R(0x0004000000000000, UF|NX), R(0x0004000000000000, UF|NX), R(0x0004000000000001, UF|NX), R(0x0004000000000000, UF|NX)}),

		// ---- Sqrt64
		all5("Sqrt64", d(2), 0, 0, [5]result{R(0x3ff6a09e667f3bcd, NX), R(0x3ff6a09e667f3bcc, NX), R(0x3ff6a09e667f3bcc, NX), R(0x3ff6a09e667f3bcd, NX), R(0x3ff6a09e667f3bcd, NX)}),
		same5("Sqrt64", d(4), 0, 0, R(d(2), 0)),
		same5("Sqrt64", nZero64, 0, 0, R(nZero64, 0)),
		same5("Sqrt64", 0, 0, 0, R(0, 0)),
		same5("Sqrt64", d(-1), 0, 0, R(qNaN64, NV)),
		same5("Sqrt64", 1|sign64, 0, 0, R(qNaN64, NV)),
		same5("Sqrt64", nInf64, 0, 0, R(qNaN64, NV)),
		same5("Sqrt64", pInf64, 0, 0, R(pInf64, 0)),
		same5("Sqrt64", 1, 0, 0, R(d(0x1p-537), 0)),
		same5("Sqrt64", sNaN64, 0, 0, R(qNaN64, NV)),
		same5("Sqrt64", nQNaN64, 0, 0, R(qNaN64, 0)),
		all5("Sqrt64", maxF64, 0, 0, [5]result{R(0x5fefffffffffffff, NX), R(0x5fefffffffffffff, NX), R(0x5fefffffffffffff, NX), R(0x5ff0000000000000, NX), R(0x5fefffffffffffff, NX)}),

		// ---- FMA64
		same5("FMA64", 0, pInf64, qNaN64, R(qNaN64, NV)), // NV even with a quiet NaN addend
		same5("FMA64", nInf64, 0, qNaN64, R(qNaN64, NV)),
		same5("FMA64", 0, pInf64, one64c, R(qNaN64, NV)),
		same5("FMA64", qNaN64, 0, pInf64, R(qNaN64, 0)),
		same5("FMA64", one64c, one64c, sNaN64, R(qNaN64, NV)),
		same5("FMA64", pInf64, one64c, nInf64, R(qNaN64, NV)),
		same5("FMA64", pInf64, d(-1), nInf64, R(nInf64, 0)),
		same5("FMA64", one64c, one64c, pInf64, R(pInf64, 0)),
		same5("FMA64", maxF64, d(2), nInf64, R(nInf64, 0)),
		all5("FMA64", one64c, one64c, d(-1), [5]result{R(0, 0), R(0, 0), R(nZero64, 0), R(0, 0), R(0, 0)}),
		all5("FMA64", 0, d(-1), 0, [5]result{R(0, 0), R(0, 0), R(nZero64, 0), R(0, 0), R(0, 0)}),
		same5("FMA64", nZero64, one64c, nZero64, R(nZero64, 0)),
		same5("FMA64", d(2), d(3), nZero64, R(d(6), 0)),
		same5("FMA64", maxF64, d(2), maxF64|sign64, R(maxF64, 0)), // no intermediate overflow
		same5("FMA64", p52, d(1-0x1p-52), d(-1), R(d(-0x1p-104), 0)),
		same5("FMA64", d(1+0x1p-30), d(1+0x1p-30), d(-1-0x1p-29), R(d(0x1p-60), 0)),
		all5("FMA64", 1, d(0.5), 0, [5]result{R(0, UF|NX), R(0, UF|NX), R(0, UF|NX), R(1, UF|NX), R(1, UF|NX)}),
		all5("FMA64", 1, d(0.5), nZero64, [5]result{R(0, UF|NX), R(0, UF|NX), R(0, UF|NX), R(1, UF|NX), R(1, UF|NX)}),
		all5("FMA64", 1, d(-0.5), 0, [5]result{R(nZero64, UF|NX), R(nZero64, UF|NX), R(1|sign64, UF|NX), R(nZero64, UF|NX), R(1|sign64, UF|NX)}),
		all5("FMA64", d(3), 0x3ff0000000000003, 0, [5]result{R(0x4008000000000004, NX), R(0x4008000000000004, NX), R(0x4008000000000004, NX), R(0x4008000000000005, NX), R(0x4008000000000005, NX)}),
		same5("FMA64", maxF64, d(1.5), maxF64|sign64, R(0x7fdfffffffffffff, 0)), // 1.5*max overflows only if rounded

		// ---- binary32 arithmetic
		all5("Add32", one32c, s(0x1p-24), 0, [5]result{R(one32c, NX), R(one32c, NX), R(one32c, NX), R(0x3f800001, NX), R(0x3f800001, NX)}),
		all5("Add32", s(1.5), s(-1.5), 0, [5]result{R(0, 0), R(0, 0), R(nZero32, 0), R(0, 0), R(0, 0)}),
		all5("Add32", maxF32, maxF32, 0, [5]result{R(pInf32, OF|NX), R(maxF32, OF|NX), R(maxF32, OF|NX), R(pInf32, OF|NX), R(pInf32, OF|NX)}),
		same5("Add32", pInf32, nInf32, 0, R(qNaN32, NV)),
		same5("Add32", sNaN32, one32c, 0, R(qNaN32, NV)),
		same5("Add32", nQNaN32, one32c, 0, R(qNaN32, 0)),
		// exact value 1 + 2^-23 + 2^-24 - 2^-64 rounds to a binary32
		// midpoint in binary64: a naive double rounding gives 0x3f800002.
		all5("FMA32", 0x3f800008, 0x337ffff0, 0x3f800001, [5]result{R(0x3f800001, NX), R(0x3f800001, NX), R(0x3f800001, NX), R(0x3f800002, NX), R(0x3f800001, NX)}),
		same5("FMA32", 0, pInf32, qNaN32, R(qNaN32, NV)),
		all5("FMA32", one32c, one32c, s(-1), [5]result{R(0, 0), R(0, 0), R(nZero32, 0), R(0, 0), R(0, 0)}),
		all5("Mul32", 1, s(0.5), 0, [5]result{R(0, UF|NX), R(0, UF|NX), R(0, UF|NX), R(1, UF|NX), R(1, UF|NX)}),
		all5("Mul32", 0x00ffffff, s(0.5), 0, [5]result{R(minNorm2, UF|NX), R(0x007fffff, UF|NX), R(0x007fffff, UF|NX), R(minNorm2, UF|NX), R(minNorm2, UF|NX)}),
		all5("Mul32", maxF32, s(2), 0, [5]result{R(pInf32, OF|NX), R(maxF32, OF|NX), R(maxF32, OF|NX), R(pInf32, OF|NX), R(pInf32, OF|NX)}),
		same5("Mul32", 0, nInf32, 0, R(qNaN32, NV)),
		all5("Div32", one32c, s(3), 0, [5]result{R(0x3eaaaaab, NX), R(0x3eaaaaaa, NX), R(0x3eaaaaaa, NX), R(0x3eaaaaab, NX), R(0x3eaaaaab, NX)}),
		same5("Div32", s(-1), 0, 0, R(nInf32, DZ)),
		same5("Div32", 0, 0, 0, R(qNaN32, NV)),
		all5("Sqrt32", s(2), 0, 0, [5]result{R(0x3fb504f3, NX), R(0x3fb504f3, NX), R(0x3fb504f3, NX), R(0x3fb504f4, NX), R(0x3fb504f3, NX)}),
		same5("Sqrt32", nZero32, 0, 0, R(nZero32, 0)),
		same5("Sqrt32", s(-2), 0, 0, R(qNaN32, NV)),

		// ---- F64ToF32
		all5("F64ToF32", maxF64, 0, 0, [5]result{R(pInf32, OF|NX), R(maxF32, OF|NX), R(maxF32, OF|NX), R(pInf32, OF|NX), R(pInf32, OF|NX)}),
		all5("F64ToF32", maxF64|sign64, 0, 0, [5]result{R(nInf32, OF|NX), R(maxF32|nZero32, OF|NX), R(nInf32, OF|NX), R(maxF32|nZero32, OF|NX), R(nInf32, OF|NX)}),
		// max32 + half an ulp
		all5("F64ToF32", 0x47effffff0000000, 0, 0, [5]result{R(pInf32, OF|NX), R(maxF32, NX), R(maxF32, NX), R(pInf32, OF|NX), R(pInf32, OF|NX)}),
		same5("F64ToF32", 0x47efffffe0000000, 0, 0, R(maxF32, 0)),
		all5("F64ToF32", d(0x1p-150), 0, 0, [5]result{R(0, UF|NX), R(0, UF|NX), R(0, UF|NX), R(1, UF|NX), R(1, UF|NX)}),
		all5("F64ToF32", d(0x1p-150)+1, 0, 0, [5]result{R(1, UF|NX), R(0, UF|NX), R(0, UF|NX), R(1, UF|NX), R(1, UF|NX)}),
		same5("F64ToF32", d(0x1p-149), 0, 0, R(1, 0)),
		// 2^-126*(1-2^-26): not tiny after rounding under RNE
		all5("F64ToF32", 0x380ffffff8000000, 0, 0, [5]result{R(minNorm2, NX), R(0x007fffff, UF|NX), R(0x007fffff, UF|NX), R(minNorm2, NX), R(minNorm2, NX)}),
		all5("F64ToF32", d(1+0x1p-24), 0, 0, [5]result{R(one32c, NX), R(one32c, NX), R(one32c, NX), R(0x3f800001, NX), R(0x3f800001, NX)}),
		same5("F64ToF32", sNaN64, 0, 0, R(qNaN32, NV)),
		same5("F64ToF32", nQNaN64, 0, 0, R(qNaN32, 0)),
		same5("F64ToF32", nInf64, 0, 0, R(nInf32, 0)),
		same5("F64ToF32", nZero64, 0, 0, R(nZero32, 0)),
		all5("F64ToF32", d(1e-300), 0, 0, [5]result{R(0, UF|NX), R(0, UF|NX), R(0, UF|NX), R(1, UF|NX), R(0, UF|NX)}),
		// ---- F32ToF64
		same5("F32ToF64", sNaN32, 0, 0, R(qNaN64, NV)),
		same5("F32ToF64", nQNaN32, 0, 0, R(qNaN64, 0)),
		same5("F32ToF64", 1, 0, 0, R(d(0x1p-149), 0)),
		same5("F32ToF64", nInf32, 0, 0, R(nInf64, 0)),
		same5("F32ToF64", nZero32, 0, 0, R(nZero64, 0)),
		same5("F32ToF64", maxF32, 0, 0, R(0x47efffffe0000000, 0)),

		// ---- integer to float
		all5("I64ToF64", 1<<53+1, 0, 0, [5]result{R(d(0x1p53), NX), R(d(0x1p53), NX), R(d(0x1p53), NX), R(d(0x1p53+2), NX), R(d(0x1p53+2), NX)}),
		all5("I64ToF64", -(1<<53+1)&(1<<64-1), 0, 0, [5]result{R(d(-0x1p53), NX), R(d(-0x1p53), NX), R(d(-0x1p53-2), NX), R(d(-0x1p53), NX), R(d(-0x1p53-2), NX)}),
		same5("I64ToF64", 1<<63, 0, 0, R(d(-0x1p63), 0)),
		all5("U64ToF64", math.MaxUint64, 0, 0, [5]result{R(d(0x1p64), NX), R(d(0x1p64-2048), NX), R(d(0x1p64-2048), NX), R(d(0x1p64), NX), R(d(0x1p64), NX)}),
		same5("I32ToF64", 1<<31, 0, 0, R(d(-0x1p31), 0)),
		same5("U32ToF64", math.MaxUint32, 0, 0, R(d(0x1p32-1), 0)),
		same5("I32ToF64", 0, 0, 0, R(0, 0)),
		all5("I32ToF32", 1<<24+1, 0, 0, [5]result{R(s(0x1p24), NX), R(s(0x1p24), NX), R(s(0x1p24), NX), R(s(0x1p24+2), NX), R(s(0x1p24+2), NX)}),
		all5("I32ToF32", 1<<24+3, 0, 0, [5]result{R(s(0x1p24+4), NX), R(s(0x1p24+2), NX), R(s(0x1p24+2), NX), R(s(0x1p24+4), NX), R(s(0x1p24+4), NX)}),
		all5("U32ToF32", math.MaxUint32, 0, 0, [5]result{R(s(0x1p32), NX), R(s(0x1p32-256), NX), R(s(0x1p32-256), NX), R(s(0x1p32), NX), R(s(0x1p32), NX)}),
		same5("I64ToF32", 1<<63, 0, 0, R(s(-0x1p63), 0)),
		all5("U64ToF32", math.MaxUint64, 0, 0, [5]result{R(s(0x1p64), NX), R(0x5f7fffff, NX), R(0x5f7fffff, NX), R(s(0x1p64), NX), R(s(0x1p64), NX)}),
	)
	return t
}

func TestEdgeTable(t *testing.T) {
	ops := edgeOps()
	for _, c := range edgeTable() {
		op, ok := ops[c.op]
		if !ok {
			t.Fatalf("unknown op %s", c.op)
		}
		name := fmt.Sprintf("%s(%#x,%#x,%#x,rm=%d)", c.op, c.a, c.b, c.c, c.rm)
		if diff := cmp.Diff(c.want, op.impl(c.a, c.b, c.c, c.rm)); diff != "" {
			t.Errorf("%s: implementation mismatch (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(c.want, op.oracle(c.a, c.b, c.c, c.rm)); diff != "" {
			t.Errorf("%s: oracle mismatch (-want +got):\n%s", name, diff)
		}
	}
}

// edgeValues returns boundary operands of format f.
func edgeValues(f ofmt, small bool) []uint64 {
	g := &gen{f: f}
	mb := uint(f.mbits())
	one := uint64(f.emax) << mb
	v := []uint64{
		0, 1, 2, 3, 1<<mb - 1, 1 << mb, 1<<mb | 1, 2<<mb - 1, 1 << (mb - 1),
		f.maxBits(), f.maxBits() - 1, f.infBits(), f.canon(), f.infBits() | 1,
		one, one | 1, one - 1, one + 1<<mb, one - 1<<mb, one | 1<<(mb-1),
		(uint64(f.emax) + uint64(f.prec)) << mb, (uint64(f.emax)-uint64(f.prec))<<mb | 1,
	}
	if small {
		v = []uint64{0, 1, 1<<mb - 1, 1 << mb, f.maxBits(), f.infBits(), f.canon(), f.infBits() | 1,
			one, one | 1, one - 1, one | 1<<(mb-1), (uint64(f.emax)-uint64(f.prec))<<mb | 1}
	}
	_ = g
	n := len(v)
	for i := range n {
		v = append(v, v[i]|f.signBit())
	}
	return v
}

// TestEdgeCross runs every pair (and for FMA, triple) of boundary operands
// through every operation and rounding mode, against the oracle.
func TestEdgeCross(t *testing.T) {
	for _, op := range arithOps() {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel()
			vals := edgeValues(op.f, op.arity == 3)
			rep := &mismatchReporter{t: t, name: op.name}
			impl := op.impls[op.name]
			var bs, cs = []uint64{0}, []uint64{0}
			if op.arity >= 2 {
				bs = vals
			}
			if op.arity == 3 {
				cs = vals
			}
			for _, a := range vals {
				for _, b := range bs {
					for _, c := range cs {
						for rm := range uint8(5) {
							rep.check(fmtArgs(op.f, op.arity, a, b, c), rm, impl(a, b, c, rm), op.oracle(a, b, c, rm))
						}
					}
				}
			}
		})
	}
}
