//go:build linux && amd64

package cpu

import (
	"math/bits"

	"github.com/rewindvm/rewind/internal/amd64"
)

// The register cache. Within a block, guest registers that the block
// uses more than once live in host registers: read from the CPU struct
// once, written back once. A block is straight-line code, so which guest
// register is in which host register is known at every instruction when
// the block is compiled, and the generated code never tests it. Every
// way out of a block writes the dirty ones back first: the exits to the
// next block or the dispatcher, the exit before an instruction the
// interpreter runs, and each instruction's out-of-line slow path (which
// writes back those dirty when the instruction began). So at every exit
// the architectural state is in the CPU struct, exactly as without the
// cache.
//
// Registers are assigned when an instruction begins (prepare), never in
// the middle of its code, which may branch internally. When no host
// register is free, the one whose next use in the block is furthest away
// is given up (written back if dirty), Belady's rule, which is optimal
// for straight-line code; a register used only once in the block is not
// cached at all.

// jitCacheRegs are the host registers that hold guest registers. RAX,
// RCX, RDX and RSI stay scratch registers of the instructions' code; the
// others are fixed (see jit_amd64.go) or belong to Go. RBP and R14 are
// Go's frame pointer and goroutine outside generated code: jitCall saves
// and restores them around it.
var jitCacheRegs = [...]amd64.Reg{amd64.RDI, amd64.R8, amd64.R9, amd64.R10, amd64.R11, amd64.RBP, amd64.R14}

const jitNoUse = 1 << 30

// jitFCacheRegs hold guest FP registers within a block. X0 and X1 are
// the FP code's scratch registers; X15 is Go's zero register.
var jitFCacheRegs = [...]amd64.XReg{amd64.X2, amd64.X3, amd64.X4, amd64.X5, amd64.X6,
	amd64.X7, amd64.X8, amd64.X9, amd64.X10, amd64.X11, amd64.X12, amd64.X13, amd64.X14}

// jitRegs is the register cache's state at one point of the block.
type jitRegs struct {
	host  [32]int8                 // guest register -> index into jitCacheRegs, or -1
	guest [len(jitCacheRegs)]uint8 // index -> guest register, 0 if free
	valid uint32                   // bit r: the host register holds x[r]
	dirty uint32                   // bit r: ... and x[r] in memory is stale

	// FP registers: fhost[r] is f[r]'s index into jitFCacheRegs for
	// the whole block (-1: not cached), fvalid and fdirty as above.
	fhost          [32]int8
	fvalid, fdirty uint32
}

// jitSpill lists the cached registers to write back on one path out.
type jitSpill struct {
	n   uint8
	reg [len(jitCacheRegs)]amd64.Reg
	x   [len(jitCacheRegs)]uint8
	fn  uint8
	fr  [len(jitFCacheRegs)]amd64.XReg
	f   [len(jitFCacheRegs)]uint8
}

func (rc *jitRegs) reset() {
	*rc = jitRegs{}
	for i := range rc.host {
		rc.host[i] = -1
		rc.fhost[i] = -1
	}
}

// clean records that every cached register was written back.
func (rc *jitRegs) clean() { rc.dirty, rc.fdirty = 0, 0 }

// cached returns the host register holding x[r], if any.
func (rc *jitRegs) cached(r uint8) (amd64.Reg, bool) {
	if r == 0 || r >= 32 || rc.valid&(1<<r) == 0 {
		return 0, false
	}
	return jitCacheRegs[rc.host[r]], true
}

// assigned returns the host register assigned to x[r], if any, without
// marking it written: an instruction that computes x[r] in place gets
// it, writes it, and calls dest.
func (rc *jitRegs) assigned(r uint8) (amd64.Reg, bool) {
	if r == 0 || r >= 32 || rc.host[r] < 0 {
		return 0, false
	}
	return jitCacheRegs[rc.host[r]], true
}

