package cpu

import "encoding/binary"

// Software TLB. Entries map a virtual page to an offset into the RAM slice
// (ram index = va + add). The key folds in the translation context
// (effective privilege, SUM, MXR) so switching privilege or toggling SUM
// needs no flush: an entry filled in another context simply misses.
// MMIO pages never enter the TLB.
//
// Which translations the TLBs hold depends only on what the guest did:
// the walks its accesses caused (a walk fills an entry), its sfence.vma
// and satp writes (which drop them), and the TLB's size. A guest can
// tell (the hart sets a PTE's A and D bits only when it walks), so the
// emulator's own bookkeeping never drops a translation, and snapshots
// carry them (SaveTLB). Where the emulator needs an access to take the
// slow path instead — stores to pages holding decoded code, the first
// store to a page after TakeDirty, the watched HTIF word, debugger
// watchpoints — it sets tlbSlow in the entry's key: the fast paths (here
// and in compiled code) miss, and the slow path uses the cached
// translation without walking, then clears the bit when it may.

const (
	tlbBits = 10
	tlbSize = 1 << tlbBits
	tlbMask = tlbSize - 1
	tlbNone = ^uint64(0)
	// tlbSlow in a key makes the fast paths miss the entry; the
	// translation stays (see above).
	tlbSlow = 1 << 55
	// tlbKeyVPN masks a key down to its virtual page number.
	tlbKeyVPN = 1<<52 - 1
)

type tlbEntry struct {
	key uint64
	add uint64
}

type access uint8

const (
	accRead access = iota
	accWrite
	accExec
)

// satp modes (Privileged spec §4.1.11).
const (
	satpBare = 0
	satpSv39 = 8
	satpSv48 = 9
)

// The TLBs, as indices into CPU.tlbLevel.
const (
	tlbIdxR = iota
	tlbIdxW
	tlbIdxX
)

func (c *CPU) flushTLB() {
	for i := range c.tlbR {
		c.tlbR[i].key = tlbNone
		c.tlbW[i].key = tlbNone
		c.tlbX[i].key = tlbNone
	}
	if c.tlbSuper {
		c.tlbSuperMap = [superMapWords]uint64{}
		c.tlbSuper = false
	}
	c.dropFetch()
}

// tlbSuperMap layout: 4096 bits for 2 MiB regions, 64 for 1 GiB
// regions, one word for larger pages.
const superMapWords = 4096/64 + 1 + 1

// superBit returns the word and bit of tlbSuperMap for the region of a
// level-lv superpage (lv ≥ 1) containing vpn.
func superBit(vpn uint64, lv uint8) (int, uint64) {
	switch lv {
	case 1:
		r := vpn >> 9 & 4095
		return int(r >> 6), 1 << (r & 63)
	case 2:
		return 4096 / 64, 1 << (vpn >> 18 & 63)
	}
	return 4096/64 + 1, 1
}

// flushTLBPage drops every translation of the page of va, in every
// context: the entry of va's page in each TLB and, if superpages have
// been cached, every entry that came from a superpage containing va.
// It is sfence.vma with rs1 ≠ x0 (the ASID is ignored: dropping more is
// always allowed). Linux issues one for each PTE it changes, so keeping
// the other entries saves the refill of the whole working set.
func (c *CPU) flushTLBPage(va uint64) {
	vpn := va >> 12 & tlbKeyVPN
	i := vpn & tlbMask
	tlbs := c.tlbs()
	for _, t := range tlbs {
		if t[i].key&tlbKeyVPN == vpn {
			t[i].key = tlbNone
		}
	}
	c.dropFetch()
	if !c.tlbSuper {
		return
	}
	hit := false
	for lv := uint8(1); lv <= 3; lv++ {
		w, b := superBit(vpn, lv)
		hit = hit || c.tlbSuperMap[w]&b != 0
	}
	if !hit {
		return // no superpage entry can contain va
	}
	for k, t := range tlbs {
		for j, lv := range &c.tlbLevel[k] {
			if lv != 0 && (t[j].key&tlbKeyVPN)>>(9*lv) == vpn>>(9*lv) {
				t[j].key = tlbNone
			}
		}
	}
}

