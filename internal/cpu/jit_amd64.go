//go:build linux && amd64

package cpu

// The compiled execution tier: guest basic blocks translated to amd64
// machine code. docs/JIT.md describes the design; in short:
//
//   - Generated code lives in one mmap'd region outside the Go heap: a
//     read-write data part (chain cells, jump cache) followed by the code,
//     which is read-execute except while a new block is copied in (W^X).
//   - It is entered through jitCall (jit_enter_amd64.s) and returns an
//     exit code; it never calls Go. Anything it cannot do (TLB miss, MMIO,
//     misaligned access, CSR, FP, atomics, traps) is an exit that makes Go
//     run that one instruction on the interpreter.
//   - Registers: R15 = &cpu + jitBias, R13 = &ram[0], R12 = instruction
//     limit for this call, RBX = instruction count at the start of the
//     current block. Guest registers live in c.x; a block caches those it
//     uses more than once in host registers and writes them back on every
//     way out (jit_regs_amd64.go), so the state at any exit is exact.

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/cpu"
	"golang.org/x/sys/unix"

	"github.com/rewindvm/rewind/internal/amd64"
)

//go:noescape
func jitCall(entry uintptr, cpu, ram unsafe.Pointer, limit, icount uint64) (code, aux uint64)

const (
	// jitBias is added to the CPU pointer in R15 so that x0..x31 are
	// reachable with 8-bit displacements.
	jitBias = 128
	// jitMaxInsts bounds a block's length.
	jitMaxInsts = 128
	// jitSliceCap bounds the instructions one jitCall may run, so the
	// goroutine returns to Go (where it can be preempted) regularly.
	jitSliceCap = 1 << 22

	// DefaultJITCodeBytes is the code-cache budget: when it is full the
	// cache is flushed, never grown.
	DefaultJITCodeBytes = 64 << 20

	jcBits  = 14
	jcSize  = 1 << jcBits
	jcEntry = 32 // vpc, add, entry, pad
	// jcbBits sizes jitLookup's own cache (jcb), larger than the
	// generated code's: a session has tens of thousands of blocks, and a
	// miss there costs a map lookup.
	jcbBits = 16
	jcbSize = 1 << jcbBits

	jitHotDefault = 32

	jitExitDispatch = 0 // c.pc/c.icount set; aux = chain cell address or 0
	jitExitInterp   = 1 // run the instruction at c.pc on the interpreter
)

// Field offsets the generated code uses (checked in TestJITLayout).
const (
	offX      = unsafe.Offsetof((*CPU)(nil).x)
	offF      = unsafe.Offsetof((*CPU)(nil).f)
	offMstat  = unsafe.Offsetof((*CPU)(nil).mstatus)
	offFflags = unsafe.Offsetof((*CPU)(nil).fflags)
	offFrm    = unsafe.Offsetof((*CPU)(nil).frm)
	offPC     = unsafe.Offsetof((*CPU)(nil).pc)
	offICount = unsafe.Offsetof((*CPU)(nil).icount)
	offDctx   = unsafe.Offsetof((*CPU)(nil).dctx)
	offXctx   = unsafe.Offsetof((*CPU)(nil).xctx)
	offTLBR   = unsafe.Offsetof((*CPU)(nil).tlbR)
	offTLBW   = unsafe.Offsetof((*CPU)(nil).tlbW)
	offTLBX   = unsafe.Offsetof((*CPU)(nil).tlbX)
	offTLBAdd = unsafe.Offsetof((*tlbEntry)(nil).add)
	offResV   = unsafe.Offsetof((*CPU)(nil).resValid)
	offResA   = unsafe.Offsetof((*CPU)(nil).resAddr)
	offPriv   = unsafe.Offsetof((*CPU)(nil).priv)
	offLimit  = unsafe.Offsetof((*CPU)(nil).limit)
	offSscr   = unsafe.Offsetof((*CPU)(nil).sscratch)
	offCurVPN = unsafe.Offsetof((*CPU)(nil).curVPN)
	offCurCVA = unsafe.Offsetof((*CPU)(nil).curChunkVA)
	offMie    = unsafe.Offsetof((*CPU)(nil).mie)
	offMipSW  = unsafe.Offsetof((*CPU)(nil).mipSW)
	offMipHW  = unsafe.Offsetof((*CPU)(nil).mipHW)
)

// jitBlock is one translated block: straight-line guest code in one page.
type jitBlock struct {
	vpc, add uint64 // virtual pc; fetch-TLB add (RAM index = va + add)
	page     uint64 // RAM page index
	lo, hi   uint16 // guest bytes [lo, hi) of the page
	// A block whose only instruction straddles the page end also holds
	// bytes [0, hi2) of RAM page page2, the next virtual page, which the
	// fetch TLB mapped with add2 when the block was made; the code checks
	// that it still does before running the instruction. retry2: the
	// block's first instruction straddles the page end but the next page
	// was not in the fetch TLB, so the block is empty (n = 0) for now.
	page2, add2 uint64
	hi2         uint16
	retry2      bool
	n           uint64 // instructions
	entry       uintptr
	size        uint32   // bytes of host code at entry
	incoming    []uint32 // chain cells that jump here
	dead        bool
}

