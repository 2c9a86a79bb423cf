//go:build linux && amd64

package cpu

import (
	"unsafe"

	"github.com/rewindvm/rewind/internal/amd64"
)

// jitGen translates one block.
type jitGen struct {
	j    *jitState
	a    *amd64.Asm
	b    *jitBlock
	ins  []inst
	slow []jitSlow
	rc   jitRegs
	ok   bool
	// fsOn: an earlier instruction of the block checked that
	// mstatus.FS is not Off; fsDirty: one set it to Dirty. Only a CSR
	// write changes FS within a block, so the checks and updates after
	// the first are left out.
	fsOn, fsDirty bool
}

// jitSlow is an out-of-line exit to the interpreter for instruction k of
// the block (at pc). spill are the cached registers it writes back first:
// those dirty when the instruction began.
type jitSlow struct {
	l     amd64.Label
	pc    uint64
	k     uint64
	spill jitSpill
}

// gen emits the code for block b and installs it. It returns false if
// the cache (code or cells) is full.
func (j *jitState) gen(c *CPU, b *jitBlock, ins []inst, interp bool) (uintptr, bool) {
	a := &j.a
	a.Reset(uint64(j.codeBase()) + uint64(j.cur))
	// The generator and its slow-path list are reused from block to
	// block: compiling is a good part of the time of code that runs
	// only a few dozen times.
	g := &j.gen1
	*g = jitGen{j: j, a: a, b: b, ins: ins, slow: g.slow[:0], ok: true}
	g.rc.reset()
	g.rc.assignFRegs(ins)
	j.findNextUses(ins)

	// Entry: run only if the whole block fits under the limit.
	budget := a.NewLabel()
	a.Lea(amd64.RAX, amd64.M(amd64.RBX, int32(b.n)))
	a.ALURR(amd64.W64, amd64.CMP, amd64.RAX, amd64.R12)
	a.Jcc(amd64.CondA, budget)

	if b.hi2 > 0 {
		g.straddleGuard()
	}
	pc := b.vpc
	ended := false
	for k := range ins {
		in := &ins[k]
		next := pc + uint64(in.length)
		g.prepare(k)
		g.fprepare(in)
		if g.inst(in, pc, next, uint64(k)) {
			ended = true
		}
		switch in.op {
		case opFLW, opFLD, opFSW, opFSD, opFP:
			g.fsOn = true
		case opCSRRW, opCSRRS, opCSRRC, opCSRRWI, opCSRRSI, opCSRRCI:
			if uint16(in.imm)&0xfff == csrSstatus {
				g.fsOn, g.fsDirty = false, false
			}
		}
		if jitDirtiesFS(in) {
			g.fsDirty = true
		}
		pc = next
	}
	switch {
	case ended:
	case interp:
		// The next instruction is one the compiler does not handle:
		// the interpreter runs it.
		g.spill()
		a.MovImm(amd64.RAX, pc)
		a.Lea(amd64.RCX, amd64.M(amd64.RBX, int32(b.n)))
		a.JmpAbs(uint64(j.stubExitInterp))
	default:
		// The page end or the length limit.
		g.exitStatic(pc, b.n)
	}

	a.Bind(budget)
	a.MovImm(amd64.RAX, b.vpc)
	a.MovRR(amd64.W64, amd64.RCX, amd64.RBX)
	a.JmpAbs(uint64(j.stubExit))
	for _, s := range g.slow {
		a.Bind(s.l)
		s.spill.emit(a)
		a.MovImm(amd64.RAX, s.pc)
		a.Lea(amd64.RCX, amd64.M(amd64.RBX, int32(s.k)))
		a.JmpAbs(uint64(j.stubExitInterp))
	}
	if err := a.Finish(); err != nil {
		panic("cpu: JIT: " + err.Error())
	}
	if !g.ok {
		return 0, false
	}
	entry, ok := j.install(a.Buf)
	if ok {
		b.size = uint32(len(a.Buf))
	}
	return entry, ok
}

// straddleGuard checks that the fetch TLB still maps the next virtual
// page to the RAM page the block's instruction took its upper half from,
// and otherwise leaves for the interpreter before the instruction (it
// translates, and may fault).
func (g *jitGen) straddleGuard() {
	a, b := g.a, g.b
	slow := g.slowPath(b.vpc, 0)
	vpn := b.vpc>>12 + 1
	e := int32(offTLBX) + int32(vpn&tlbMask)*int32(unsafe.Sizeof(tlbEntry{})) - jitBias
	a.MovImm(amd64.RCX, vpn)
	a.ALURM(amd64.W64, amd64.OR, amd64.RCX, fld(offXctx))
	a.ALURM(amd64.W64, amd64.CMP, amd64.RCX, amd64.M(amd64.R15, e))
	a.Jcc(amd64.CondNE, slow)
	a.MovImm(amd64.RCX, b.add2)
	a.ALURM(amd64.W64, amd64.CMP, amd64.RCX, amd64.M(amd64.R15, e+int32(offTLBAdd)))
	a.Jcc(amd64.CondNE, slow)
}

// exitStatic leaves the block for a known target after n instructions:
// through a chain cell if the target is on the same page (Go points the
// cell at the target block once it exists), else through the dispatcher.
func (g *jitGen) exitStatic(target, n uint64) {
	a := g.a
	g.spill()
	a.ALURI(amd64.W64, amd64.ADD, amd64.RBX, int32(n))
	a.MovImm(amd64.RAX, target)
	if target>>12 == g.b.vpc>>12 {
		cell, ok := g.j.cellAlloc(g.b, target)
		if !ok {
			g.ok = false
			return
		}
		a.Lea(amd64.RDX, amd64.RIPRel(uint64(cell)))
		a.JmpMem(amd64.M(amd64.RDX, 0))
		return
	}
	a.ALURR(amd64.W32, amd64.XOR, amd64.RDX, amd64.RDX)
	a.JmpAbs(uint64(g.j.stubDispatch))
}

// exitDynamic leaves the block for the target pc in RAX.
func (g *jitGen) exitDynamic(n uint64) {
	a := g.a
	g.spill()
	a.ALURI(amd64.W64, amd64.ADD, amd64.RBX, int32(n))
	a.ALURR(amd64.W32, amd64.XOR, amd64.RDX, amd64.RDX)
	a.JmpAbs(uint64(g.j.stubDispatch))
}

func (g *jitGen) slowPath(pc, k uint64) amd64.Label {
	l := g.a.NewLabel()
	g.slow = append(g.slow, jitSlow{l: l, pc: pc, k: k, spill: g.rc.dirtySet()})
	return l
}