// tlbs returns the three TLBs by index (tlbIdxR, tlbIdxW, tlbIdxX).
func (c *CPU) tlbs() [3]*[tlbSize]tlbEntry {
	return [...]*[tlbSize]tlbEntry{tlbIdxR: &c.tlbR, tlbIdxW: &c.tlbW, tlbIdxX: &c.tlbX}
}

// tlbFill maps va's page to physical address pa in TLB k, in context
// ctx, after a successful translate (whose leaf level it records).
func (c *CPU) tlbFill(k int, va, pa, ctx uint64) {
	i := (va >> 12) & tlbMask
	c.tlbs()[k][i] = tlbEntry{key: va>>12 | ctx, add: (pa &^ 0xfff) - c.ramBase - (va &^ 0xfff)}
	c.setTLBLevel(k, va>>12, c.walkLevel)
}

// setTLBLevel records that entry vpn of TLB k came from a level-lv leaf
// (tlbLevel, and tlbSuperMap for a superpage).
func (c *CPU) setTLBLevel(k int, vpn uint64, lv uint8) {
	c.tlbLevel[k][vpn&tlbMask] = lv
	if lv != 0 {
		c.tlbSuper = true
		w, b := superBit(vpn, lv)
		c.tlbSuperMap[w] |= b
	}
}

// tlbCached returns the RAM index offset of va's page that TLB t holds in
// context ctx, fast or slow.
func tlbCached(t *[tlbSize]tlbEntry, va, ctx uint64) (uint64, bool) {
	e := &t[(va>>12)&tlbMask]
	if e.key&^tlbSlow == va>>12|ctx {
		return e.add, true
	}
	return 0, false
}

// tlbKeep records the translation of va to the RAM address pa in TLB k
// after a slow-path access: it fills the entry unless the translation
// came from it (cached), and makes it fast or slow.
func (c *CPU) tlbKeep(k int, va, pa, ctx uint64, cached, fast bool) {
	if !cached {
		c.tlbFill(k, va, pa, ctx)
	}
	e := &c.tlbs()[k][(va>>12)&tlbMask]
	if fast {
		e.key &^= tlbSlow
	} else {
		e.key |= tlbSlow
	}
}

// slowTLB makes every entry of TLB t slow.
func slowTLB(t *[tlbSize]tlbEntry) {
	for i := range t {
		if t[i].key != tlbNone {
			t[i].key |= tlbSlow
		}
	}
}

// slowWriteTLB makes the next store to every page take the slow path.
func (c *CPU) slowWriteTLB() { slowTLB(&c.tlbW) }

// updateCtx recomputes the TLB context keys after a change of privilege
// or of mstatus.MPRV/MPP/SUM/MXR.
func (c *CPU) updateCtx() {
	dp := c.priv
	if c.priv == PrivM && c.mstatus&msMPRV != 0 {
		dp = uint8((c.mstatus & msMPP) >> 11)
	}
	ctx := uint64(dp)
	if c.mstatus&msSUM != 0 {
		ctx |= 4
	}
	if c.mstatus&msMXR != 0 {
		ctx |= 8
	}
	c.dpriv = dp
	c.dctx = ctx << 56
	c.xctx = uint64(c.priv) << 56
	c.dropFetch()
}

// fault raises the page fault (or access fault) for an access type.
func (c *CPU) pageFault(acc access, va uint64) {
	if c.probe {
		return
	}
	switch acc {
	case accRead:
		c.exception(CauseLoadPageFault, va)
	case accWrite:
		c.exception(CauseStorePageFault, va)
	default:
		c.exception(CauseFetchPageFault, va)
	}
}

func (c *CPU) accessFault(acc access, va uint64) {
	if c.probe {
		return
	}
	switch acc {
	case accRead:
		c.exception(CauseLoadAccess, va)
	case accWrite:
		c.exception(CauseStoreAccess, va)
	default:
		c.exception(CauseFetchAccess, va)
	}
}