type jitKey struct{ vpc, add uint64 }

type jitState struct {
	mem      []byte // data part, then code part (read+execute)
	rw       []byte // read+write view of the code part (nil: mprotect instead)
	base     uintptr
	dataSize int
	codeSize int
	cur      int // next free code byte (offset into the code part)
	// populated: the code part's bytes [0, populated) are backed by
	// memory in both views (see populate).
	populated int
	stubsLen  int // bytes of the shared stubs
	stubsEnd  int // where blocks start (stubsLen aligned)

	cellOwner []*jitBlock
	cellPC    []uint64
	maxCells  int

	stubDispatch    uintptr // rax = target pc, rdx = cell or 0
	stubExit        uintptr // rax = pc, rcx = icount: exit dispatch
	stubExitInterp  uintptr // rax = pc, rcx = icount: exit interp
	stubCellDefault uint64

	blocks map[jitKey]*jitBlock
	pages  map[uint64][]*jitBlock
	// jcb is jitLookup's own jump cache: per slot, the block last looked
	// up there, compiled or not, so a lookup from Go mostly skips the
	// map. It has more slots than the generated code's jump cache, which
	// jitLookup refills from it.
	jcb [jcbSize]*jitBlock

	a   amd64.Asm
	buf []inst
	// nextUses[k][r] is the index of the next instruction after k that
	// uses x[r], 0 if none, for the block being compiled (the register
	// cache's eviction choice).
	nextUses [jitMaxInsts][32]uint8
	gen1     jitGen // the generator, reused
	// hot is how many times a pc is looked up before its block is made
	// and compiled (before that the interpreter runs the code): code
	// that runs once, as much of a boot does, is not worth compiling.
	// It is below jitHeatMade. heat counts the lookups (see find); cold
	// is the block jitLookup returns for a pc that is not hot yet.
	hot  uint32
	heat [jitHeatSize]uint64
	cold jitBlock

	stats JITStats
	// exitHook, if set, is called whenever generated code returns to
	// Go (the differential test compares the state there).
	exitHook func()
}

// JITStats counts what the compiled tier did.
type JITStats struct {
	Blocks, Flushes, Invalidated, Calls, InterpExits, Chains uint64
	CodeBytes                                                uint64
}

// EnableJIT switches the hart to the compiled engine with a code cache
// of codeBytes (DefaultJITCodeBytes if 0). When the host cannot run
// it (no memory may be mapped executable, say) it returns why, and the
// interpreter stays in use.
func (c *CPU) EnableJIT(codeBytes int) error {
	if c.jit != nil {
		return nil
	}
	if codeBytes <= 0 {
		codeBytes = DefaultJITCodeBytes
	}
	j, err := newJIT(codeBytes)
	if err != nil {
		return fmt.Errorf("mapping a %d MiB code cache: %w", codeBytes>>20, err)
	}
	c.jit = j
	runtime.AddCleanup(j, func(m [2][]byte) {
		_ = unix.Munmap(m[0])
		if m[1] != nil {
			_ = unix.Munmap(m[1])
		}
	}, [2][]byte{j.mem, j.rw})
	return nil
}

// ShareJIT makes the hart use the compiled engine of hart o, code cache
// and all, and reports whether o has one. The harts of a machine share
// one: code is compiled once for all of them, and a store by any hart
// to a page of code invalidates its blocks for all (the harts are
// Linked). Generated code reads everything that belongs to a hart (its
// registers, TLBs, privilege level) through the CPU it is entered
// with, so a block runs on any hart.
func (c *CPU) ShareJIT(o *CPU) bool {
	if o.jit == nil {
		return false
	}
	c.jit = o.jit
	return true
}

// SameJIT reports whether the hart uses the compiled engine of hart o.
func (c *CPU) SameJIT(o *CPU) bool { return c.jit != nil && c.jit == o.jit }

// JITStats returns counters of the compiled engine (zero without it).
func (c *CPU) JITStats() JITStats {
	if c.jit == nil {
		return JITStats{}
	}
	s := c.jit.stats
	s.CodeBytes = uint64(c.jit.cur)
	return s
}

func newJIT(codeBytes int) (*jitState, error) {
	codeBytes = (codeBytes + 4095) &^ 4095
	maxCells := codeBytes / 64
	dataSize := (maxCells*8 + jcSize*jcEntry + 64 + 4095) &^ 4095
	mem, err := unix.Mmap(-1, 0, dataSize+codeBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, err
	}
	j := &jitState{
		mem:       mem,
		base:      uintptr(unsafe.Pointer(&mem[0])),
		dataSize:  dataSize,
		codeSize:  codeBytes,
		maxCells:  maxCells,
		cellOwner: make([]*jitBlock, 0, 1024),
		cellPC:    make([]uint64, 0, 1024),
	}
	j.rw = dualMap(mem[dataSize:])
	j.hot = jitHotDefault
	// MXCSR as the compiled FP code wants it before each operation: all
	// exceptions masked, round to nearest even, no flush to zero, flags
	// clear (Go's own setting).
	*(*uint32)(unsafe.Pointer(&mem[j.mxcsrAddr()-j.base])) = 0x1f80
	j.genStubs()
	if j.rw == nil {
		if err := unix.Mprotect(mem[dataSize:], unix.PROT_READ|unix.PROT_EXEC); err != nil {
			_ = unix.Munmap(mem)
			return nil, err
		}
	}
	j.reset()
	return j, nil
}

