package fpu

import (
	"fmt"
	"math"
	"math/big"
	"testing"
)

// Randomized differential tests against the math/big oracle.

func randomCount(t *testing.T, n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

// result is an operation outcome: a value (bit pattern or integer) and flags.
type result struct {
	V  uint64
	Fl Flags
}

func (r result) String() string { return fmt.Sprintf("%#x/%s", r.V, flagString(r.Fl)) }

func flagString(f Flags) string {
	s := ""
	for i, n := range []string{"NX", "UF", "OF", "DZ", "NV"} {
		if f&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if s == "" {
		return "-"
	}
	return s
}

type opImpl func(a, b, c uint64, rm uint8) result

// mismatchReporter collects at most a few failures per test.
type mismatchReporter struct {
	t    *testing.T
	n    int
	name string
}

func (m *mismatchReporter) check(args string, rm uint8, got, want result) {
	if got == want {
		return
	}
	m.n++
	if m.n <= 15 {
		m.t.Errorf("%s(%s, rm=%d) = %v, want %v", m.name, args, rm, got, want)
	}
	if m.n == 15 {
		m.t.Fatalf("%s: too many mismatches", m.name)
	}
}

func r64(v uint64, f Flags) result { return result{v, f} }
func r32(v uint32, f Flags) result { return result{uint64(v), f} }

// arithOps lists the rounding operations, each with its implementations
// (public and, for binary64, the internal software path), the oracle and a
// generator. Unary/binary operations ignore the extra arguments.
type arithOp struct {
	name   string
	f      ofmt
	arity  int
	impls  map[string]opImpl
	oracle opImpl
	gen    func(g *gen) (uint64, uint64, uint64)
}

func arithOps() []arithOp {
	pair := func(fn func(g *gen) (uint64, uint64)) func(g *gen) (uint64, uint64, uint64) {
		return func(g *gen) (uint64, uint64, uint64) { a, b := fn(g); return a, b, 0 }
	}
	unary := func(fn func(g *gen) uint64) func(g *gen) (uint64, uint64, uint64) {
		return func(g *gen) (uint64, uint64, uint64) { return fn(g), 0, 0 }
	}
	ops := []arithOp{
		{name: "Add64", f: of64, arity: 2, gen: pair((*gen).addPair),
			impls: map[string]opImpl{
				"Add64":   func(a, b, _ uint64, rm uint8) result { return r64(Add64(a, b, rm)) },
				"addSoft": func(a, b, _ uint64, rm uint8) result { return r64(fmaSoft64(a, one64, b, rm)) },
			},
			oracle: func(a, b, _ uint64, rm uint8) result { return r64(of64.oAdd(a, b, rm)) }},
		{name: "Sub64", f: of64, arity: 2, gen: pair((*gen).addPair),
			impls: map[string]opImpl{
				"Sub64": func(a, b, _ uint64, rm uint8) result { return r64(Sub64(a, b, rm)) },
			},
			oracle: func(a, b, _ uint64, rm uint8) result { return r64(of64.oSub(a, b, rm)) }},
		{name: "Mul64", f: of64, arity: 2, gen: pair((*gen).mulPair),
			impls: map[string]opImpl{
				"Mul64":   func(a, b, _ uint64, rm uint8) result { return r64(Mul64(a, b, rm)) },
				"mulSoft": func(a, b, _ uint64, rm uint8) result { return r64(fmaSoft64(a, b, (a^b)&sign64, rm)) },
			},
			oracle: func(a, b, _ uint64, rm uint8) result { return r64(of64.oMul(a, b, rm)) }},
		{name: "Div64", f: of64, arity: 2, gen: pair((*gen).divPair),
			impls: map[string]opImpl{
				"Div64":   func(a, b, _ uint64, rm uint8) result { return r64(Div64(a, b, rm)) },
				"divSoft": func(a, b, _ uint64, rm uint8) result { return r64(divSoft64(a, b, rm)) },
			},
			oracle: func(a, b, _ uint64, rm uint8) result { return r64(of64.oDiv(a, b, rm)) }},
		{name: "Sqrt64", f: of64, arity: 1, gen: unary((*gen).sqrtArg),
			impls: map[string]opImpl{
				"Sqrt64": func(a, _, _ uint64, rm uint8) result { return r64(Sqrt64(a, rm)) },
			},
			oracle: func(a, _, _ uint64, rm uint8) result { return r64(of64.oSqrt(a, rm)) }},
		{name: "FMA64", f: of64, arity: 3, gen: (*gen).fmaTriple,
			impls: map[string]opImpl{
				"FMA64":   func(a, b, c uint64, rm uint8) result { return r64(FMA64(a, b, c, rm)) },
				"fmaSoft": func(a, b, c uint64, rm uint8) result { return r64(fmaSoft64(a, b, c, rm)) },
			},
			oracle: func(a, b, c uint64, rm uint8) result { return r64(of64.oFMA(a, b, c, rm)) }},

		{name: "Add32", f: of32, arity: 2, gen: pair((*gen).addPair),
			impls: map[string]opImpl{
				"Add32": func(a, b, _ uint64, rm uint8) result { return r32(Add32(uint32(a), uint32(b), rm)) },
			},
			oracle: func(a, b, _ uint64, rm uint8) result { return r64(of32.oAdd(a, b, rm)) }},
		{name: "Sub32", f: of32, arity: 2, gen: pair((*gen).addPair),
			impls: map[string]opImpl{
				"Sub32": func(a, b, _ uint64, rm uint8) result { return r32(Sub32(uint32(a), uint32(b), rm)) },
			},
			oracle: func(a, b, _ uint64, rm uint8) result { return r64(of32.oSub(a, b, rm)) }},
		{name: "Mul32", f: of32, arity: 2, gen: pair((*gen).mulPair),
			impls: map[string]opImpl{
				"Mul32": func(a, b, _ uint64, rm uint8) result { return r32(Mul32(uint32(a), uint32(b), rm)) },
			},
			oracle: func(a, b, _ uint64, rm uint8) result { return r64(of32.oMul(a, b, rm)) }},
		{name: "Div32", f: of32, arity: 2, gen: pair((*gen).divPair),
			impls: map[string]opImpl{
				"Div32": func(a, b, _ uint64, rm uint8) result { return r32(Div32(uint32(a), uint32(b), rm)) },
			},
			oracle: func(a, b, _ uint64, rm uint8) result { return r64(of32.oDiv(a, b, rm)) }},
		{name: "Sqrt32", f: of32, arity: 1, gen: unary((*gen).sqrtArg),
			impls: map[string]opImpl{
				"Sqrt32": func(a, _, _ uint64, rm uint8) result { return r32(Sqrt32(uint32(a), rm)) },
			},
			oracle: func(a, _, _ uint64, rm uint8) result { return r64(of32.oSqrt(a, rm)) }},
		{name: "FMA32", f: of32, arity: 3, gen: (*gen).fmaTriple,
			impls: map[string]opImpl{
				"FMA32": func(a, b, c uint64, rm uint8) result {
					return r32(FMA32(uint32(a), uint32(b), uint32(c), rm))
				},
			},
			oracle: func(a, b, c uint64, rm uint8) result { return r64(of32.oFMA(a, b, c, rm)) }},
	}
	return ops
}

func fmtArgs(f ofmt, arity int, a, b, c uint64) string {
	w := f.width / 4
	switch arity {
	case 1:
		return fmt.Sprintf("%#0*x", w+2, a)
	case 2:
		return fmt.Sprintf("%#0*x, %#0*x", w+2, a, w+2, b)
	}
	return fmt.Sprintf("%#0*x, %#0*x, %#0*x", w+2, a, w+2, b, w+2, c)
}

func TestRandomArith(t *testing.T) {
	for i, op := range arithOps() {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel()
			g := newGen(op.f, uint64(1000+i))
			n := randomCount(t, 100000)
			reps := map[string]*mismatchReporter{}
			for name := range op.impls {
				reps[name] = &mismatchReporter{t: t, name: name}
			}
			for range n {
				a, b, c := op.gen(g)
				rm := g.rm()
				want := op.oracle(a, b, c, rm)
				for name, impl := range op.impls {
					reps[name].check(fmtArgs(op.f, op.arity, a, b, c), rm, impl(a, b, c, rm), want)
				}
			}
		})
	}
}