// ld loads guest register r into host register h.
func (g *jitGen) ld(h amd64.Reg, r uint8) {
	if r == 0 {
		g.a.ALURR(amd64.W32, amd64.XOR, h, h)
		return
	}
	if c, ok := g.rc.cached(r); ok {
		if c != h {
			g.a.MovRR(amd64.W64, h, c)
		}
		return
	}
	g.a.Load(amd64.W64, h, xm(r))
}

// st stores host register h to guest register rd (nothing for x0).
func (g *jitGen) st(rd uint8, h amd64.Reg) {
	if rd == regSink {
		return
	}
	if c, ok := g.rc.dest(rd); ok {
		if c != h {
			g.a.MovRR(amd64.W64, c, h)
		}
		return
	}
	g.a.Store(amd64.W64, xm(rd), h)
}

// stImm sets guest register rd to the sign-extended imm.
func (g *jitGen) stImm(rd uint8, imm int32) {
	if rd == regSink {
		return
	}
	if c, ok := g.rc.dest(rd); ok {
		g.a.MovImm(c, uint64(int64(imm)))
		return
	}
	g.a.StoreImm(amd64.W64, xm(rd), imm)
}

// aluSrc emits dst = dst <op> x[r] at width w, from the register cache
// or from memory.
func (g *jitGen) aluSrc(w amd64.Width, op amd64.ALU, dst amd64.Reg, r uint8) {
	switch c, ok := g.rc.cached(r); {
	case r == 0:
		g.a.ALURI(w, op, dst, 0)
	case ok:
		g.a.ALURR(w, op, dst, c)
	default:
		g.a.ALURM(w, op, dst, xm(r))
	}
}

// stw stores h to rd as an instruction of width w produces it: the low
// 32 bits sign-extended for W32 (the RV64 *W forms), all 64 otherwise.
func (g *jitGen) stw(w amd64.Width, rd uint8, h amd64.Reg) {
	if w == amd64.W32 {
		g.st32(rd, h)
	} else {
		g.st(rd, h)
	}
}

// st32 sign-extends the low 32 bits of h and stores them to rd.
func (g *jitGen) st32(rd uint8, h amd64.Reg) {
	if rd == regSink {
		return
	}
	if c, ok := g.rc.dest(rd); ok {
		g.a.MovsxRR(c, amd64.W32, h)
		return
	}
	g.a.MovsxRR(h, amd64.W32, h)
	g.a.Store(amd64.W64, xm(rd), h)
}

func fm(i uint8) amd64.Mem { return amd64.M(amd64.R15, int32(8*int(i&31))+int32(offF)-jitBias) }

// needFS branches to slow if mstatus.FS is Off (the instruction is then
// illegal, which the interpreter raises).
func (g *jitGen) needFS(slow amd64.Label) {
	if g.fsOn || g.fsDirty {
		return
	}
	g.a.Load(amd64.W64, amd64.RCX, fld(offMstat))
	g.a.TestRI(amd64.W32, amd64.RCX, msFS)
	g.a.Jcc(amd64.CondE, slow)
}

// dirtyFS sets mstatus.FS to Dirty (unless an earlier instruction of
// the block did).
func (g *jitGen) dirtyFS() {
	if !g.fsDirty {
		g.a.ALUMI(amd64.W64, amd64.OR, fld(offMstat), msFS)
	}
}

// jitDirtiesFS reports whether every way the compiled in goes on to the
// next instruction sets mstatus.FS to Dirty (those that leave for the
// interpreter do not matter).
func jitDirtiesFS(in *inst) bool {
	switch in.op {
	case opFLW, opFLD:
		return true
	case opFP:
		switch in.fop {
		case fpMVfromX, fpMVfromX | fpDouble, fpSGNJ | fpDouble, fpSGNJN | fpDouble, fpSGNJX | fpDouble,
			fpFMADD | fpDouble, fpFMSUB | fpDouble, fpFNMSUB | fpDouble, fpFNMADD | fpDouble,
			fpADD | fpDouble, fpSUB | fpDouble, fpMUL | fpDouble, fpDIV | fpDouble, fpSQRT | fpDouble,
			fpCVTfromW | fpDouble, fpCVTfromL | fpDouble:
			return true
		}
	}
	return false
}

// addr computes the RAM index of a load or store at x[rs1]+imm in RAX
// through the TLB at tlbOff, branching to slow on a miss or a misaligned
// access (which the interpreter handles).
func (g *jitGen) addr(rs1 uint8, imm int64, tlbOff uintptr, size int, slow amd64.Label) {
	a := g.a
	if c, ok := g.rc.cached(rs1); ok && imm != 0 {
		a.Lea(amd64.RAX, amd64.M(c, int32(imm)))
	} else {
		g.ld(amd64.RAX, rs1)
		if imm != 0 {
			a.ALURI(amd64.W64, amd64.ADD, amd64.RAX, int32(imm))
		}
	}
	a.MovRR(amd64.W64, amd64.RCX, amd64.RAX)
	a.ShiftRI(amd64.W64, amd64.SHR, amd64.RCX, 12)
	a.MovRR(amd64.W32, amd64.RDX, amd64.RCX)
	a.ALURI(amd64.W32, amd64.AND, amd64.RDX, tlbMask)
	a.ShiftRI(amd64.W32, amd64.SHL, amd64.RDX, 4)
	a.ALURM(amd64.W64, amd64.OR, amd64.RCX, fld(offDctx))
	a.ALURM(amd64.W64, amd64.CMP, amd64.RCX, amd64.MI(amd64.R15, amd64.RDX, 1, int32(tlbOff)-jitBias))
	a.Jcc(amd64.CondNE, slow)
	if size > 1 {
		a.TestRI(amd64.W8, amd64.RAX, int32(size-1))
		a.Jcc(amd64.CondNE, slow)
	}
	a.ALURM(amd64.W64, amd64.ADD, amd64.RAX, amd64.MI(amd64.R15, amd64.RDX, 1, int32(tlbOff+offTLBAdd)-jitBias))
}