// translate maps va to a physical address for an access, raising the
// right exception and returning false on failure. It sets the A and D
// bits of the leaf PTE in hardware, as QEMU does.
func (c *CPU) translate(va uint64, acc access) (uint64, bool) {
	priv := c.priv
	if acc != accExec {
		priv = c.dpriv
	}
	mode := c.satp >> 60
	c.walkLevel = 0
	if priv == PrivM || mode == satpBare {
		return va, true
	}
	levels := 3
	if mode == satpSv48 {
		levels = 4
	}
	vaBits := uint(12 + 9*levels)
	if uint64(int64(va<<(64-vaBits))>>(64-vaBits)) != va {
		c.pageFault(acc, va)
		return 0, false
	}
	a := (c.satp & (1<<44 - 1)) << 12
	for i := levels - 1; i >= 0; i-- {
		pteAddr := a + ((va>>(12+9*uint(i)))&511)*8
		if !c.bus.InRAM(pteAddr, 8) {
			c.accessFault(acc, va)
			return 0, false
		}
		off := pteAddr - c.ramBase
		pte := binary.LittleEndian.Uint64(c.ram[off:])
		v, r, w, x := pte&1 != 0, pte&2 != 0, pte&4 != 0, pte&8 != 0
		if !v || (!r && w) || pte>>54 != 0 {
			c.pageFault(acc, va)
			return 0, false
		}
		if !r && !x {
			if i == 0 {
				c.pageFault(acc, va)
				return 0, false
			}
			a = ((pte >> 10) & (1<<44 - 1)) << 12
			continue
		}
		// Leaf: permission checks (Privileged spec §4.3.2 step 5).
		u := pte&16 != 0
		switch {
		case acc == accExec:
			if !x || (priv == PrivU && !u) || (priv == PrivS && u) {
				c.pageFault(acc, va)
				return 0, false
			}
		default:
			if priv == PrivU && !u || priv == PrivS && u && c.mstatus&msSUM == 0 {
				c.pageFault(acc, va)
				return 0, false
			}
			if acc == accRead && !(r || (x && c.mstatus&msMXR != 0)) || acc == accWrite && !w {
				c.pageFault(acc, va)
				return 0, false
			}
		}
		ppn := (pte >> 10) & (1<<44 - 1)
		if i > 0 && ppn&(1<<(9*uint(i))-1) != 0 {
			c.pageFault(acc, va) // misaligned superpage
			return 0, false
		}
		want := pte | 0x40 // A
		if acc == accWrite {
			want |= 0x80 // D
		}
		if want != pte && !c.probe {
			if c.guard != nil {
				c.guardWrite(off, 8)
			}
			binary.LittleEndian.PutUint64(c.ram[off:], want)
			c.noteRAMWrite(pteAddr, 8)
		}
		mask := uint64(1)<<(12+9*uint(i)) - 1
		c.walkLevel = uint8(i)
		return (ppn<<12)&^mask | va&mask, true
	}
	c.pageFault(acc, va)
	return 0, false
}

// ramIndex returns pa's index into RAM and whether pa is RAM.
func (c *CPU) ramIndex(pa uint64) (uint64, bool) {
	off := pa - c.ramBase
	return off, pa >= c.ramBase && off < uint64(len(c.ram))
}

func (c *CPU) loadSlow(va uint64, size int) (uint64, bool) {
	if va&uint64(size-1) != 0 {
		if (va&0xfff)+uint64(size) > 0x1000 {
			// Misaligned across a page: byte by byte (each byte
			// translated, so the fault names the right page).
			var v uint64
			for i := 0; i < size; i++ {
				b, ok := c.loadSlow(va+uint64(i), 1)
				if !ok {
					return 0, false
				}
				v |= b << (8 * i)
			}
			return v, true
		}
	}
	add, cached := tlbCached(&c.tlbR, va, c.dctx)
	pa := va + add + c.ramBase
	if !cached {
		var ok bool
		if pa, ok = c.translate(va, accRead); !ok {
			return 0, false
		}
	}
	watched := false
	if c.debugOn && len(c.watches) > 0 {
		c.checkWatch(va, pa, size, false)
		watched = c.watchedPage(va, pa)
	}
	if off, ok := c.ramIndex(pa); ok && off+uint64(size) <= uint64(len(c.ram)) {
		c.tlbKeep(tlbIdxR, va, pa, c.dctx, cached, !watched)
		var v uint64
		for i := size - 1; i >= 0; i-- {
			v = v<<8 | uint64(c.ram[off+uint64(i)])
		}
		return v, true
	}
	v, ok := c.bus.Read(pa, size)
	if !ok {
		c.accessFault(accRead, va)
		return 0, false
	}
	return v, true
}

