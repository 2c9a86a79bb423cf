//go:build linux && amd64

package cpu

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/bus"
)

// Differential testing of the compiled engine against the interpreter:
// random valid RV64GC programs (integer, M, A with LR/SC, F/D with every
// rounding mode, CSRs, compressed forms, branches, loads and stores that
// fault, cross pages, hit MMIO or rewrite code, traps and returns) run
// from the same random state in M, S or U mode, with Sv39 on or off, on
// both engines. Both are run in the same slices of random length (1 to a
// few thousand instructions; a slice of 1 compares after every single
// instruction), with the same interrupt lines raised between slices, and
// the full architectural state and all of RAM must be equal after every
// slice; the full state must also be equal at every trap, as it is
// taken, and wherever generated code returned to Go (after each block or
// chain of blocks): the compiled engine runs each slice first, and the
// interpreter runs it in pieces that end at those points.

const (
	dRAM      = 1 << 20
	dHandlerM = ramBase + 0x0000
	dHandlerS = ramBase + 0x0400
	dData     = ramBase + 0x1000 // d0 RW, d1 RW+U, d2 read-only, d3 unmapped
	dCode     = ramBase + 0x8000 // four code pages
	dCodeEnd  = dCode + 0x4000
	dPT       = ramBase + 0x10000
	// dCodeU is where U-mode runs the code: under Sv39 a user-accessible
	// alias of the same physical pages, without translation a copy.
	dCodeU = ramBase + 0x20000
	dMMIO  = 0x10000000
)

// diffDev is an MMIO device: reads return a function of an access
// counter, writes to offset 0 drive interrupt lines, and writes to
// offset 8 DMA a word into the code pages (through the bus, so the
// hart's write observer sees it).
type diffDev struct {
	c *CPU
	b *bus.Bus
	n uint64
}

func (d *diffDev) Read(off uint64, size int) uint64 {
	d.n++
	return d.n*0x9e3779b97f4a7c15 ^ off
}

func (d *diffDev) Write(off uint64, size int, val uint64) {
	d.n++
	switch off &^ 7 {
	case 0:
		d.c.SetPending(MipMEIP, val&1 != 0)
		d.c.SetPending(MipSEIP, val&2 != 0)
	case 8:
		var p [8]byte
		binary.LittleEndian.PutUint64(p[:], val)
		pa := dCode + (val>>32)&0x3ff8
		_ = d.b.WriteBytes(pa, p[:])
	}
}

// diffProg is one generated test case: RAM contents and the start state.
type diffProg struct {
	ram   []byte
	state State
}

type diffGen struct {
	r   *rand.Rand
	ram []byte
	pc  uint64 // next code address
	fp  bool   // an FP-heavy program
	// pool, if set, are the only registers used (and x0): blocks then
	// use registers again and again, and more of them at once than the
	// compiled engine's register cache holds.
	pool []uint32
}

func (g *diffGen) put32(w uint32) {
	binary.LittleEndian.PutUint32(g.ram[g.pc-ramBase:], w)
	g.pc += 4
}

func (g *diffGen) put16(h uint16) {
	binary.LittleEndian.PutUint16(g.ram[g.pc-ramBase:], h)
	g.pc += 2
}

func (g *diffGen) n(k int) int { return g.r.IntN(k) }

// reg picks a source register.
func (g *diffGen) reg() uint32 {
	if g.pool != nil && g.n(16) != 0 {
		return g.pool[g.n(len(g.pool))]
	}
	return uint32(g.n(32))
}

// dst picks a destination, mostly sparing the base registers (sp, s0,
// s1) and the trap handlers' scratch registers (t4..t6).
func (g *diffGen) dst() uint32 {
	for {
		r := uint32(g.n(32))
		if g.pool != nil && g.n(16) != 0 {
			r = g.pool[g.n(len(g.pool))]
		}
		switch r {
		case sp, s0, s1, t4, t5, t6:
			if g.n(20) != 0 {
				continue
			}
		}
		return r
	}
}

// base picks a base register for a memory access.
func (g *diffGen) base() uint32 {
	switch g.n(10) {
	case 0, 1, 2, 3:
		return s0
	case 4, 5, 6:
		return s1
	case 7, 8:
		return sp
	}
	return g.reg()
}

func (g *diffGen) memOff(size int) int64 {
	off := int64(g.n(128)) - 64
	if g.n(10) < 8 {
		off &^= int64(size - 1)
	}
	return off
}

var diffCSRs = []uint32{csrFflags, csrFrm, csrFcsr, csrCycle, csrTime, csrInstret, csrSstatus, csrSie, csrStvec,
	csrSscratch, csrSepc, csrScause, csrStval, csrSip, csrSatp, csrMstatus, csrMisa, csrMedeleg, csrMideleg,
	csrMie, csrMscratch, csrMepc, csrMcause, csrMtval, csrMip, csrMcycle, csrMinstret, csrMhartid, 0x7c0}

