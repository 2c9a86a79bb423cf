package gdbstub

import (
	"bytes"
	"fmt"
	"sort"
)

// Remote register numbers. They are the "regnum" attributes of target.xml,
// the numbers in gdb's p/P packets and stop replies, and the numbers passed
// to Target.ReadReg/WriteReg. They follow gdb's own RISC-V numbering
// (gdb/riscv-tdep.h), so "info registers" names and "maint print
// remote-registers" agree.
const (
	RegX0     = 0                // x0..x31 are RegX0+0..RegX0+31
	RegPC     = 32               // pc
	RegF0     = 33               // f0..f31 are RegF0+0..RegF0+31
	RegCSR0   = 65               // CSR n is RegCSR0+n
	RegFflags = RegCSR0 + 0x001  // fflags (CSR 0x001), sent as 32 bits
	RegFrm    = RegCSR0 + 0x002  // frm (CSR 0x002), sent as 32 bits
	RegFcsr   = RegCSR0 + 0x003  // fcsr (CSR 0x003), sent as 32 bits
	RegPriv   = RegCSR0 + 0x1000 // virtual "priv" register: privilege level 0/1/3
)

// numGRegs is how many registers the 'g' packet carries: x0..x31, pc,
// f0..f31, 8 bytes each. gdb fetches the others with 'p'.
const numGRegs = 65

// CSR names a control and status register to show in gdb.
type CSR struct {
	Num  uint16 // CSR address, 0..0xfff
	Name string // gdb's name for it (lower case, as in the privileged spec)
}

// DefaultCSRs returns the CSRs the stub describes when Options.CSRs is nil:
// the unprivileged counters and the S- and M-mode CSRs of an RV64GC hart
// with Sv39/48 and PMP (privileged spec, tables 2.2-2.5). fflags, frm and
// fcsr are always described (with the FPU) and need not be listed.
func DefaultCSRs() []CSR {
	csrs := []CSR{
		{0xc00, "cycle"}, {0xc01, "time"}, {0xc02, "instret"},
		{0x100, "sstatus"}, {0x104, "sie"}, {0x105, "stvec"},
		{0x106, "scounteren"}, {0x10a, "senvcfg"}, {0x140, "sscratch"},
		{0x141, "sepc"}, {0x142, "scause"}, {0x143, "stval"},
		{0x144, "sip"}, {0x180, "satp"},
		{0xf11, "mvendorid"}, {0xf12, "marchid"}, {0xf13, "mimpid"},
		{0xf14, "mhartid"}, {0xf15, "mconfigptr"},
		{0x300, "mstatus"}, {0x301, "misa"}, {0x302, "medeleg"},
		{0x303, "mideleg"}, {0x304, "mie"}, {0x305, "mtvec"},
		{0x306, "mcounteren"}, {0x30a, "menvcfg"}, {0x320, "mcountinhibit"},
		{0x340, "mscratch"}, {0x341, "mepc"}, {0x342, "mcause"},
		{0x343, "mtval"}, {0x344, "mip"},
		{0x3a0, "pmpcfg0"}, {0x3a2, "pmpcfg2"},
		{0xb00, "mcycle"}, {0xb02, "minstret"},
	}
	for i := 0; i < 16; i++ {
		csrs = append(csrs, CSR{uint16(0x3b0 + i), fmt.Sprintf("pmpaddr%d", i)})
	}
	return csrs
}

// ABI names of x0..x31 and f0..f31, gdb's preferred names.
var (
	xNames = [32]string{
		"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
		"fp", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
		"a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
		"s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
	}
	fNames = [32]string{
		"ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7",
		"fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
		"fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7",
		"fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
	}
)

// Feature names gdb's RISC-V support looks for (gdb/arch/riscv.c).
const (
	featCPU     = "org.gnu.gdb.riscv.cpu"
	featFPU     = "org.gnu.gdb.riscv.fpu"
	featCSR     = "org.gnu.gdb.riscv.csr"
	featVirtual = "org.gnu.gdb.riscv.virtual"
)