// dest returns the host register assigned to x[r], if any, and marks it
// as holding the (new) value, not yet in memory: the caller writes it.
func (rc *jitRegs) dest(r uint8) (amd64.Reg, bool) {
	if r == 0 || r >= 32 || rc.host[r] < 0 {
		return 0, false
	}
	rc.valid |= 1 << r
	rc.dirty |= 1 << r
	return jitCacheRegs[rc.host[r]], true
}

// setDirty marks cached x[r] as changed in its host register.
func (rc *jitRegs) setDirty(r uint8) { rc.dirty |= 1 << r }

// dirtySet returns the registers a path out must write back now.
func (rc *jitRegs) dirtySet() jitSpill {
	var s jitSpill
	for i, r := range rc.guest {
		if r != 0 && rc.dirty&(1<<r) != 0 {
			s.reg[s.n], s.x[s.n] = jitCacheRegs[i], r
			s.n++
		}
	}
	for d := rc.fdirty; d != 0; d &= d - 1 {
		r := uint8(bits.TrailingZeros32(d))
		s.fr[s.fn], s.f[s.fn] = jitFCacheRegs[rc.fhost[r]], r
		s.fn++
	}
	return s
}

// emit writes the listed registers back to the CPU struct.
func (s *jitSpill) emit(a *amd64.Asm) {
	for i := uint8(0); i < s.n; i++ {
		a.Store(amd64.W64, xm(s.x[i]), s.reg[i])
	}
	for i := uint8(0); i < s.fn; i++ {
		a.MovsdStore(fm(s.f[i]), s.fr[i])
	}
}

// The FP register cache. Floating-point loops keep values in FP
// registers from one instruction to the next; through memory each of
// those steps waits for a store to be forwarded to a load. Unlike the
// integer cache, an FP register is assigned a host register for the
// whole block (there are 13, and blocks rarely use more FP registers
// than that): the ones the block uses most, at least twice. It is
// loaded before the first instruction that reads it and written back,
// if it changed, on every way out, as the integer registers are. Every
// access goes through fsrc/fload/fint/fset/fsetInt, which use memory
// when the register is not (yet) in a host register: correct whatever
// jitFRegs says.

// assignFRegs chooses the cached FP registers of a block.
func (rc *jitRegs) assignFRegs(ins []inst) {
	var uses [32]int
	for k := range ins {
		rd, wr := jitFRegs(&ins[k])
		for m := rd | wr; m != 0; m &= m - 1 {
			uses[bits.TrailingZeros32(m)]++
		}
	}
	for i := range jitFCacheRegs {
		best := -1
		for r, n := range uses {
			if n >= 2 && (best < 0 || n > uses[best]) {
				best = r
			}
		}
		if best < 0 {
			return
		}
		rc.fhost[best] = int8(i)
		uses[best] = 0
	}
}

// fprepare loads the cached FP registers instruction in reads that are
// not loaded yet (where it begins, like prepare).
func (g *jitGen) fprepare(in *inst) {
	rd, _ := jitFRegs(in)
	for m := rd &^ g.rc.fvalid; m != 0; m &= m - 1 {
		r := uint8(bits.TrailingZeros32(m))
		if i := g.rc.fhost[r]; i >= 0 {
			g.a.SSERM(amd64.MOVSD, jitFCacheRegs[i], fm(r))
			g.rc.fvalid |= 1 << r
		}
	}
}

// fcached returns the host register holding f[r], if any.
func (rc *jitRegs) fcached(r uint8) (amd64.XReg, bool) {
	r &= 31
	if rc.fvalid&(1<<r) == 0 {
		return 0, false
	}
	return jitFCacheRegs[rc.fhost[r]], true
}

// fsrc emits dst = dst op f[r] (MOVSD: dst = f[r]).
func (g *jitGen) fsrc(op amd64.SSEOp, dst amd64.XReg, r uint8) {
	if x, ok := g.rc.fcached(r); ok {
		if op == amd64.MOVSD {
			g.a.MovapsRR(dst, x)
		} else {
			g.a.SSERR(op, dst, x)
		}
		return
	}
	g.a.SSERM(op, dst, fm(r))
}