func (g *diffGen) inst() {
	r := g.r
	k := g.n(100)
	if g.fp && g.n(3) != 0 {
		g.fpInst()
		return
	}
	switch {
	case k < 28: // integer and M
		rd, rs1, rs2 := g.dst(), g.reg(), g.reg()
		switch g.n(10) {
		case 8, 9:
			g.pair(rd, rs1, rs2)
		case 0, 1: // OP-IMM
			f3 := uint32(g.n(8))
			imm := int64(g.n(4096)) - 2048
			if f3 == 1 || f3 == 5 {
				imm = int64(g.n(64))
				if f3 == 5 && g.n(2) == 0 {
					imm |= 0x400
				}
			}
			g.put32(encI(0x13, f3, rd, rs1, imm))
		case 2: // OP-IMM-32
			f3 := []uint32{0, 1, 5}[g.n(3)]
			imm := int64(g.n(4096)) - 2048
			if f3 != 0 {
				imm = int64(g.n(32))
				if f3 == 5 && g.n(2) == 0 {
					imm |= 0x400
				}
			}
			g.put32(encI(0x1b, f3, rd, rs1, imm))
		case 3, 4: // OP, including M
			g.put32(encR(0x33, uint32(g.n(8)), []uint32{0, 0x20, 1}[g.n(3)], rd, rs1, rs2))
		case 5: // OP-32
			g.put32(encR(0x3b, uint32(g.n(8)), []uint32{0, 0x20, 1}[g.n(3)], rd, rs1, rs2))
		case 6:
			g.put32(encU(0x37, rd, int64(r.Uint32())))
		default:
			g.put32(encU(0x17, rd, int64(r.Uint32())))
		}
	case k < 45: // loads and stores
		size := 1 << g.n(4)
		b := g.base()
		off := g.memOff(size)
		if g.n(2) == 0 {
			f3 := uint32([]int{0, 1, 2, 3}[g.n(4)])
			switch size {
			case 1:
				f3 = []uint32{0, 4}[g.n(2)]
			case 2:
				f3 = []uint32{1, 5}[g.n(2)]
			case 4:
				f3 = []uint32{2, 6}[g.n(2)]
			case 8:
				f3 = 3
			}
			g.put32(encI(0x03, f3, g.dst(), b, off))
		} else {
			g.put32(encS(0x23, uint32(g.n(4)), b, g.reg(), off))
		}
	case k < 55: // branches, mostly forward
		off := int64(2 * (g.n(64) + 1))
		if g.n(5) == 0 {
			off = -int64(2 * g.n(128))
		}
		rs1, rs2 := g.reg(), g.reg()
		if g.n(3) == 0 {
			rs2 = 0
		}
		f3 := []uint32{0, 1, 4, 5, 6, 7}[g.n(6)]
		g.put32(encB(f3, rs1, rs2, off))
	case k < 59: // jumps
		switch g.n(4) {
		case 0:
			g.put32(jal([]uint32{zero, ra, t0}[g.n(3)], int64(2*(g.n(64)+1))))
		case 1, 2:
			g.put32(auipc(t0, 0))
			g.put32(jalr([]uint32{zero, ra}[g.n(2)], t0, int64(2*(g.n(32)+4))))
		default:
			g.put32(jalr(g.dst(), []uint32{ra, t0, g.reg()}[g.n(3)], int64(g.n(64))-32))
		}
	case k < 75: // compressed
		for {
			h := uint16(r.Uint32())
			if h&3 == 3 {
				continue
			}
			in := decode16(h)
			if in.op == opIllegal {
				continue
			}
			if in.op == opJALR && reg(in.rs1) != ra && reg(in.rs1) != t0 && g.n(4) != 0 {
				continue
			}
			g.put16(h)
			break
		}
	case k < 80: // A
		b := uint32(s0)
		if g.n(4) == 0 {
			b = g.base()
		}
		f3 := uint32(2 + g.n(2))
		f5 := []uint32{0x02, 0x03, 0x01, 0x00, 0x04, 0x0c, 0x08, 0x10, 0x14, 0x18, 0x1c}[g.n(11)]
		rs2 := g.reg()
		if f5 == 0x02 {
			rs2 = 0
		}
		g.put32(f5<<27 | uint32(g.n(4))<<25 | rs2<<20 | b<<15 | f3<<12 | g.dst()<<7 | 0x2f)
	case k < 88: // F and D
		switch g.n(4) {
		case 0:
			g.put32(encI(0x07, uint32(2+g.n(2)), uint32(g.n(32)), g.base(), g.memOff(8)))
		case 1:
			g.put32(encS(0x27, uint32(2+g.n(2)), g.base(), uint32(g.n(32)), g.memOff(8)))
		case 2: // FMA
			w := uint32(g.n(32))<<27 | uint32(g.n(2))<<25 | uint32(g.n(32))<<20 | uint32(g.n(32))<<15 |
				uint32(g.n(8))<<12 | uint32(g.n(32))<<7 | []uint32{0x43, 0x47, 0x4b, 0x4f}[g.n(4)]
			g.put32(w)
		default: // OP-FP
			f5 := []uint32{0, 1, 2, 3, 0x0b, 4, 5, 8, 0x14, 0x18, 0x1a, 0x1c, 0x1e}[g.n(13)]
			rs2 := uint32(g.n(32))
			if f5 == 0x18 || f5 == 0x1a || f5 == 0x08 {
				rs2 = uint32(g.n(4))
			}
			if f5 == 0x0b || f5 == 0x1c || f5 == 0x1e {
				rs2 = 0
			}
			rm := uint32(g.n(8))
			if f5 == 4 || f5 == 5 || f5 == 0x14 || f5 == 0x1c {
				rm = uint32(g.n(3))
			}
			if f5 == 0x1e {
				rm = 0
			}
			rd := uint32(g.n(32))
			if f5 >= 0x14 && f5 != 0x1a && f5 != 0x1e {
				rd = g.dst()
			}
			g.put32(f5<<27 | uint32(g.n(2))<<25 | rs2<<20 | g.reg()<<15 | rm<<12 | rd<<7 | 0x53)
		}
	case k < 90: // sstatus.SIE and .SUM toggles, which the compiled engine runs in S-mode
		f3 := []uint32{2, 3}[g.n(2)] // csrrs, csrrc
		if g.n(2) == 0 {
			g.put32(csrSstatus<<20 | msSIE<<15 | (f3+4)<<12 | g.dst()<<7 | 0x73)
			break
		}
		r := g.dst()
		g.put32(encU(0x37, r, msSUM))
		g.put32(csrSstatus<<20 | r<<15 | f3<<12 | g.dst()<<7 | 0x73)
		// A user page access right after it (a fault without SUM).
		b := g.base()
		g.put32(encI(0x03, 3, g.dst(), b, g.memOff(8)))
	case k < 93: // CSR
		csr := diffCSRs[g.n(len(diffCSRs))]
		f3 := []uint32{1, 2, 3, 5, 6, 7}[g.n(6)]
		g.put32(csr<<20 | g.reg()<<15 | f3<<12 | g.dst()<<7 | 0x73)
	case k < 97: // system
		g.put32([]uint32{ecall, 0x00100073, mret, sret, wfi, 0x12000073, 0x0ff0000f, 0x0000100f}[g.n(8)])
	default:
		g.put32(r.Uint32())
	}
}