// dualMap replaces code (part of an anonymous mapping) with a read+execute
// view of a memory file and returns a read+write view of the same file
// elsewhere, so code is written through one mapping and executed through
// another and no mapping is ever both writable and executable. It returns
// nil if the host does not allow it (then install falls back to
// mprotect around every write).
func dualMap(code []byte) []byte {
	fd, err := unix.MemfdCreate("rewind-jit", unix.MFD_CLOEXEC)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(len(code))); err != nil {
		return nil
	}
	rw, err := unix.Mmap(fd, 0, len(code), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	_, _, errno := unix.Syscall6(unix.SYS_MMAP, uintptr(unsafe.Pointer(&code[0])), uintptr(len(code)),
		unix.PROT_READ|unix.PROT_EXEC, unix.MAP_SHARED|unix.MAP_FIXED, uintptr(fd), 0)
	if errno != 0 {
		_ = unix.Munmap(rw)
		return nil
	}
	return rw
}

func (j *jitState) codeBase() uintptr { return j.base + uintptr(j.dataSize) }
func (j *jitState) cellAddr(i int) uintptr {
	return j.base + uintptr(i)*8
}
func (j *jitState) jcBase() uintptr { return j.base + uintptr(j.maxCells)*8 }

// mxcsrAddr is a word holding the MXCSR value loaded before each FP
// operation; the word after it receives MXCSR after the operation.
func (j *jitState) mxcsrAddr() uintptr { return j.jcBase() + jcSize*jcEntry }

func (j *jitState) jc(i uint64) *[4]uint64 {
	return (*[4]uint64)(unsafe.Pointer(&j.mem[uint64(j.maxCells)*8+i*jcEntry]))
}

func (j *jitState) cell(i uint32) *uint64 {
	return (*uint64)(unsafe.Pointer(&j.mem[uintptr(i)*8]))
}

// reset empties the cache (keeping the stubs).
func (j *jitState) reset() {
	j.blocks = make(map[jitKey]*jitBlock)
	j.pages = make(map[uint64][]*jitBlock)
	j.cellOwner = j.cellOwner[:0]
	j.cellPC = j.cellPC[:0]
	j.cur = j.stubsEnd
	j.clearJC()
	clear(j.jcb[:])
}

// clearJC empties generated code's jump cache.
func (j *jitState) clearJC() {
	for i := uint64(0); i < jcSize; i++ {
		j.jc(i)[0] = 1 // no pc is odd
	}
}

func (j *jitState) flush() {
	j.stats.Flushes++
	j.reset()
}

func xm(i uint8) amd64.Mem { return amd64.M(amd64.R15, int32(8*int(i))+int32(offX)-jitBias) }

func fld(off uintptr) amd64.Mem { return amd64.M(amd64.R15, int32(off)-jitBias) }

// genStubs writes the shared stubs at the start of the code part.
func (j *jitState) genStubs() {
	a := &j.a
	a.Reset(uint64(j.codeBase()))
	const (
		rax = amd64.RAX
		rcx = amd64.RCX
		rdx = amd64.RDX
		rbx = amd64.RBX
		rsi = amd64.RSI
		rdi = amd64.RDI
	)
	// Exits: rax = pc, rcx = icount.
	j.stubExit = j.codeBase() + uintptr(a.Len())
	a.Store(amd64.W64, fld(offPC), rax)
	a.Store(amd64.W64, fld(offICount), rcx)
	a.ALURR(amd64.W32, amd64.XOR, rax, rax)
	a.ALURR(amd64.W32, amd64.XOR, rdx, rdx)
	a.Ret()
	j.stubExitInterp = j.codeBase() + uintptr(a.Len())
	a.Store(amd64.W64, fld(offPC), rax)
	a.Store(amd64.W64, fld(offICount), rcx)
	a.MovImm(rax, jitExitInterp)
	a.ALURR(amd64.W32, amd64.XOR, rdx, rdx)
	a.Ret()

	// Dispatch: rax = target pc, rdx = chain cell or 0, rbx = icount.
	// Look the pc up in the jump cache; the entry is valid if the fetch
	// TLB maps the pc's page (in the current context) to the same RAM
	// page as when the block was compiled.
	for a.Len()%16 != 0 {
		a.Int3()
	}
	j.stubDispatch = j.codeBase() + uintptr(a.Len())
	miss := a.NewLabel()
	a.MovRR(amd64.W32, rcx, rax)
	a.ShiftRI(amd64.W32, amd64.SHL, rcx, 4)
	a.ALURI(amd64.W32, amd64.AND, rcx, (jcSize-1)<<5)
	a.Lea(rsi, amd64.RIPRel(uint64(j.jcBase())))
	a.ALURR(amd64.W64, amd64.ADD, rsi, rcx)
	a.ALURM(amd64.W64, amd64.CMP, rax, amd64.M(rsi, 0))
	a.Jcc(amd64.CondNE, miss)
	a.MovRR(amd64.W64, rcx, rax)
	a.ShiftRI(amd64.W64, amd64.SHR, rcx, 12)
	a.MovRR(amd64.W32, rdi, rcx)
	a.ALURI(amd64.W32, amd64.AND, rdi, tlbMask)
	a.ShiftRI(amd64.W32, amd64.SHL, rdi, 4)
	a.ALURM(amd64.W64, amd64.OR, rcx, fld(offXctx))
	a.ALURM(amd64.W64, amd64.CMP, rcx, amd64.MI(amd64.R15, rdi, 1, int32(offTLBX)-jitBias))
	a.Jcc(amd64.CondNE, miss)
	a.Load(amd64.W64, rcx, amd64.MI(amd64.R15, rdi, 1, int32(offTLBX+offTLBAdd)-jitBias))
	a.ALURM(amd64.W64, amd64.CMP, rcx, amd64.M(rsi, 8))
	a.Jcc(amd64.CondNE, miss)
	// A chain cell not yet pointed at its target goes to Go once, which
	// points it there (and records it, so invalidation can undo it).
	a.TestRR(amd64.W64, rdx, rdx)
	a.Jcc(amd64.CondNE, miss)
	a.JmpMem(amd64.M(rsi, 16))
	a.Bind(miss)
	a.Store(amd64.W64, fld(offPC), rax)
	a.Store(amd64.W64, fld(offICount), rbx)
	a.ALURR(amd64.W32, amd64.XOR, rax, rax)
	a.Ret()
	if err := a.Finish(); err != nil {
		panic(err)
	}
	if j.rw != nil {
		copy(j.rw, a.Buf)
	} else {
		copy(j.mem[j.dataSize:], a.Buf)
	}
	j.stubsLen = a.Len()
	j.stubsEnd = (a.Len() + 15) &^ 15
	j.stubCellDefault = uint64(j.stubDispatch)
}