// convOp is a conversion checked against the oracle.
type convOp struct {
	name   string
	from   ofmt // source float format, if any
	impl   func(a uint64, rm uint8) result
	oracle func(a uint64, rm uint8) result
	gen    func(g *gen) uint64
}

func bigToResult(n *big.Int, fl Flags) result {
	if n.Sign() < 0 {
		return result{uint64(n.Int64()), fl}
	}
	return result{n.Uint64(), fl}
}

var (
	minI32 = big.NewInt(math.MinInt32)
	maxI32 = big.NewInt(math.MaxInt32)
	maxU32 = new(big.Int).SetUint64(math.MaxUint32)
	minI64 = big.NewInt(math.MinInt64)
	maxI64 = big.NewInt(math.MaxInt64)
	maxU64 = new(big.Int).SetUint64(math.MaxUint64)
	zeroI  = new(big.Int)
)

// intArg generates float operands for float-to-int conversions: values
// near integers, halves and the saturation limits.
func (g *gen) intArg() uint64 {
	switch g.r.IntN(4) {
	case 0:
		return g.val()
	case 1: // near a power-of-two limit
		lims := []int{0, 1, 30, 31, 32, 33, 52, 53, 62, 63, 64, 65}
		e := lims[g.r.IntN(len(lims))]
		v := g.withExp(g.make(g.r.IntN(2) == 0, 1, g.mant()), e)
		if g.r.IntN(2) == 0 {
			v = g.withExp(g.make(g.r.IntN(2) == 0, 1, 0), e) + uint64(g.r.IntN(5)) - 2
		}
		return v
	}
	// k + frac with frac in {0, 1/4, 1/2, 3/4} for small k
	k := g.r.Int64N(1<<uint(g.r.IntN(40))) - 5
	fr := float64(g.r.IntN(4)) / 4
	x := float64(k) + fr
	if g.r.IntN(2) == 0 {
		x = -x
	}
	if g.f.width == 32 {
		return uint64(math.Float32bits(float32(x)))
	}
	return math.Float64bits(x)
}