// pair emits two instructions that the interpreter fuses (fuse.go), or
// nearly do: the second's registers are sometimes not the ones the pair
// needs, and lui's immediate sometimes makes the constant overflow 32
// bits. The compiled engine never fuses, so the comparison covers both
// the fused runs and the pairs split by a slice's end.
func (g *diffGen) pair(rd, rs1, rs2 uint32) {
	near := func(r uint32) uint32 { // mostly rd
		if g.n(4) == 0 {
			return g.reg()
		}
		return r
	}
	switch g.n(6) {
	case 4: // a load or store, then addi (mostly stepping its base)
		size := 4 << g.n(2)
		b := g.base()
		f3 := uint32(2 + size/8)
		if g.n(2) == 0 {
			g.put32(encI(0x03, f3, g.dst(), b, g.memOff(size)))
		} else {
			g.put32(encS(0x23, f3, b, g.reg(), g.memOff(size)))
		}
		d := b
		if g.n(4) == 0 {
			d = g.dst()
		}
		g.put32(addi(d, near(d), int64(size)))
	case 5: // two doubleword loads or stores, mostly from one base
		b := g.base()
		for range 2 {
			if g.n(4) == 0 {
				b = g.base()
			}
			if g.n(2) == 0 {
				g.put32(ld(g.dst(), b, g.memOff(8)))
			} else {
				g.put32(sd(g.reg(), b, g.memOff(8)))
			}
		}
	case 0: // lui + addi or addiw
		g.put32(encU(0x37, rd, int64(g.r.Uint32())))
		g.put32(encI([]uint32{0x13, 0x1b}[g.n(2)], 0, near(rd), near(rd), int64(g.n(4096))-2048))
	case 1: // auipc + addi
		g.put32(encU(0x17, rd, int64(g.r.Uint32())))
		g.put32(addi(near(rd), near(rd), int64(g.n(4096))-2048))
	case 2: // a shift, then or, xor or add reading its result
		w := g.n(2) == 0
		sh := int64(g.n(64))
		if w {
			sh = int64(g.n(32))
		}
		f3 := []uint32{1, 5}[g.n(2)]
		g.put32(encI([]uint32{0x13, 0x1b}[b2i(w)], f3, rd, rs1, sh))
		a, b := near(rd), rs2
		if g.n(2) == 0 {
			a, b = b, a
		}
		g.put32(encR(0x33, []uint32{6, 4, 0}[g.n(3)], 0, g.dst(), a, b))
	default: // the compressed forms: c.slli or c.srli, then c.or, c.xor or c.add
		rd := 8 + uint32(g.n(8))
		sh := uint32(1 + g.n(63))
		var first uint16
		if g.n(2) == 0 {
			first = uint16(0x2 | (sh&31)<<2 | rd<<7 | (sh>>5)<<12) // c.slli
		} else {
			first = uint16(0x8001 | (sh&31)<<2 | (rd-8)<<7 | (sh>>5)<<12) // c.srli
		}
		rs := 8 + uint32(g.n(8))
		var second uint16
		switch g.n(3) {
		case 0:
			second = uint16(0x8c41 | (rd-8)<<7 | (rs-8)<<2) // c.or
		case 1:
			second = uint16(0x8c21 | (rd-8)<<7 | (rs-8)<<2) // c.xor
		default:
			second = uint16(0x9002 | rd<<7 | rs<<2) // c.add
		}
		g.put16(first)
		g.put16(second)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fpInst emits a double-precision operation with a valid rounding mode,
// mostly round to nearest even (static or dynamic): the operations the
// compiled engine translates, with every other kind mixed in.
func (g *diffGen) fpInst() {
	rm := []uint32{0, 0, 7, 7, 1, uint32(g.n(8))}[g.n(6)]
	fmt := uint32(1)
	if g.n(8) == 0 {
		fmt = 0
	}
	fr := func() uint32 { return uint32(g.n(8)) } // few registers: results get reused
	switch g.n(12) {
	case 0, 1, 2, 3: // fadd, fsub, fmul, fdiv
		g.put32(uint32(g.n(4))<<27 | fmt<<25 | fr()<<20 | fr()<<15 | rm<<12 | fr()<<7 | 0x53)
	case 4:
		g.put32(0x0b<<27 | fmt<<25 | fr()<<15 | rm<<12 | fr()<<7 | 0x53) // fsqrt
	case 5, 6: // feq, flt, fle
		g.put32(0x14<<27 | fmt<<25 | fr()<<20 | fr()<<15 | uint32(g.n(3))<<12 | g.dst()<<7 | 0x53)
	case 7: // fcvt.w/wu/l/lu.d
		g.put32(0x18<<27 | fmt<<25 | uint32(g.n(4))<<20 | fr()<<15 | rm<<12 | g.dst()<<7 | 0x53)
	case 8: // fcvt.d.w/wu/l/lu
		g.put32(0x1a<<27 | fmt<<25 | uint32(g.n(4))<<20 | g.reg()<<15 | rm<<12 | fr()<<7 | 0x53)
	case 9: // fsgnj*, fmv
		if g.n(2) == 0 {
			g.put32(0x04<<27 | fmt<<25 | fr()<<20 | fr()<<15 | uint32(g.n(3))<<12 | fr()<<7 | 0x53)
		} else {
			g.put32(0x1e<<27 | fmt<<25 | g.reg()<<15 | fr()<<7 | 0x53)
		}
	case 10:
		g.put32(encI(0x07, 2+fmt, fr(), s0, g.memOff(8)&^7))
	default:
		g.put32(encS(0x27, 2+fmt, s0, fr(), g.memOff(8)&^7))
	}
}

// handler writes a trap handler. On an interrupt it disables that
// interrupt and returns; on an exception it skips 4 bytes (wrapping in
// the code area). Every eighth trap it rotates the privilege it returns
// to, and it returns to the code's U-mode alias when that is U.
func handler(m bool) []uint32 {
	epc, cause, scratch, status, ie, ret := uint32(csrMepc), uint32(csrMcause), uint32(csrMscratch), uint32(csrMstatus), uint32(csrMie), uint32(mret)
	ppMask, ppShift := int64(msMPP), int64(11)
	if !m {
		epc, cause, scratch, status, ie, ret = csrSepc, csrScause, csrSscratch, csrSstatus, csrSie, sret
		ppMask, ppShift = msSPP, 8
	}
	csrr := func(rd reg, csr uint32) uint32 { return csr<<20 | 2<<12 | rd<<7 | 0x73 }
	csrs := func(csr uint32, rs reg) uint32 { return csr<<20 | rs<<15 | 2<<12 | 0x73 }
	csrc := func(csr uint32, rs reg) uint32 { return csr<<20 | rs<<15 | 3<<12 | 0x73 }
	srl := func(rd, rs1, rs2 reg) uint32 { return encR(0x33, 5, 0, rd, rs1, rs2) }
	sll := func(rd, rs1, rs2 reg) uint32 { return encR(0x33, 1, 0, rd, rs1, rs2) }
	_ = srl
	intr := prog( // interrupt: disable it, keep epc
		andi(t6, t6, 63),
		addi(t5, zero, 1),
		sll(t5, t5, t6),
		csrc(ie, t5),
		ret,
	)
	rotate := prog( // every eighth exception: a new privilege
		srli(t5, t5, 3),
		slli(t5, t5, ppShift),
		li(t4, uint64(ppMask)),
		encR(0x33, 7, 0, t5, t5, t4), // and
		csrc(status, t4),
		csrs(status, t5),
	)
	p := prog(
		csrr(t6, cause),
		encB(5, t6, zero, int64(4*(len(intr)+1))), // bge: exception
	)
	p = append(p, intr...)
	p = append(p, prog(
		csrr(t5, scratch),
		addi(t5, t5, 1),
		csrrw(zero, scratch, t5),
		andi(t4, t5, 7),
		encB(1, t4, zero, int64(4*(len(rotate)+1))), // bnez: keep
	)...)
	p = append(p, rotate...)
	p = append(p, prog(
		csrr(t6, epc), // keep:
		addi(t6, t6, 4),
		slli(t6, t6, 50),
		srli(t6, t6, 50),
		li(t5, dCode),
		csrr(t4, status),
		srli(t4, t4, ppShift),
		andi(t4, t4, ppMask>>ppShift),
		encB(1, t4, zero, int64(4*(len(li(t5, dCodeU))+1))), // bnez: not U
		li(t5, dCodeU),
		add(t6, t6, t5),
		csrrw(zero, epc, t6),
		ret,
	)...)
	return p
}

// diffFPEdge are double (and boxed single) operands at the edges:
// zeros, subnormals, the smallest normal, the largest finite, infinities,
// quiet and signaling NaNs, values that round at integer conversion.
var diffFPEdge = []uint64{
	0, 1 << 63, 1, 1<<63 | 1, 0x000fffffffffffff, 0x0010000000000000, 0x8010000000000000, 0x0010000000000001,
	0x7fefffffffffffff, 0xffefffffffffffff, 0x7ff0000000000000, 0xfff0000000000000,
	0x7ff8000000000000, 0xfff8000000000001, 0x7ff0000000000001, 0x7ff4000000000000,
	0x3ff0000000000000, 0xbff0000000000000, 0x3fe0000000000000, 0x3ff8000000000000, 0x4004000000000000,
	0x41dfffffffc00000, 0x41e0000000000000, 0xc1e0000000000000, 0xc1e0000000200000, 0x43e0000000000000, 0xc3e0000000000000,
	0x43dfffffffffffff, 0x3ca0000000000000, 0x3cb0000000000000, 0x0020000000000000, 0x001fffffffffffff,
	box32(0), box32(0x7fc00000), box32(0x3f800000), 0xffffffff, 0x3f800000,
}

// genDiffProg builds a test case from a seed.
func genDiffProg(seed uint64) diffProg {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ram := make([]byte, dRAM)
	for i, w := range handler(true) {
		binary.LittleEndian.PutUint32(ram[dHandlerM-ramBase+uint64(4*i):], w)
	}
	for i, w := range handler(false) {
		binary.LittleEndian.PutUint32(ram[dHandlerS-ramBase+uint64(4*i):], w)
	}
	g := &diffGen{r: r, ram: ram, pc: dCode, fp: r.IntN(3) == 0}
	if r.IntN(3) == 0 {
		g.pool = []uint32{sp, s0, s1}
		for _, i := range r.Perm(8)[:3+r.IntN(6)] {
			g.pool = append(g.pool, []uint32{ra, t0, t1, a0, a1, a2, a3, s2}[i])
		}
	}
	for g.pc < dCodeEnd-4 {
		g.inst()
	}
	copy(ram[dCodeU-ramBase:], ram[dCode-ramBase:dCodeEnd-ramBase])
	for i := dData - ramBase; i < dData-ramBase+0x4000; i += 8 {
		binary.LittleEndian.PutUint64(ram[i:], r.Uint64())
	}

	// Sv39 tables: identity maps with per-page permissions, an alias of
	// the first code page, the MMIO page, an unmapped data page.
	next := uint64(dPT + 0x1000)
	root := uint64(dPT)
	put := func(pa, v uint64) { binary.LittleEndian.PutUint64(ram[pa-ramBase:], v) }
	get := func(pa uint64) uint64 { return binary.LittleEndian.Uint64(ram[pa-ramBase:]) }
	const V, R, W, X, U, A, D = 1, 2, 4, 8, 16, 64, 128
	mapPage := func(va, pa, flags uint64) {
		t := root
		for lvl := 2; lvl > 0; lvl-- {
			e := t + ((va>>(12+9*lvl))&511)*8
			if get(e)&V == 0 {
				put(e, (next>>12)<<10|V)
				next += 0x1000
			}
			t = (get(e) >> 10) << 12
		}
		put(t+((va>>12)&511)*8, (pa>>12)<<10|flags)
	}
	ad := func() uint64 {
		if r.IntN(4) == 0 {
			return 0 // hardware sets A and D
		}
		return A | D
	}
	mapPage(ramBase, ramBase, V|R|X|A)
	for p := uint64(dCode); p < dCodeEnd; p += 0x1000 {
		mapPage(p, p, V|R|W|X|ad())
		mapPage(p-dCode+dCodeU, p, V|R|W|X|U|ad())
	}
	mapPage(dData, dData, V|R|W|ad())
	mapPage(dData+0x1000, dData+0x1000, V|R|W|U|ad())
	mapPage(dData+0x2000, dData+0x2000, V|R|A)
	mapPage(dMMIO, dMMIO, V|R|W|A|D)
	for p := uint64(dPT); p < dPT+0x8000; p += 0x1000 {
		mapPage(p, p, V|R|W|A|D)
	}

	var s State
	for i := 1; i < 32; i++ {
		switch r.IntN(4) {
		case 0:
			s.X[i] = uint64(r.IntN(64)) - 32
		case 1:
			s.X[i] = dData + uint64(r.IntN(0x4000))
		default:
			s.X[i] = r.Uint64()
		}
	}
	s.X[sp] = dData + 0x800
	s.X[s0] = dData + uint64(r.IntN(2))*0x1000 + uint64(r.IntN(0x1000))&^7
	s.X[s1] = []uint64{dData + 0x1000, dData + 0x2000, dData + 0x3000, dMMIO, dCode + uint64(r.IntN(0x4000)),
		dData + 0xff8 + uint64(r.IntN(8)), dData + 0x1ffc, 0x4000000000}[r.IntN(8)] + uint64(r.IntN(64))
	s.X[ra] = dCode + 2*uint64(r.IntN(0x2000))
	for i := range s.F {
		switch r.IntN(6) {
		case 0:
			s.F[i] = box32(r.Uint32())
		case 1:
			s.F[i] = r.Uint64()
		case 2, 3:
			s.F[i] = diffFPEdge[r.IntN(len(diffFPEdge))]
		default: // an ordinary double: sign, exponent near 0, random mantissa
			s.F[i] = uint64(r.IntN(2))<<63 | uint64(1023-40+r.IntN(80))<<52 | r.Uint64()&(1<<52-1)
		}
	}
	if g.fp {
		s.Mstatus |= msFS
		if r.IntN(4) != 0 {
			s.Fflags, s.Frm = 0, 0
		}
	}
	s.PC = dCode + 2*uint64(r.IntN(0x2000))
	s.Priv = []uint8{PrivM, PrivS, PrivU}[r.IntN(3)]
	if s.Priv == PrivU {
		s.PC += dCodeU - dCode
	}
	s.Mstatus = 2<<32 | 2<<34 | r.Uint64()&(msSIE|msMIE|msSPIE|msMPIE|msSPP|msMPP|msFS|msSUM|msMXR|msMPRV)
	if r.IntN(4) != 0 {
		s.Mstatus |= msFS
	}
	if (s.Mstatus&msMPP)>>11 == 2 {
		s.Mstatus &^= msMPP
	}
	s.Fflags = uint8(r.IntN(32))
	s.Frm = uint8(r.IntN(8))
	s.Medeleg = r.Uint64() & 0xb3ff
	s.Mideleg = r.Uint64() & (MipSSIP | MipSTIP | MipSEIP)
	s.Mie = r.Uint64() & (MipSSIP | MipMSIP | MipSTIP | MipMTIP | MipSEIP | MipMEIP)
	s.Mtvec = dHandlerM
	s.Stvec = dHandlerS
	if r.IntN(3) != 0 {
		s.Satp = satpSv39<<60 | root>>12
	}
	s.Mcounteren = r.Uint64() & 7
	s.Scounteren = r.Uint64() & 7
	s.ICount = r.Uint64() >> 20
	return diffProg{ram: ram, state: s}
}

func newDiffCPU(t testing.TB, p diffProg, jit bool, codeBytes int) *CPU {
	b := bus.New(ramBase, dRAM)
	copy(b.RAM, p.ram)
	c := New(b)
	d := &diffDev{c: c, b: b}
	if err := b.Map(dMMIO, 0x1000, "diff", d); err != nil {
		panic(err)
	}
	c.Time = func() uint64 { return c.icount * 3 }
	c.Load(p.state)
	c.TrackDirty()
	if jit {
		if err := c.EnableJIT(codeBytes); err != nil {
			t.Fatalf("compiled engine: %v", err)
		}
	}
	return c
}

// runDiff runs seed's program on both engines and reports the first
// difference. It returns the compiled engine's counters and at how many
// traps and returns from generated code it compared the two states.
func runDiff(t testing.TB, seed uint64, insts uint64) (JITStats, int, int) {
	p := genDiffProg(seed)
	r := rand.New(rand.NewPCG(seed^0xabcdef, seed))
	codeBytes := []int{16 << 10, 64 << 10, 1 << 20}[r.IntN(3)]
	ci := newDiffCPU(t, p, false, 0)
	cj := newDiffCPU(t, p, true, codeBytes)
	cj.setJITHot([]uint32{1, 1, 1, 2, 8}[r.IntN(5)])
	// Within a slice the compiled engine runs first. Its state is kept
	// at every trap, as the trap is taken, and wherever generated code
	// returns to Go (after a block or a chain of blocks; not where a
	// block has just made an interrupt deliverable, which Run takes
	// before anything else). The interpreter then runs the slice in
	// pieces that end at those points and must be in the same state at
	// each, and take the same traps in the same states.
	var jTraps []State
	var nTrap, slice, allTraps, allExits int
	type checkpoint struct {
		icount uint64
		state  State
	}
	var exits []checkpoint
	cj.trapHook = func() { jTraps = append(jTraps, cj.Save()) }
	cj.jit.exitHook = func() {
		if cj.icount < cj.limit && (len(exits) == 0 || exits[len(exits)-1].icount != cj.icount) {
			exits = append(exits, checkpoint{cj.icount, cj.Save()})
		}
	}
	ci.trapHook = func() {
		if nTrap >= len(jTraps) {
			t.Fatalf("seed %d: slice %d: the interpreter takes a trap the compiled engine does not, at pc %#x icount %d",
				seed, slice, ci.pc, ci.icount)
		}
		if s := ci.Save(); s != jTraps[nTrap] {
			t.Fatalf("seed %d: slice %d: trap %d taken in different states (-interp +jit):\n%s", seed, slice, nTrap, cmp.Diff(s, jTraps[nTrap]))
		}
		nTrap++
	}
	var done uint64
	var trace []string
	for ; done < insts; slice++ {
		var n uint64
		switch r.IntN(8) {
		case 0:
			n = 1
		case 1:
			n = uint64(r.IntN(4000))
		default:
			n = uint64(r.IntN(300))
		}
		before := ci.Save()
		jTraps, nTrap, exits = jTraps[:0], 0, exits[:0]
		rj := cj.Run(n)
		ri, left := StopBudget, n
		for k, e := range exits {
			if e.icount <= ci.icount || e.icount-ci.icount > left {
				continue
			}
			d := e.icount - ci.icount
			left -= d
			if ri = ci.Run(d); ri != StopBudget {
				break
			}
			if s := ci.Save(); s != e.state {
				t.Fatalf("seed %d: slice %d: engines differ where generated code returned to Go (exit %d, icount %d)\n%s\nstate (-interp +jit):\n%s",
					seed, slice, k, e.icount, joinLines(trace), cmp.Diff(s, e.state))
			}
		}
		allExits += len(exits)
		if ri == StopBudget {
			ri = ci.Run(left)
		}
		si, sj := ci.Save(), cj.Save()
		allTraps += nTrap
		if nTrap != len(jTraps) {
			t.Fatalf("seed %d: slice %d: the interpreter took %d traps, the compiled engine %d", seed, slice, nTrap, len(jTraps))
		}
		trace = append(trace, fmt.Sprintf("slice %d: Run(%d) from pc %#x priv %d icount %d -> %v", slice, n, before.PC, before.Priv, before.ICount, ri))
		if len(trace) > 8 {
			trace = trace[1:]
		}
		if ri != rj || si != sj {
			t.Fatalf("seed %d: engines differ after slice %d (Run -> %v / %v)\n%s\nstate (-interp +jit):\n%s",
				seed, slice, ri, rj, joinLines(trace), cmp.Diff(si, sj))
		}
		if !bytes.Equal(ci.ram, cj.ram) {
			for i := range ci.ram {
				if ci.ram[i] != cj.ram[i] {
					t.Fatalf("seed %d: RAM differs at %#x after slice %d (%#x vs %#x)\n%s", seed, ramBase+i, slice, ci.ram[i], cj.ram[i], joinLines(trace))
				}
			}
		}
		var di, dj []uint64
		ci.TakeDirty(func(p uint64) { di = append(di, p) })
		cj.TakeDirty(func(p uint64) { dj = append(dj, p) })
		if !slicesEqual(di, dj) {
			t.Fatalf("seed %d: dirty pages differ after slice %d: %v vs %v", seed, slice, di, dj)
		}
		done += si.ICount - before.ICount
		// Interrupt lines change between slices, the same on both.
		if r.IntN(6) == 0 {
			setLine(r, ci, cj)
		}
		if ri == StopIdle {
			if si.Mie == 0 {
				break
			}
			ci.SetPending(MipMTIP|MipMEIP, true)
			cj.SetPending(MipMTIP|MipMEIP, true)
			done += 100
		}
		if n == 0 {
			done++
		}
	}
	return cj.JITStats(), allTraps, allExits
}

// setLine raises or lowers a random interrupt line, the same on both harts.
func setLine(r *rand.Rand, ci, cj *CPU) {
	bit := []uint64{MipMTIP, MipMSIP, MipMEIP, MipSEIP}[r.IntN(4)]
	lvl := r.IntN(2) == 0
	ci.SetPending(bit, lvl)
	cj.SetPending(bit, lvl)
}

func joinLines(s []string) string {
	var b bytes.Buffer
	for _, l := range s {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestJITDifferential runs a fixed corpus of seeds.
func TestJITDifferential(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 150
	}
	var total JITStats
	traps, exits := 0, 0
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		s, nt, ne := runDiff(t, seed, 20000)
		traps += nt
		exits += ne
		total.Blocks += s.Blocks
		total.Calls += s.Calls
		total.InterpExits += s.InterpExits
		total.Chains += s.Chains
		total.Invalidated += s.Invalidated
		total.Flushes += s.Flushes
	}
	t.Logf("compiled engine over the corpus: %+v; states compared at %d traps and %d returns from generated code", total, traps, exits)
	if total.Blocks == 0 || total.Chains == 0 || total.Invalidated == 0 || total.Flushes == 0 || traps == 0 || exits == 0 {
		t.Fatalf("the corpus does not exercise the compiled engine: %+v", total)
	}
}

// FuzzJITDifferential is the same comparison on fuzzed seeds.
func FuzzJITDifferential(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		runDiff(t, seed, 20000)
	})
}