func (c *CPU) storeSlow(va uint64, size int, v uint64) bool {
	if va&uint64(size-1) != 0 && (va&0xfff)+uint64(size) > 0x1000 {
		// Check both pages first so a fault leaves memory untouched.
		if _, ok := c.translate(va, accWrite); !ok {
			return false
		}
		if _, ok := c.translate(va+uint64(size)-1, accWrite); !ok {
			return false
		}
		for i := 0; i < size; i++ {
			if !c.storeSlow(va+uint64(i), 1, v>>(8*i)) {
				return false
			}
		}
		return true
	}
	add, cached := tlbCached(&c.tlbW, va, c.dctx)
	pa := va + add + c.ramBase
	if !cached {
		var ok bool
		if pa, ok = c.translate(va, accWrite); !ok {
			return false
		}
	}
	dbgWatched := false
	if c.debugOn && len(c.watches) > 0 {
		c.checkWatch(va, pa, size, true)
		dbgWatched = c.watchedPage(va, pa)
	}
	if off, ok := c.ramIndex(pa); ok && off+uint64(size) <= uint64(len(c.ram)) {
		if c.guard != nil {
			c.guardWrite(off, uint64(size))
		}
		for i := 0; i < size; i++ {
			c.ram[off+uint64(i)] = byte(v >> (8 * i))
		}
		page := off >> 12
		watched := c.watchPA != 0 && pa&^0xfff == c.watchPA&^0xfff
		if c.codePages[page] != nil {
			c.codeWrite(page, off&0xfff, size)
		}
		if c.peers != nil {
			c.peersCodeWrite(page, off&0xfff, size)
		}
		if c.dirty != nil {
			c.dirty[page>>6] |= 1 << (page & 63)
		}
		c.tlbKeep(tlbIdxW, va, pa, c.dctx, cached, !watched && !dbgWatched && !c.codeAnywhere(page))
		if watched && pa <= c.watchPA+7 && pa+uint64(size) > c.watchPA && c.OnWatch != nil {
			c.OnWatch(c.watchPA)
		}
		return true
	}
	if !c.bus.Write(pa, size, v) {
		c.accessFault(accWrite, va)
		return false
	}
	return true
}

// readOff returns the RAM index of va if a load of an aligned size
// (mask: size-1) takes the read TLB's fast path there. It is small enough
// to be inlined into the interpreter's loop; load32, load64, store32 and
// store64 make the same checks for the floating-point loads and stores.
func (c *CPU) readOff(va, mask uint64) (uint64, bool) {
	e := &c.tlbR[(va>>12)&tlbMask]
	return va + e.add, e.key == va>>12|c.dctx && va&mask == 0
}

// writeOff is readOff for stores (the write TLB).
func (c *CPU) writeOff(va, mask uint64) (uint64, bool) {
	e := &c.tlbW[(va>>12)&tlbMask]
	return va + e.add, e.key == va>>12|c.dctx && va&mask == 0
}

func (c *CPU) load32(va uint64) (uint64, bool) {
	e := &c.tlbR[(va>>12)&tlbMask]
	if e.key == va>>12|c.dctx && va&3 == 0 {
		return uint64(binary.LittleEndian.Uint32(c.ram[va+e.add:])), true
	}
	return c.loadSlow(va, 4)
}

