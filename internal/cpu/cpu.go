// Package cpu is the RV64GC hart: registers, CSRs, privilege modes, traps
// and interrupts, the Sv39/Sv48 MMU with a software TLB, a decoded
// instruction cache, and the interpreter loop.
//
// The hart sees memory only through the bus (and, for speed, the bus's RAM
// slice). It knows nothing of devices, files or record/replay: interrupt
// lines come in through SetPending, the time CSR through a function.
//
// Instruction counting (the machine's notion of time) is defined once,
// here: every instruction the hart attempts counts one, whether it retires
// or raises an exception. Taking an interrupt counts nothing. WFI counts
// one when executed; the idle time after it counts nothing (the machine
// warps virtual time instead).
package cpu

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/rewindvm/rewind/internal/bus"
	"github.com/rewindvm/rewind/internal/hugemem"
)

// StopReason says why Run returned.
type StopReason int

const (
	// StopBudget: the instruction budget is used up exactly.
	StopBudget StopReason = iota
	// StopIdle: the hart executed WFI with no interrupt pending; it stays
	// asleep until an enabled interrupt becomes pending.
	StopIdle
	// StopRequested: RequestExit was called during the slice.
	StopRequested
	// StopBreakpoint: the pc reached a breakpoint; the instruction there
	// has not executed.
	StopBreakpoint
	// StopWatchpoint: the last instruction accessed a watched range
	// (WatchHit says which).
	StopWatchpoint
)

const pageInsts = 4096 / 2

// chunkInsts is how many decoded slots a codeChunk holds: one per
// halfword of 256 bytes of guest code.
const (
	chunkInsts = 128
	pageChunks = pageInsts / chunkInsts
)

// codeChunk holds the decoded instructions of 256 bytes of a code page.
// A page's chunks are allocated as instructions in them are first
// decoded: at the end of a Linux session fewer than half of the
// 256-byte stretches of the pages that ran code had run any.
type codeChunk [chunkInsts]inst

// noChunk stands for every chunk of a code page in which nothing has been
// decoded yet, so that finding a slot needs no test: its slots are all
// invalid (gen 0), and decodeSlot gives the page a chunk of its own before
// decoding. It is never written.
var noChunk codeChunk

// codePage holds the decoded instructions of one physical RAM page. A
// slot is valid when its gen equals the page's gen, so a recycled page
// is invalidated by bumping gen instead of clearing its chunks.
type codePage struct {
	chunks [pageChunks]*codeChunk // &noChunk until one is needed
	gen    uint32
	// writes counts stores to the page since execution last entered it;
	// a page that keeps being written without being executed is dropped
	// (it holds data now), which lets its stores use the write TLB again.
	writes int
}

// codeWriteLimit is how many stores a code page takes, without being
// entered by execution, before it is dropped.
const codeWriteLimit = 256