// TestJITSstatus pins the compiled sstatus accesses on cases random
// programs reach rarely: clearing SUM between two loads of a user page
// (the second must fault), setting SIE with a supervisor interrupt
// pending (it must be taken right after the write), and the block-wide
// tracking of mstatus.FS (checked and set once per block): a store
// leaves FS alone and a later operation still dirties it, and FS turned
// off by a CSR write in the middle of a block makes the next FP
// instruction illegal.
func TestJITSstatus(t *testing.T) {
	csrs := func(csr uint32, rs reg) uint32 { return csr<<20 | rs<<15 | 2<<12 | 0x73 }
	csrc := func(csr uint32, rs reg) uint32 { return csr<<20 | rs<<15 | 3<<12 | 0x73 }
	csrsi := func(csr uint32, imm uint32) uint32 { return csr<<20 | imm<<15 | 6<<12 | 0x73 }
	fld := func(rd, rs1 reg, imm int64) uint32 { return encI(0x07, 3, rd, rs1, imm) }
	fsd := func(rs2, rs1 reg, imm int64) uint32 { return encS(0x27, 3, rs1, rs2, imm) }
	faddd := func(rd, rs1, rs2 reg) uint32 { return encR(0x53, 0, 1, rd, rs1, rs2) } // rne
	fsInitial := func(s *State) {
		s.Mstatus = s.Mstatus&^msFS | 1<<13 | msSUM
		s.Fflags |= 1                                           // NX: the compiled fast path
		s.F[3], s.F[4] = 0x3ff8000000000000, 0x4002000000000000 // 1.5, 2.25
	}
	// primed runs main (from dCode+4) as one block with the data page
	// in both TLBs: a jump to a prologue that stores to and loads from
	// it and jumps back.
	primed := func(main ...uint32) []uint32 {
		n := int64(len(main))
		code := append([]uint32{jal(zero, 4*(n+2))}, main...)
		return append(code, encJ(zero, 0), sd(zero, s0, 16), ld(a3, s0, 16), jal(zero, -4*(n+3)))
	}
	tests := []struct {
		name  string
		setup func(s *State)
		code  []uint32
		// The interpreter's trap: cause and epc after the handler
		// (0, 0 for none).
		cause, epc uint64
	}{
		{"SUM cleared", func(s *State) { s.Mstatus |= msSUM }, []uint32{
			ld(a0, s0, 0), encU(0x37, t0, msSUM), csrc(csrSstatus, t0), ld(a1, s0, 8), addi(a2, zero, 1),
		}, CauseLoadPageFault, dCode + 12 + 4}, // the handler steps over the load
		{"SIE set", func(s *State) {
			s.Mstatus &^= msSIE
			s.Mideleg = MipSEIP
			s.Mie = MipSEIP
			s.MipHW = MipSEIP
		}, []uint32{addi(a0, zero, 1), csrsi(csrSstatus, msSIE), addi(a1, zero, 2), addi(a2, zero, 3)},
			1<<63 | 9, dCode + 8},
		{"SUM set", func(s *State) { s.Mstatus &^= msSUM }, []uint32{
			encU(0x37, t0, msSUM), csrs(csrSstatus, t0), ld(a1, s0, 8), addi(a2, zero, 1),
		}, 0, 0},
		{"FS store then add", fsInitial, primed(fsd(1, s0, 0), faddd(2, 3, 4), fsd(2, s0, 8)), 0, 0},
		{"FS store only", fsInitial, primed(fsd(1, s0, 0), fsd(2, s0, 8), addi(a0, zero, 1)), 0, 0},
		{"FS turned off", fsInitial, primed(
			fld(1, s0, 0), encU(0x37, t0, msFS), csrc(csrSstatus, t0), fld(2, s0, 8), addi(a2, zero, 1),
		), CauseIllegalInstruction, dCode + 16 + 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := genDiffProg(1)
			s := &p.state
			s.Priv = PrivS
			s.Satp = satpSv39<<60 | dPT>>12
			s.X[s0] = dData + 0x1000 // the user page
			s.PC = dCode
			s.Medeleg = 0xb3ff
			s.Scause, s.Sepc = 0, 0
			tt.setup(s)
			for k, w := range append(tt.code, encJ(zero, 0)) {
				binary.LittleEndian.PutUint32(p.ram[dCode-ramBase+4*uint64(k):], w)
			}
			states, _ := runBothEngines(t, p, 200)
			if s := states[0]; s.Scause != tt.cause || s.Sepc != tt.epc {
				t.Fatalf("interpreter: scause %#x sepc %#x, want %#x %#x", s.Scause, s.Sepc, tt.cause, tt.epc)
			}
			if strings.HasPrefix(tt.name, "FS") && tt.cause == 0 {
				wantFS := uint64(1 << 13)
				if strings.Contains(tt.name, "add") {
					wantFS = msFS
				}
				if fs := states[0].Mstatus & msFS; fs != wantFS {
					t.Fatalf("interpreter: mstatus.FS %#x, want %#x", fs, wantFS)
				}
			}
			if diff := cmp.Diff(states[0], states[1]); diff != "" {
				t.Fatalf("state (-interp +jit):\n%s", diff)
			}
		})
	}
}