// amo emits AMO operation kind (0 = swap, then add, xor, and, or, min,
// max, minu, maxu: the opcode order) at width w. The page must be in the
// write TLB (as for the interpreter's amoAddr, which runs it otherwise).
// The hart is the only thread touching RAM while generated code runs, so
// a plain load and store are atomic for the guest.
func (g *jitGen) amo(kind op, w amd64.Width, rd, rs1, rs2 uint8, slow amd64.Label) {
	a := g.a
	g.addr(rs1, 0, offTLBW, int(w), slow)
	m := amd64.MI(amd64.R13, amd64.RAX, 1, 0)
	g.ld(amd64.RSI, rs2)
	if w == amd64.W32 {
		a.Movsx(amd64.RCX, amd64.W32, m)
	} else {
		a.Load(amd64.W64, amd64.RCX, m)
	}
	alu := [...]amd64.ALU{1: amd64.ADD, 2: amd64.XOR, 3: amd64.AND, 4: amd64.OR}
	cmov := [...]amd64.Cond{5: amd64.CondL, 6: amd64.CondG, 7: amd64.CondB, 8: amd64.CondA}
	switch {
	case kind == 0:
	case kind <= 4:
		a.ALURR(w, alu[kind], amd64.RSI, amd64.RCX)
	default:
		// RSI = old if old <cond> src: min, max, minu, maxu.
		a.ALURR(w, amd64.CMP, amd64.RCX, amd64.RSI)
		a.Cmov(w, cmov[kind], amd64.RSI, amd64.RCX)
	}
	a.Store(w, m, amd64.RSI)
	g.st(rd, amd64.RCX)
}

// csr emits a CSR instruction on sstatus (in S-mode only) or on one of
// jitPlainCSR's registers (at its privilege level or above), exactly as
// execCSR: other privilege levels go to the interpreter, which raises
// the illegal instruction or handles M-mode's MPRV. The interpreter ends
// its inner loop after every CSR instruction so that Run re-checks
// interrupts; a compiled one needs that only when it makes an interrupt
// deliverable that was not, which for these registers means setting
// sstatus.SIE. It then exits with the limit lowered, as the interpreter
// does.
func (g *jitGen) csr(in *inst, pc, next, k uint64) {
	a := g.a
	csr := uint16(in.imm) & 0xfff
	slow := g.slowPath(pc, k)
	field, minPriv, mask, plain := jitPlainCSR(csr)
	a.Movzx(amd64.RCX, amd64.W8, fld(offPriv))
	if plain {
		a.ALURI(amd64.W32, amd64.CMP, amd64.RCX, int32(minPriv))
		a.Jcc(amd64.CondB, slow)
	} else { // sstatus
		a.ALURI(amd64.W32, amd64.CMP, amd64.RCX, PrivS)
		a.Jcc(amd64.CondNE, slow)
	}
	write := in.rs1 != 0
	switch in.op {
	case opCSRRW, opCSRRWI:
		write = true
	}
	switch in.op {
	case opCSRRWI, opCSRRSI, opCSRRCI:
		a.MovImm(amd64.RSI, uint64(in.rs1))
	default:
		g.ld(amd64.RSI, in.rs1)
	}
	// newValue computes the written value from the old one (RAX) and
	// the source (RSI) in RCX.
	newValue := func() {
		switch in.op {
		case opCSRRW, opCSRRWI:
			a.MovRR(amd64.W64, amd64.RCX, amd64.RSI)
		case opCSRRS, opCSRRSI:
			a.MovRR(amd64.W64, amd64.RCX, amd64.RAX)
			a.ALURR(amd64.W64, amd64.OR, amd64.RCX, amd64.RSI)
		default:
			a.MovRR(amd64.W64, amd64.RCX, amd64.RSI)
			a.Not(amd64.W64, amd64.RCX)
			a.ALURR(amd64.W64, amd64.AND, amd64.RCX, amd64.RAX)
		}
	}
	if plain {
		a.Load(amd64.W64, amd64.RAX, fld(field))
		if write {
			newValue()
			if mask != ^uint64(0) {
				a.ALURI(amd64.W64, amd64.AND, amd64.RCX, int32(mask))
			}
			a.Store(amd64.W64, fld(field), amd64.RCX)
		}
		g.st(in.rd, amd64.RAX)
		return
	}
	// sstatus: the visible bits of mstatus, SD if FS is dirty.
	a.Load(amd64.W64, amd64.RDX, fld(offMstat))
	a.MovImm(amd64.RAX, sstatusMask&^msSD)
	a.ALURR(amd64.W64, amd64.AND, amd64.RAX, amd64.RDX)
	clean := a.NewLabel()
	a.MovRR(amd64.W32, amd64.RCX, amd64.RAX)
	a.ALURI(amd64.W32, amd64.AND, amd64.RCX, msFS)
	a.ALURI(amd64.W32, amd64.CMP, amd64.RCX, msFS)
	a.Jcc(amd64.CondNE, clean)
	a.MovImm(amd64.RCX, msSD)
	a.ALURR(amd64.W64, amd64.OR, amd64.RAX, amd64.RCX)
	a.Bind(clean)
	if !write {
		g.st(in.rd, amd64.RAX)
		return
	}
	newValue()
	a.ALURI(amd64.W64, amd64.AND, amd64.RCX, sstatusWritable)
	a.ALURI(amd64.W64, amd64.AND, amd64.RDX, ^int32(sstatusWritable))
	a.ALURR(amd64.W64, amd64.OR, amd64.RDX, amd64.RCX)
	a.Store(amd64.W64, fld(offMstat), amd64.RDX)
	// updateCtx for S-mode: the data context is S plus SUM and MXR.
	a.MovRR(amd64.W64, amd64.RCX, amd64.RDX)
	a.ShiftRI(amd64.W64, amd64.SHR, amd64.RCX, 16)
	a.ALURI(amd64.W32, amd64.AND, amd64.RCX, (msSUM|msMXR)>>16)
	a.ALURI(amd64.W32, amd64.OR, amd64.RCX, PrivS)
	a.ShiftRI(amd64.W64, amd64.SHL, amd64.RCX, 56)
	a.Store(amd64.W64, fld(offDctx), amd64.RCX)
	a.StoreImm(amd64.W64, fld(offCurVPN), -1) // dropFetch
	a.StoreImm(amd64.W64, fld(offCurCVA), -1)
	g.st(in.rd, amd64.RAX)
	// SIE 0 -> 1: back to Run after this instruction.
	same := a.NewLabel()
	a.TestRI(amd64.W32, amd64.RAX, msSIE)
	a.Jcc(amd64.CondNE, same)
	a.TestRI(amd64.W32, amd64.RDX, msSIE)
	a.Jcc(amd64.CondE, same)
	g.spill()
	a.Lea(amd64.RCX, amd64.M(amd64.RBX, int32(k+1)))
	a.Store(amd64.W64, fld(offLimit), amd64.RCX)
	a.MovImm(amd64.RAX, next)
	a.JmpAbs(uint64(g.j.stubExit))
	a.Bind(same)
}