// CPU is one RV64GC hart.
type CPU struct {
	x    [256]uint64 // x0..x31; index 32 is the write sink for rd=x0; the rest pads for bounds-check-free uint8 indexing
	f    [32]uint64
	pc   uint64
	priv uint8

	icount uint64
	limit  uint64 // inner loop bound (≤ stop)
	stop   uint64 // end of the current slice
	exit   bool

	waiting bool // asleep in WFI
	// jumpStop makes the interpreter stop after the next branch or jump
	// and clear it (the compiled engine runs code not hot enough to
	// compile that way: up to where a block may begin).
	jumpStop bool

	// CSR state.
	mstatus    uint64
	fflags     uint8
	frm        uint8
	medeleg    uint64
	mideleg    uint64
	mie        uint64
	mipSW      uint64 // software-written bits of mip (SSIP, STIP, SEIP)
	mipHW      uint64 // device-driven bits (MSIP, MTIP, MEIP, SEIP)
	mtvec      uint64
	stvec      uint64
	mscratch   uint64
	sscratch   uint64
	mepc       uint64
	sepc       uint64
	mcause     uint64
	scause     uint64
	mtval      uint64
	stval      uint64
	satp       uint64
	mcounteren uint64
	scounteren uint64
	menvcfg    uint64
	senvcfg    uint64
	mcountinh  uint64
	cycleOff   uint64 // mcycle = icount + cycleOff
	instretOff uint64
	pmpcfg     [16]uint64 // only even indices used on RV64
	pmpaddr    [64]uint64

	resValid bool
	resAddr  uint64

	// Memory.
	bus     *bus.Bus
	ram     []byte
	ramBase uint64
	tlbR    [tlbSize]tlbEntry
	tlbW    [tlbSize]tlbEntry
	tlbX    [tlbSize]tlbEntry
	// tlbLevel holds, for each entry of tlbR, tlbW and tlbX, the level
	// of the leaf PTE it came from (0 = 4 KiB page, 1 = 2 MiB, ...), so
	// an address-specific sfence.vma can drop every entry inside a
	// superpage. Since the last full flush, tlbSuper says whether any
	// entry came from a superpage, and tlbSuperMap which ones may have:
	// a bit per 2 MiB region (modulo 8 GiB), then one per 1 GiB region
	// (modulo 64 GiB), then one for any larger page. walkLevel is the
	// level of the last walk.
	tlbLevel    [3][tlbSize]uint8
	tlbSuper    bool
	tlbSuperMap [superMapWords]uint64
	walkLevel   uint8
	dctx        uint64
	xctx        uint64
	dpriv       uint8
	codePages   []*codePage
	freePages   []*codePage
	pageSlab    hugemem.Slab // where code pages' chunks are carved from
	curVPN      uint64
	curPage     *codePage
	// curChunk is the chunk of curPage that pc>>8 == curChunkVA is in.
	// curChunkVA is tlbNone whenever curVPN is (dropFetch), and after
	// fetchPage: then step looks the chunk up again.
	curChunk   *codeChunk
	curChunkVA uint64
	curGen     uint32
	curOff     uint64 // RAM index of the current fetch page
	scratch    inst
	scratchRaw uint32   // scratch's instruction bits (see illegal)
	single     inst     // the first of a fused pair, run alone (see firstOfPair)
	dirty      []uint64 // RAM pages written since ClearDirty (nil = not tracked)
	// guard marks RAM pages whose next write must first call onGuard
	// (copy-on-write of a snapshot being read on another goroutine); nil:
	// none. Shared by the harts of a machine. See SetWriteGuard.
	guard   []uint64
	onGuard func(page uint64)

	// Debugging: breakpoints and watchpoints live here, never in guest
	// memory. debugOn gates the per-instruction check, and bpBits lets
	// it skip the pcs that cannot have a breakpoint: bit (pc/2)%4096 is
	// set when a breakpoint's pc has the same bits.
	debugOn  bool
	bps      []uint64
	bpBits   [64]uint64
	bpSkip   uint64 // pc whose breakpoint is ignored once (resume)
	bpSkipOK bool
	watches  []Watch
	watchHit WatchHit
	stopWhy  StopReason
	probe    bool // translate without side effects (debugger)

	watchPA uint64
	// OnWatch is called after a store to the watched physical address
	// (the HTIF tohost word); it may call RequestExit.
	OnWatch func(pa uint64)

	// Time returns the value of the time CSR (the CLINT's mtime).
	Time func() uint64

	// Sv48 offers Sv48 in satp in addition to Sv39.
	Sv48 bool

	// HartID is what the mhartid CSR reads.
	HartID uint64
	// BreakReservationOnTrap makes every trap clear the LR reservation
	// (multi-hart machines; a single hart keeps the reservation across
	// traps, as recordings made before harts could be several expect).
	BreakReservationOnTrap bool
	// trapHook, if set, is called as each trap begins, with the state
	// the trap is taken in (the engines' differential test compares it).
	trapHook func()
	// peers are the other harts sharing this hart's RAM (Link): a store
	// by any of them invalidates code this hart decoded.
	peers []*CPU

	// jit is the compiled engine (nil: interpreter only); see jit_amd64.go.
	jit *jitState
}

// Link makes harts that share one RAM see each other's stores to code:
// a store by one invalidates the instructions any of them decoded from
// that page, and pages that are code on any hart stay out of every
// hart's write TLB. Harts run one at a time on the machine goroutine.
func Link(harts []*CPU) {
	for _, h := range harts {
		h.peers = nil
		for _, o := range harts {
			if o != h {
				h.peers = append(h.peers, o)
			}
		}
		h.slowWriteTLB()
	}
}

