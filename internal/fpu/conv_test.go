package fpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The FCVT saturation table of the RISC-V specification (section 11.7,
// "Single-Precision Floating-Point Conversion and Move Instructions"):
//
//	                  FCVT.W   FCVT.WU  FCVT.L   FCVT.LU
//	min valid input   -2^31    0        -2^63    0
//	max valid input   2^31-1   2^32-1   2^63-1   2^64-1
//	invalid, too low  -2^31    0        -2^63    0
//	invalid, too high 2^31-1   2^32-1   2^63-1   2^64-1
//	NaN               2^31-1   2^32-1   2^63-1   2^64-1
//
// "Too low/high" applies to the rounded value; out-of-range results raise
// NV only (not NX); in-range inexact results raise NX.

type convCase struct {
	name string
	a    uint64 // source bit pattern
	rm   uint8
	want int64 // expected integer, as int64 bits for the 64-bit unsigned case
	fl   Flags
}

func TestConvertSaturation(t *testing.T) {
	type convFn struct {
		name  string
		src32 bool
		fn    func(a uint64, rm uint8) (int64, Flags)
		cases []convCase
	}
	const (
		wMaxI32 = math.MaxInt32
		wMinI32 = math.MinInt32
		wMaxU32 = math.MaxUint32
		wMaxI64 = math.MaxInt64
		wMinI64 = math.MinInt64
		wMaxU64 = -1 // all ones
	)
	nan64 := []convCase{
		{"qNaN", qNaN64, RNE, 0, NV}, {"sNaN", sNaN64, RTZ, 0, NV}, {"-qNaN", nQNaN64, RDN, 0, NV},
	}
	nan32 := []convCase{
		{"qNaN", qNaN32, RNE, 0, NV}, {"sNaN", sNaN32, RTZ, 0, NV}, {"-qNaN", nQNaN32, RDN, 0, NV},
	}
	withNaN := func(nan []convCase, v int64, cs []convCase) []convCase {
		for _, c := range nan {
			c.want = v
			cs = append(cs, c)
		}
		return cs
	}
	fns := []convFn{
		{name: "F64ToI32", fn: func(a uint64, rm uint8) (int64, Flags) { v, f := F64ToI32(a, rm); return int64(v), f },
			cases: withNaN(nan64, wMaxI32, []convCase{
				{"+inf", pInf64, RNE, wMaxI32, NV},
				{"-inf", nInf64, RNE, wMinI32, NV},
				{"2^31", d(0x1p31), RTZ, wMaxI32, NV},
				{"2^31-1", d(0x1p31 - 1), RNE, wMaxI32, 0},
				{"2^31-0.5 RNE rounds out", d(0x1p31 - 0.5), RNE, wMaxI32, NV},
				{"2^31-0.5 RTZ", d(0x1p31 - 0.5), RTZ, wMaxI32, NX},
				{"2^31-0.5 RUP", d(0x1p31 - 0.5), RUP, wMaxI32, NV},
				{"-2^31", d(-0x1p31), RNE, wMinI32, 0},
				{"-2^31-1", d(-0x1p31 - 1), RTZ, wMinI32, NV},
				{"-2^31-0.5 RNE", d(-0x1p31 - 0.5), RNE, wMinI32, NX},
				{"-2^31-0.5 RTZ", d(-0x1p31 - 0.5), RTZ, wMinI32, NX},
				{"-2^31-0.5 RDN", d(-0x1p31 - 0.5), RDN, wMinI32, NV},
				{"-2^31-0.5 RMM", d(-0x1p31 - 0.5), RMM, wMinI32, NV},
				{"1e10", d(1e10), RNE, wMaxI32, NV},
				{"-1e10", d(-1e10), RNE, wMinI32, NV},
				{"-0", nZero64, RNE, 0, 0},
				{"0.5 RNE", d(0.5), RNE, 0, NX},
				{"0.5 RMM", d(0.5), RMM, 1, NX},
				{"0.5 RUP", d(0.5), RUP, 1, NX},
				{"-0.5 RDN", d(-0.5), RDN, -1, NX},
				{"-0.5 RNE", d(-0.5), RNE, 0, NX},
				{"1.5 RNE", d(1.5), RNE, 2, NX},
				{"2.5 RNE", d(2.5), RNE, 2, NX},
				{"2.5 RMM", d(2.5), RMM, 3, NX},
				{"-2.5 RMM", d(-2.5), RMM, -3, NX},
				{"-2.5 RTZ", d(-2.5), RTZ, -2, NX},
				{"min subnormal RUP", 1, RUP, 1, NX},
				{"min subnormal RDN", 1, RDN, 0, NX},
				{"-min subnormal RDN", 1 | sign64, RDN, -1, NX},
				{"max finite", maxF64, RNE, wMaxI32, NV},
			})},
		{name: "F64ToU32", fn: func(a uint64, rm uint8) (int64, Flags) { v, f := F64ToU32(a, rm); return int64(v), f },
			cases: withNaN(nan64, wMaxU32, []convCase{
				{"+inf", pInf64, RNE, wMaxU32, NV},
				{"-inf", nInf64, RNE, 0, NV},
				{"2^32", d(0x1p32), RNE, wMaxU32, NV},
				{"2^32-1", d(0x1p32 - 1), RNE, wMaxU32, 0},
				{"2^32-0.5 RNE", d(0x1p32 - 0.5), RNE, wMaxU32, NV},
				{"2^32-0.5 RDN", d(0x1p32 - 0.5), RDN, wMaxU32, NX},
				{"-1.0", d(-1), RTZ, 0, NV},
				{"-0.5 RNE", d(-0.5), RNE, 0, NX},
				{"-0.5 RTZ", d(-0.5), RTZ, 0, NX},
				{"-0.5 RUP", d(-0.5), RUP, 0, NX},
				{"-0.5 RDN", d(-0.5), RDN, 0, NV},
				{"-0.5 RMM", d(-0.5), RMM, 0, NV},
				{"-0.75 RNE", d(-0.75), RNE, 0, NV},
				{"-0", nZero64, RNE, 0, 0},
				{"-min subnormal RTZ", 1 | sign64, RTZ, 0, NX},
				{"2^31", d(0x1p31), RNE, 1 << 31, 0},
				{"3.5 RNE", d(3.5), RNE, 4, NX},
			})},
		{name: "F64ToI64", fn: F64ToI64,
			cases: withNaN(nan64, wMaxI64, []convCase{
				{"+inf", pInf64, RNE, wMaxI64, NV},
				{"-inf", nInf64, RNE, wMinI64, NV},
				{"2^63", d(0x1p63), RNE, wMaxI64, NV},
				{"2^63-1024", d(0x1p63 - 1024), RNE, 1<<63 - 1024, 0},
				{"-2^63", d(-0x1p63), RNE, wMinI64, 0},
				{"-2^63-2048", d(-0x1p63 - 2048), RUP, wMinI64, NV},
				{"2^51+0.5 RNE", d(0x1p51 + 0.5), RNE, 1 << 51, NX},
				{"2^51+0.5 RMM", d(0x1p51 + 0.5), RMM, 1<<51 + 1, NX},
				{"2^51+1.5 RNE", d(0x1p51 + 1.5), RNE, 1<<51 + 2, NX},
				{"-0.5 RDN", d(-0.5), RDN, -1, NX},
				{"max finite", maxF64, RTZ, wMaxI64, NV},
				{"-max finite", maxF64 | sign64, RTZ, wMinI64, NV},
				{"1e18", d(1e18), RNE, 1e18, 0},
			})},
		{name: "F64ToU64", fn: func(a uint64, rm uint8) (int64, Flags) { v, f := F64ToU64(a, rm); return int64(v), f },
			cases: withNaN(nan64, wMaxU64, []convCase{
				{"+inf", pInf64, RNE, wMaxU64, NV},
				{"-inf", nInf64, RNE, 0, NV},
				{"2^64", d(0x1p64), RNE, wMaxU64, NV},
				{"2^64-2048", d(0x1p64 - 2048), RNE, -2048, 0},
				{"2^63", d(0x1p63), RNE, wMinI64, 0},
				{"-1.0", d(-1), RNE, 0, NV},
				{"-0.5 RNE", d(-0.5), RNE, 0, NX},
				{"-0.5 RDN", d(-0.5), RDN, 0, NV},
				{"-0", nZero64, RDN, 0, 0},
				{"0.25 RUP", d(0.25), RUP, 1, NX},
			})},
		{name: "F32ToI32", src32: true, fn: func(a uint64, rm uint8) (int64, Flags) { v, f := F32ToI32(uint32(a), rm); return int64(v), f },
			cases: withNaN(nan32, wMaxI32, []convCase{
				{"+inf", pInf32, RNE, wMaxI32, NV},
				{"-inf", nInf32, RNE, wMinI32, NV},
				{"2^31", s(0x1p31), RNE, wMaxI32, NV},
				{"2^31-128", s(0x1p31 - 128), RNE, 1<<31 - 128, 0},
				{"-2^31", s(-0x1p31), RNE, wMinI32, 0},
				{"-2^31-256", s(-0x1p31 - 256), RNE, wMinI32, NV},
				{"-0.5 RDN", s(-0.5), RDN, -1, NX},
				{"2.5 RNE", s(2.5), RNE, 2, NX},
			})},
		{name: "F32ToU32", src32: true, fn: func(a uint64, rm uint8) (int64, Flags) { v, f := F32ToU32(uint32(a), rm); return int64(v), f },
			cases: withNaN(nan32, wMaxU32, []convCase{
				{"+inf", pInf32, RNE, wMaxU32, NV},
				{"-inf", nInf32, RNE, 0, NV},
				{"2^32", s(0x1p32), RNE, wMaxU32, NV},
				{"2^32-256", s(0x1p32 - 256), RNE, 1<<32 - 256, 0},
				{"-1.0", s(-1), RNE, 0, NV},
				{"-0.5 RNE", s(-0.5), RNE, 0, NX},
				{"-0.5 RDN", s(-0.5), RDN, 0, NV},
			})},
		{name: "F32ToI64", src32: true, fn: func(a uint64, rm uint8) (int64, Flags) { return F32ToI64(uint32(a), rm) },
			cases: withNaN(nan32, wMaxI64, []convCase{
				{"+inf", pInf32, RNE, wMaxI64, NV},
				{"-inf", nInf32, RNE, wMinI64, NV},
				{"2^63", s(0x1p63), RNE, wMaxI64, NV},
				{"-2^63", s(-0x1p63), RNE, wMinI64, 0},
				{"2^63-2^39", s(0x1p63 - 0x1p39), RNE, 1<<63 - 1<<39, 0},
				{"-2^63-2^40", s(-0x1p63 - 0x1p40), RNE, wMinI64, NV},
				{"-1.5 RMM", s(-1.5), RMM, -2, NX},
			})},
		{name: "F32ToU64", src32: true, fn: func(a uint64, rm uint8) (int64, Flags) { v, f := F32ToU64(uint32(a), rm); return int64(v), f },
			cases: withNaN(nan32, wMaxU64, []convCase{
				{"+inf", pInf32, RNE, wMaxU64, NV},
				{"-inf", nInf32, RNE, 0, NV},
				{"2^64", s(0x1p64), RNE, wMaxU64, NV},
				{"2^64-2^40", s(0x1p64 - 0x1p40), RNE, -1 << 40, 0},
				{"-1.0", s(-1), RNE, 0, NV},
				{"-0.5 RNE", s(-0.5), RNE, 0, NX},
				{"-0.5 RDN", s(-0.5), RDN, 0, NV},
			})},
	}
	for _, fn := range fns {
		f := of64
		if fn.src32 {
			f = of32
		}
		var lo, hi = minI64, maxI64
		switch fn.name[len(fn.name)-3:] {
		case "I32":
			lo, hi = minI32, maxI32
		case "U32":
			lo, hi = zeroI, maxU32
		case "U64":
			lo, hi = zeroI, maxU64
		}
		for _, c := range fn.cases {
			name := fmt.Sprintf("%s(%s, rm=%d)", fn.name, c.name, c.rm)
			got, gfl := fn.fn(c.a, c.rm)
			if diff := cmp.Diff(result{uint64(c.want), c.fl}, result{uint64(got), gfl}); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
			// The oracle must agree with the table too.
			n, ofl := f.oToInt(c.a, c.rm, lo, hi)
			if diff := cmp.Diff(result{uint64(c.want), c.fl}, bigToResult(n, ofl)); diff != "" {
				t.Errorf("%s: oracle (-want +got):\n%s", name, diff)
			}
		}
	}
}

func TestMinMaxCompareClass(t *testing.T) {
	type mm struct {
		a, b, min, max uint64
		fl             Flags
	}
	tests64 := []mm{
		{0, nZero64, nZero64, 0, 0},
		{nZero64, 0, nZero64, 0, 0},
		{qNaN64, d(1), d(1), d(1), 0},
		{d(1), nQNaN64, d(1), d(1), 0},
		{sNaN64, d(1), d(1), d(1), NV},
		{d(-2), sNaN64, d(-2), d(-2), NV},
		{qNaN64, qNaN64, qNaN64, qNaN64, 0},
		{nQNaN64, qNaN64, qNaN64, qNaN64, 0},
		{sNaN64, qNaN64, qNaN64, qNaN64, NV},
		{nInf64, d(5), nInf64, d(5), 0},
		{pInf64, maxF64, maxF64, pInf64, 0},
		{1, 1 | sign64, 1 | sign64, 1, 0},
		{d(3), d(3), d(3), d(3), 0},
	}
	for _, c := range tests64 {
		gmin, f1 := Min64(c.a, c.b)
		gmax, f2 := Max64(c.a, c.b)
		if diff := cmp.Diff([]result{{c.min, c.fl}, {c.max, c.fl}}, []result{{gmin, f1}, {gmax, f2}}); diff != "" {
			t.Errorf("Min64/Max64(%#x, %#x) (-want +got):\n%s", c.a, c.b, diff)
		}
	}
	// The same table narrowed to binary32.
	for _, c := range tests64 {
		n := func(x uint64) uint32 {
			switch x {
			case sNaN64:
				return sNaN32
			case nQNaN64:
				return nQNaN32
			}
			v, _ := F64ToF32(x, RTZ)
			return v
		}
		gmin, f1 := Min32(n(c.a), n(c.b))
		gmax, f2 := Max32(n(c.a), n(c.b))
		want := []result{{uint64(n(c.min)), c.fl}, {uint64(n(c.max)), c.fl}}
		if c.a == 1 || c.a == maxF64 {
			continue // not distinct in binary32
		}
		if diff := cmp.Diff(want, []result{r32(gmin, f1), r32(gmax, f2)}); diff != "" {
			t.Errorf("Min32/Max32(%#x, %#x) (-want +got):\n%s", n(c.a), n(c.b), diff)
		}
	}

	type cmpCase struct {
		a, b       uint64
		eq, lt, le bool
		eqFl, ltFl Flags
	}
	cmps := []cmpCase{
		{0, nZero64, true, false, true, 0, 0},
		{nZero64, 0, true, false, true, 0, 0},
		{qNaN64, qNaN64, false, false, false, 0, NV},
		{qNaN64, d(1), false, false, false, 0, NV},
		{d(1), sNaN64, false, false, false, NV, NV},
		{nInf64, pInf64, false, true, true, 0, 0},
		{d(1), d(2), false, true, true, 0, 0},
		{d(2), d(1), false, false, false, 0, 0},
		{1, 1, true, false, true, 0, 0},
	}
	for _, c := range cmps {
		eq, f1 := Eq64(c.a, c.b)
		lt, f2 := Lt64(c.a, c.b)
		le, f3 := Le64(c.a, c.b)
		type res struct {
			Eq, Lt, Le       bool
			EqFl, LtFl, LeFl Flags
		}
		if diff := cmp.Diff(res{c.eq, c.lt, c.le, c.eqFl, c.ltFl, c.ltFl}, res{eq, lt, le, f1, f2, f3}); diff != "" {
			t.Errorf("compare64(%#x, %#x) (-want +got):\n%s", c.a, c.b, diff)
		}
	}

	classes := []struct {
		a64  uint64
		a32  uint32
		want uint64
	}{
		{nInf64, nInf32, 1 << 0},
		{d(-1), 0xbf800000, 1 << 1},
		{1 | sign64, 1 | nZero32, 1 << 2},
		{nZero64, nZero32, 1 << 3},
		{0, 0, 1 << 4},
		{maxSub64, 0x007fffff, 1 << 5},
		{minNorm, minNorm2, 1 << 6},
		{pInf64, pInf32, 1 << 7},
		{sNaN64, sNaN32, 1 << 8},
		{0xfff4000000000000, 0xffa00000, 1 << 8},
		{qNaN64, qNaN32, 1 << 9},
		{nQNaN64, nQNaN32, 1 << 9},
	}
	for _, c := range classes {
		if got := Class64(c.a64); got != c.want {
			t.Errorf("Class64(%#x) = %#x, want %#x", c.a64, got, c.want)
		}
		if got := Class32(c.a32); got != c.want {
			t.Errorf("Class32(%#x) = %#x, want %#x", c.a32, got, c.want)
		}
	}
}
