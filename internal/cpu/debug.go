package cpu

// Breakpoints and watchpoints for the debugger. They are kept in the
// hart: guest memory is never patched, so a debugging session cannot
// change what the guest sees.

// WatchKind says which accesses a watchpoint catches.
type WatchKind uint8

// Watch kinds.
const (
	WatchWrite  WatchKind = 1
	WatchRead   WatchKind = 2
	WatchAccess WatchKind = WatchWrite | WatchRead
)

// Watch is a watched address range. Physical ranges match the physical
// address of an access (monitor last-write); others match the virtual
// address the instruction used.
type Watch struct {
	Addr, Len uint64
	Kind      WatchKind
	Physical  bool
}

// WatchHit describes the access that stopped the hart.
type WatchHit struct {
	Watch Watch
	Addr  uint64 // address of the access (virtual, or physical for physical watches)
	Write bool
	PC    uint64 // the accessing instruction
}

// SetBreakpoints replaces the breakpoint list (virtual pcs).
func (c *CPU) SetBreakpoints(pcs []uint64) {
	c.bps = append(c.bps[:0], pcs...)
	c.bpBits = [64]uint64{}
	for _, pc := range pcs {
		w, m := bpBit(pc)
		c.bpBits[w] |= m
	}
	c.updateDebug()
	c.jitBreakpoints()
}

// onBreakPage reports whether pc is on a virtual page with a breakpoint.
func (c *CPU) onBreakPage(pc uint64) bool {
	for _, b := range c.bps {
		if b>>12 == pc>>12 {
			return true
		}
	}
	return false
}

// mayBreak reports whether the instruction at pc needs breakHere: it may
// have a breakpoint, or a breakpoint is to be skipped once (the skip ends
// at the first instruction, wherever that is).
func (c *CPU) mayBreak(pc uint64) bool {
	w, m := bpBit(pc)
	return c.bpSkipOK || c.bpBits[w]&m != 0
}

// bpBit returns the word and bit of bpBits for pc.
func bpBit(pc uint64) (uint64, uint64) {
	i := (pc >> 1) % 4096
	return i / 64, 1 << (i % 64)
}

// SetWatchpoints replaces the watchpoint list.
func (c *CPU) SetWatchpoints(ws []Watch) {
	c.watches = append(c.watches[:0], ws...)
	c.updateDebug()
	// Accesses to watched pages must take the slow path.
	slowTLB(&c.tlbR)
	slowTLB(&c.tlbW)
}

// SkipBreakpointOnce lets the next instruction at pc run even if it has a
// breakpoint (resuming from a breakpoint stop).
func (c *CPU) SkipBreakpointOnce(pc uint64) { c.bpSkip, c.bpSkipOK = pc, true }

// LastWatchHit returns the access that caused StopWatchpoint.
func (c *CPU) LastWatchHit() WatchHit { return c.watchHit }

func (c *CPU) updateDebug() { c.debugOn = len(c.bps) > 0 || len(c.watches) > 0 }

func (c *CPU) breakHere() bool {
	skip := c.bpSkipOK && c.bpSkip == c.pc
	c.bpSkipOK = false
	if skip || !c.breakAt(c.pc) {
		return false
	}
	c.stopWhy = StopBreakpoint
	c.exit = true
	c.limit = c.icount
	return true
}

// breakAt reports whether a breakpoint is set at pc.
func (c *CPU) breakAt(pc uint64) bool {
	if w, m := bpBit(pc); c.bpBits[w]&m == 0 {
		return false
	}
	for _, b := range c.bps {
		if b == pc {
			return true
		}
	}
	return false
}

// watchedPage reports whether a TLB entry for the page of va (mapping to
// physical pa) must not be created because a watch covers it.
func (c *CPU) watchedPage(va, pa uint64) bool {
	for _, w := range c.watches {
		a := va
		if w.Physical {
			a = pa
		}
		page := a &^ 0xfff
		if w.Addr < page+0x1000 && w.Addr+w.Len > page {
			return true
		}
	}
	return false
}

// checkWatch is called on slow-path accesses; it stops the hart after
// the current instruction if the access touches a watched range.
func (c *CPU) checkWatch(va, pa uint64, size int, write bool) {
	for _, w := range c.watches {
		if write && w.Kind&WatchWrite == 0 || !write && w.Kind&WatchRead == 0 {
			continue
		}
		a := va
		if w.Physical {
			a = pa
		}
		if a < w.Addr+w.Len && a+uint64(size) > w.Addr {
			if c.stopWhy == StopBudget {
				c.watchHit = WatchHit{Watch: w, Addr: a, Write: write, PC: c.pc}
				c.stopWhy = StopWatchpoint
				c.exit = true
				c.limit = c.icount
			}
			return
		}
	}
}

// Translate maps va as a load by the current privilege would, without
// side effects: no exception, no A/D bit update (debugger memory access).
func (c *CPU) Translate(va uint64) (uint64, bool) {
	c.probe = true
	defer func() { c.probe = false }()
	return c.translate(va, accRead)
}

// ReadCSR reads CSR n as M-mode would, without side effects (debugger).
func (c *CPU) ReadCSR(n uint16) (uint64, bool) {
	priv := c.priv
	c.priv = PrivM
	v, ok := c.readCSR(n)
	c.priv = priv
	if n == csrFflags || n == csrFrm || n == csrFcsr {
		// Readable even when mstatus.FS is off.
		switch n {
		case csrFflags:
			v = uint64(c.fflags)
		case csrFrm:
			v = uint64(c.frm)
		default:
			v = uint64(c.frm)<<5 | uint64(c.fflags)
		}
		ok = true
	}
	return v, ok
}