// ClearReservation drops the hart's LR reservation (the machine calls it
// when it deschedules the hart, so a store by another hart in between
// always makes the pending SC fail).
func (c *CPU) ClearReservation() { c.resValid = false }

// Runnable reports whether the hart would execute an instruction if run:
// it is not asleep in WFI, or an enabled interrupt is pending.
func (c *CPU) Runnable() bool { return !c.waiting || c.mip()&c.mie != 0 }

// codeAnywhere reports whether RAM page is decoded code on this hart or
// on a linked one.
func (c *CPU) codeAnywhere(page uint64) bool {
	if c.codePages[page] != nil {
		return true
	}
	for _, p := range c.peers {
		if p.codePages[page] != nil {
			return true
		}
	}
	return false
}

// peersCodeWrite passes a store to page on to the linked harts that
// decoded it.
func (c *CPU) peersCodeWrite(page, po uint64, size int) {
	for _, p := range c.peers {
		if p.codePages[page] != nil {
			p.codeWrite(page, po, size)
		}
	}
}

// New returns a hart attached to b, in M-mode, with pc = 0.
func New(b *bus.Bus) *CPU {
	c := &CPU{
		bus:     b,
		ram:     b.RAM,
		ramBase: b.RAMBase,
		priv:    PrivM,
		Time:    func() uint64 { return 0 },
	}
	c.codePages = make([]*codePage, (len(b.RAM)+4095)/4096)
	c.mstatus = 2<<32 | 2<<34 // UXL = SXL = 64
	c.flushTLB()
	c.updateCtx()
	b.Observe(c.noteRAMWrite)
	return c
}

// PC returns the program counter.
func (c *CPU) PC() uint64 { return c.pc }

// SetPC sets the program counter.
func (c *CPU) SetPC(pc uint64) { c.pc = pc }

// Reg returns integer register i (0..31).
func (c *CPU) Reg(i int) uint64 {
	if i == 0 {
		return 0
	}
	return c.x[i&31]
}

// SetReg sets integer register i; writes to x0 are ignored.
func (c *CPU) SetReg(i int, v uint64) {
	if i != 0 {
		c.x[i&31] = v
	}
}

// FReg returns floating-point register i as raw bits.
func (c *CPU) FReg(i int) uint64 { return c.f[i&31] }

// SetFReg sets floating-point register i.
func (c *CPU) SetFReg(i int, v uint64) { c.f[i&31] = v }

// Priv returns the current privilege level.
func (c *CPU) Priv() uint8 { return c.priv }

// ICount returns the number of instructions executed so far.
func (c *CPU) ICount() uint64 { return c.icount }

// SetICount sets the instruction counter (snapshot restore).
func (c *CPU) SetICount(n uint64) { c.icount = n }

// Waiting reports whether the hart is asleep in WFI.
func (c *CPU) Waiting() bool { return c.waiting }

// WatchStore makes stores to the 8-byte word at physical address pa call
// OnWatch. Zero disables.
func (c *CPU) WatchStore(pa uint64) {
	c.watchPA = pa
	c.slowWriteTLB()
}

// TrackDirty enables dirty-page tracking of RAM.
func (c *CPU) TrackDirty() {
	if c.dirty == nil {
		c.dirty = make([]uint64, (len(c.codePages)+63)/64)
	}
	c.slowWriteTLB()
}

// SetWriteGuard makes the hart call fn(page) before it writes a RAM page
// (index from the RAM base) whose bit is set in bits, or stops that (bits
// nil). fn clears the bit. The hart checks only on its slow store path:
// a page must not be writable through the TLB's fast path while its bit
// is set, which holds for the pages written since the previous TakeDirty
// (the caller sets the bits of such pages only).
func (c *CPU) SetWriteGuard(bits []uint64, fn func(page uint64)) {
	c.guard, c.onGuard = bits, fn
}

// guardWrite runs the write guard for RAM bytes [off, off+n) before
// they are written.
func (c *CPU) guardWrite(off, n uint64) {
	for p := off >> 12; p <= (off+n-1)>>12; p++ {
		if c.guard[p>>6]&(1<<(p&63)) != 0 {
			c.onGuard(p)
		}
	}
}

