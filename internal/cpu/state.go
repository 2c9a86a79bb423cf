package cpu

import "fmt"

// State is everything architecturally visible about the hart, as a plain
// value: save it, compare it, hash it, load it back. Caches (TLB, decoded
// instructions) are not state; Load flushes them.
type State struct {
	X       [32]uint64
	F       [32]uint64
	PC      uint64
	Priv    uint8
	ICount  uint64
	Waiting bool

	Mstatus    uint64
	Fflags     uint8
	Frm        uint8
	Medeleg    uint64
	Mideleg    uint64
	Mie        uint64
	MipSW      uint64
	MipHW      uint64
	Mtvec      uint64
	Stvec      uint64
	Mscratch   uint64
	Sscratch   uint64
	Mepc       uint64
	Sepc       uint64
	Mcause     uint64
	Scause     uint64
	Mtval      uint64
	Stval      uint64
	Satp       uint64
	Mcounteren uint64
	Scounteren uint64
	Menvcfg    uint64
	Senvcfg    uint64
	Mcountinh  uint64
	CycleOff   uint64
	InstretOff uint64
	Pmpcfg     [16]uint64
	Pmpaddr    [64]uint64

	ResValid bool
	ResAddr  uint64
}

// Save returns the hart's architectural state.
func (c *CPU) Save() State {
	s := State{
		PC: c.pc, Priv: c.priv, ICount: c.icount, Waiting: c.waiting,
		Mstatus: c.mstatus, Fflags: c.fflags, Frm: c.frm,
		Medeleg: c.medeleg, Mideleg: c.mideleg, Mie: c.mie, MipSW: c.mipSW, MipHW: c.mipHW,
		Mtvec: c.mtvec, Stvec: c.stvec, Mscratch: c.mscratch, Sscratch: c.sscratch,
		Mepc: c.mepc, Sepc: c.sepc, Mcause: c.mcause, Scause: c.scause,
		Mtval: c.mtval, Stval: c.stval, Satp: c.satp,
		Mcounteren: c.mcounteren, Scounteren: c.scounteren,
		Menvcfg: c.menvcfg, Senvcfg: c.senvcfg, Mcountinh: c.mcountinh,
		CycleOff: c.cycleOff, InstretOff: c.instretOff,
		Pmpcfg: c.pmpcfg, Pmpaddr: c.pmpaddr,
		ResValid: c.resValid, ResAddr: c.resAddr,
	}
	copy(s.X[:], c.x[:32])
	s.X[0] = 0
	s.F = c.f
	return s
}

// Load restores the hart from s and drops every cache.
func (c *CPU) Load(s State) {
	for i := range c.codePages {
		if c.codePages[i] != nil {
			c.dropCodePage(uint64(i))
		}
	}
	c.load(s)
}

// LoadKeepCode is Load for a restore that rewrote RAM only in the pages
// changed (RAM page numbers): code decoded or compiled from any other
// page is still what RAM holds, so it stays; only the changed pages'
// code is dropped. Translations are flushed as by Load (page tables may
// be among the changed pages).
func (c *CPU) LoadKeepCode(s State, changed []uint64) {
	for _, pg := range changed {
		if pg < uint64(len(c.codePages)) && c.codePages[pg] != nil {
			c.dropCodePage(pg)
		}
	}
	c.load(s)
}