// wfi emits WFI where it does not wait: in M-mode, or S-mode without
// mstatus.TW, with an interrupt pending that mie enables (deliverable or
// not), it is a no-op, as in the interpreter. A guest that polls with
// WFI while such an interrupt stays pending (OpenSBI's parked harts do)
// would otherwise go through Go on every pass. Anything else (the hart
// would wait, or the instruction is illegal) goes to the interpreter.
// The interpreter returns to Run after a WFI, but Run finds nothing to
// do there: an interrupt that were deliverable would have been taken
// before the block began, and nothing in a block makes one deliverable
// without leaving it.
func (g *jitGen) wfi(pc, k uint64) {
	a := g.a
	slow := g.slowPath(pc, k)
	ok := a.NewLabel()
	a.Movzx(amd64.RCX, amd64.W8, fld(offPriv))
	a.ALURI(amd64.W32, amd64.CMP, amd64.RCX, PrivM)
	a.Jcc(amd64.CondE, ok)
	a.ALURI(amd64.W32, amd64.CMP, amd64.RCX, PrivS)
	a.Jcc(amd64.CondNE, slow)
	a.Load(amd64.W64, amd64.RAX, fld(offMstat))
	a.TestRI(amd64.W32, amd64.RAX, msTW)
	a.Jcc(amd64.CondNE, slow)
	a.Bind(ok)
	a.Load(amd64.W64, amd64.RAX, fld(offMipSW))
	a.ALURM(amd64.W64, amd64.OR, amd64.RAX, fld(offMipHW))
	a.ALURM(amd64.W64, amd64.AND, amd64.RAX, fld(offMie))
	a.Jcc(amd64.CondE, slow)
}

// lrsc emits LR or SC with the interpreter's reservation (resValid,
// resAddr): LR through the read TLB, SC through the write TLB.
func (g *jitGen) lrsc(in *inst, pc, k uint64) {
	a := g.a
	slow := g.slowPath(pc, k)
	w := amd64.W64
	if in.op == opLRW || in.op == opSCW {
		w = amd64.W32
	}
	m := amd64.MI(amd64.R13, amd64.RAX, 1, 0)
	if in.op == opLRW || in.op == opLRD {
		g.addr(in.rs1, 0, offTLBR, int(w), slow)
		g.ld(amd64.RCX, in.rs1)
		a.Store(amd64.W64, fld(offResA), amd64.RCX)
		a.StoreImm(amd64.W8, fld(offResV), 1)
		if w == amd64.W32 {
			a.Movsx(amd64.RCX, amd64.W32, m)
		} else {
			a.Load(amd64.W64, amd64.RCX, m)
		}
		g.st(in.rd, amd64.RCX)
		return
	}
	fail, done := a.NewLabel(), a.NewLabel()
	g.addr(in.rs1, 0, offTLBW, int(w), slow)
	a.Movzx(amd64.RCX, amd64.W8, fld(offResV))
	a.TestRR(amd64.W32, amd64.RCX, amd64.RCX)
	a.Jcc(amd64.CondE, fail)
	g.ld(amd64.RCX, in.rs1)
	a.ALURM(amd64.W64, amd64.CMP, amd64.RCX, fld(offResA))
	a.Jcc(amd64.CondNE, fail)
	g.ld(amd64.RSI, in.rs2)
	a.Store(w, m, amd64.RSI)
	a.ALURR(amd64.W32, amd64.XOR, amd64.RCX, amd64.RCX)
	a.Jmp(done)
	a.Bind(fail)
	a.MovImm(amd64.RCX, 1)
	a.Bind(done)
	a.StoreImm(amd64.W8, fld(offResV), 0)
	g.st(in.rd, amd64.RCX)
}

