package cpu

// Trigger module CSRs (debug spec, Sdtrig). The hart has no triggers; see
// readCSR.
const (
	csrTselect = 0x7a0
	csrTdata1  = 0x7a1
	csrTdata2  = 0x7a2
	csrTdata3  = 0x7a3
	csrTinfo   = 0x7a4
)

// execCSR runs a Zicsr instruction. It returns false if it trapped.
func (c *CPU) execCSR(in *inst) bool {
	csr := uint16(in.imm) & 0xfff
	var src uint64
	switch in.op {
	case opCSRRWI, opCSRRSI, opCSRRCI:
		src = uint64(in.rs1)
	default:
		src = c.x[in.rs1]
	}
	write := true
	read := true
	switch in.op {
	case opCSRRW, opCSRRWI:
		read = in.rd != regSink
	default:
		write = in.rs1 != 0
	}
	if uint8((csr>>8)&3) > c.priv || (write && csr>>10 == 3) {
		c.illegal(in)
		return false
	}
	old, ok := c.readCSR(csr)
	if !ok {
		c.illegal(in)
		return false
	}
	_ = read
	if write {
		base := old
		if csr == csrMip || csr == csrSip {
			// Read-modify-write of mip uses the software-writable SEIP
			// bit, not the PLIC's line (Privileged spec §3.1.9).
			base = c.mipSW | c.mipHW&^MipSEIP
			if csr == csrSip {
				base &= c.mideleg
			}
		}
		var v uint64
		switch in.op {
		case opCSRRW, opCSRRWI:
			v = src
		case opCSRRS, opCSRRSI:
			v = base | src
		default:
			v = base &^ src
		}
		if !c.writeCSR(csr, v) {
			c.illegal(in)
			return false
		}
	}
	c.x[in.rd] = old
	return true
}

func (c *CPU) counterAllowed(bit uint) bool {
	if c.priv < PrivM && (c.mcounteren>>bit)&1 == 0 {
		return false
	}
	if c.priv < PrivS && (c.scounteren>>bit)&1 == 0 {
		return false
	}
	return true
}

func (c *CPU) sstatus() uint64 {
	s := c.mstatus & sstatusMask
	if s&msFS == msFS {
		s |= msSD
	}
	return s
}

func (c *CPU) readCSR(csr uint16) (uint64, bool) {
	switch csr {
	case csrFflags, csrFrm, csrFcsr:
		if c.mstatus&msFS == 0 {
			return 0, false
		}
		switch csr {
		case csrFflags:
			return uint64(c.fflags), true
		case csrFrm:
			return uint64(c.frm), true
		}
		return uint64(c.frm)<<5 | uint64(c.fflags), true
	case csrCycle:
		if !c.counterAllowed(0) {
			return 0, false
		}
		return c.icount - 1 + c.cycleOff, true
	case csrTime:
		if !c.counterAllowed(1) {
			return 0, false
		}
		return c.Time(), true
	case csrInstret:
		if !c.counterAllowed(2) {
			return 0, false
		}
		return c.icount - 1 + c.instretOff, true
	case csrSstatus:
		return c.sstatus(), true
	case csrSie:
		return c.mie & c.mideleg, true
	case csrSip:
		return c.mip() & c.mideleg, true
	case csrStvec:
		return c.stvec, true
	case csrScounter:
		return c.scounteren, true
	case csrSenvcfg:
		return c.senvcfg, true
	case csrSscratch:
		return c.sscratch, true
	case csrSepc:
		return c.sepc, true
	case csrScause:
		return c.scause, true
	case csrStval:
		return c.stval, true
	case csrSatp:
		if c.priv == PrivS && c.mstatus&msTVM != 0 {
			return 0, false
		}
		return c.satp, true
	case csrMhartid:
		return c.HartID, true
	case csrMvendorid, csrMarchid, csrMimpid, csrMconfigptr:
		return 0, true
	case csrMstatus:
		s := c.mstatus
		if s&msFS == msFS {
			s |= msSD
		}
		return s, true
	case csrMisa:
		return misaValue, true
	case csrMedeleg:
		return c.medeleg, true
	case csrMideleg:
		return c.mideleg, true
	case csrMie:
		return c.mie, true
	case csrMip:
		return c.mip(), true
	case csrMtvec:
		return c.mtvec, true
	case csrMcounteren:
		return c.mcounteren, true
	case csrMenvcfg:
		return c.menvcfg, true
	case csrMcountinh:
		return c.mcountinh, true
	case csrMscratch:
		return c.mscratch, true
	case csrMepc:
		return c.mepc, true
	case csrMcause:
		return c.mcause, true
	case csrMtval:
		return c.mtval, true
	case csrMcycle:
		return c.icount - 1 + c.cycleOff, true
	case csrMinstret:
		return c.icount - 1 + c.instretOff, true
	case csrTselect, csrTdata1, csrTdata2, csrTdata3:
		// A trigger module with no triggers, as the debug spec lets a
		// hart have: tselect is WARL and holds only 0; tdata1 there
		// reads type 0, "no trigger at this tselect", with every other
		// field hard-wired to 0; tdata2/3 read 0. Writes are ignored.
		// Software enumerating triggers (write tselect, read it back,
		// read tinfo or tdata1.type) finds none, instead of taking an
		// illegal-instruction trap. M-mode only (the address says so).
		// (QEMU 7.2 has two mcontrol triggers; testdata/isa/trigger.S
		// checks what both models share.)
		return 0, true
	case csrTinfo:
		return 1, true // info = 1: the selected trigger does not exist
	}
	switch {
	case csr >= csrPmpcfg0 && csr < csrPmpcfg0+16:
		if csr&1 != 0 {
			return 0, false // odd pmpcfg registers do not exist on RV64
		}
		return c.pmpcfg[csr-csrPmpcfg0], true
	case csr >= csrPmpaddr0 && csr < csrPmpaddr0+64:
		return c.pmpaddr[csr-csrPmpaddr0], true
	case csr >= 0xb03 && csr <= 0xb1f, csr >= 0x323 && csr <= 0x33f:
		return 0, true // mhpmcounter3..31, mhpmevent3..31: read-only zero
	case csr >= 0xc03 && csr <= 0xc1f:
		if !c.counterAllowed(uint(csr - 0xc00)) {
			return 0, false
		}
		return 0, true
	}
	return 0, false
}