// TestJITStraddle runs a loop through a 4-byte instruction that straddles
// a page end (under Sv39, the upper half on the next virtual page) on
// both engines: compiled as a block of its own, then after the loop
// rewrites the upper half (the block must be invalidated through the
// second page), then after the next virtual page is mapped to another
// physical page with a different upper half (the block's check of the
// fetch TLB must send it to the interpreter).
func TestJITStraddle(t *testing.T) {
	const (
		loop = dCode + 0xfe8
		alt  = ramBase + 0x40000 // the second mapping's physical page
	)
	addiA1 := func(imm uint32) uint32 { return imm<<20 | uint32(a1)<<15 | uint32(a1)<<7 | 0x13 }
	sh := func(rs2, rs1 reg, imm int64) uint32 { return encS(0x23, 1, rs1, rs2, imm) }
	p := genDiffProg(1)
	// Halfwords from dCode+0xfe0: the loop adds 7 to a1 through the
	// straddling addi at 0xffe, ten times; then, once, stores the upper
	// half of "addi a1, a1, 100" over it and loops again.
	var code []uint16
	put := func(ws ...uint32) {
		for _, w := range ws {
			code = append(code, uint16(w), uint16(w>>16))
		}
	}
	put(addi(t0, zero, 10), addi(a1, zero, 0))                                                        // 0xfe0
	put(addi(a2, a2, 1), addi(a3, a3, 2), addi(a4, a4, 3), addi(a5, a5, 4))                           // 0xfe8 loop
	code = append(code, 0x0001)                                                                       // 0xff8: c.nop
	code = append(code, 0x0001, 0x0001)                                                               // 0xffa, 0xffc
	put(addiA1(7))                                                                                    // 0xffe: straddles
	put(addi(t0, t0, -1), bne(t0, zero, int64(loop)-int64(dCode+0x1006)))                             // 0x1002
	put(bne(a7, zero, 0x1c), addi(a7, zero, 1), addi(t1, zero, int64(addiA1(100)>>16)), auipc(t2, 0)) // 0x100a
	put(sh(t1, t2, -0x16), addi(t0, zero, 10), jal(zero, int64(loop)-int64(dCode+0x1022)))            // 0x101a
	put(jal(zero, 0))                                                                                 // 0x1026: halt
	for i, h := range code {
		binary.LittleEndian.PutUint16(p.ram[dCode+0xfe0-ramBase+uint64(2*i):], h)
	}
	s := &p.state
	s.Priv, s.Satp, s.PC = PrivS, satpSv39<<60|dPT>>12, dCode+0xfe0
	s.Mie, s.MipHW, s.X[a7] = 0, 0, 0

	cs := bothEngines(t, p)
	for _, c := range cs {
		c.setJITHot(1)
	}
	check := func(phase string, wantA1 uint64) {
		t.Helper()
		for _, c := range cs {
			c.Run(2000)
			if got := c.Reg(int(a1)); got != wantA1 || c.PC() != dCode+0x1026 {
				t.Fatalf("%s, jit %v: a1 = %d at pc %#x, want %d at the halt", phase, c.jit != nil, got, c.PC(), wantA1)
			}
		}
		if diff := cmp.Diff(cs[0].Save(), cs[1].Save()); diff != "" {
			t.Fatalf("%s: state (-interp +jit):\n%s", phase, diff)
		}
	}
	check("rewritten upper half", 10*7+10*100)
	straddlers := 0
	for _, b := range cs[1].jit.blocks {
		if b.hi2 > 0 && b.entry != 0 {
			straddlers++
		}
	}
	if straddlers == 0 {
		t.Fatal("the straddling instruction was not compiled")
	}

	// Map the next virtual page to alt, a copy whose straddling upper
	// half is that of "addi a1, a1, 12", and run the loop again.
	for _, c := range cs {
		copy(c.ram[alt-ramBase:], c.ram[dCode+0x1000-ramBase:dCode+0x2000-ramBase])
		binary.LittleEndian.PutUint16(c.ram[alt-ramBase:], uint16(addiA1(12)>>16))
		pte := sv39Leaf(t, c.ram, dPT, dCode+0x1000)
		old := binary.LittleEndian.Uint64(c.ram[pte-ramBase:])
		binary.LittleEndian.PutUint64(c.ram[pte-ramBase:], old&^(1<<54-1<<10)|alt>>12<<10)
		c.flushTLB() // as sfence.vma would (Load would drop the compiled code)
		c.pc, c.x[t0] = loop, 10
	}
	check("remapped upper half", 10*7+10*100+10*12)
}