// inst emits one instruction; it returns true if it ended the block.
func (g *jitGen) inst(in *inst, pc, next, k uint64) bool {
	a := g.a
	rd, rs1, rs2 := in.rd, in.rs1, in.rs2
	imm := int64(in.imm)
	// inPlace returns the register to compute x[rd] in: its host
	// register when it is cached, else RAX (then done stores it). done
	// finishes an instruction of width w that computed the result in h:
	// it sign-extends a W32 result and marks or stores it.
	inPlace := func() (amd64.Reg, bool) {
		if d, ok := g.rc.assigned(rd); ok {
			return d, true
		}
		return amd64.RAX, false
	}
	done := func(w amd64.Width, h amd64.Reg, cachedRd bool) {
		if !cachedRd {
			g.stw(w, rd, h)
			return
		}
		if w == amd64.W32 {
			a.MovsxRR(h, amd64.W32, h)
		}
		g.rc.dest(rd)
	}
	alu := func(op amd64.ALU, w amd64.Width) {
		if rd == regSink {
			return
		}
		h, cachedRd := inPlace()
		src := rs2
		switch {
		case cachedRd && rd == rs2 && rd != rs1:
			if op != amd64.ADD && op != amd64.AND && op != amd64.OR && op != amd64.XOR {
				h, cachedRd = amd64.RAX, false // x[rs2] is needed after h is written
				g.ld(h, rs1)
				break
			}
			src = rs1 // commutative: x[rd] = x[rd] op x[rs1]
		default:
			g.ld(h, rs1)
		}
		g.aluSrc(w, op, h, src)
		done(w, h, cachedRd)
	}
	aluImm := func(op amd64.ALU, w amd64.Width) {
		if rd == regSink {
			return
		}
		if w == amd64.W64 && rd == rs1 && rd != 0 {
			if c, ok := g.rc.cached(rd); ok {
				a.ALURI(amd64.W64, op, c, int32(imm))
				g.rc.setDirty(rd)
			} else {
				a.ALUMI(amd64.W64, op, xm(rd), int32(imm))
			}
			return
		}
		h, cachedRd := inPlace()
		if c, ok := g.rc.cached(rs1); ok && op == amd64.ADD && w == amd64.W64 && cachedRd {
			a.Lea(h, amd64.M(c, int32(imm)))
			g.rc.dest(rd)
			return
		}
		g.ld(h, rs1)
		a.ALURI(w, op, h, int32(imm))
		done(w, h, cachedRd)
	}
	shiftImm := func(op amd64.Shift, w amd64.Width) {
		if rd == regSink {
			return
		}
		h, cachedRd := inPlace()
		g.ld(h, rs1)
		a.ShiftRI(w, op, h, uint8(imm))
		done(w, h, cachedRd)
	}
	shiftReg := func(op amd64.Shift, w amd64.Width) {
		if rd == regSink {
			return
		}
		g.ld(amd64.RCX, rs2) // first: rd may be rs2
		h, cachedRd := inPlace()
		g.ld(h, rs1)
		a.ShiftRCL(w, op, h)
		done(w, h, cachedRd)
	}
	setCmp := func(cond amd64.Cond, useImm bool) {
		if rd == regSink {
			return
		}
		c, ok := g.rc.cached(rs1)
		if !ok {
			c = amd64.RAX
			g.ld(c, rs1)
		}
		if useImm {
			a.ALURI(amd64.W64, amd64.CMP, c, int32(imm))
		} else {
			g.aluSrc(amd64.W64, amd64.CMP, c, rs2)
		}
		a.Setcc(cond, amd64.RAX)
		if d, ok := g.rc.assigned(rd); ok {
			a.MovzxRR(d, amd64.W8, amd64.RAX)
			g.rc.dest(rd)
			return
		}
		a.MovzxRR(amd64.RAX, amd64.W8, amd64.RAX)
		g.st(rd, amd64.RAX)
	}
	load := func(w amd64.Width, signed bool) {
		slow := g.slowPath(pc, k)
		g.addr(rs1, imm, offTLBR, int(w), slow)
		m := amd64.MI(amd64.R13, amd64.RAX, 1, 0)
		h, cachedRd := inPlace()
		switch {
		case w == amd64.W64:
			a.Load(amd64.W64, h, m)
		case signed:
			a.Movsx(h, w, m)
		default:
			a.Movzx(h, w, m)
		}
		if cachedRd {
			g.rc.dest(rd)
		} else {
			g.st(rd, h)
		}
	}
	store := func(w amd64.Width) {
		slow := g.slowPath(pc, k)
		g.addr(rs1, imm, offTLBW, int(w), slow)
		v := amd64.RSI
		if c, ok := g.rc.cached(rs2); ok {
			v = c
		} else {
			g.ld(v, rs2)
		}
		a.Store(w, amd64.MI(amd64.R13, amd64.RAX, 1, 0), v)
	}
	branch := func(cond amd64.Cond) bool {
		taken := a.NewLabel()
		// Both ways leave the block: write the cached registers back
		// first (stores leave the flags alone, but this is simpler).
		g.spill()
		g.rc.clean()
		c, ok := g.rc.cached(rs1)
		if !ok {
			c = amd64.RAX
			g.ld(c, rs1)
		}
		g.aluSrc(amd64.W64, amd64.CMP, c, rs2)
		a.Jcc(cond, taken)
		g.exitStatic(next, k+1)
		a.Bind(taken)
		g.exitStatic(pc+uint64(imm), k+1)
		return true
	}
	// div emits signed or unsigned division or remainder at width w with
	// RISC-V's results for a zero divisor and for overflow.
	div := func(signed, rem bool, w amd64.Width) {
		if rd == regSink {
			return
		}
		zero, done := a.NewLabel(), a.NewLabel()
		g.ld(amd64.RCX, rs2)
		g.ld(amd64.RAX, rs1)
		a.TestRR(w, amd64.RCX, amd64.RCX)
		a.Jcc(amd64.CondE, zero)
		if signed {
			normal := a.NewLabel()
			a.ALURI(w, amd64.CMP, amd64.RCX, -1)
			a.Jcc(amd64.CondNE, normal)
			// Divisor -1: the quotient is -a (wrapping), the remainder 0.
			if rem {
				a.ALURR(amd64.W32, amd64.XOR, amd64.RAX, amd64.RAX)
			} else {
				a.Neg(w, amd64.RAX)
			}
			a.Jmp(done)
			a.Bind(normal)
			if w == amd64.W64 {
				a.Cqo()
			} else {
				a.Cdq()
			}
			a.Idiv(w, amd64.RCX)
		} else {
			a.ALURR(amd64.W32, amd64.XOR, amd64.RDX, amd64.RDX)
			a.Div(w, amd64.RCX)
		}
		if rem {
			a.MovRR(amd64.W64, amd64.RAX, amd64.RDX)
		}
		a.Jmp(done)
		a.Bind(zero)
		// Divide by zero: the quotient is all ones, the remainder a.
		if !rem {
			a.MovImm(amd64.RAX, ^uint64(0))
		}
		a.Bind(done)
		g.stw(w, rd, amd64.RAX)
	}

	switch in.op {
	case opADDI:
		if rd == regSink {
			break
		}
		if rs1 == 0 {
			g.stImm(rd, int32(imm))
			break
		}
		aluImm(amd64.ADD, amd64.W64)
	case opSLTI:
		setCmp(amd64.CondL, true)
	case opSLTIU:
		setCmp(amd64.CondB, true)
	case opXORI:
		aluImm(amd64.XOR, amd64.W64)
	case opORI:
		aluImm(amd64.OR, amd64.W64)
	case opANDI:
		aluImm(amd64.AND, amd64.W64)
	case opSLLI:
		shiftImm(amd64.SHL, amd64.W64)
	case opSRLI:
		shiftImm(amd64.SHR, amd64.W64)
	case opSRAI:
		shiftImm(amd64.SAR, amd64.W64)
	case opADD:
		alu(amd64.ADD, amd64.W64)
	case opSUB:
		alu(amd64.SUB, amd64.W64)
	case opXOR:
		alu(amd64.XOR, amd64.W64)
	case opOR:
		alu(amd64.OR, amd64.W64)
	case opAND:
		alu(amd64.AND, amd64.W64)
	case opSLL:
		shiftReg(amd64.SHL, amd64.W64)
	case opSRL:
		shiftReg(amd64.SHR, amd64.W64)
	case opSRA:
		shiftReg(amd64.SAR, amd64.W64)
	case opSLT:
		setCmp(amd64.CondL, false)
	case opSLTU:
		setCmp(amd64.CondB, false)
	case opADDIW:
		aluImm(amd64.ADD, amd64.W32)
	case opSLLIW:
		shiftImm(amd64.SHL, amd64.W32)
	case opSRLIW:
		shiftImm(amd64.SHR, amd64.W32)
	case opSRAIW:
		shiftImm(amd64.SAR, amd64.W32)
	case opADDW:
		alu(amd64.ADD, amd64.W32)
	case opSUBW:
		alu(amd64.SUB, amd64.W32)
	case opSLLW:
		shiftReg(amd64.SHL, amd64.W32)
	case opSRLW:
		shiftReg(amd64.SHR, amd64.W32)
	case opSRAW:
		shiftReg(amd64.SAR, amd64.W32)
	case opLUI:
		g.stImm(rd, int32(imm))
	case opAUIPC:
		if rd != regSink {
			a.MovImm(amd64.RAX, pc+uint64(imm))
			g.st(rd, amd64.RAX)
		}
	case opMUL, opMULW:
		if rd == regSink {
			break
		}
		w := amd64.W64
		if in.op == opMULW {
			w = amd64.W32
		}
		h, cachedRd := inPlace()
		src := rs2
		if cachedRd && rd == rs2 && rd != rs1 {
			src = rs1 // x[rd] = x[rd] * x[rs1]
		} else {
			g.ld(h, rs1)
		}
		switch c, ok := g.rc.cached(src); {
		case src == 0:
			a.ALURR(amd64.W32, amd64.XOR, h, h)
		case ok:
			a.ImulRR(w, h, c)
		default:
			a.ImulRM(w, h, xm(src))
		}
		done(w, h, cachedRd)
	case opMULH, opMULHU:
		if rd == regSink {
			break
		}
		g.ld(amd64.RCX, rs2)
		g.ld(amd64.RAX, rs1)
		if in.op == opMULH {
			a.Imul1(amd64.W64, amd64.RCX)
		} else {
			a.Mul(amd64.W64, amd64.RCX)
		}
		g.st(rd, amd64.RDX)
	case opMULHSU:
		if rd == regSink {
			break
		}
		// mulhu(a, b) - (a < 0 ? b : 0)
		g.ld(amd64.RCX, rs2)
		g.ld(amd64.RAX, rs1)
		a.MovRR(amd64.W64, amd64.RSI, amd64.RAX)
		a.Mul(amd64.W64, amd64.RCX)
		a.ShiftRI(amd64.W64, amd64.SAR, amd64.RSI, 63)
		a.ALURR(amd64.W64, amd64.AND, amd64.RSI, amd64.RCX)
		a.ALURR(amd64.W64, amd64.SUB, amd64.RDX, amd64.RSI)
		g.st(rd, amd64.RDX)
	case opDIV:
		div(true, false, amd64.W64)
	case opDIVU:
		div(false, false, amd64.W64)
	case opREM:
		div(true, true, amd64.W64)
	case opREMU:
		div(false, true, amd64.W64)
	case opDIVW:
		div(true, false, amd64.W32)
	case opDIVUW:
		div(false, false, amd64.W32)
	case opREMW:
		div(true, true, amd64.W32)
	case opREMUW:
		div(false, true, amd64.W32)

	case opLB:
		load(amd64.W8, true)
	case opLH:
		load(amd64.W16, true)
	case opLW:
		load(amd64.W32, true)
	case opLD:
		load(amd64.W64, false)
	case opLBU:
		load(amd64.W8, false)
	case opLHU:
		load(amd64.W16, false)
	case opLWU:
		load(amd64.W32, false)
	case opSB:
		store(amd64.W8)
	case opSH:
		store(amd64.W16)
	case opSW:
		store(amd64.W32)
	case opSD:
		store(amd64.W64)

	case opCSRRW, opCSRRS, opCSRRC, opCSRRWI, opCSRRSI, opCSRRCI:
		g.csr(in, pc, next, k)
	case opLRW, opLRD, opSCW, opSCD:
		g.lrsc(in, pc, k)
	case opAMOSWAPW, opAMOADDW, opAMOXORW, opAMOANDW, opAMOORW, opAMOMINW, opAMOMAXW, opAMOMINUW, opAMOMAXUW:
		g.amo(in.op-opAMOSWAPW, amd64.W32, rd, rs1, rs2, g.slowPath(pc, k))
	case opAMOSWAPD, opAMOADDD, opAMOXORD, opAMOANDD, opAMOORD, opAMOMIND, opAMOMAXD, opAMOMINUD, opAMOMAXUD:
		g.amo(in.op-opAMOSWAPD, amd64.W64, rd, rs1, rs2, g.slowPath(pc, k))

	case opFLW, opFLD:
		slow := g.slowPath(pc, k)
		g.needFS(slow)
		w := amd64.W64
		if in.op == opFLW {
			w = amd64.W32
		}
		g.addr(rs1, imm, offTLBR, int(w), slow)
		if w == amd64.W32 {
			a.Movzx(amd64.RAX, amd64.W32, amd64.MI(amd64.R13, amd64.RAX, 1, 0))
			a.MovImm(amd64.RCX, 0xffffffff00000000)
			a.ALURR(amd64.W64, amd64.OR, amd64.RAX, amd64.RCX)
		} else {
			a.Load(amd64.W64, amd64.RAX, amd64.MI(amd64.R13, amd64.RAX, 1, 0))
		}
		g.fsetInt(rd, amd64.RAX)
		g.dirtyFS()
	case opFSW, opFSD:
		slow := g.slowPath(pc, k)
		g.needFS(slow)
		w := amd64.W64
		if in.op == opFSW {
			w = amd64.W32
		}
		g.addr(rs1, imm, offTLBW, int(w), slow)
		g.fint(amd64.RSI, rs2)
		a.Store(w, amd64.MI(amd64.R13, amd64.RAX, 1, 0), amd64.RSI)
	case opFP:
		slow := g.slowPath(pc, k)
		g.needFS(slow)
		switch in.fop {
		case fpMVtoX | fpDouble:
			g.fint(amd64.RAX, rs1)
			g.st(rd, amd64.RAX)
		case fpMVtoX:
			g.fint(amd64.RAX, rs1)
			g.st32(rd, amd64.RAX)
		case fpMVfromX | fpDouble:
			g.ld(amd64.RAX, rs1)
			g.fsetInt(rd, amd64.RAX)
			g.dirtyFS()
		case fpMVfromX:
			g.ld(amd64.RAX, rs1)
			a.MovRR(amd64.W32, amd64.RAX, amd64.RAX)
			a.MovImm(amd64.RCX, 0xffffffff00000000)
			a.ALURR(amd64.W64, amd64.OR, amd64.RAX, amd64.RCX)
			g.fsetInt(rd, amd64.RAX)
			g.dirtyFS()
		case fpSGNJ | fpDouble, fpSGNJN | fpDouble, fpSGNJX | fpDouble:
			// rax = a without its sign, rcx = the sign to apply.
			g.fint(amd64.RAX, rs1)
			g.fint(amd64.RCX, rs2)
			a.MovImm(amd64.RDX, 1<<63)
			switch in.fop &^ fpDouble {
			case fpSGNJ:
				a.ALURR(amd64.W64, amd64.AND, amd64.RCX, amd64.RDX)
			case fpSGNJN:
				a.Not(amd64.W64, amd64.RCX)
				a.ALURR(amd64.W64, amd64.AND, amd64.RCX, amd64.RDX)
			default: // sgnjx: a's sign xor b's sign
				a.ALURR(amd64.W64, amd64.AND, amd64.RCX, amd64.RDX)
				a.MovRR(amd64.W64, amd64.RSI, amd64.RAX)
				a.ALURR(amd64.W64, amd64.AND, amd64.RSI, amd64.RDX)
				a.ALURR(amd64.W64, amd64.XOR, amd64.RCX, amd64.RSI)
			}
			a.Not(amd64.W64, amd64.RDX)
			a.ALURR(amd64.W64, amd64.AND, amd64.RAX, amd64.RDX)
			a.ALURR(amd64.W64, amd64.OR, amd64.RAX, amd64.RCX)
			g.fsetInt(rd, amd64.RAX)
			g.dirtyFS()
		default:
			g.fpArith(in, rd, rs1, rs2, slow)
		}

	case opFENCE, opFENCEI:
		// Nothing: stores to code invalidate blocks eagerly.
	case opWFI:
		g.wfi(pc, k)

	case opBEQ:
		return branch(amd64.CondE)
	case opBNE:
		return branch(amd64.CondNE)
	case opBLT:
		return branch(amd64.CondL)
	case opBGE:
		return branch(amd64.CondGE)
	case opBLTU:
		return branch(amd64.CondB)
	case opBGEU:
		return branch(amd64.CondAE)
	case opJAL:
		if rd != regSink {
			a.MovImm(amd64.RAX, next)
			g.st(rd, amd64.RAX)
		}
		g.exitStatic(pc+uint64(imm), k+1)
		return true
	case opJALR:
		g.ld(amd64.RAX, rs1)
		if imm != 0 {
			a.ALURI(amd64.W64, amd64.ADD, amd64.RAX, int32(imm))
		}
		a.ALURI(amd64.W64, amd64.AND, amd64.RAX, -2)
		if rd != regSink {
			a.MovImm(amd64.RCX, next)
			g.st(rd, amd64.RCX)
		}
		g.exitDynamic(k + 1)
		return true
	default:
		panic("cpu: JIT: op not compilable")
	}
	return false
}

