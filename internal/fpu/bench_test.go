package fpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the hot paths: round-to-nearest-even on ordinary normal
// operands. Operands come from a table so nothing is constant-folded.

const benchN = 1024

func benchOperands() (a, b, c []uint64) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() uint64 { return math.Float64bits((r.Float64() + 0.5) * math.Ldexp(1, r.IntN(40)-20)) }
	a, b, c = make([]uint64, benchN), make([]uint64, benchN), make([]uint64, benchN)
	for i := range benchN {
		a[i], b[i], c[i] = gen(), gen(), gen()
		if i%2 == 0 {
			c[i] |= sign64
		}
	}
	return
}

func benchOperands32() (a, b, c []uint32) {
	x, y, z := benchOperands()
	a, b, c = make([]uint32, benchN), make([]uint32, benchN), make([]uint32, benchN)
	for i := range benchN {
		a[i], _ = F64ToF32(x[i], RNE)
		b[i], _ = F64ToF32(y[i], RNE)
		c[i], _ = F64ToF32(z[i], RNE)
	}
	return
}

var sinkU64 uint64
var sinkU32 uint32
var sinkFl Flags

func bench2(b *testing.B, rm uint8, fn func(a, b uint64, rm uint8) (uint64, Flags)) {
	x, y, _ := benchOperands()
	var acc uint64
	var fl Flags
	i := 0
	for b.Loop() {
		r, f := fn(x[i&(benchN-1)], y[i&(benchN-1)], rm)
		acc += r
		fl |= f
		i++
	}
	sinkU64, sinkFl = acc, fl
}

func BenchmarkAdd64(b *testing.B)    { bench2(b, RNE, Add64) }
func BenchmarkMul64(b *testing.B)    { bench2(b, RNE, Mul64) }
func BenchmarkDiv64(b *testing.B)    { bench2(b, RNE, Div64) }
func BenchmarkAdd64RUP(b *testing.B) { bench2(b, RUP, Add64) }
func BenchmarkMul64RTZ(b *testing.B) { bench2(b, RTZ, Mul64) }
func BenchmarkDiv64RDN(b *testing.B) { bench2(b, RDN, Div64) }

func BenchmarkSqrt64(b *testing.B) {
	x, _, _ := benchOperands()
	var acc uint64
	i := 0
	for b.Loop() {
		r, _ := Sqrt64(x[i&(benchN-1)], RNE)
		acc += r
		i++
	}
	sinkU64 = acc
}

func benchFMA(b *testing.B, rm uint8) {
	x, y, z := benchOperands()
	var acc uint64
	var fl Flags
	i := 0
	for b.Loop() {
		j := i & (benchN - 1)
		r, f := FMA64(x[j], y[j], z[j], rm)
		acc += r
		fl |= f
		i++
	}
	sinkU64, sinkFl = acc, fl
}

func BenchmarkFMA64(b *testing.B)    { benchFMA(b, RNE) }
func BenchmarkFMA64RUP(b *testing.B) { benchFMA(b, RUP) }
func BenchmarkFMA64RMM(b *testing.B) { benchFMA(b, RMM) }

func bench2_32(b *testing.B, rm uint8, fn func(a, b uint32, rm uint8) (uint32, Flags)) {
	x, y, _ := benchOperands32()
	var acc uint32
	var fl Flags
	i := 0
	for b.Loop() {
		r, f := fn(x[i&(benchN-1)], y[i&(benchN-1)], rm)
		acc += r
		fl |= f
		i++
	}
	sinkU32, sinkFl = acc, fl
}

func BenchmarkAdd32(b *testing.B)    { bench2_32(b, RNE, Add32) }
func BenchmarkMul32(b *testing.B)    { bench2_32(b, RNE, Mul32) }
func BenchmarkDiv32(b *testing.B)    { bench2_32(b, RNE, Div32) }
func BenchmarkAdd32RUP(b *testing.B) { bench2_32(b, RUP, Add32) }

func BenchmarkFMA32(b *testing.B) {
	x, y, z := benchOperands32()
	var acc uint32
	i := 0
	for b.Loop() {
		j := i & (benchN - 1)
		r, _ := FMA32(x[j], y[j], z[j], RNE)
		acc += r
		i++
	}
	sinkU32 = acc
}

func BenchmarkF64ToI64RTZ(b *testing.B) {
	x, _, _ := benchOperands()
	var acc int64
	i := 0
	for b.Loop() {
		r, _ := F64ToI64(x[i&(benchN-1)], RTZ)
		acc += r
		i++
	}
	sinkU64 = uint64(acc)
}

// TestNoAllocs checks that the hot operations never allocate, on fast- and
// slow-path operands alike.
func TestNoAllocs(t *testing.T) {
	x, y, z := benchOperands()
	ops := []struct {
		name string
		fn   func(a, b, c uint64, rm uint8) (uint64, Flags)
	}{
		{"Add64", func(a, b, _ uint64, rm uint8) (uint64, Flags) { return Add64(a, b, rm) }},
		{"Mul64", func(a, b, _ uint64, rm uint8) (uint64, Flags) { return Mul64(a, b, rm) }},
		{"Div64", func(a, b, _ uint64, rm uint8) (uint64, Flags) { return Div64(a, b, rm) }},
		{"FMA64", FMA64},
	}
	slow := [][3]uint64{{1, 1, 1}, {maxF64, maxF64, maxF64}, {qNaN64, 0, pInf64}}
	for _, op := range ops {
		for rm := range uint8(5) {
			allocs := testing.AllocsPerRun(100, func() {
				for i := range 64 {
					r, f := op.fn(x[i], y[i], z[i], rm)
					sinkU64, sinkFl = r, f
				}
				for _, s := range slow {
					r, f := op.fn(s[0], s[1], s[2], rm)
					sinkU64, sinkFl = r, f
				}
			})
			if allocs != 0 {
				t.Errorf("%s rm=%d: %v allocations per run, want 0", op.name, rm, allocs)
			}
		}
	}
}
