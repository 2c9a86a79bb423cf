package fpu

import (
	"math/big"
	"testing"
)

// Native fuzz targets comparing the implementation with the oracle. Run one
// with e.g. `go test -fuzz=FuzzFMA64 ./internal/fpu/`; plain `go test` runs
// the seed corpus below.

// seeds64 and seeds32 are boundary operands used to seed the corpora.
var (
	seeds64 = []uint64{0, nZero64, 1, maxSub64, minNorm, one64c, 0x3ff0000000000001, 0xbff8000000000000,
		maxF64, pInf64, nInf64, qNaN64, sNaN64, nQNaN64, 0x43e0000000000000, 0x41e0000000000000, 0x3fe0000000000000}
	seeds32 = []uint32{0, nZero32, 1, 0x007fffff, minNorm2, one32c, 0x3f800001, 0xbfc00000,
		maxF32, pInf32, nInf32, qNaN32, sNaN32, nQNaN32, 0x5f000000, 0x4f000000, 0x3f000000}
)

func fuzzCheck(t *testing.T, name, args string, rm uint8, got, want result) {
	t.Helper()
	if got != want {
		t.Fatalf("%s(%s, rm=%d) = %v, want %v", name, args, rm, got, want)
	}
}

func fuzzOp2(f *testing.F, name string) {
	var op arithOp
	for _, o := range arithOps() {
		if o.name == name {
			op = o
		}
	}
	seeds := seeds64
	if op.f.width == 32 {
		seeds = seeds[:0]
		for _, v := range seeds32 {
			seeds = append(seeds, uint64(v))
		}
	}
	for i, a := range seeds {
		f.Add(a, seeds[(i*7+3)%len(seeds)], seeds[(i*5+1)%len(seeds)], uint8(i%5))
	}
	mask := op.f.signBit()<<1 - 1
	f.Fuzz(func(t *testing.T, a, b, c uint64, rm uint8) {
		a, b, c, rm = a&mask, b&mask, c&mask, rm%5
		want := op.oracle(a, b, c, rm)
		for iname, impl := range op.impls {
			fuzzCheck(t, iname, fmtArgs(op.f, op.arity, a, b, c), rm, impl(a, b, c, rm), want)
		}
	})
}

func FuzzAdd64(f *testing.F)  { fuzzOp2(f, "Add64") }
func FuzzSub64(f *testing.F)  { fuzzOp2(f, "Sub64") }
func FuzzMul64(f *testing.F)  { fuzzOp2(f, "Mul64") }
func FuzzDiv64(f *testing.F)  { fuzzOp2(f, "Div64") }
func FuzzSqrt64(f *testing.F) { fuzzOp2(f, "Sqrt64") }
func FuzzFMA64(f *testing.F)  { fuzzOp2(f, "FMA64") }
func FuzzAdd32(f *testing.F)  { fuzzOp2(f, "Add32") }
func FuzzMul32(f *testing.F)  { fuzzOp2(f, "Mul32") }
func FuzzDiv32(f *testing.F)  { fuzzOp2(f, "Div32") }
func FuzzSqrt32(f *testing.F) { fuzzOp2(f, "Sqrt32") }
func FuzzFMA32(f *testing.F)  { fuzzOp2(f, "FMA32") }

func fuzzConv(f *testing.F, name string) {
	var op convOp
	for _, o := range convOps() {
		if o.name == name {
			op = o
		}
	}
	for i, a := range seeds64 {
		f.Add(a, uint8(i%5))
	}
	for i, a := range seeds32 {
		f.Add(uint64(a), uint8(i%5))
	}
	for i := range 64 {
		f.Add(uint64(1)<<i-1, uint8(i%5))
	}
	f.Fuzz(func(t *testing.T, a uint64, rm uint8) {
		rm %= 5
		if op.from.width == 32 && op.name[0] == 'F' {
			a = uint64(uint32(a))
		}
		fuzzCheck(t, op.name, big.NewInt(0).SetUint64(a).Text(16), rm, op.impl(a, rm), op.oracle(a, rm))
	})
}

func FuzzF64ToI32(f *testing.F) { fuzzConv(f, "F64ToI32") }
func FuzzF64ToU32(f *testing.F) { fuzzConv(f, "F64ToU32") }
func FuzzF64ToI64(f *testing.F) { fuzzConv(f, "F64ToI64") }
func FuzzF64ToU64(f *testing.F) { fuzzConv(f, "F64ToU64") }
func FuzzF32ToI64(f *testing.F) { fuzzConv(f, "F32ToI64") }
func FuzzF32ToU32(f *testing.F) { fuzzConv(f, "F32ToU32") }
func FuzzI64ToF64(f *testing.F) { fuzzConv(f, "I64ToF64") }
func FuzzU64ToF64(f *testing.F) { fuzzConv(f, "U64ToF64") }
func FuzzI64ToF32(f *testing.F) { fuzzConv(f, "I64ToF32") }
func FuzzU64ToF32(f *testing.F) { fuzzConv(f, "U64ToF32") }
func FuzzF64ToF32(f *testing.F) { fuzzConv(f, "F64ToF32") }
func FuzzF32ToF64(f *testing.F) { fuzzConv(f, "F32ToF64") }