// jitRun is the compiled engine's inner loop: the counterpart of step.
// It runs until c.icount reaches c.limit, or returns early (to Run,
// which re-checks interrupts) after handing one instruction to the
// interpreter.
func (c *CPU) jitRun() {
	j := c.jit
	ram := unsafe.Pointer(&c.ram[0])
	cpu := unsafe.Add(unsafe.Pointer(c), jitBias)
	var cell uint64
	for c.icount < c.limit {
		if c.debugOn && (c.bpSkipOK || c.onBreakPage(c.pc)) {
			// A page with a breakpoint runs on the interpreter, which
			// checks every pc (see jitBreakpoints); so does the first
			// instruction after a resume from a breakpoint.
			if !c.interp(jitBreakRun) {
				return
			}
			cell = 0
			continue
		}
		b := c.jitLookup()
		if b == &j.cold {
			if !c.coldRun() {
				return
			}
			continue
		}
		if b == nil || b.entry == 0 {
			// Not in the fetch TLB, or an instruction that is not
			// compiled: the interpreter runs one instruction.
			if !c.interp(1) {
				return
			}
			continue
		}
		if cell != 0 {
			j.chain(cell, b)
			cell = 0
		}
		if c.icount+b.n > c.limit {
			// The block would cross the limit: the interpreter runs
			// up to it exactly.
			c.step()
			return
		}
		limit := min(c.limit, c.icount+jitSliceCap)
		j.stats.Calls++
		code, aux := jitCall(b.entry, cpu, ram, limit, c.icount)
		if j.exitHook != nil {
			j.exitHook()
		}
		switch code {
		case jitExitDispatch:
			cell = aux
		case jitExitInterp:
			j.stats.InterpExits++
			if !c.interp(1) {
				return
			}
		}
	}
	runtime.KeepAlive(c)
}

// jitBreakRun is how many instructions the interpreter runs at a time on
// a page with a breakpoint before the compiled engine looks again.
const jitBreakRun = 64

// jitBreakpoints is called when the hart's breakpoints change. With
// breakpoints set the compiled engine still runs, except on the virtual
// pages that hold one, which the interpreter runs (jitRun checks each pc
// it dispatches). Generated code reaches another block without going
// through jitRun in two ways: a chained exit, which only ever leads to a
// block of the same virtual page (see chain), and the jump cache, which
// jitLookup fills as it finds blocks. So the jump cache is emptied here,
// and while breakpoints are set jitLookup never runs for a page with one,
// so no block of such a page gets back in. The harts of a machine share
// the engine and are given the same breakpoints (machine.SetBreakpoints).
func (c *CPU) jitBreakpoints() {
	if c.jit != nil {
		c.jit.clearJC()
	}
}

// coldRun runs code that is not hot yet on the interpreter, up to where
// a block may begin: right after its next branch or jump, or where it
// crosses a jitLine boundary (where long straight-line code is cut into
// blocks, see decodeBlock). It reports what interp reports.
func (c *CPU) coldRun() bool {
	end := c.pc&^(jitLine-1) + jitLine
	c.jumpStop = true
	for {
		// At most (end-pc)/4 instructions stay short of end, whatever
		// their lengths.
		if !c.interp(max((end-c.pc)/4, 1)) {
			c.jumpStop = false
			return false
		}
		if !c.jumpStop || c.pc >= end || c.pc < end-jitLine {
			c.jumpStop = false
			return true
		}
	}
}

