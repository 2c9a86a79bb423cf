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
	compiled := 0
	for _, op := range ops {
		frms := []uint8{0}
		if (op>>12)&7 == 7 {
			frms = []uint8{0, 1, 4, 5} // dynamic: valid and invalid modes
		}
		for _, frm := range frms {
			code := prog(op, halt)
			ci, cj := newTestCPU(t, code), newTestCPU(t, code)
			if !cj.EnableJIT(1 << 20) {
				t.Skip("no compiled engine")
			}
			cj.setJITHot(1)
			for _, a := range vals {
				for _, b := range vals[:len(vals):len(vals)] {
					if r.IntN(4) != 0 && (a != below1 || b != minNormal) {
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
			if s := cj.JITStats(); s.Calls > 0 {
				compiled++
			}
		}
	}
	if compiled == 0 {
		t.Fatal("nothing compiled")
	}
	if compiled < len(ops)-len(ops)/10 {
		t.Fatalf("only %d of %d operations ran compiled", compiled, len(ops))
	}
}