// rmCheck branches to slow unless the instruction's rounding mode is
// round to nearest even (rne) or, without rne, any valid mode. Static
// modes were checked by jitCompilable; the dynamic one is frm.
func (g *jitGen) rmCheck(in *inst, rne bool, slow amd64.Label) {
	if in.fn3 != 7 {
		return
	}
	if rne {
		g.a.ALUMI(amd64.W8, amd64.CMP, fld(offFrm), 0)
		g.a.Jcc(amd64.CondNE, slow)
		return
	}
	g.a.ALUMI(amd64.W8, amd64.CMP, fld(offFrm), 4)
	g.a.Jcc(amd64.CondA, slow)
}

// hostFP runs emit (an SSE operation) with MXCSR's flags cleared first,
// then branches to slow if it raised anything but inexact (invalid,
// denormal operand, divide by zero, overflow, underflow: the interpreter
// redoes those exactly, including RISC-V's tininess rule), and leaves
// the RISC-V NX bit (0 or 1) in EAX.
func (g *jitGen) hostFP(slow amd64.Label, emit func()) {
	a := g.a
	m := uint64(g.j.mxcsrAddr())
	a.Ldmxcsr(amd64.RIPRel(m))
	emit()
	a.Stmxcsr(amd64.RIPRel(m + 4))
	a.Load(amd64.W32, amd64.RAX, amd64.RIPRel(m+4))
	a.TestRI(amd64.W32, amd64.RAX, 0x1f)
	a.Jcc(amd64.CondNE, slow)
	a.ShiftRI(amd64.W32, amd64.SHR, amd64.RAX, 5)
	a.ALURI(amd64.W32, amd64.AND, amd64.RAX, 1)
}