// interp runs up to n instructions on the interpreter (fewer at the
// limit) and reports whether the compiled engine may go on. It may not
// when Run has something to look at: an exit request, an idle hart, the
// end of the slice, or an interrupt that may be deliverable. Otherwise it
// restores the limit to the end of the slice, exactly as Run would.
func (c *CPU) interp(n uint64) bool {
	if c.icount >= c.limit {
		return false
	}
	c.limit = min(c.limit, c.icount+n)
	c.step()
	if c.exit || c.waiting || c.icount >= c.stop || c.mip()&c.mie != 0 {
		return false
	}
	c.limit = c.stop
	return true
}

// jitLookup finds or compiles the block at c.pc. It returns nil when the
// fetch translation is not in the TLB (the interpreter then translates,
// raising any fault, and fills it), and &j.cold when c.pc has no block
// and is not hot yet (see find).
func (c *CPU) jitLookup() *jitBlock {
	j := c.jit
	pc := c.pc
	vpn := pc >> 12
	e := &c.tlbX[vpn&tlbMask]
	if e.key != vpn|c.xctx {
		return nil
	}
	page := (pc + e.add) >> 12
	if page >= uint64(len(c.codePages)) {
		return nil
	}
	cp := c.codePages[page]
	if cp == nil {
		// Make it a code page (stores to it now take the slow path,
		// which invalidates blocks).
		if !c.fetchPage() {
			return nil
		}
		cp = c.codePages[page]
	}
	cp.writes = 0
	gslot := (pc >> 1) & (jcbSize - 1)
	b := j.jcb[gslot]
	if b == nil || b.vpc != pc || b.add != e.add || b.dead {
		if b = j.find(c, pc, e.add, page); b == nil {
			return &j.cold
		}
		j.jcb[gslot] = b
	}
	if b.retry2 {
		if _, _, ok := c.nextFetchPage(pc); ok {
			// The next page is in the fetch TLB now: the instruction
			// that straddles the page end can be compiled.
			j.kill(b)
			b = j.newBlock(c, pc, e.add, page)
			j.jcb[gslot] = b
		}
	}
	if b.entry == 0 && b.n > 0 {
		j.compile(c, b)
	}
	if b.entry != 0 {
		// The generated code's jump cache: its slot may hold another
		// block since. (And jcb again: compiling may have flushed it.)
		jc := j.jc((pc >> 1) & (jcSize - 1))
		jc[0], jc[1], jc[2] = pc, e.add, uint64(b.entry)
		j.jcb[gslot] = b
	}
	return b
}

// jitHeatBits sets the number of counters of find: 64 Ki, 512 KiB.
const (
	jitHeatBits = 16
	jitHeatSize = 1 << jitHeatBits
)

// jitLine: straight-line code longer than a block is cut into blocks at
// the boundaries of jitLine-byte lines of the page, once a block has
// jitLineMin instructions. Blocks entered in the middle of such code
// (where a slice ended, after an exit to the interpreter) then end where
// the blocks entered at its start do, and the next block is one that
// exists already: cut only by length, each such entry began a chain of
// blocks offset from the others all through the code. On a two-hart
// machine, whose slices end every quantum, gowork's SHA-256 code was
// compiled starting at nearly every one of its instructions.
const (
	jitLine    = 256
	jitLineMin = 16
)

// jitHeatMade in a counter's low byte marks a pc that has a block.
const jitHeatMade = 0xff

// find returns the block at pc (translated with add, on RAM page page),
// or nil while pc is not hot: looked up fewer than j.hot times. It makes
// the block the time pc becomes hot. Lookups are counted in j.heat, a
// direct-mapped table of counters tagged with a hash of (pc, add); a
// counter that is counting says that pc has no block, so the lookups of
// code not hot yet need no map access. Most of a boot's code is looked
// up a few times only: it never costs a block (decoding, a map entry, an
// allocation), only a counter. A pc that takes a slot over starts from
// one, and two pcs whose hashes agree share a counter; either changes
// only when code gets compiled, never what it does, and before a block
// is made the map is asked, so no pc ever gets two.
func (j *jitState) find(c *CPU, pc, add, page uint64) *jitBlock {
	key := jitKey{pc, add}
	h := (pc ^ add<<7) * 0x9e3779b97f4a7c15
	e := &j.heat[h>>(64-jitHeatBits)]
	tag := h &^ 0xff
	if *e&^0xff == tag && *e&0xff < jitHeatMade {
		if uint32(*e&0xff)+1 < j.hot {
			*e++
			return nil
		}
	} else {
		// pc has a block, or the slot belongs to another pc.
		if b := j.blocks[key]; b != nil {
			*e = tag | jitHeatMade
			return b
		}
		if j.hot > 1 {
			*e = tag | 1
			return nil
		}
	}
	*e = tag | jitHeatMade
	if b := j.blocks[key]; b != nil {
		return b
	}
	return j.newBlock(c, pc, add, page)
}