// intVal generates integers near interesting limits for int-to-float.
func (g *gen) intVal() uint64 {
	switch g.r.IntN(4) {
	case 0:
		return g.r.Uint64()
	case 1:
		return g.r.Uint64() >> uint(g.r.IntN(64))
	case 2: // a few significant bits, possibly followed by ones
		sh := uint(g.r.IntN(64))
		v := (g.r.Uint64() >> uint(g.r.IntN(64))) << sh
		if g.r.IntN(2) == 0 {
			v |= 1<<sh - 1
		}
		if g.r.IntN(2) == 0 {
			v = -v
		}
		return v
	}
	k := uint(g.r.IntN(64))
	return 1<<k + uint64(g.r.IntN(5)) - 2
}

func convOps() []convOp {
	f2i := func(f ofmt, lo, hi *big.Int) func(a uint64, rm uint8) result {
		return func(a uint64, rm uint8) result { return bigToResult(f.oToInt(a, rm, lo, hi)) }
	}
	i2f := func(f ofmt, conv func(v uint64) *big.Int) func(a uint64, rm uint8) result {
		return func(a uint64, rm uint8) result { return r64(f.oFromInt(conv(a), rm)) }
	}
	sI32 := func(v uint64) *big.Int { return big.NewInt(int64(int32(v))) }
	sU32 := func(v uint64) *big.Int { return big.NewInt(int64(uint32(v))) }
	sI64 := func(v uint64) *big.Int { return big.NewInt(int64(v)) }
	sU64 := func(v uint64) *big.Int { return new(big.Int).SetUint64(v) }
	ir := func(v int64, f Flags) result { return result{uint64(v), f} }
	return []convOp{
		{"F64ToI32", of64, func(a uint64, rm uint8) result { v, f := F64ToI32(a, rm); return ir(int64(v), f) }, f2i(of64, minI32, maxI32), (*gen).intArg},
		{"F64ToU32", of64, func(a uint64, rm uint8) result { v, f := F64ToU32(a, rm); return r64(uint64(v), f) }, f2i(of64, zeroI, maxU32), (*gen).intArg},
		{"F64ToI64", of64, func(a uint64, rm uint8) result { v, f := F64ToI64(a, rm); return ir(v, f) }, f2i(of64, minI64, maxI64), (*gen).intArg},
		{"F64ToU64", of64, func(a uint64, rm uint8) result { return r64(F64ToU64(a, rm)) }, f2i(of64, zeroI, maxU64), (*gen).intArg},
		{"F32ToI32", of32, func(a uint64, rm uint8) result { v, f := F32ToI32(uint32(a), rm); return ir(int64(v), f) }, f2i(of32, minI32, maxI32), (*gen).intArg},
		{"F32ToU32", of32, func(a uint64, rm uint8) result { v, f := F32ToU32(uint32(a), rm); return r64(uint64(v), f) }, f2i(of32, zeroI, maxU32), (*gen).intArg},
		{"F32ToI64", of32, func(a uint64, rm uint8) result { v, f := F32ToI64(uint32(a), rm); return ir(v, f) }, f2i(of32, minI64, maxI64), (*gen).intArg},
		{"F32ToU64", of32, func(a uint64, rm uint8) result { return r64(F32ToU64(uint32(a), rm)) }, f2i(of32, zeroI, maxU64), (*gen).intArg},

		{"I32ToF64", of64, func(a uint64, rm uint8) result { return r64(I32ToF64(int32(a), rm)) }, i2f(of64, sI32), (*gen).intVal},
		{"U32ToF64", of64, func(a uint64, rm uint8) result { return r64(U32ToF64(uint32(a), rm)) }, i2f(of64, sU32), (*gen).intVal},
		{"I64ToF64", of64, func(a uint64, rm uint8) result { return r64(I64ToF64(int64(a), rm)) }, i2f(of64, sI64), (*gen).intVal},
		{"U64ToF64", of64, func(a uint64, rm uint8) result { return r64(U64ToF64(a, rm)) }, i2f(of64, sU64), (*gen).intVal},
		{"I32ToF32", of32, func(a uint64, rm uint8) result { return r32(I32ToF32(int32(a), rm)) }, i2f(of32, sI32), (*gen).intVal},
		{"U32ToF32", of32, func(a uint64, rm uint8) result { return r32(U32ToF32(uint32(a), rm)) }, i2f(of32, sU32), (*gen).intVal},
		{"I64ToF32", of32, func(a uint64, rm uint8) result { return r32(I64ToF32(int64(a), rm)) }, i2f(of32, sI64), (*gen).intVal},
		{"U64ToF32", of32, func(a uint64, rm uint8) result { return r32(U64ToF32(a, rm)) }, i2f(of32, sU64), (*gen).intVal},

		{"F64ToF32", of64, func(a uint64, rm uint8) result { return r32(F64ToF32(a, rm)) },
			func(a uint64, rm uint8) result { return r64(of32.oConvert(of64, a, rm)) }, (*gen).f64ToF32Arg},
		{"F32ToF64", of32, func(a uint64, rm uint8) result { return r64(F32ToF64(uint32(a), rm)) },
			func(a uint64, rm uint8) result { return r64(of64.oConvert(of32, a, rm)) }, (*gen).val},
	}
}

