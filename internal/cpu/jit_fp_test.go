//go:build linux && amd64

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestJITFPOps runs each compiled double-precision operation on pairs of
// edge and ordinary operands in every rounding mode on both engines and
// compares registers and fflags (the differential fuzzing covers the same
// ground at random; this covers it exhaustively for the edge values).
func TestJITFPOps(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	vals := append([]uint64(nil), diffFPEdge...)
	for i := 0; i < 24; i++ {
		vals = append(vals, math.Float64bits((r.Float64()-0.5)*math.Pow(2, float64(r.IntN(80)-40))))
	}
	vals = append(vals, math.Float64bits(2.5), math.Float64bits(-3.5), math.Float64bits(3.7), math.Float64bits(1e300), math.Float64bits(1e-300))
	// (1 - 2^-53) × 2^-1022 rounds to the smallest normal but is tiny
	// after rounding (underflow, RISC-V's rule): always tried.
	const below1, minNormal = 0x3fefffffffffffff, 0x0010000000000000
	vals = append(vals, below1, minNormal)
	// Pairs whose results are zero or tiny: exact (sums, products with a
	// zero operand), which the compiled code keeps, or underflowed
	// (products of nonzero numbers), which it must not. Always tried.
	const tiny, subnormal = 0x0018000000000000, 0x0000000000000003 // 1.5 × 2^-1022, 3 × 2^-1074
	always := [][2]uint64{
		{below1, minNormal}, {0, 0}, {0, 1 << 63}, {1 << 63, 1 << 63}, {0, math.Float64bits(2.5)},
		{math.Float64bits(-3.5), 0}, {1 << 63, 0x7ff0000000000000}, {0, 0x7ff8000000000000},
		{0, subnormal}, {subnormal, 1 << 63}, {subnormal, subnormal}, {tiny, tiny | 1<<63},
		{tiny, minNormal | 1<<63}, {tiny, subnormal}, {math.Float64bits(2.5), math.Float64bits(-2.5)},
		{math.Float64bits(1e-300), math.Float64bits(1e-300)}, {math.Float64bits(1e-300), math.Float64bits(-1e-20)},
	}
	vals = append(vals, tiny, subnormal)
	isAlways := func(a, b uint64) bool {
		for _, p := range always {
			if p == [2]uint64{a, b} {
				return true
			}
		}
		return false
	}
	var ops []uint32
	for rm := uint32(0); rm < 8; rm++ {
		for f5 := uint32(0); f5 < 4; f5++ {
			ops = append(ops, f5<<27|1<<25|2<<20|1<<15|rm<<12|3<<7|0x53) // f3 = f1 op f2
		}
		ops = append(ops, 0x0b<<27|1<<25|1<<15|rm<<12|3<<7|0x53)                // fsqrt.d f3, f1
		ops = append(ops, 0x18<<27|1<<25|0<<20|1<<15|rm<<12|uint32(a0)<<7|0x53) // fcvt.w.d a0, f1
		ops = append(ops, 0x18<<27|1<<25|2<<20|1<<15|rm<<12|uint32(a0)<<7|0x53) // fcvt.l.d
		ops = append(ops, 0x1a<<27|1<<25|0<<20|uint32(a1)<<15|rm<<12|3<<7|0x53) // fcvt.d.w f3, a1
		ops = append(ops, 0x1a<<27|1<<25|2<<20|uint32(a1)<<15|rm<<12|3<<7|0x53) // fcvt.d.l
		for _, opc := range []uint32{0x43, 0x47, 0x4b, 0x4f} {                  // fmadd.d .. fnmadd.d f3, f1, f2, f4
			ops = append(ops, 4<<27|1<<25|2<<20|1<<15|rm<<12|3<<7|opc)
		}
	}
	for f3 := uint32(0); f3 < 3; f3++ {
		ops = append(ops, 0x14<<27|1<<25|2<<20|1<<15|f3<<12|uint32(a0)<<7|0x53) // fle/flt/feq
	}
	compiled, want := 0, 0
	for _, op := range ops {
		frms := []uint8{0}
		if (op>>12)&7 == 7 {
			frms = []uint8{0, 1, 4, 5} // dynamic: valid and invalid modes
		}
		for _, frm := range frms {
			if in := decode32(op); jitCompilable(&in) {
				want++
			}
			code := prog(op, halt)
			ci, cj := newTestCPU(t, code), newTestCPU(t, code)
			if err := cj.EnableJIT(1 << 20); err != nil {
				t.Fatalf("compiled engine: %v", err)
			}
			cj.setJITHot(1)
			for _, a := range vals {
				for _, b := range vals[:len(vals):len(vals)] {
					if r.IntN(4) != 0 && !isAlways(a, b) {
						continue
					}
					// fflags clear (the compiled code reads MXCSR to find
					// inexact) and NX already set (it does not).
					for _, flags := range []uint8{0, 1} {
						for _, c := range []*CPU{ci, cj} {
							c.pc, c.mstatus, c.frm, c.fflags = ramBase, c.mstatus|msFS, frm, flags
							c.f[1], c.f[2], c.f[4], c.x[a1] = a, b, 1<<63, b
							c.Run(2) // the instruction and the jump to itself: one block
						}
						if ci.Save() != cj.Save() {
							t.Fatalf("op %#08x frm %d fflags %#x on %#x, %#x: interp f3 %#x a0 %#x fflags %#x mcause %d; jit f3 %#x a0 %#x fflags %#x mcause %d",
								op, frm, flags, a, b, ci.f[3], ci.x[a0], ci.fflags, ci.mcause, cj.f[3], cj.x[a0], cj.fflags, cj.mcause)
						}
					}
				}
			}
			if jitCompiledAt(cj, ramBase) {
				compiled++
			}
		}
	}
	if compiled != want {
		t.Fatalf("%d operations (with their rounding modes) ran compiled; the compiler accepts %d", compiled, want)
	}
}