// chain points the cell an exit jumped through at block b, when that is
// safe: b is on the same virtual page as the cell's owner and was
// compiled for the same translation (so whenever the owner runs, b's
// translation is current too).
func (j *jitState) chain(cellAddr uint64, b *jitBlock) {
	i := uint32((uintptr(cellAddr) - j.base) / 8)
	if int(i) >= len(j.cellOwner) {
		return
	}
	owner := j.cellOwner[i]
	if owner == nil || owner.dead || b.dead || b.entry == 0 || j.cellPC[i] != b.vpc ||
		owner.add != b.add || owner.vpc>>12 != b.vpc>>12 {
		return
	}
	*j.cell(i) = uint64(b.entry)
	b.incoming = append(b.incoming, i)
	j.stats.Chains++
}

// jitInvalidate drops the blocks of RAM page that overlap page offsets
// [first, last] (a store to code).
func (c *CPU) jitInvalidate(page, first, last uint64) {
	j := c.jit
	bs := j.pages[page]
	if len(bs) == 0 {
		return
	}
	keep := bs[:0]
	for _, b := range bs {
		switch {
		case b.dead:
			// Killed through its other page (or retried): drop it.
		case b.page == page && uint64(b.lo) <= last && uint64(b.hi) > first,
			b.hi2 > 0 && b.page2 == page && first < uint64(b.hi2):
			j.kill(b)
		default:
			keep = append(keep, b)
		}
	}
	clear(bs[len(keep):])
	if len(keep) == 0 {
		delete(j.pages, page)
	} else {
		j.pages[page] = keep
	}
}

func (j *jitState) kill(b *jitBlock) {
	if b.dead {
		return
	}
	j.stats.Invalidated++
	b.dead = true
	k := jitKey{b.vpc, b.add}
	if j.blocks[k] == b {
		delete(j.blocks, k)
	}
	if b.entry != 0 {
		for _, i := range b.incoming {
			if p := j.cell(i); *p == uint64(b.entry) {
				*p = j.stubCellDefault
			}
		}
		slot := (b.vpc >> 1) & (jcSize - 1)
		if jc := j.jc(slot); jc[2] == uint64(b.entry) {
			jc[0] = 1
		}
		if gslot := (b.vpc >> 1) & (jcbSize - 1); j.jcb[gslot] == b {
			j.jcb[gslot] = nil
		}
	}
	b.incoming = nil
}

// jitPlainCSR describes the CSRs the compiler accesses as plain fields of
// the CPU struct: the trap handlers' scratch, epc, cause and tval
// registers of S- and M-mode. Reading or writing them has no side
// effect, and a write never changes which interrupt is deliverable. off
// is the field, priv the lowest privilege level that may access it, and
// a written value is ANDed with mask (the epc registers' bit 0 is zero).
func jitPlainCSR(csr uint16) (off uintptr, priv uint8, mask uint64, ok bool) {
	switch csr {
	case csrSscratch:
		return offSscr, PrivS, ^uint64(0), true
	case csrSepc:
		return unsafe.Offsetof((*CPU)(nil).sepc), PrivS, ^uint64(1), true
	case csrScause:
		return unsafe.Offsetof((*CPU)(nil).scause), PrivS, ^uint64(0), true
	case csrStval:
		return unsafe.Offsetof((*CPU)(nil).stval), PrivS, ^uint64(0), true
	case csrMscratch:
		return unsafe.Offsetof((*CPU)(nil).mscratch), PrivM, ^uint64(0), true
	case csrMepc:
		return unsafe.Offsetof((*CPU)(nil).mepc), PrivM, ^uint64(1), true
	case csrMcause:
		return unsafe.Offsetof((*CPU)(nil).mcause), PrivM, ^uint64(0), true
	case csrMtval:
		return unsafe.Offsetof((*CPU)(nil).mtval), PrivM, ^uint64(0), true
	}
	return 0, 0, 0, false
}

// hostFMA: the host has the FMA extension (fused multiply-add), which
// compiled fmadd.d and its kin use.
var hostFMA = cpu.X86.HasFMA