// fint loads the bits of f[r] into h.
func (g *jitGen) fint(h amd64.Reg, r uint8) {
	if x, ok := g.rc.fcached(r); ok {
		g.a.MovqRX(h, x)
		return
	}
	g.a.Load(amd64.W64, h, fm(r))
}

// fmem returns f[r] in memory, writing it back first if it is cached
// and changed (for the one operation that reads a memory operand only).
func (g *jitGen) fmem(r uint8) amd64.Mem {
	r &= 31
	if x, ok := g.rc.fcached(r); ok && g.rc.fdirty&(1<<r) != 0 {
		g.a.MovsdStore(fm(r), x)
		g.rc.fdirty &^= 1 << r
	}
	return fm(r)
}

// fdest returns the host register assigned to f[rd], if any, and marks
// it as holding the (new) value, not yet in memory: the caller writes it.
func (rc *jitRegs) fdest(rd uint8) (amd64.XReg, bool) {
	rd &= 31
	i := rc.fhost[rd]
	if i < 0 {
		return 0, false
	}
	rc.fvalid |= 1 << rd
	rc.fdirty |= 1 << rd
	return jitFCacheRegs[i], true
}

// fset sets f[rd] to the low double of src.
func (g *jitGen) fset(rd uint8, src amd64.XReg) {
	if x, ok := g.rc.fdest(rd); ok {
		g.a.MovapsRR(x, src)
		return
	}
	g.a.MovsdStore(fm(rd), src)
}

// fsetInt sets f[rd] to the bits in h.
func (g *jitGen) fsetInt(rd uint8, h amd64.Reg) {
	if x, ok := g.rc.fdest(rd); ok {
		g.a.MovqXR(x, h)
		return
	}
	g.a.Store(amd64.W64, fm(rd), h)
}

// jitFRegs returns the FP registers instruction in reads and writes, as
// bit masks. Only the FP register cache uses it (see above).
func jitFRegs(in *inst) (reads, writes uint32) {
	bit := func(r uint8) uint32 { return 1 << (r & 31) }
	switch in.op {
	case opFLW, opFLD:
		return 0, bit(in.rd)
	case opFSW, opFSD:
		return bit(in.rs2), 0
	case opFP:
	default:
		return 0, 0
	}
	switch in.fop &^ fpDouble {
	case fpMVtoX, fpCVTtoW, fpCVTtoL:
		return bit(in.rs1), 0
	case fpMVfromX, fpCVTfromW, fpCVTfromL:
		return 0, bit(in.rd)
	case fpEQ, fpLT, fpLE:
		return bit(in.rs1) | bit(in.rs2), 0
	case fpSQRT:
		return bit(in.rs1), bit(in.rd)
	case fpFMADD, fpFMSUB, fpFNMSUB, fpFNMADD:
		return bit(in.rs1) | bit(in.rs2) | bit(in.rs3), bit(in.rd)
	}
	return bit(in.rs1) | bit(in.rs2), bit(in.rd)
}

// spill writes every dirty cached register back (the state at
// generation time is unchanged: the code after it may be another path).
func (g *jitGen) spill() {
	s := g.rc.dirtySet()
	s.emit(g.a)
}

// prepare assigns host registers for instruction k of the block: its
// source registers are loaded, its destination gets a register (its old
// value is not loaded).
func (g *jitGen) prepare(k int) {
	r1, r2, w := jitXRegs(&g.ins[k])
	keep := uint32(1)<<r1 | uint32(1)<<r2 | uint32(1)<<w
	g.want(r1, k, true, keep)
	g.want(r2, k, true, keep)
	g.want(w, k, false, keep)
}