// regDesc describes one register of the target description.
type regDesc struct {
	num     int
	name    string
	bits    int
	typ     string
	group   string
	feature string
}

// regTable is the register set of a server: its description (target.xml)
// and the size of every register for p/P.
type regTable struct {
	regs []regDesc
	size map[int]int // register number -> size in bytes
	xml  []byte
}

// validCSRName reports whether name is safe and sensible as a register
// name: lower-case letters, digits and '_'.
func validCSRName(name string) bool {
	if name == "" || len(name) > 32 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func newRegTable(csrs []CSR) *regTable {
	if csrs == nil {
		csrs = DefaultCSRs()
	}
	t := &regTable{size: map[int]int{}}
	add := func(r regDesc) {
		if _, dup := t.size[r.num]; dup {
			return
		}
		t.regs = append(t.regs, r)
		t.size[r.num] = r.bits / 8
	}
	for i, n := range xNames {
		typ := "int"
		switch n {
		case "ra":
			typ = "code_ptr"
		case "sp", "gp", "tp", "fp":
			typ = "data_ptr"
		}
		add(regDesc{RegX0 + i, n, 64, typ, "general", featCPU})
	}
	add(regDesc{RegPC, "pc", 64, "code_ptr", "general", featCPU})
	for i, n := range fNames {
		add(regDesc{RegF0 + i, n, 64, "rv_fpr", "float", featFPU})
	}
	add(regDesc{RegFflags, "fflags", 32, "int", "float", featFPU})
	add(regDesc{RegFrm, "frm", 32, "int", "float", featFPU})
	add(regDesc{RegFcsr, "fcsr", 32, "int", "float", featFPU})
	sorted := append([]CSR(nil), csrs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Num < sorted[j].Num })
	for _, c := range sorted {
		if c.Num > 0xfff || !validCSRName(c.Name) {
			continue
		}
		add(regDesc{RegCSR0 + int(c.Num), c.Name, 64, "int", "system", featCSR})
	}
	add(regDesc{RegPriv, "priv", 64, "int", "system", featVirtual})
	t.xml = t.buildXML()
	return t
}

// buildXML renders the target description (GDB manual G.2 "Target
// Description Format"; feature contents per G.5 "Standard Target Features",
// RISC-V). Every register carries an explicit regnum.
func (t *regTable) buildXML() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?>` + "\n")
	b.WriteString(`<!DOCTYPE target SYSTEM "gdb-target.dtd">` + "\n")
	b.WriteString(`<target version="1.0">` + "\n")
	b.WriteString("  <architecture>riscv:rv64</architecture>\n")
	// A whole machine, not a Linux process: without this gdb-multiarch
	// may pick its default OS ABI (GNU/Linux), whose RISC-V support
	// single-steps by planting breakpoints at the predicted next pc, which
	// misses traps and interrupts. With "none" gdb sends real steps.
	b.WriteString("  <osabi>none</osabi>\n")
	for _, feat := range []string{featCPU, featFPU, featCSR, featVirtual} {
		fmt.Fprintf(&b, "  <feature name=%q>\n", feat)
		if feat == featFPU {
			b.WriteString(`    <union id="rv_fpr">` + "\n")
			b.WriteString(`      <field name="float" type="ieee_single"/>` + "\n")
			b.WriteString(`      <field name="double" type="ieee_double"/>` + "\n")
			b.WriteString("    </union>\n")
		}
		for _, r := range t.regs {
			if r.feature != feat {
				continue
			}
			fmt.Fprintf(&b, "    <reg name=%q bitsize=\"%d\" type=%q regnum=\"%d\"",
				r.name, r.bits, r.typ, r.num)
			if feat != featCPU {
				fmt.Fprintf(&b, " group=%q", r.group)
			}
			if feat == featVirtual {
				b.WriteString(` save-restore="no"`)
			}
			b.WriteString("/>\n")
		}
		b.WriteString("  </feature>\n")
	}
	b.WriteString("</target>\n")
	return b.Bytes()
}

// regSize returns the size in bytes of register n, or 0 if the stub does
// not describe it.
func (t *regTable) regSize(n int) int { return t.size[n] }