// jitCompilable reports whether the compiler translates in.
func jitCompilable(in *inst) bool {
	switch in.op {
	case opFLW, opFLD, opFSW, opFSD:
		return true
	case opFP:
		switch in.fop {
		case fpMVtoX, fpMVtoX | fpDouble, fpMVfromX, fpMVfromX | fpDouble,
			fpSGNJ | fpDouble, fpSGNJN | fpDouble, fpSGNJX | fpDouble,
			fpEQ | fpDouble, fpLT | fpDouble, fpLE | fpDouble:
			return true
		case fpFMADD | fpDouble, fpFMSUB | fpDouble, fpFNMSUB | fpDouble, fpFNMADD | fpDouble:
			// The host's fused multiply-add, round to nearest even.
			return hostFMA && (in.fn3 == 0 || in.fn3 == 7)
		case fpADD | fpDouble, fpSUB | fpDouble, fpMUL | fpDouble, fpDIV | fpDouble, fpSQRT | fpDouble,
			fpCVTfromL | fpDouble:
			// Rounded with the host's round-to-nearest-even only.
			return in.fn3 == 0 || in.fn3 == 7
		case fpCVTtoW | fpDouble, fpCVTtoL | fpDouble:
			// Round to nearest even (the host's mode) or toward zero
			// (truncation).
			return in.fn3 <= 1 || in.fn3 == 7
		case fpCVTfromW | fpDouble:
			return in.fn3 <= 4 || in.fn3 == 7 // exact: the mode only has to be valid
		}
		return false
	case opCSRRW, opCSRRS, opCSRRC, opCSRRWI, opCSRRSI, opCSRRCI:
		// The supervisor's most frequent ones, sstatus (interrupt
		// enable, user-memory access), and the trap handlers' plain
		// registers.
		csr := uint16(in.imm) & 0xfff
		_, _, _, plain := jitPlainCSR(csr)
		return csr == csrSstatus || plain
	case opLUI, opAUIPC, opJAL, opJALR, opBEQ, opBNE, opBLT, opBGE, opBLTU, opBGEU,
		opLB, opLH, opLW, opLD, opLBU, opLHU, opLWU, opSB, opSH, opSW, opSD,
		opADDI, opSLTI, opSLTIU, opXORI, opORI, opANDI, opSLLI, opSRLI, opSRAI,
		opADD, opSUB, opSLL, opSLT, opSLTU, opXOR, opSRL, opSRA, opOR, opAND,
		opADDIW, opSLLIW, opSRLIW, opSRAIW, opADDW, opSUBW, opSLLW, opSRLW, opSRAW,
		opFENCE, opFENCEI, opWFI,
		opMUL, opMULH, opMULHSU, opMULHU, opDIV, opDIVU, opREM, opREMU,
		opMULW, opDIVW, opDIVUW, opREMW, opREMUW,
		opLRW, opLRD, opSCW, opSCD,
		opAMOSWAPW, opAMOADDW, opAMOXORW, opAMOANDW, opAMOORW, opAMOMINW, opAMOMAXW, opAMOMINUW, opAMOMAXUW,
		opAMOSWAPD, opAMOADDD, opAMOXORD, opAMOANDD, opAMOORD, opAMOMIND, opAMOMAXD, opAMOMINUD, opAMOMAXUD:
		return true
	}
	return false
}

func isBranch(o op) bool {
	switch o {
	case opJAL, opJALR, opBEQ, opBNE, opBLT, opBGE, opBLTU, opBGEU:
		return true
	}
	return false
}

// Results of decodeBlock about an instruction that straddles the page end.
const (
	straddleNone     = iota
	straddleIncluded // the block is that one instruction
	straddleStopped  // the block stops before it (or is empty)
)

// decodeBlock decodes the straight-line run of compilable instructions at
// pc (RAM page page), ending after a branch, before an instruction the
// compiler does not handle, at the page end, at a jitLine boundary (once
// it has jitLineMin instructions), or at jitMaxInsts. It
// returns the instructions and whether it stopped at an instruction the
// interpreter must run. An instruction that straddles the page end is a
// block of its own: it is decoded, with its upper half from RAM page
// page2, only if it is the first and page2 >= 0.
func (j *jitState) decodeBlock(c *CPU, pc, page uint64, page2 int64) (ins []inst, interp bool, straddle int) {
	out := j.buf[:0]
	off := pc & 0xfff
	base := page << 12
	for len(out) < jitMaxInsts && off < 0x1000 {
		if off%jitLine == 0 && len(out) >= jitLineMin {
			break
		}
		lo := binary.LittleEndian.Uint16(c.ram[base+off:])
		var in inst
		switch {
		case lo&3 != 3:
			in = decode16(lo)
		case off <= 0xffc:
			in = decode32(binary.LittleEndian.Uint32(c.ram[base+off:]))
		case len(out) == 0 && page2 >= 0:
			hi := binary.LittleEndian.Uint16(c.ram[uint64(page2)<<12:])
			in = decode32(uint32(lo) | uint32(hi)<<16)
			if jitCompilable(&in) {
				j.buf = append(out, in)
				return j.buf, false, straddleIncluded
			}
		default:
			j.buf = out
			return out, false, straddleStopped
		}
		if !jitCompilable(&in) {
			interp = true
			break
		}
		out = append(out, in)
		off += uint64(in.length)
		if isBranch(in.op) {
			break
		}
	}
	j.buf = out
	return out, interp, straddleNone
}

// nextFetchPage returns how the fetch TLB maps the virtual page after
// pc's: its add and RAM page (ok false if it is not in the TLB or not
// RAM). It has no side effects: no page-table walk.
func (c *CPU) nextFetchPage(pc uint64) (add, page uint64, ok bool) {
	vpn := pc>>12 + 1
	e := &c.tlbX[vpn&tlbMask]
	if e.key != vpn|c.xctx {
		return 0, 0, false
	}
	page = (vpn<<12 + e.add) >> 12
	return e.add, page, page < uint64(len(c.codePages))
}