func (g *jitGen) want(r uint8, k int, read bool, keep uint32) {
	if r == 0 || r >= 32 {
		return
	}
	rc := &g.rc
	if i := rc.host[r]; i >= 0 {
		if read && rc.valid&(1<<r) == 0 {
			g.a.Load(amd64.W64, jitCacheRegs[i], xm(r))
			rc.valid |= 1 << r
		}
		return
	}
	next := g.nextUse(r, k)
	if next == jitNoUse {
		return // used once: memory will do
	}
	slot := -1
	for i, x := range rc.guest {
		if x == 0 {
			slot = i
			break
		}
	}
	if slot < 0 {
		far := next
		for i, x := range rc.guest {
			if keep&(1<<x) != 0 {
				continue
			}
			if n := g.nextUse(x, k); n > far {
				slot, far = i, n
			}
		}
		if slot < 0 {
			return // every cached register is needed sooner than r
		}
		x := rc.guest[slot]
		if rc.dirty&(1<<x) != 0 {
			g.a.Store(amd64.W64, xm(x), jitCacheRegs[slot])
		}
		rc.host[x] = -1
		rc.valid &^= 1 << x
		rc.dirty &^= 1 << x
	}
	rc.guest[slot] = r
	rc.host[r] = int8(slot)
	if read {
		g.a.Load(amd64.W64, jitCacheRegs[slot], xm(r))
		rc.valid |= 1 << r
	}
}

// nextUse returns the index of the first instruction after k that reads
// or writes x[r], or jitNoUse.
func (g *jitGen) nextUse(r uint8, k int) int {
	if n := g.j.nextUses[k][r]; n != 0 {
		return int(n)
	}
	return jitNoUse
}

// findNextUses fills j.nextUses for ins in one backward pass.
func (j *jitState) findNextUses(ins []inst) {
	var next [32]uint8 // 0: none (instruction 0 is never after another)
	for k := len(ins) - 1; k >= 0; k-- {
		j.nextUses[k] = next
		r1, r2, w := jitXRegs(&ins[k])
		next[r1&31], next[r2&31], next[w&31] = uint8(k), uint8(k), uint8(k)
	}
}

// jitXRegs returns the integer registers instruction in reads (up to
// two) and writes (0 for none; x0 is never cached). Only the register
// cache uses it: a register left out is accessed in memory, which is
// always correct, merely slower.
func jitXRegs(in *inst) (rs1, rs2, rd uint8) {
	switch in.op {
	case opLUI, opAUIPC, opJAL, opCSRRWI, opCSRRSI, opCSRRCI:
		return 0, 0, in.rd
	case opSB, opSH, opSW, opSD, opBEQ, opBNE, opBLT, opBGE, opBLTU, opBGEU:
		return in.rs1, in.rs2, 0
	case opFLW, opFLD, opFSW, opFSD:
		return in.rs1, 0, 0
	case opFENCE, opFENCEI:
		return 0, 0, 0
	case opJALR, opLB, opLH, opLW, opLD, opLBU, opLHU, opLWU, opLRW, opLRD,
		opADDI, opSLTI, opSLTIU, opXORI, opORI, opANDI, opSLLI, opSRLI, opSRAI,
		opADDIW, opSLLIW, opSRLIW, opSRAIW, opCSRRW, opCSRRS, opCSRRC:
		return in.rs1, 0, in.rd
	case opFP:
		switch in.fop {
		case fpMVfromX, fpMVfromX | fpDouble, fpCVTfromW | fpDouble, fpCVTfromL | fpDouble:
			return in.rs1, 0, 0
		case fpMVtoX, fpMVtoX | fpDouble, fpEQ | fpDouble, fpLT | fpDouble, fpLE | fpDouble,
			fpCVTtoW | fpDouble, fpCVTtoL | fpDouble:
			return 0, 0, in.rd
		}
		return 0, 0, 0
	}
	// Register-register ALU, M, AMOs and SC.
	return in.rs1, in.rs2, in.rd
}