// TakeDirty calls fn for every RAM page (index from the RAM base, in
// ascending order) written since the previous call, then starts a new
// epoch. Tracking must be on (TrackDirty).
func (c *CPU) TakeDirty(fn func(page uint64)) {
	for w, word := range c.dirty {
		for word != 0 {
			b := word & -word
			fn(uint64(w)*64 + uint64(bits.TrailingZeros64(b)))
			word &^= b
		}
		c.dirty[w] = 0
	}
	// Pages stay writable through the TLB's fast path only until the
	// next store marks them again.
	c.slowWriteTLB()
}

// SetPending sets (level true) or clears the device-driven interrupt
// pending bits in mask (MipMSIP, MipMTIP, MipSEIP, MipMEIP).
func (c *CPU) SetPending(mask uint64, level bool) {
	old := c.mipHW
	if level {
		c.mipHW |= mask
	} else {
		c.mipHW &^= mask
	}
	if c.mipHW != old {
		c.limit = c.icount // re-check interrupts at the next boundary
	}
}

// RequestExit ends the current Run slice after the current instruction.
func (c *CPU) RequestExit() {
	c.exit = true
	c.limit = c.icount
	c.stop = c.icount
}

func (c *CPU) mip() uint64 { return c.mipSW | c.mipHW }

// noteRAMWrite is the bus observer: writes that do not come from the
// hart's store path (DMA, loaders, debugger) invalidate decoded code.
func (c *CPU) noteRAMWrite(pa, n uint64) {
	if n == 0 || pa < c.ramBase {
		return
	}
	first := (pa - c.ramBase) >> 12
	last := (pa + n - 1 - c.ramBase) >> 12
	for p := first; p <= last && p < uint64(len(c.codePages)); p++ {
		if c.codePages[p] != nil {
			c.dropCodePage(p)
		}
		if c.dirty != nil {
			c.dirty[p>>6] |= 1 << (p & 63)
		}
	}
}

func (c *CPU) dropCodePage(page uint64) {
	cp := c.codePages[page]
	c.codePages[page] = nil
	c.freePages = append(c.freePages, cp)
	c.dropFetch()
	if c.jit != nil {
		c.jitInvalidate(page, 0, 4095)
	}
}

// fetchPage makes the page of c.pc the current fetch page. It returns
// false after raising a fetch exception.
func (c *CPU) fetchPage() bool {
	vpn := c.pc >> 12
	e := &c.tlbX[vpn&tlbMask]
	var off uint64
	if e.key == vpn|c.xctx {
		off = c.pc + e.add - c.pc&0xfff
	} else {
		pa, ok := c.translate(c.pc, accExec)
		if !ok {
			return false
		}
		o, ok := c.ramIndex(pa)
		if !ok {
			c.exception(CauseFetchAccess, c.pc)
			return false
		}
		off = o &^ 0xfff
		c.tlbFill(tlbIdxX, c.pc, pa, c.xctx)
	}
	cp := c.makeCodePage(off >> 12)
	cp.writes = 0
	c.curVPN = vpn
	c.curPage = cp
	c.curGen = cp.gen
	c.curOff = off
	c.curChunkVA = tlbNone
	return true
}

// makeCodePage returns RAM page's code page, making it one if it is not:
// stores to it then take the slow path, which invalidates what was
// decoded or compiled from it.
func (c *CPU) makeCodePage(page uint64) *codePage {
	cp := c.codePages[page]
	if cp != nil {
		return cp
	}
	if n := len(c.freePages); n > 0 {
		cp = c.freePages[n-1]
		c.freePages = c.freePages[:n-1]
		cp.gen++
		if cp.gen == 0 { // wrapped: old slots could look valid
			*cp = *c.newCodePage()
		}
	} else {
		cp = c.newCodePage()
	}
	c.codePages[page] = cp
	// Stores to this page must now take the slow path, on every hart.
	c.slowWriteTLB()
	for _, p := range c.peers {
		p.slowWriteTLB()
	}
	return cp
}

// dropFetch makes the next instruction look its fetch page (and chunk)
// up again.
func (c *CPU) dropFetch() {
	c.curVPN = tlbNone
	c.curChunkVA = tlbNone
}

