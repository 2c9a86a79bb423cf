package fdt

import (
	"fmt"
	"strings"
)

// The virt board's memory map and interrupt numbers: the same as QEMU 7.2's
// `-machine virt` (hw/riscv/virt.c), so that firmware and kernels built for
// QEMU run unchanged.
const (
	VirtTestBase   = 0x100000 // sifive,test finisher / syscon
	VirtTestSize   = 0x1000
	VirtRTCBase    = 0x101000 // google,goldfish-rtc
	VirtRTCSize    = 0x1000
	VirtRTCIRQ     = 11
	VirtCLINTBase  = 0x2000000
	VirtCLINTSize  = 0x10000
	VirtPLICBase   = 0xc000000
	VirtPLICSize   = 0x600000
	VirtUARTBase   = 0x10000000 // ns16550a
	VirtUARTSize   = 0x100
	VirtUARTIRQ    = 10
	VirtUARTClock  = 0x384000   // 3.6864 MHz
	VirtVirtioBase = 0x10001000 // slot i at VirtVirtioBase + i*VirtVirtioSize
	VirtVirtioSize = 0x1000
	VirtVirtioIRQ  = 1 // slot i raises PLIC source VirtVirtioIRQ + i
	VirtVirtioMax  = 8 // slots 0..7; a 9th would collide with the UART's IRQ
	VirtRAMBase    = 0x80000000
	VirtMaxHarts   = 8 // Rewind's limit; QEMU 7.2 allows 512

	// VirtPoweroffValue and VirtRebootValue are what the syscon-poweroff
	// and syscon-reboot nodes tell Linux to write to the test finisher.
	VirtPoweroffValue = 0x5555
	VirtRebootValue   = 0x7777

	// CPU-local interrupt numbers (mip bits, Privileged spec §3.1.9) used
	// in interrupts-extended.
	irqMSoft  = 3
	irqMTimer = 7
	irqSExt   = 9
	irqMExt   = 11
)

// VirtConfig describes the parts of the virt board's device tree that vary.
// Start from DefaultVirtConfig; Virt checks every field and fills none in
// (Harts 0 is the one exception: it stands for one hart, the board before
// Rewind had -smp).
type VirtConfig struct {
	// RAMBase and RAMSize give the /memory node.
	RAMBase, RAMSize uint64
	// Bootargs is the kernel command line (/chosen bootargs); empty
	// leaves the property out, as QEMU does without -append.
	Bootargs string
	// InitrdStart and InitrdEnd give /chosen linux,initrd-start/-end
	// (end exclusive). Both zero: no initrd properties.
	InitrdStart, InitrdEnd uint64
	// ISA is the cpu node's riscv,isa string.
	ISA string
	// MMUType is the cpu node's mmu-type ("riscv,sv39", "riscv,sv48",
	// "riscv,sv57" or "riscv,none"). Linux 6.1 probes satp anyway but
	// never picks more levels than this says.
	MMUType string
	// TimebaseHz is /cpus timebase-frequency: the rate of mtime and the
	// time CSR.
	TimebaseHz uint32
	// VirtioSlots is the number of virtio-mmio transports (0..8).
	VirtioSlots int
	// PLICNDev is the PLIC node's riscv,ndev: the number of interrupt
	// sources, not counting source 0.
	PLICNDev uint32
	// Harts is the number of harts, 1..VirtMaxHarts; 0 means 1. Each gets
	// a cpu node and its contexts in the CLINT's and PLIC's
	// interrupts-extended.
	Harts int
	// RNGSeed, when non-nil, becomes /chosen rng-seed. It is
	// guest-visible, so a reproducible run must reuse it: the machine
	// draws it from the host and a recording stores it. The default
	// configuration here leaves it out.
	RNGSeed []byte
}