// fpResult emits emit (an arithmetic SSE operation or FMA leaving its
// result in X0, round to nearest even) and stores X0 to f[rd] with
// RISC-V's flags, in one of two ways chosen at run time (operands are
// the source registers, which fpTinyZeroOperand reads):
//
//   - fflags.NX already set (software rarely clears it, so this is the
//     common case): inexact cannot change fflags, and every other
//     exception shows in the result: a NaN (invalid), an infinity
//     (overflow, divide by zero), or a magnitude below 2^-1021
//     (underflow; after rounding a tiny result may reach the smallest
//     normal). Those go to the interpreter, and anything else is final
//     with no MXCSR access (ldmxcsr and stmxcsr around every operation
//     were most of the time of floating-point code). Which tiny results
//     are exact, and so final too, depends on the operation (tiny).
//   - NX clear: hostFP, which finds whether the operation was inexact.
func (g *jitGen) fpResult(rd uint8, tiny fpTiny, operands []uint8, slow amd64.Label, emit func()) {
	a := g.a
	viaMXCSR, store, done := a.NewLabel(), a.NewLabel(), a.NewLabel()
	a.Movzx(amd64.RAX, amd64.W8, fld(offFflags))
	a.TestRI(amd64.W32, amd64.RAX, 1) // NX
	a.Jcc(amd64.CondE, viaMXCSR)
	emit()
	// The biased exponent, plus one modulo 2^11: 0 for Inf/NaN, 1 for
	// zeros and subnormals, 2 for the smallest normal binade.
	a.MovqRX(amd64.RAX, amd64.X0)
	a.ShiftRI(amd64.W64, amd64.SHL, amd64.RAX, 1)
	a.ShiftRI(amd64.W64, amd64.SHR, amd64.RAX, 53)
	a.ALURI(amd64.W32, amd64.ADD, amd64.RAX, 1)
	a.ALURI(amd64.W32, amd64.AND, amd64.RAX, 0x7ff)
	switch tiny {
	case fpTinyExact:
		a.TestRR(amd64.W32, amd64.RAX, amd64.RAX)
		a.Jcc(amd64.CondE, slow)
	case fpTinyZeroOperand:
		a.ALURI(amd64.W32, amd64.CMP, amd64.RAX, 2)
		a.Jcc(amd64.CondA, store)
		// Tiny or special: final only if it is ±0 and an operand is
		// ±0 (the product is then exactly zero).
		a.MovqRX(amd64.RAX, amd64.X0)
		a.ShiftRI(amd64.W64, amd64.SHL, amd64.RAX, 1)
		a.Jcc(amd64.CondNE, slow)
		for _, r := range operands {
			g.fint(amd64.RAX, r)
			a.ShiftRI(amd64.W64, amd64.SHL, amd64.RAX, 1)
			a.Jcc(amd64.CondE, store)
		}
		a.Jmp(slow)
	default:
		a.ALURI(amd64.W32, amd64.CMP, amd64.RAX, 2)
		a.Jcc(amd64.CondBE, slow)
	}
	a.Bind(store)
	g.fset(rd, amd64.X0)
	g.dirtyFS()
	a.Jmp(done)
	a.Bind(viaMXCSR)
	g.hostFP(slow, emit)
	a.SSERR(amd64.UCOMISD, amd64.X0, amd64.X0)
	a.Jcc(amd64.CondP, slow) // a NaN result: canonical NaN and flags
	g.fset(rd, amd64.X0)
	a.ALUMR(amd64.W8, amd64.OR, fld(offFflags), amd64.RAX)
	g.dirtyFS()
	a.Bind(done)
}