// f64ToF32Arg generates binary64 operands around the binary32 range and
// precision: binary32 values, midpoints and neighbours, and values near the
// binary32 overflow and underflow thresholds.
func (g *gen) f64ToF32Arg() uint64 {
	switch g.r.IntN(4) {
	case 0:
		return g.val()
	case 1: // within or just outside the binary32 exponent range
		e := g.r.IntN(127+149+40) - 149 - 20
		return g.withExp(g.make(g.r.IntN(2) == 0, 1, g.mant()), e)
	}
	// binary32 value (possibly subnormal) or a midpoint, plus/minus a
	// couple of binary64 ulps
	f32g := &gen{r: g.r, f: of32}
	v32 := f32g.finite()
	x := math.Float64bits(float64(math.Float32frombits(uint32(v32))))
	if g.r.IntN(2) == 0 {
		// add half a binary32 ulp: a binary32 midpoint in the normal
		// range, or a power-of-two offset otherwise
		x += 1 << 28
	}
	d := uint64(g.r.IntN(5))
	if g.r.IntN(2) == 0 && x&^sign64 > d {
		return x - d
	}
	return x + d
}

func TestRandomConvert(t *testing.T) {
	for i, op := range convOps() {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel()
			g := newGen(op.from, uint64(2000+i))
			n := randomCount(t, 50000)
			rep := &mismatchReporter{t: t, name: op.name}
			for range n {
				a := op.gen(g)
				rm := g.rm()
				rep.check(fmt.Sprintf("%#x", a), rm, op.impl(a, rm), op.oracle(a, rm))
			}
		})
	}
}