// newBlock records the block at pc, not compiled yet (entry 0). A block
// with no compilable instruction (n = 0) is recorded too, so the lookup
// does not decode it again.
func (j *jitState) newBlock(c *CPU, pc, add, page uint64) *jitBlock {
	page2, add2 := int64(-1), uint64(0)
	if pc&0xfff == 0xffe {
		if a, p, ok := c.nextFetchPage(pc); ok {
			page2, add2 = int64(p), a
		}
	}
	ins, _, straddle := j.decodeBlock(c, pc, page, page2)
	b := &jitBlock{vpc: pc, add: add, page: page, lo: uint16(pc & 0xfff), n: uint64(len(ins))}
	var length uint64
	for i := range ins {
		length += uint64(ins[i].length)
	}
	b.hi = uint16(min((pc&0xfff)+length, 0x1000))
	if b.hi == b.lo {
		b.hi = b.lo + 1
	}
	switch {
	case straddle == straddleIncluded:
		b.page2, b.add2, b.hi2 = uint64(page2), add2, 2
		// Stores to the upper half must invalidate the block.
		c.makeCodePage(b.page2)
	case straddle == straddleStopped && len(ins) == 0:
		b.retry2 = true
	}
	j.register(b)
	return b
}

func (j *jitState) register(b *jitBlock) {
	j.blocks[jitKey{b.vpc, b.add}] = b
	j.pages[b.page] = append(j.pages[b.page], b)
	if b.hi2 > 0 {
		j.pages[b.page2] = append(j.pages[b.page2], b)
	}
}

// compile translates block b (decoding it again: the guest bytes are
// unchanged, or b would have been invalidated).
func (j *jitState) compile(c *CPU, b *jitBlock) {
	page2 := int64(-1)
	if b.hi2 > 0 {
		page2 = int64(b.page2)
	}
	ins, interp, _ := j.decodeBlock(c, b.vpc, b.page, page2)
	if uint64(len(ins)) != b.n {
		panic("cpu: JIT: block changed without invalidation")
	}
	flushed := false
	for {
		code, ok := j.gen(c, b, ins, interp)
		if ok {
			b.entry = code
			break
		}
		if flushed {
			panic("cpu: JIT: a block does not fit in an empty code cache")
		}
		j.flush()
		flushed = true
	}
	if flushed {
		j.register(b)
	}
	j.stats.Blocks++
}

// cellAlloc reserves a chain cell for an exit of b to target pc.
func (j *jitState) cellAlloc(b *jitBlock, target uint64) (uintptr, bool) {
	i := len(j.cellOwner)
	if i >= j.maxCells {
		return 0, false
	}
	j.cellOwner = append(j.cellOwner, b)
	j.cellPC = append(j.cellPC, target)
	*j.cell(uint32(i)) = j.stubCellDefault
	return j.cellAddr(i), true
}

// install copies code into the cache (W^X: through the read+write view,
// or, without one, with the pages made writable only while being written). It returns the entry address, or false if the
// cache is full.
func (j *jitState) install(code []byte) (uintptr, bool) {
	start := j.cur
	end := start + len(code)
	if end > j.codeSize {
		return 0, false
	}
	if j.rw != nil {
		if end > j.populated {
			j.populate(end)
		}
		copy(j.rw[start:], code)
		j.cur = (end + 15) &^ 15
		return j.codeBase() + uintptr(start), true
	}
	lo := j.dataSize + start&^4095
	hi := j.dataSize + (end+4095)&^4095
	if err := unix.Mprotect(j.mem[lo:hi], unix.PROT_READ|unix.PROT_WRITE); err != nil {
		panic("cpu: JIT: mprotect: " + err.Error())
	}
	copy(j.mem[j.dataSize+start:], code)
	if err := unix.Mprotect(j.mem[lo:hi], unix.PROT_READ|unix.PROT_EXEC); err != nil {
		panic("cpu: JIT: mprotect: " + err.Error())
	}
	j.cur = (end + 15) &^ 15
	return j.codeBase() + uintptr(start), true
}

// jitPopulateStep is how much of the code part populate backs at once.
const jitPopulateStep = 1 << 20

// populate backs the code part up to past end with memory, a
// jitPopulateStep at a time, in both views. Otherwise every 4 KiB page of
// a new block would cost two page faults (the write through one view,
// the first execution through the other), which on a virtual machine
// are expensive: compiling the 5 MiB of a CPU-bound session's code took
// 2,600 of them. Where the kernel does not know MADV_POPULATE_* (before
// Linux 5.14), the pages are faulted in as they are used, as before.
func (j *jitState) populate(end int) {
	hi := min((end+jitPopulateStep-1)&^(jitPopulateStep-1), j.codeSize)
	lo := j.populated
	j.populated = hi
	if unix.Madvise(j.rw[lo:hi], unix.MADV_POPULATE_WRITE) != nil {
		j.populated = j.codeSize // unsupported: do not ask again
		return
	}
	_ = unix.Madvise(j.mem[j.dataSize+lo:j.dataSize+hi], unix.MADV_POPULATE_READ)
}

// setJITHot sets the compile threshold (tests).
func (c *CPU) setJITHot(n uint32) {
	if c.jit != nil {
		c.jit.hot = min(n, jitHeatMade-1)
	}
}