// codeWrite invalidates the decoded slots a store of size bytes at page
// offset po overlaps (including a 4-byte instruction starting 2 bytes
// before it, and a fused pair starting up to fuseReach bytes before it),
// or drops the page if it is written a lot without being executed. The
// compiled engine's blocks are invalidated from the first instruction
// that overlaps.
func (c *CPU) codeWrite(page, po uint64, size int) {
	cp := c.codePages[page]
	cp.writes++
	if cp.writes > codeWriteLimit {
		c.dropCodePage(page)
		return
	}
	first := po &^ 1
	if first >= 2 {
		first -= 2
	}
	last := min(po+uint64(size)-1, 4095)
	// The first instruction of a fused pair holds the second too.
	for s := (po&^1 - min(po&^1, fuseReach)) >> 1; s <= last>>1; s++ {
		if ch := cp.chunks[s/chunkInsts]; ch != &noChunk {
			ch[s%chunkInsts].gen = 0
		}
	}
	if c.jit != nil {
		c.jitInvalidate(page, first, last)
	}
}

// decodeSlot decodes the instruction at c.pc into its cache slot. An
// instruction that straddles a page boundary is decoded into a scratch
// slot on every execution (it depends on two translations).
func (c *CPU) decodeSlot(slot *inst) (*inst, bool) {
	po := c.pc & 0xfff
	if ch := &c.curPage.chunks[po/(2*chunkInsts)]; *ch == &noChunk {
		*ch = c.newChunk()
		slot = &(*ch)[po/2%chunkInsts]
		c.curChunkVA = tlbNone // step's curChunk was noChunk
	}
	if in, ok := c.decodeInPage(po); ok {
		*slot = in
		slot.gen = c.curGen
		c.pairWith(slot, po)
		return slot, true
	}
	lo := binary.LittleEndian.Uint16(c.ram[c.curOff+po:])
	pa, ok := c.translate(c.pc+2, accExec)
	if !ok {
		return nil, false
	}
	o, ok := c.ramIndex(pa)
	if !ok {
		c.exception(CauseFetchAccess, c.pc+2)
		return nil, false
	}
	hi := binary.LittleEndian.Uint16(c.ram[o:])
	c.scratchRaw = uint32(lo) | uint32(hi)<<16
	c.scratch = decode32(c.scratchRaw)
	return &c.scratch, true
}

// decodeInPage decodes the instruction at page offset po of the current
// fetch page. It reports false for a 4-byte instruction that straddles
// the page's end.
func (c *CPU) decodeInPage(po uint64) (inst, bool) {
	lo := binary.LittleEndian.Uint16(c.ram[c.curOff+po:])
	if lo&3 != 3 {
		return decode16(lo), true
	}
	if po <= 0xffc {
		return decode32(binary.LittleEndian.Uint32(c.ram[c.curOff+po:])), true
	}
	return inst{}, false
}

// exception takes a synchronous trap (Privileged spec §3.1.6.1, §4.1.1).
func (c *CPU) exception(cause, tval uint64) {
	c.trap(cause, tval, false)
}

// illegal takes an illegal-instruction exception for in, the instruction
// at c.pc, with its bits as mtval. A decoded slot does not keep the bits
// (it is 16 bytes, and there are 2,048 per code page): they are read
// again from the code page, unchanged since the slot was decoded, or a
// store would have invalidated it. An instruction that straddles two
// pages left its bits in scratchRaw.
func (c *CPU) illegal(in *inst) {
	var raw uint32
	if in == &c.scratch {
		raw = c.scratchRaw
	} else {
		b := c.ram[c.curOff+c.pc&0xfff:]
		raw = uint32(binary.LittleEndian.Uint16(b))
		if in.length == 4 {
			raw = binary.LittleEndian.Uint32(b)
		}
	}
	c.exception(CauseIllegalInstruction, uint64(raw))
}