// DefaultVirtConfig returns the configuration of the standard board: 256 MiB
// of RAM, an RV64GC hart with Sv39, a 10 MHz timebase, eight virtio slots.
func DefaultVirtConfig() VirtConfig {
	return VirtConfig{
		RAMBase:     VirtRAMBase,
		RAMSize:     256 << 20,
		ISA:         "rv64imafdc_zicsr_zifencei",
		MMUType:     "riscv,sv39",
		TimebaseHz:  10_000_000,
		VirtioSlots: VirtVirtioMax,
		// QEMU 7.2 says 0x60 here, one more than the 95 sources its PLIC
		// has (num-sources 96 counts the reserved source 0); later QEMU
		// writes num-sources - 1 = 0x5f. We follow the corrected value.
		PLICNDev: 0x5f,
	}
}

func (c *VirtConfig) check() error {
	switch {
	case c.RAMSize == 0 || c.RAMBase+c.RAMSize < c.RAMBase:
		return fmt.Errorf("RAM %#x+%#x is empty or wraps", c.RAMBase, c.RAMSize)
	case !strings.HasPrefix(c.ISA, "rv64") && !strings.HasPrefix(c.ISA, "rv32"):
		return fmt.Errorf("riscv,isa %q does not start with rv64 or rv32", c.ISA)
	case c.MMUType != "riscv,sv39" && c.MMUType != "riscv,sv48" &&
		c.MMUType != "riscv,sv57" && c.MMUType != "riscv,none":
		return fmt.Errorf("unknown mmu-type %q", c.MMUType)
	case c.TimebaseHz == 0:
		return fmt.Errorf("timebase-frequency is 0")
	case c.Harts < 0 || c.Harts > VirtMaxHarts:
		return fmt.Errorf("%d harts, want 1..%d", c.Harts, VirtMaxHarts)
	case c.VirtioSlots < 0 || c.VirtioSlots > VirtVirtioMax:
		return fmt.Errorf("%d virtio slots, want 0..%d", c.VirtioSlots, VirtVirtioMax)
	case c.PLICNDev < VirtRTCIRQ:
		return fmt.Errorf("riscv,ndev %d is below the highest IRQ in use (%d)", c.PLICNDev, VirtRTCIRQ)
	case c.InitrdEnd < c.InitrdStart || (c.InitrdStart == 0) != (c.InitrdEnd == 0):
		return fmt.Errorf("bad initrd range %#x-%#x", c.InitrdStart, c.InitrdEnd)
	}
	return nil
}