// fpTiny says which results below 2^-1021 (and zeros) an operation may
// produce without an exception, so that fpResult's fast path keeps them.
type fpTiny uint8

const (
	// fpTinyNone: none (division, square root, fused multiply-add: a
	// tiny or zero result may have underflowed).
	fpTinyNone fpTiny = iota
	// fpTinyExact: all (addition, subtraction). Both operands are
	// multiples of 2^-1074, so a sum below 2^-1021 has at most 53
	// significant bits: it is exact, zero included, and raises nothing.
	fpTinyExact
	// fpTinyZeroOperand: ±0 when an operand is ±0 (multiplication:
	// the product of nonzero numbers is never zero, so any other zero
	// underflowed).
	fpTinyZeroOperand
)

// fpArith emits the double-precision arithmetic, comparisons and
// conversions jitCompilable accepts. Anything unusual (a NaN, an
// exception other than inexact) goes to the interpreter, so the results
// and flags are the interpreter's.
func (g *jitGen) fpArith(in *inst, rd, rs1, rs2 uint8, slow amd64.Label) {
	a := g.a
	x0, x1 := amd64.X0, amd64.X1
	fop := in.fop &^ fpDouble
	switch fop {
	case fpFMADD, fpFMSUB, fpFNMSUB, fpFNMADD:
		// rd = ±(rs1×rs2) ± rs3, rounded once: the host's fused
		// multiply-add in its 231 form, x0 = ±(x1×[rs2]) ± x0.
		g.rmCheck(in, true, slow)
		op := map[uint8]amd64.FMAOp{fpFMADD: amd64.VFMADD231SD, fpFMSUB: amd64.VFMSUB231SD,
			fpFNMSUB: amd64.VFNMADD231SD, fpFNMADD: amd64.VFNMSUB231SD}[fop]
		g.fsrc(amd64.MOVSD, x0, in.rs3)
		g.fsrc(amd64.MOVSD, x1, rs1)
		m := g.fmem(rs2)
		g.fpResult(rd, fpTinyNone, nil, slow, func() { a.FMA231(op, x0, x1, m) })
	case fpADD, fpSUB, fpMUL, fpDIV, fpSQRT:
		g.rmCheck(in, true, slow)
		op := map[uint8]amd64.SSEOp{fpADD: amd64.ADDSD, fpSUB: amd64.SUBSD, fpMUL: amd64.MULSD, fpDIV: amd64.DIVSD, fpSQRT: amd64.SQRTSD}[fop]
		tiny := map[uint8]fpTiny{fpADD: fpTinyExact, fpSUB: fpTinyExact, fpMUL: fpTinyZeroOperand}[fop]
		if fop == fpSQRT {
			g.fpResult(rd, tiny, []uint8{rs1}, slow, func() { g.fsrc(op, x0, rs1) })
		} else {
			g.fsrc(amd64.MOVSD, x0, rs1)
			g.fpResult(rd, tiny, []uint8{rs1, rs2}, slow, func() { g.fsrc(op, x0, rs2) })
		}
	case fpEQ, fpLT, fpLE:
		// Ordered operands raise nothing; any NaN goes to the
		// interpreter (feq is quiet, flt and fle signal).
		g.fsrc(amd64.MOVSD, x0, rs1)
		g.fsrc(amd64.UCOMISD, x0, rs2)
		a.Jcc(amd64.CondP, slow)
		if rd == regSink {
			break
		}
		cond := map[uint8]amd64.Cond{fpEQ: amd64.CondE, fpLT: amd64.CondB, fpLE: amd64.CondBE}[fop]
		a.Setcc(cond, amd64.RAX)
		a.MovzxRR(amd64.RAX, amd64.W8, amd64.RAX)
		g.st(rd, amd64.RAX)
	case fpCVTfromW:
		g.rmCheck(in, false, slow)
		g.ld(amd64.RAX, rs1)
		a.Cvtsi2sd(x0, amd64.W32, amd64.RAX) // exact
		g.fset(rd, x0)
		g.dirtyFS()
	case fpCVTfromL:
		g.rmCheck(in, true, slow)
		g.ld(amd64.RCX, rs1)
		g.hostFP(slow, func() { a.Cvtsi2sd(x0, amd64.W64, amd64.RCX) })
		g.fset(rd, x0)
		a.ALUMR(amd64.W8, amd64.OR, fld(offFflags), amd64.RAX)
		g.dirtyFS()
	case fpCVTtoW, fpCVTtoL:
		g.rmCheck(in, true, slow) // (a static rtz needs no check)
		w := amd64.W64
		if fop == fpCVTtoW {
			w = amd64.W32
		}
		g.fsrc(amd64.MOVSD, x0, rs1)
		// NaN and out-of-range inputs raise invalid: the interpreter
		// gives RISC-V's saturated results.
		g.hostFP(slow, func() { a.Cvtsd2si(w, amd64.RCX, x0, in.fn3 == 1) })
		if w == amd64.W32 {
			a.MovsxRR(amd64.RCX, amd64.W32, amd64.RCX)
		}
		g.st(rd, amd64.RCX)
		// Inexact: fflags.NX, and FS becomes dirty (only then).
		done := a.NewLabel()
		a.TestRR(amd64.W32, amd64.RAX, amd64.RAX)
		a.Jcc(amd64.CondE, done)
		a.ALUMR(amd64.W8, amd64.OR, fld(offFflags), amd64.RAX)
		g.dirtyFS()
		a.Bind(done)
	default:
		panic("cpu: JIT: FP op not compilable")
	}
}