// writeCSR applies WARL rules. It returns false for a CSR that cannot be
// written (the caller raises illegal instruction).
func (c *CPU) writeCSR(csr uint16, v uint64) bool {
	switch csr {
	case csrFflags:
		c.fflags = uint8(v & 31)
		c.mstatus |= msFS
	case csrFrm:
		c.frm = uint8(v & 7)
		c.mstatus |= msFS
	case csrFcsr:
		c.fflags = uint8(v & 31)
		c.frm = uint8((v >> 5) & 7)
		c.mstatus |= msFS
	case csrSstatus:
		c.setMstatus(c.mstatus&^sstatusWritable | v&sstatusWritable)
	case csrSie:
		c.mie = c.mie&^c.mideleg | v&c.mideleg
	case csrSip:
		m := c.mideleg & MipSSIP
		c.mipSW = c.mipSW&^m | v&m
	case csrStvec:
		c.stvec = tvecWARL(v)
	case csrScounter:
		c.scounteren = v & 0xffffffff
	case csrSenvcfg:
		c.senvcfg = 0 // no FIOM/CBIE/CBCFE/CBZE features
	case csrSscratch:
		c.sscratch = v
	case csrSepc:
		c.sepc = v &^ 1
	case csrScause:
		c.scause = v
	case csrStval:
		c.stval = v
	case csrSatp:
		if c.priv == PrivS && c.mstatus&msTVM != 0 {
			return false
		}
		mode := v >> 60
		if mode != satpBare && mode != satpSv39 && !(mode == satpSv48 && c.Sv48) {
			return true // WARL: unsupported mode, write ignored
		}
		c.satp = v &^ (0xffff << 44) // ASID not implemented (ASIDLEN = 0)
		c.flushTLB()
	case csrMstatus:
		c.setMstatus(c.mstatus&^mstatusWritable | v&mstatusWritable)
	case csrMisa:
		// WARL: extensions cannot be turned off.
	case csrMedeleg:
		// ecall from M (11) cannot be delegated; bits above 15 are reserved.
		c.medeleg = v & 0xb3ff
	case csrMideleg:
		c.mideleg = v & (MipSSIP | MipSTIP | MipSEIP)
	case csrMie:
		c.mie = v & (MipSSIP | MipMSIP | MipSTIP | MipMTIP | MipSEIP | MipMEIP)
	case csrMip:
		m := uint64(MipSSIP | MipSTIP | MipSEIP)
		c.mipSW = c.mipSW&^m | v&m
	case csrMtvec:
		c.mtvec = tvecWARL(v)
	case csrMcounteren:
		c.mcounteren = v & 0xffffffff
	case csrMenvcfg:
		c.menvcfg = 0
	case csrMcountinh:
		c.mcountinh = v &^ 2 // bit 1 (time) is read-only zero
	case csrMscratch:
		c.mscratch = v
	case csrMepc:
		c.mepc = v &^ 1
	case csrMcause:
		c.mcause = v
	case csrMtval:
		c.mtval = v
	case csrMcycle:
		c.cycleOff = v - c.icount
	case csrMinstret:
		// A read returns the instructions retired before the reading
		// one (icount-1+offset); the written value replaces the writing
		// instruction's own increment, so the next read returns v.
		c.instretOff = v - c.icount
	default:
		switch {
		case csr >= csrPmpcfg0 && csr < csrPmpcfg0+16:
			c.pmpcfg[csr-csrPmpcfg0] = v &^ 0x6060606060606060 // reserved bits read zero
		case csr >= csrPmpaddr0 && csr < csrPmpaddr0+64:
			c.pmpaddr[csr-csrPmpaddr0] = v & (1<<54 - 1)
		case csr >= 0xb03 && csr <= 0xb1f, csr >= 0x323 && csr <= 0x33f:
			// Read-only zero counters/events: writes ignored.
		case csr >= csrTselect && csr <= csrTinfo:
			// No triggers: every field is read-only (see readCSR).
		default:
			return false
		}
	}
	return true
}

func tvecWARL(v uint64) uint64 {
	if v&3 >= 2 {
		v &^= 3 // reserved modes fall back to direct
	}
	return v
}

func (c *CPU) setMstatus(v uint64) {
	if (v&msMPP)>>11 == 2 {
		v &^= msMPP // MPP=2 (H) is not a supported mode: keep U
	}
	c.mstatus = v&^(msUXL|msSXL|msSD) | 2<<32 | 2<<34
	c.updateCtx()
}