func (c *CPU) load64(va uint64) (uint64, bool) {
	e := &c.tlbR[(va>>12)&tlbMask]
	if e.key == va>>12|c.dctx && va&7 == 0 {
		return binary.LittleEndian.Uint64(c.ram[va+e.add:]), true
	}
	return c.loadSlow(va, 8)
}

func (c *CPU) store32(va, v uint64) bool {
	e := &c.tlbW[(va>>12)&tlbMask]
	if e.key == va>>12|c.dctx && va&3 == 0 {
		binary.LittleEndian.PutUint32(c.ram[va+e.add:], uint32(v))
		return true
	}
	return c.storeSlow(va, 4, v)
}

func (c *CPU) store64(va, v uint64) bool {
	e := &c.tlbW[(va>>12)&tlbMask]
	if e.key == va>>12|c.dctx && va&7 == 0 {
		binary.LittleEndian.PutUint64(c.ram[va+e.add:], v)
		return true
	}
	return c.storeSlow(va, 8, v)
}

// amoAddr translates an AMO/LR/SC address: it must be naturally aligned
// (else a store/AMO misaligned exception) and in RAM (else an access
// fault). It returns the RAM index. Like a load or store it uses the
// TLB entry of the page when there is one (the read TLB for LR, the write
// TLB for SC and AMOs) and walks the page table otherwise, so the
// compiled engine's inline fast path, which does the same, finds the same
// page.
func (c *CPU) amoAddr(va uint64, size int, acc access) (uint64, bool) {
	if va&uint64(size-1) != 0 {
		if acc == accRead {
			c.exception(CauseMisalignedLoad, va)
		} else {
			c.exception(CauseMisalignedStore, va)
		}
		return 0, false
	}
	tlb := &c.tlbW
	if acc == accRead {
		tlb = &c.tlbR
	}
	if e := &tlb[(va>>12)&tlbMask]; e.key == va>>12|c.dctx {
		return va + e.add, true
	}
	add, cached := tlbCached(tlb, va, c.dctx)
	pa := va + add + c.ramBase
	if !cached {
		var ok bool
		if pa, ok = c.translate(va, acc); !ok {
			return 0, false
		}
	}
	off, ok := c.ramIndex(pa)
	if !ok {
		c.accessFault(acc, va)
		return 0, false
	}
	watched := false
	if c.debugOn && len(c.watches) > 0 {
		c.checkWatch(va, pa, size, false)
		if acc == accWrite {
			c.checkWatch(va, pa, size, true)
		}
		watched = c.watchedPage(va, pa)
	}
	if acc == accRead {
		// LR keeps the translation as a load does. SC and AMOs keep
		// theirs in amoWritten, once the page is marked dirty.
		c.tlbKeep(tlbIdxR, va, pa, c.dctx, cached, !watched)
	} else if c.guard != nil {
		c.guardWrite(off, uint64(size)) // before the SC or AMO writes
	}
	return off, true
}

// amoWritten must follow every AMO/SC write of the naturally aligned va
// at RAM index off. Like storeSlow it marks the page dirty and keeps the
// translation in the write TLB, fast unless the page holds code or is
// watched.
func (c *CPU) amoWritten(va, off uint64) {
	page := off >> 12
	if c.codePages[page] != nil {
		c.codeWrite(page, off&0xfff, 8)
	}
	if c.peers != nil {
		c.peersCodeWrite(page, off&0xfff, 8)
	}
	if c.dirty != nil {
		c.dirty[page>>6] |= 1 << (page & 63)
	}
	pa := off + c.ramBase
	watched := c.watchPA != 0 && pa&^0xfff == c.watchPA&^0xfff ||
		c.debugOn && len(c.watches) > 0 && c.watchedPage(va, pa)
	// Either amoAddr found the translation here, or it walked (and
	// walkLevel is still that walk's).
	_, cached := tlbCached(&c.tlbW, va, c.dctx)
	c.tlbKeep(tlbIdxW, va, pa, c.dctx, cached, !watched && !c.codeAnywhere(page))
	if c.watchPA != 0 && pa == c.watchPA && c.OnWatch != nil {
		c.OnWatch(c.watchPA)
	}
}