// sv39Leaf returns the physical address of the leaf PTE that maps va
// (4 KiB pages) in the Sv39 table at root.
func sv39Leaf(t *testing.T, ram []byte, root, va uint64) uint64 {
	t.Helper()
	table := root
	for level := 2; level >= 0; level-- {
		pte := table + (va>>(12+9*uint(level))&511)*8
		e := binary.LittleEndian.Uint64(ram[pte-ramBase:])
		if level == 0 || e&0xe != 0 {
			if level != 0 {
				t.Fatalf("%#x is mapped by a superpage", va)
			}
			return pte
		}
		table = (e >> 10) << 12
	}
	panic("unreachable")
}

// TestJITPlainCSRs pins the compiled accesses of the trap handlers'
// plain CSRs at every privilege level: a write (epc registers clear bit
// 0) and a read back, or the illegal instruction below the CSR's level,
// the same on both engines.
func TestJITPlainCSRs(t *testing.T) {
	csrrw := func(rd reg, csr uint32, rs reg) uint32 { return csr<<20 | rs<<15 | 1<<12 | rd<<7 | 0x73 }
	csrrs := func(rd reg, csr uint32, rs reg) uint32 { return csr<<20 | rs<<15 | 2<<12 | rd<<7 | 0x73 }
	const val = 0x123456789abcdef1 // odd
	for _, csr := range []uint32{csrSscratch, csrSepc, csrScause, csrStval, csrMscratch, csrMepc, csrMcause, csrMtval} {
		for _, priv := range []uint8{PrivU, PrivS, PrivM} {
			p := genDiffProg(1)
			base := uint64(dCode)
			if priv == PrivU {
				base = dCodeU // without translation, U-mode runs the copy
			}
			// The first instruction runs on the interpreter; the block
			// starts after it.
			code := []uint32{addi(a3, zero, 0), csrrw(a0, csr, t0), csrrs(a1, csr, zero), addi(a2, zero, 1), jal(zero, 0)}
			for k, w := range code {
				binary.LittleEndian.PutUint32(p.ram[base-ramBase+4*uint64(k):], w)
			}
			s := &p.state
			s.Priv, s.Satp, s.PC, s.Mie = priv, 0, base, 0
			s.Medeleg = 0 // traps go to the M-mode handler, which steps over
			s.X[t0] = val
			states, _ := runBothEngines(t, p, 100)
			name := fmt.Sprintf("csr %#x at privilege %d", csr, priv)
			s0 := states[0]
			if allowed := uint8(csr>>8&3) <= priv; allowed {
				want := uint64(val)
				if csr == csrSepc || csr == csrMepc {
					want &^= 1
				}
				if s0.X[a1] != want {
					t.Errorf("%s: interpreter read back %#x, want %#x", name, s0.X[a1], want)
				}
			} else if s0.Mcause != CauseIllegalInstruction {
				t.Errorf("%s: interpreter: mcause %d, want an illegal instruction", name, s0.Mcause)
			}
			if diff := cmp.Diff(states[0], states[1]); diff != "" {
				t.Errorf("%s: state (-interp +jit):\n%s", name, diff)
			}
		}
	}
}