func TestRandomCompare(t *testing.T) {
	for _, f := range []ofmt{of64, of32} {
		t.Run(fmt.Sprint(f.width), func(t *testing.T) {
			g := newGen(f, 3000+uint64(f.width))
			rep := &mismatchReporter{t: t, name: fmt.Sprintf("compare%d", f.width)}
			for range randomCount(t, 100000) {
				a, b := g.addPair()
				if g.r.IntN(8) == 0 {
					b = a
				}
				var gmin, gmax result
				var geq, glt, gle bool
				var feq, flt, fle Flags
				var gcls uint64
				if f.width == 64 {
					gmin, gmax = r64(Min64(a, b)), r64(Max64(a, b))
					geq, feq = Eq64(a, b)
					glt, flt = Lt64(a, b)
					gle, fle = Le64(a, b)
					gcls = Class64(a)
				} else {
					gmin, gmax = r32(Min32(uint32(a), uint32(b))), r32(Max32(uint32(a), uint32(b)))
					geq, feq = Eq32(uint32(a), uint32(b))
					glt, flt = Lt32(uint32(a), uint32(b))
					gle, fle = Le32(uint32(a), uint32(b))
					gcls = Class32(uint32(a))
				}
				args := fmtArgs(f, 2, a, b, 0)
				rep.check("min "+args, 0, gmin, r64(f.oMinMax(a, b, false)))
				rep.check("max "+args, 0, gmax, r64(f.oMinMax(a, b, true)))
				eq, lt, le, eqFl, ltFl := f.oCompare(a, b)
				b2r := func(b bool, fl Flags) result {
					if b {
						return result{1, fl}
					}
					return result{0, fl}
				}
				rep.check("eq "+args, 0, b2r(geq, feq), b2r(eq, eqFl))
				rep.check("lt "+args, 0, b2r(glt, flt), b2r(lt, ltFl))
				rep.check("le "+args, 0, b2r(gle, fle), b2r(le, ltFl))
				rep.check("class "+args, 0, result{gcls, 0}, result{f.oClass(a), 0})
			}
		})
	}
}

// TestNarrowFastPath checks narrow's host-conversion fast path against the
// software narrowing for random binary64 values and error signs.
func TestNarrowFastPath(t *testing.T) {
	g := newGen(of64, 4000)
	rep := &mismatchReporter{t: t, name: "narrow"}
	for range randomCount(t, 200000) {
		x := g.f64ToF32Arg()
		if isNaN64(x) || x&^sign64 == inf64 || x&^sign64 == 0 {
			continue
		}
		err := []float64{0, 1, -1}[g.r.IntN(3)]
		rm := g.rm()
		got := r32(narrow(math.Float64frombits(x), err, rm))
		want := r32(narrowSoft(x, err, rm))
		rep.check(fmt.Sprintf("%#x, %v", x, err), rm, got, want)
	}
}