// load restores the hart's registers from s and flushes its TLBs.
func (c *CPU) load(s State) {
	copy(c.x[:32], s.X[:])
	c.x[0] = 0
	c.f = s.F
	c.pc, c.priv, c.icount, c.waiting = s.PC, s.Priv, s.ICount, s.Waiting
	c.mstatus, c.fflags, c.frm = s.Mstatus, s.Fflags, s.Frm
	c.medeleg, c.mideleg, c.mie, c.mipSW, c.mipHW = s.Medeleg, s.Mideleg, s.Mie, s.MipSW, s.MipHW
	c.mtvec, c.stvec, c.mscratch, c.sscratch = s.Mtvec, s.Stvec, s.Mscratch, s.Sscratch
	c.mepc, c.sepc, c.mcause, c.scause = s.Mepc, s.Sepc, s.Mcause, s.Scause
	c.mtval, c.stval, c.satp = s.Mtval, s.Stval, s.Satp
	c.mcounteren, c.scounteren = s.Mcounteren, s.Scounteren
	c.menvcfg, c.senvcfg, c.mcountinh = s.Menvcfg, s.Senvcfg, s.Mcountinh
	c.cycleOff, c.instretOff = s.CycleOff, s.InstretOff
	c.pmpcfg, c.pmpaddr = s.Pmpcfg, s.Pmpaddr
	c.resValid, c.resAddr = s.ResValid, s.ResAddr
	c.flushTLB()
	c.updateCtx()
	c.limit = c.icount
}

// TLBEntry is one translation a hart's software TLBs hold (see SaveTLB).
type TLBEntry struct {
	TLB   uint8  // 0: loads and LR; 1: stores, SC and AMOs; 2: instruction fetches
	Level uint8  // level of the leaf PTE: 0 for a 4 KiB page, 1 for 2 MiB, ...
	Key   uint64 // virtual page number | translation context << 56
	Add   uint64 // RAM index of the page minus its virtual address
}

// SaveTLB returns the translations the hart's TLBs hold, by TLB and
// index. They are not architectural state, but a guest can tell whether
// a translation was cached (the hart sets a PTE's A and D bits only when
// it walks the page table), so snapshots carry them: Load then LoadTLB
// makes the hart cache exactly what it cached when they were saved.
func (c *CPU) SaveTLB() []TLBEntry {
	var out []TLBEntry
	for k, t := range c.tlbs() {
		for i := range t {
			if e := t[i]; e.key != tlbNone {
				out = append(out, TLBEntry{TLB: uint8(k), Level: c.tlbLevel[k][i], Key: e.key &^ tlbSlow, Add: e.add})
			}
		}
	}
	return out
}

// LoadTLB puts entries saved by SaveTLB into the TLBs, which Load (or
// LoadKeepCode) has just flushed. Loads and stores through them take the
// slow path once, which marks dirty pages and checks for code and
// watchpoints, as after TakeDirty. It refuses, loading nothing, entries
// that could not have been saved: an unknown TLB or level, a key with
// bits outside the page number and context, an index used twice, or a
// page outside RAM.
func (c *CPU) LoadTLB(entries []TLBEntry) error {
	var seen [3][tlbSize]bool
	for n, e := range entries {
		vpn := e.Key & tlbKeyVPN
		i := vpn & tlbMask
		page := (vpn<<12 + e.Add) >> 12
		switch {
		case e.TLB > 2 || e.Level > 3:
			return fmt.Errorf("cpu: TLB entry %d: TLB %d, level %d", n, e.TLB, e.Level)
		case e.Key&^(tlbKeyVPN|15<<56) != 0:
			return fmt.Errorf("cpu: TLB entry %d: bad key %#x", n, e.Key)
		case seen[e.TLB][i]:
			return fmt.Errorf("cpu: TLB entry %d: TLB %d index %d is used twice", n, e.TLB, i)
		case e.Add&0xfff != 0 || page >= uint64(len(c.ram)>>12):
			return fmt.Errorf("cpu: TLB entry %d: virtual page %#x maps outside RAM", n, vpn)
		}
		seen[e.TLB][i] = true
	}
	c.flushTLB()
	tlbs := c.tlbs()
	for _, e := range entries {
		i := e.Key & tlbKeyVPN & tlbMask
		key := e.Key
		if e.TLB != tlbIdxX {
			key |= tlbSlow
		}
		tlbs[e.TLB][i] = tlbEntry{key: key, add: e.Add}
		c.setTLBLevel(int(e.TLB), e.Key&tlbKeyVPN, e.Level)
	}
	return nil
}