func (c *CPU) trap(cause, tval uint64, intr bool) {
	deleg := c.medeleg
	if intr {
		deleg = c.mideleg
	}
	if c.trapHook != nil {
		c.trapHook()
	}
	c.waiting = false
	if c.BreakReservationOnTrap {
		c.resValid = false
	}
	if c.priv <= PrivS && (deleg>>cause)&1 != 0 {
		c.scause = cause
		if intr {
			c.scause |= 1 << 63
		}
		c.sepc = c.pc
		c.stval = tval
		s := c.mstatus &^ (msSPIE | msSPP | msSIE)
		if c.mstatus&msSIE != 0 {
			s |= msSPIE
		}
		if c.priv == PrivS {
			s |= msSPP
		}
		c.mstatus = s
		c.priv = PrivS
		c.pc = c.stvec &^ 3
		if intr && c.stvec&1 != 0 {
			c.pc += 4 * cause
		}
	} else {
		c.mcause = cause
		if intr {
			c.mcause |= 1 << 63
		}
		c.mepc = c.pc
		c.mtval = tval
		s := c.mstatus &^ (msMPIE | msMPP | msMIE)
		if c.mstatus&msMIE != 0 {
			s |= msMPIE
		}
		s |= uint64(c.priv) << 11
		c.mstatus = s
		c.priv = PrivM
		c.pc = c.mtvec &^ 3
		if intr && c.mtvec&1 != 0 {
			c.pc += 4 * cause
		}
	}
	c.updateCtx()
	c.limit = c.icount // re-evaluate interrupts
}

// pendingInterrupt returns the interrupt to take now, if any
// (Privileged spec §3.1.9: priority MEI, MSI, MTI, SEI, SSI, STI).
func (c *CPU) pendingInterrupt() (uint64, bool) {
	p := c.mip() & c.mie
	if p == 0 {
		return 0, false
	}
	m := p &^ c.mideleg
	if m != 0 && (c.priv < PrivM || c.mstatus&msMIE != 0) {
		return pickInterrupt(m), true
	}
	s := p & c.mideleg
	if s != 0 && (c.priv < PrivS || c.priv == PrivS && c.mstatus&msSIE != 0) {
		return pickInterrupt(s), true
	}
	return 0, false
}

func pickInterrupt(p uint64) uint64 {
	for _, i := range [...]uint64{IntMEI, IntMSI, IntMTI, IntSEI, IntSSI, IntSTI} {
		if p&(1<<i) != 0 {
			return i
		}
	}
	for i := uint64(0); i < 64; i++ {
		if p&(1<<i) != 0 {
			return i
		}
	}
	return 0
}

// Run executes instructions until budget instructions have been counted,
// the hart goes idle, or RequestExit is called. It returns why it stopped.
func (c *CPU) Run(budget uint64) StopReason {
	c.stop = c.icount + budget
	c.exit = false
	for {
		if c.exit {
			c.exit = false
			if c.stopWhy != StopBudget {
				why := c.stopWhy
				c.stopWhy = StopBudget
				return why
			}
			return StopRequested
		}
		if c.waiting {
			if c.mip()&c.mie == 0 {
				return StopIdle
			}
			c.waiting = false
		}
		if cause, ok := c.pendingInterrupt(); ok {
			c.trap(cause, 0, true)
		}
		if c.icount >= c.stop {
			return StopBudget
		}
		c.limit = c.stop
		if c.jit != nil {
			c.jitRun()
		} else {
			c.step()
		}
	}
}

// newCodePage returns a fresh decoded-code page, with no chunks yet.
func (c *CPU) newCodePage() *codePage {
	cp := &codePage{gen: 1}
	for i := range cp.chunks {
		cp.chunks[i] = &noChunk
	}
	return cp
}

// newChunk returns a chunk for a code page. Chunks are carved from
// huge-page-advised slabs (package hugemem): faulting in fresh 4 KiB
// pages, one per two chunks, cost more than decoding into them. A chunk
// holds no pointers, so it may live in a []byte; chunks are never freed
// (their pages are recycled through freePages), so the slabs stay
// referenced by the pages that point into them.
func (c *CPU) newChunk() *codeChunk {
	b := c.pageSlab.Take(int(unsafe.Sizeof(codeChunk{})))
	// The slab's memory is zero, so every slot is invalid (gen 0), and
	// untouched: it is faulted in as slots are decoded.
	return (*codeChunk)(unsafe.Pointer(unsafe.SliceData(b[:1])))
}