// TestJITWFI pins the compiled WFI: a no-op where an interrupt that mie
// enables is pending (in M-mode, or S-mode without mstatus.TW), a wait
// where none is, an illegal instruction in U-mode and in S-mode with TW;
// the same on both engines.
func TestJITWFI(t *testing.T) {
	const wfi = 0x10500073
	for _, tc := range []struct {
		priv    uint8
		tw      bool
		pending bool
		want    string // "nop", "wait" or "illegal"
	}{
		{PrivM, false, true, "nop"},
		{PrivM, true, true, "nop"}, // TW does not apply to M-mode
		{PrivM, false, false, "wait"},
		{PrivS, false, true, "nop"},
		{PrivS, false, false, "wait"},
		{PrivS, true, true, "illegal"},
		{PrivU, false, false, "illegal"},
	} {
		name := fmt.Sprintf("priv %d tw %v pending %v", tc.priv, tc.tw, tc.pending)
		p := genDiffProg(1)
		base := uint64(dCode)
		if tc.priv == PrivU {
			base = dCodeU // without translation, U-mode runs the copy
		}
		// The first instruction runs on the interpreter; the block
		// starts after it.
		code := []uint32{addi(a3, zero, 0), addi(a0, zero, 1), wfi, addi(a1, zero, 2), jal(zero, 0)}
		for k, w := range code {
			binary.LittleEndian.PutUint32(p.ram[base-ramBase+4*uint64(k):], w)
		}
		s := &p.state
		s.Priv, s.Satp, s.PC, s.Medeleg, s.Mcause = tc.priv, 0, base, 0, 0
		s.X[a0], s.X[a1] = 0, 0
		s.Mstatus &^= msMIE | msSIE | msTW
		if tc.tw {
			s.Mstatus |= msTW
		}
		// An interrupt enabled in mie but not deliverable: in M-mode
		// MSIP with MIE off; below, SSIP delegated to S-mode with SIE
		// off (M-level interrupts are always deliverable below M).
		s.Mie, s.Mideleg, s.MipSW, s.MipHW = MipMSIP, 0, 0, 0
		if tc.priv != PrivM {
			s.Mie, s.Mideleg = MipSSIP, MipSSIP
		}
		if tc.pending && tc.priv == PrivM {
			s.MipHW = MipMSIP
		} else if tc.pending {
			s.MipSW = MipSSIP
		}
		states, stops := runBothEngines(t, p, 50)
		s0 := states[0]
		var got string
		switch {
		case s0.Mcause == CauseIllegalInstruction: // (the handler steps over it)
			got = "illegal"
		case stops[0] == StopIdle && s0.PC == base+12 && s0.X[a1] == 0:
			got = "wait"
		case s0.X[a1] == 2 && s0.PC == base+16:
			got = "nop"
		}
		if got != tc.want {
			t.Errorf("%s: interpreter: %q (stop %v, pc %#x, mcause %d), want %q", name, got, stops[0], s0.PC, s0.Mcause, tc.want)
		}
		if stops[0] != stops[1] || states[0] != states[1] {
			t.Errorf("%s: stop %v / %v, state (-interp +jit):\n%s", name, stops[0], stops[1], cmp.Diff(states[0], states[1]))
		}
	}
}

// runBothEngines runs p on the interpreter and on the compiled engine
// (compiling every block at its first lookup): one instruction, which
// fills the fetch TLB, then up to budget more, so the rest runs compiled.
// It returns each engine's final state and stop reason, interpreter
// first.
func runBothEngines(t *testing.T, p diffProg, budget uint64) (states [2]State, stops [2]StopReason) {
	t.Helper()
	for i, c := range bothEngines(t, p) {
		c.setJITHot(1)
		c.Run(1)
		stops[i] = c.Run(budget)
		states[i] = c.Save()
	}
	return states, stops
}

// TestJITWarm checks when code gets compiled: a loop is compiled once
// its head has been looked up as often as the threshold says, not
// before, and the interpreter runs cold code up to its next branch, where
// a block may begin. Both engines end in the same state either way.
func TestJITWarm(t *testing.T) {
	const hot = 32
	for _, tc := range []struct {
		iters    int64
		compiled bool
	}{
		{hot - 2, false},
		{hot + 10, true},
		{500, true},
	} {
		t.Run(fmt.Sprintf("%d iterations", tc.iters), func(t *testing.T) {
			p := machineModeProg([]uint32{
				addi(a0, zero, 0),
				addi(a1, zero, tc.iters),
				addi(a0, a0, 1), // loop
				bne(a0, a1, -4),
				addi(a2, zero, 7),
			})
			budget := uint64(3 + 2*tc.iters)
			var states [2]State
			for i, c := range bothEngines(t, p) {
				c.setJITHot(hot)
				c.Run(budget)
				states[i] = c.Save()
				if i == 0 {
					continue
				}
				if got := c.JITStats().Blocks > 0; got != tc.compiled {
					t.Errorf("compiled: %v, want %v (%+v)", got, tc.compiled, c.JITStats())
				}
			}
			if diff := cmp.Diff(states[0], states[1]); diff != "" {
				t.Fatalf("state (-interp +jit):\n%s", diff)
			}
			if states[1].X[a2] != 7 || states[1].X[a0] != uint64(tc.iters) {
				t.Fatalf("a0 = %d, a2 = %d: the program did not run to its end", states[1].X[a0], states[1].X[a2])
			}
		})
	}

	// Cold code on the interpreter stops right after a branch, taken or
	// not, and after a jump.
	p := machineModeProg([]uint32{
		addi(a0, zero, 1),
		bne(a0, a0, 8), // not taken
		addi(a1, zero, 2),
		jal(zero, 8),
		addi(a2, zero, 3), // skipped
		addi(a3, zero, 4),
	})
	c := newDiffCPU(t, p, false, 1<<20)
	for _, want := range []uint64{dCode + 8, dCode + 20} {
		c.stop, c.limit = c.icount+100, c.icount+100
		c.jumpStop = true
		c.step()
		if c.pc != want || c.jumpStop {
			t.Fatalf("interpreter with jumpStop stopped at %#x (jumpStop %v), want %#x (false)", c.pc, c.jumpStop, want)
		}
	}
}

// TestJITUnderGC runs generated code for a long time while the Go
// runtime works around it: another goroutine allocates and forces
// collections (each stops the world, which asks this goroutine to stop
// by signal), the CPU profiler's signals arrive and the execution tracer
// records stacks. Generated code uses RBP and R14, which Go reserves
// elsewhere; a signal landing in it must be harmless, the tracer's
// frame-pointer unwinding must find jitCall's caller's RBP restored (with
// it left changed, this test crashes), and the hart must end exactly
// where the interpreter does.
func TestJITUnderGC(t *testing.T) {
	const iters = 0x600_0000 // about 100 M
	code := []uint32{
		addi(a0, zero, 0),
		lui(a1, iters),
		addi(a1, a1, 0),
		addi(a0, a0, 1), // loop
		add(a2, a2, a0),
		xor(a3, a3, a2),
		bne(a0, a1, -12),
		addi(a4, zero, 7),
	}
	p := machineModeProg(code)
	s := &p.state
	budget := uint64(4 + 4*iters) // the three before the loop, the last
	c := newDiffCPU(t, p, true, 1<<20)
	if err := pprof.StartCPUProfile(io.Discard); err == nil {
		defer pprof.StopCPUProfile()
	}
	// The execution tracer unwinds stacks by their frame pointers: a BP
	// that generated code left changed in a Go frame would send it astray.
	if err := trace.Start(io.Discard); err == nil {
		defer trace.Stop()
	}
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		var keep [][]byte
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			keep = append(keep, make([]byte, 64<<10))
			if len(keep) > 64 {
				keep = keep[:0]
			}
			runtime.GC()
			n++
		}
	}()
	for end := c.icount + budget; c.icount < end; {
		c.Run(end - c.icount)
	}
	close(stop)
	gcs := <-done
	if gcs == 0 {
		t.Error("no collection ran while generated code did")
	}
	a2v, a3v := s.X[a2], s.X[a3]
	for i := uint64(1); i <= iters; i++ {
		a2v += i
		a3v ^= a2v
	}
	got := c.Save()
	if got.X[a0] != iters || got.X[a2] != a2v || got.X[a3] != a3v || got.X[a4] != 7 || got.PC != dCode+uint64(4*len(code)) {
		t.Fatalf("a0 = %d, a2 = %#x (want %#x), a3 = %#x (want %#x), a4 = %d, pc = %#x after %d collections",
			got.X[a0], got.X[a2], a2v, got.X[a3], a3v, got.X[a4], got.PC, gcs)
	}
	if c.JITStats().Calls == 0 {
		t.Fatal("the loop did not run in generated code")
	}
	t.Logf("%d collections while %d instructions ran, %d calls into generated code", gcs, budget, c.JITStats().Calls)
}

// machineModeProg returns a program that runs code from dCode in M-mode
// with translation and interrupts off (the rest of RAM and the
// registers as genDiffProg(1) made them).
func machineModeProg(code []uint32) diffProg {
	p := genDiffProg(1)
	for k, w := range code {
		binary.LittleEndian.PutUint32(p.ram[dCode-ramBase+4*uint64(k):], w)
	}
	s := &p.state
	s.Priv, s.Satp, s.PC, s.Mstatus = PrivM, 0, dCode, s.Mstatus&^msMIE
	return p
}