// Virt returns the device tree blob of the virt board with cfg.Harts harts.
//
// Nodes, properties and their order follow what QEMU 7.2 dumps for
// `-machine virt -cpu rv64 -smp N` (dumpdtb), including the reversed order
// of the virtio-mmio nodes (Linux probes them in tree order, so this keeps
// /dev/vda on the same slot as under QEMU) and the phandle numbers: QEMU
// numbers the cpus from the last one down, so hart i's cpu node has phandle
// 2(N-1-i)+1 and its interrupt controller the next one, then the PLIC has
// 2N+1 and the test finisher 2N+2 (with one hart: cpu 1, cpu interrupt
// controller 2, PLIC 3, test finisher 4). The CLINT's and the PLIC's
// interrupts-extended list hart 0's interrupts first, then hart 1's, and
// so on; the PLIC's context 2i is hart i's M-mode, 2i+1 its S-mode.
//
// Differences from QEMU, on purpose:
//   - riscv,isa and mmu-type describe our hart (VirtConfig.ISA, MMUType),
//     not QEMU's rv64 CPU model (which has H, Zb*, Sstc and Sv57).
//   - riscv,ndev is VirtConfig.PLICNDev (0x5f), not QEMU 7.2's 0x60.
//   - /chosen rng-seed is left out unless VirtConfig.RNGSeed is set
//     (QEMU writes fresh random bytes; Rewind's machine does too, and
//     recordings keep them).
//   - The machine sets TimebaseHz to 1 GHz rather than QEMU's 10 MHz
//     (see machine.DefaultTimebaseHz); DefaultVirtConfig keeps 10 MHz so
//     the tree can be compared with QEMU's.
//   - linux,initrd-start/-end are one cell when they fit in 32 bits (as
//     QEMU writes them) and two cells otherwise.
//   - Nodes for devices we do not model are left out: /pmu (SBI PMU
//     event map: no hpmcounter events), /fw-cfg@10100000, /flash@20000000
//     (pflash), /platform-bus@4000000 (dynamic sysbus devices) and
//     /soc/pci@30000000 (PCIe host).
func Virt(cfg VirtConfig) ([]byte, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("fdt: virt: %w", err)
	}
	harts := cfg.Harts
	if harts == 0 {
		harts = 1
	}
	b := New()
	cpuPh, intcPh := make([]uint32, harts), make([]uint32, harts)
	for i := harts - 1; i >= 0; i-- {
		cpuPh[i], intcPh[i] = b.NewPhandle(), b.NewPhandle()
	}
	plicPh, testPh := b.NewPhandle(), b.NewPhandle()

	root := b.Root()
	root.PropU32("#address-cells", 2)
	root.PropU32("#size-cells", 2)
	root.PropString("compatible", "riscv-virtio")
	root.PropString("model", "riscv-virtio,qemu")

	chosen := root.Child("chosen")
	if cfg.InitrdStart != 0 {
		propAddr(chosen, "linux,initrd-end", cfg.InitrdEnd)
		propAddr(chosen, "linux,initrd-start", cfg.InitrdStart)
	}
	if cfg.RNGSeed != nil {
		chosen.PropBytes("rng-seed", cfg.RNGSeed)
	}
	if cfg.Bootargs != "" {
		chosen.PropString("bootargs", cfg.Bootargs)
	}
	chosen.PropString("stdout-path", fmt.Sprintf("/soc/serial@%x", VirtUARTBase))

	for _, s := range []struct {
		name   string
		value  uint32
		compat string
	}{
		{"poweroff", VirtPoweroffValue, "syscon-poweroff"},
		{"reboot", VirtRebootValue, "syscon-reboot"},
	} {
		n := root.Child(s.name)
		n.PropU32("value", s.value)
		n.PropU32("offset", 0)
		n.PropU32("regmap", testPh)
		n.PropString("compatible", s.compat)
	}

	mem := root.Child(fmt.Sprintf("memory@%x", cfg.RAMBase))
	mem.PropString("device_type", "memory")
	mem.PropCells("reg", cells64(cfg.RAMBase, cfg.RAMSize)...)

	cpus := root.Child("cpus")
	cpus.PropU32("#address-cells", 1)
	cpus.PropU32("#size-cells", 0)
	cpus.PropU32("timebase-frequency", cfg.TimebaseHz)
	for i := 0; i < harts; i++ {
		cpu := cpus.Child(fmt.Sprintf("cpu@%d", i))
		cpu.PropU32("phandle", cpuPh[i])
		cpu.PropString("device_type", "cpu")
		cpu.PropU32("reg", uint32(i))
		cpu.PropString("status", "okay")
		cpu.PropString("compatible", "riscv")
		cpu.PropString("riscv,isa", cfg.ISA)
		cpu.PropString("mmu-type", cfg.MMUType)
		intc := cpu.Child("interrupt-controller")
		intc.PropU32("#interrupt-cells", 1)
		intc.PropEmpty("interrupt-controller")
		intc.PropString("compatible", "riscv,cpu-intc")
		intc.PropU32("phandle", intcPh[i])
	}
	// QEMU puts every hart in one cluster, one core each (no threads).
	cluster := cpus.Child("cpu-map").Child("cluster0")
	for i := 0; i < harts; i++ {
		cluster.Child(fmt.Sprintf("core%d", i)).PropU32("cpu", cpuPh[i])
	}

	soc := root.Child("soc")
	soc.PropU32("#address-cells", 2)
	soc.PropU32("#size-cells", 2)
	soc.PropString("compatible", "simple-bus")
	soc.PropEmpty("ranges")

	irqDev := func(name string, base uint64, irq uint32) *Node {
		n := soc.Child(fmt.Sprintf("%s@%x", name, base))
		n.PropU32("interrupts", irq)
		n.PropU32("interrupt-parent", plicPh)
		return n
	}
	rtc := irqDev("rtc", VirtRTCBase, VirtRTCIRQ)
	rtc.PropCells("reg", cells64(VirtRTCBase, VirtRTCSize)...)
	rtc.PropString("compatible", "google,goldfish-rtc")

	uart := irqDev("serial", VirtUARTBase, VirtUARTIRQ)
	uart.PropU32("clock-frequency", VirtUARTClock)
	uart.PropCells("reg", cells64(VirtUARTBase, VirtUARTSize)...)
	uart.PropString("compatible", "ns16550a")

	test := soc.Child(fmt.Sprintf("test@%x", VirtTestBase))
	test.PropU32("phandle", testPh)
	test.PropCells("reg", cells64(VirtTestBase, VirtTestSize)...)
	test.PropStrings("compatible", "sifive,test1", "sifive,test0", "syscon")

	for i := cfg.VirtioSlots - 1; i >= 0; i-- {
		base := uint64(VirtVirtioBase + i*VirtVirtioSize)
		n := irqDev("virtio_mmio", base, uint32(VirtVirtioIRQ+i))
		n.PropCells("reg", cells64(base, VirtVirtioSize)...)
		n.PropString("compatible", "virtio,mmio")
	}

	plic := soc.Child(fmt.Sprintf("plic@%x", VirtPLICBase))
	plic.PropU32("phandle", plicPh)
	plic.PropU32("riscv,ndev", cfg.PLICNDev)
	plic.PropCells("reg", cells64(VirtPLICBase, VirtPLICSize)...)
	// Context 2i is hart i M-mode, context 2i+1 hart i S-mode.
	plic.PropCells("interrupts-extended", perHart(intcPh, irqMExt, irqSExt)...)
	plic.PropEmpty("interrupt-controller")
	plic.PropStrings("compatible", "sifive,plic-1.0.0", "riscv,plic0")
	plic.PropU32("#address-cells", 0)
	plic.PropU32("#interrupt-cells", 1)

	clint := soc.Child(fmt.Sprintf("clint@%x", VirtCLINTBase))
	clint.PropCells("interrupts-extended", perHart(intcPh, irqMSoft, irqMTimer)...)
	clint.PropCells("reg", cells64(VirtCLINTBase, VirtCLINTSize)...)
	clint.PropStrings("compatible", "sifive,clint0", "riscv,clint0")

	blob, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("fdt: virt: %w", err)
	}
	return blob, nil
}

// perHart returns the interrupts-extended cells that give each hart's
// interrupt controller the interrupts irqs, hart 0 first:
// <&intc0 irqs[0] &intc0 irqs[1] ... &intc1 irqs[0] ...>.
func perHart(intcPh []uint32, irqs ...uint32) []uint32 {
	out := make([]uint32, 0, 2*len(intcPh)*len(irqs))
	for _, ph := range intcPh {
		for _, irq := range irqs {
			out = append(out, ph, irq)
		}
	}
	return out
}

// cells64 splits 64-bit numbers into (high, low) cell pairs, the encoding
// of addresses and sizes under #address-cells = #size-cells = 2.
func cells64(vals ...uint64) []uint32 {
	out := make([]uint32, 0, 2*len(vals))
	for _, v := range vals {
		out = append(out, uint32(v>>32), uint32(v))
	}
	return out
}

// propAddr writes an address as one cell when it fits, two otherwise.
// Linux reads linux,initrd-* with whatever length the property has.
func propAddr(n *Node, name string, v uint64) {
	if v>>32 == 0 {
		n.PropU32(name, uint32(v))
		return
	}
	n.PropU64(name, v)
}