// TestJITFPExactResultsStayCompiled checks that, with fflags.NX set,
// sums and differences with zero or tiny (exact) results and products
// with a zero operand run in the compiled code instead of exiting to the
// interpreter (Go programs produce such operations by the million), while
// a product that underflows to zero still exits.
func TestJITFPExactResultsStayCompiled(t *testing.T) {
	const fadd, fsub, fmul = 0x00, 0x01, 0x02
	tests := []struct {
		name  string
		f5    uint32
		a, b  uint64
		exits bool
	}{
		{"0+0", fadd, 0, 0, false},
		{"x-x", fsub, math.Float64bits(2.5), math.Float64bits(2.5), false},
		{"subnormal sum", fadd, 3, 5, false},
		{"tiny difference", fsub, 0x0018000000000000, 0x0010000000000000, false},
		{"0*x", fmul, 0, math.Float64bits(-7), false},
		{"x*-0", fmul, math.Float64bits(3), 1 << 63, false},
		{"underflow to 0", fmul, math.Float64bits(1e-300), math.Float64bits(1e-300), true},
		{"tiny product", fmul, math.Float64bits(1e-300), math.Float64bits(1e-10), true},
		{"0*inf", fmul, 0, 0x7ff0000000000000, true},
		{"overflow", fadd, 0x7fefffffffffffff, 0x7fefffffffffffff, true},
	}
	for _, tt := range tests {
		op := tt.f5<<27 | 1<<25 | 2<<20 | 1<<15 | 0<<12 | 3<<7 | 0x53 // f3 = f1 op f2, rne
		code := prog(op, halt)
		ci, cj := newTestCPU(t, code), newTestCPU(t, code)
		if err := cj.EnableJIT(1 << 20); err != nil {
			t.Fatalf("compiled engine: %v", err)
		}
		cj.setJITHot(1)
		var before JITStats
		// The first run fills the fetch TLB (on the interpreter); the
		// second runs the compiled block.
		for run, v := range [][2]uint64{{0x3ff0000000000000, 0x3ff0000000000000}, {tt.a, tt.b}} {
			for _, c := range []*CPU{ci, cj} {
				c.pc, c.mstatus, c.fflags = ramBase, c.mstatus|msFS, 1
				c.f[1], c.f[2] = v[0], v[1]
				c.Run(2)
			}
			if run == 0 {
				before = cj.JITStats()
			}
		}
		if ci.Save() != cj.Save() {
			t.Fatalf("%s: interp f3 %#x fflags %#x; jit f3 %#x fflags %#x", tt.name, ci.f[3], ci.fflags, cj.f[3], cj.fflags)
		}
		if !jitCompiledAt(cj, ramBase) {
			t.Fatalf("%s: not compiled", tt.name)
		}
		if exited := cj.JITStats().InterpExits > before.InterpExits; exited != tt.exits {
			t.Errorf("%s: exits to the interpreter: %v, want %v", tt.name, exited, tt.exits)
		}
	}
}

// jitCompiledAt reports whether c has a compiled block starting at pc.
func jitCompiledAt(c *CPU, pc uint64) bool {
	for k, b := range c.jit.blocks {
		if k.vpc == pc && b.entry != 0 {
			return true
		}
	}
	return false
}