// bothEngines returns two harts that start from p, each with RAM of its
// own: the interpreter's, then the compiled engine's (the test is
// skipped on a host without one).
func bothEngines(t *testing.T, p diffProg) [2]*CPU {
	t.Helper()
	var cs [2]*CPU
	for i, jit := range []bool{false, true} {
		q := p
		q.ram = append([]byte(nil), p.ram...)
		cs[i] = newDiffCPU(t, q, jit, 1<<20)
	}
	return cs
}

// TestJITBreakpoints runs generated programs on both engines with the
// same breakpoints, at pcs the program reaches, set after two slices and
// resumed from after each stop as a debugger does. With breakpoints set
// the compiled engine runs all but the pages that hold one; both engines
// must stop at the same breakpoints in the same states.
func TestJITBreakpoints(t *testing.T) {
	stops, calls := compareDebug(t, func(r *rand.Rand, pcs, _ []uint64, c *CPU) {
		var bps []uint64
		for range 1 + r.IntN(3) {
			bps = append(bps, pcs[r.IntN(len(pcs))])
		}
		c.SetBreakpoints(bps)
	})
	if stops[StopBreakpoint] == 0 || calls == 0 {
		t.Fatalf("the programs stopped at %d breakpoints and entered generated code %d times", stops[StopBreakpoint], calls)
	}
}

// TestJITWatchpoints is TestJITBreakpoints with watchpoints on the data
// the programs use: virtual and physical, read, write and access, and
// sometimes a breakpoint too. The compiled engine reaches watched pages
// only through the slow path, that is the interpreter.
func TestJITWatchpoints(t *testing.T) {
	stops, calls := compareDebug(t, func(r *rand.Rand, pcs, addrs []uint64, c *CPU) {
		var ws []Watch
		for range 1 + r.IntN(2) {
			addr := addrs[r.IntN(len(addrs))]
			if r.IntN(4) == 0 {
				addr = dData + uint64(r.IntN(0x2000))&^7
			}
			ws = append(ws, Watch{
				Addr:     addr,
				Len:      []uint64{1, 8, 64, 0x400}[r.IntN(4)],
				Kind:     []WatchKind{WatchWrite, WatchRead, WatchAccess}[r.IntN(3)],
				Physical: r.IntN(4) == 0,
			})
		}
		c.SetWatchpoints(ws)
		if r.IntN(3) == 0 {
			c.SetBreakpoints([]uint64{pcs[r.IntN(len(pcs))]})
		}
	})
	if stops[StopWatchpoint] == 0 || calls == 0 {
		t.Fatalf("the programs stopped at %d watchpoints and entered generated code %d times", stops[StopWatchpoint], calls)
	}
}

// compareDebug runs generated programs on both engines, arms both harts
// alike with arm (given pcs the program reaches and data addresses it
// accesses) after two slices, and
// compares stop reasons, states and watch hits after every slice,
// resuming from breakpoints as a debugger does. It returns the stops by
// reason and how often generated code was entered.
func compareDebug(t *testing.T, arm func(r *rand.Rand, pcs, addrs []uint64, c *CPU)) (map[StopReason]int, uint64) {
	t.Helper()
	seeds := uint64(60)
	if testing.Short() {
		seeds = 20
	}
	stops := map[StopReason]int{}
	var calls uint64
	for seed := uint64(1); seed <= seeds; seed++ {
		p := genDiffProg(seed)
		// The pcs the program reaches and the data addresses it uses.
		probe := newDiffCPU(t, p, false, 0)
		probe.SetWatchpoints([]Watch{{Addr: dData, Len: 0x4000, Kind: WatchAccess}})
		var pcs, addrs []uint64
		for range 3000 {
			r := probe.Run(1)
			if r == StopIdle {
				break
			}
			if r == StopWatchpoint {
				addrs = append(addrs, probe.LastWatchHit().Addr)
			}
			pcs = append(pcs, probe.pc)
		}
		if len(pcs) == 0 || len(addrs) == 0 {
			continue
		}
		ci, cj := newDiffCPU(t, p, false, 0), newDiffCPU(t, p, true, 1<<20)
		cj.setJITHot(1)
		r := rand.New(rand.NewPCG(seed, 99))
		for slice, start := 0, ci.ICount(); ci.ICount()-start < 20000; slice++ {
			if slice == 2 {
				// Armed once the compiled engine has run (and filled
				// its jump cache) without them.
				k := r.Uint64()
				arm(rand.New(rand.NewPCG(k, 1)), pcs, addrs, ci)
				arm(rand.New(rand.NewPCG(k, 1)), pcs, addrs, cj)
			}
			n := uint64(1 + r.IntN(3000))
			ri, rj := ci.Run(n), cj.Run(n)
			si, sj := ci.Save(), cj.Save()
			if ri != rj || si != sj || ci.LastWatchHit() != cj.LastWatchHit() {
				t.Fatalf("seed %d: slice %d: Run(%d) -> %v / %v, watch hits %+v / %+v, state (-interp +jit):\n%s",
					seed, slice, n, ri, rj, ci.LastWatchHit(), cj.LastWatchHit(), cmp.Diff(si, sj))
			}
			stops[ri]++
			if ri == StopIdle {
				break
			}
			if ri == StopBreakpoint {
				ci.SkipBreakpointOnce(si.PC)
				cj.SkipBreakpointOnce(sj.PC)
			}
			// Interrupt lines change between slices, the same on both.
			if r.IntN(4) == 0 {
				setLine(r, ci, cj)
			}
		}
		calls += cj.JITStats().Calls
	}
	t.Logf("stops %v; %d entries into generated code", stops, calls)
	return stops, calls
}

// TestJITBreakpointResume: a resume from a breakpoint skips it for one
// instruction only, also when an interrupt is taken first and the
// handler, on another page, runs compiled (from the second round): back
// at the breakpoint the hart stops again, on both engines alike.
func TestJITBreakpointResume(t *testing.T) {
	const handler = 0x2000
	code := prog(
		li(t0, ramBase+handler), csrrw(zero, csrMtvec, t0),
		li(t0, MipMSIP), csrrw(zero, csrMie, t0),
		li(t0, msMIE), csrrw(zero, csrMstatus, t0),
		addi(a0, a0, 1), // loop: the breakpoint
		jal(zero, -4),
	)
	bp := ramBase + 4*uint64(len(code)-2)
	var states [2]State
	for i, jit := range []bool{false, true} {
		c := newTestCPU(t, code)
		// The handler counts and turns the interrupt off; each round
		// turns it on again.
		for k, w := range []uint32{addi(a1, a1, 1), csrrw(zero, csrMie, zero), mret} {
			binary.LittleEndian.PutUint32(c.ram[handler+4*k:], w)
		}
		if jit {
			if err := c.EnableJIT(0); err != nil {
				t.Fatalf("compiled engine: %v", err)
			}
			c.setJITHot(1)
		}
		c.SetBreakpoints([]uint64{bp})
		for range 3 { // stop, resume, stop again: the loop gets hot
			if r := c.Run(1000); r != StopBreakpoint || c.PC() != bp {
				t.Fatalf("jit %v: Run = %v at %#x, want a stop at %#x", jit, r, c.PC(), bp)
			}
			c.SkipBreakpointOnce(bp)
		}
		for round := range uint64(4) { // the handler gets hot too
			n := c.ICount()
			c.SetPending(MipMSIP, true)
			c.mie = MipMSIP
			if r := c.Run(1000); r != StopBreakpoint || c.PC() != bp || c.ICount() != n+3 || c.Reg(int(a1)) != round+1 {
				t.Fatalf("jit %v, round %d: Run = %v at %#x after %d instructions, a1 = %d; want the handler's 3 instructions, then a stop at %#x",
					jit, round, r, c.PC(), c.ICount()-n, c.Reg(int(a1)), bp)
			}
			c.SkipBreakpointOnce(bp)
		}
		states[i] = c.Save()
	}
	if diff := cmp.Diff(states[0], states[1]); diff != "" {
		t.Fatalf("engines differ (-interp +jit):\n%s", diff)
	}
}
