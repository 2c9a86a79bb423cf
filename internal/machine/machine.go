// Package machine is Rewind's "virt" board: QEMU's memory map, one to
// eight RV64GC harts, CLINT, PLIC, an NS16550A UART, a goldfish RTC, the syscon test
// finisher and up to eight virtio-mmio slots, all driven from one
// goroutine by the run loop in run.go.
//
// The machine never touches host files or sockets: the caller reads boot
// images into memory, opens disks (block.Device) and connects the console.
// Host input enters only through Input (or InjectInput on the machine
// goroutine), so a run is a pure function of the configuration, the
// images and the input timeline.
package machine

import (
	"fmt"
	"io"
	"math/bits"
	"sync/atomic"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/bus"
	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/dev/clint"
	"github.com/rewindvm/rewind/internal/dev/plic"
	"github.com/rewindvm/rewind/internal/dev/rtc"
	"github.com/rewindvm/rewind/internal/dev/syscon"
	"github.com/rewindvm/rewind/internal/dev/uart"
	"github.com/rewindvm/rewind/internal/dev/virtio"
	"github.com/rewindvm/rewind/internal/dev/virtio/blk"
	"github.com/rewindvm/rewind/internal/dev/virtio/nic"
	"github.com/rewindvm/rewind/internal/dev/virtio/rng"
	"github.com/rewindvm/rewind/internal/fdt"
	"github.com/rewindvm/rewind/internal/loader"
	"github.com/rewindvm/rewind/internal/vclock"
)

// The virt board's memory map (same addresses as QEMU's virt machine).
const (
	RAMBase     = 0x80000000
	CLINTBase   = 0x2000000
	CLINTSize   = 0x10000
	PLICBase    = 0xc000000
	PLICSize    = 0x600000
	UARTBase    = 0x10000000
	UARTSize    = 0x100
	UARTIRQ     = 10
	RTCBase     = 0x101000
	RTCSize     = 0x1000
	RTCIRQ      = 11
	SysconBase  = 0x100000
	SysconSize  = 0x1000
	VirtioBase  = 0x10001000
	VirtioSize  = 0x1000
	VirtioIRQ   = 1 // slot i uses IRQ VirtioIRQ+i
	VirtioSlots = 8
)

// Timebases: the rate of mtime and the time CSR, given to the guest as
// the device tree's timebase-frequency.
const (
	// DefaultTimebaseHz makes mtime count virtual nanoseconds. At the
	// default -icount shift=0 the time CSR then changes with every
	// instruction, as a real timer sampled by a fast core does: Linux's
	// jitter-entropy fallback (try_to_generate_entropy) needs that to
	// seed its random generator on a kernel that trusts neither the
	// bootloader's rng-seed nor a hardware RNG. With QEMU's 10 MHz it
	// gives up every time and getrandom() blocks forever.
	DefaultTimebaseHz = 1_000_000_000
	// QEMUTimebaseHz is QEMU virt's 10 MHz, which recordings made before
	// the timebase was configurable used.
	QEMUTimebaseHz = 10_000_000
)

// RNGSeedSize is the length of the /chosen rng-seed Rewind generates
// (QEMU's virt board also passes 32 bytes).
const RNGSeedSize = 32

// Config is everything that defines a machine. Two machines built from
// equal Configs (and equal disk contents) and given the same input at the
// same instruction counts behave identically.
type Config struct {
	// RAMSize in bytes (at RAMBase).
	RAMSize uint64
	// RAM, if set, is guest RAM for New to use instead of allocating it:
	// RAMSize bytes, all zero (hugemem.Alloc). New takes it over: the
	// Config the machine keeps has RAM nil.
	RAM []byte
	// Firmware is the M-mode firmware image (fw_jump.bin, fw_dynamic.bin,
	// or an ELF); nil means -bios none.
	Firmware []byte
	// DynamicInfo passes an OpenSBI fw_dynamic_info in a2 (fw_dynamic).
	DynamicInfo bool
	// Kernel is a Linux Image, a flat binary, or (with no firmware) an
	// ELF program started in M-mode at its entry.
	Kernel []byte
	// Initrd is the initial ramdisk, placed as QEMU places it.
	Initrd []byte
	// Append is the kernel command line.
	Append string
	// Disks are attached as virtio-blk devices in virtio slots 0, 1, ...
	Disks []block.Device
	// ICountShift: each instruction advances virtual time 2^shift ns.
	ICountShift uint
	// RTCBaseUnixNs is the wall-clock time the guest's RTC reads at
	// virtual time zero.
	RTCBaseUnixNs uint64
	// Sv48 also offers Sv48 paging (default: Sv39 only).
	Sv48 bool
	// TimebaseHz is the rate of mtime and the time CSR (1..1e9); 0 means
	// DefaultTimebaseHz.
	TimebaseHz uint64
	// RNGSeed, when non-empty, is passed to the guest as /chosen
	// rng-seed: Linux mixes it into its random pool at boot (and, if the
	// kernel trusts the bootloader, is seeded from it at once). It is
	// guest-visible, so it is part of the configuration: a run that
	// should repeat must reuse it.
	RNGSeed []byte
	// RNG attaches a virtio entropy device (virtio-rng) in the virtio slot
	// after the disks.
	RNG bool
	// Entropy supplies the virtio-rng device's bytes outside replay (the
	// host's random source). Reads happen on the machine goroutine at
	// slice boundaries and are reported through OnEntropy.
	Entropy io.Reader
	// NIC attaches a virtio network card (virtio-net) in the virtio slot
	// after the disks and the entropy device; MAC is its address (zero:
	// QEMU's 52:54:00:12:34:56) and NetMTU its MTU (zero: 1500; see
	// package nic for the range). See net.go.
	NIC    bool
	MAC    [6]byte
	NetMTU int
	// AsyncBlock runs disk I/O on host worker goroutines; completions
	// reach the guest at slice boundaries (record/replay). Without it a
	// request completes at the instruction that notified the device.
	AsyncBlock bool
	// Harts is the number of harts (-smp; 0 means 1). They run one at a
	// time on the machine goroutine, as Schedule says (harts.go).
	Harts int
	// Schedule sets the hart quanta of a multi-hart machine.
	Schedule Schedule
	// JIT runs the hart on the compiled engine where the host has one
	// (linux/amd64; see docs/JIT.md), else on the interpreter. The engine
	// changes only speed, never what the guest computes, so it is not part
	// of a recording's identity.
	JIT bool
	// Console receives guest serial output.
	Console io.Writer
	// Logf, if set, receives device warnings (a guest programming a
	// device wrongly).
	Logf func(format string, args ...any)
}

// Machine is one virt board.
type Machine struct {
	Bus *bus.Bus
	// Harts are the harts, by hart id. One runs at a time: Cur.
	Harts  []*cpu.CPU
	Clock  *vclock.Clock
	CLINT  *clint.CLINT
	PLIC   *plic.PLIC
	UART   *uart.UART
	RTC    *rtc.RTC
	Syscon *syscon.Syscon
	Virtio []*virtio.MMIO
	// Blk are the virtio-blk devices, one per configured disk.
	Blk []*blk.Blk
	// RNG is the virtio entropy device (nil without Config.RNG).
	RNG *rng.RNG
	// Net is the virtio network card (nil without Config.NIC).
	Net *nic.NIC
	// DTB is the device tree the guest was given.
	DTB []byte
	// Layout is where the boot images went.
	Layout *loader.Layout

	// Idle selects what happens while the hart sleeps (default
	// IdleRealTime).
	Idle IdleMode
	// NoHostInput declares that no host input can ever arrive, so an idle
	// hart with no timer is a deadlock rather than a wait.
	NoHostInput bool
	// StopAt, if nonzero, makes Run return (without halting) when the
	// instruction count reaches it.
	StopAt uint64
	// BeforeSlice runs on the machine goroutine before every CPU slice.
	BeforeSlice func()
	// OnInputEntered is called when host bytes enter the UART (the point
	// at which record mode logs them).
	OnInputEntered func(icount uint64, p []byte)
	// OnWarp is called when virtual time jumps while the hart is idle.
	OnWarp func(icount, ns uint64)
	// OnBlockComplete is called when an asynchronous block request
	// completes in the guest; data is what a read returned.
	OnBlockComplete func(icount uint64, d BlockDone, data []byte)
	// OnEntropy is called when host random bytes enter the guest through
	// the virtio-rng device (the point at which record mode logs them).
	OnEntropy func(icount uint64, p []byte)
	// OnNetFrame is called when a host frame enters the guest through the
	// network card, with the host frames dropped since the previous call
	// (frame is nil when it reports drops only). Record mode logs it.
	OnNetFrame func(icount uint64, dropped uint64, frame []byte)
	// OnNetTransmit receives the frames the guest transmits (the host
	// backend, outside replay). It must not block.
	OnNetTransmit func(frame []byte)
	// OnHostStop is called when the machine halts because the host asked
	// it to (quit key, signal).
	OnHostStop func(icount uint64, cause uint8)
	// LastStop is set when Run returns because a hart hit a
	// breakpoint or watchpoint (debugging); LastHart says which.
	LastStop cpu.StopReason
	LastHart int
	// StopHart, if nonnegative, makes Run return (without halting) at the
	// first slice boundary where hart StopHart is the running hart and its
	// own instruction count has reached StopHartAt (debugging one hart of
	// several). Set it to -1 otherwise.
	StopHart   int
	StopHartAt uint64
	// Player, if set, replays a recording: host input, block completions,
	// warps and shutdown come from it instead of the host.
	Player Player
	// NextCheckpoint, if nonzero, is an instruction count at which Run
	// calls OnCheckpoint (before anything else happens at that count).
	NextCheckpoint uint64
	// OnCheckpoint runs at NextCheckpoint; it must move NextCheckpoint
	// forward (or to 0). An error stops Run.
	OnCheckpoint func() error

	cfg              Config
	hart             *cpu.CPU // the running hart, Harts[cur]
	cur              int
	base             uint64 // instructions of every hart but the running one
	sched            sched
	console          io.Writer
	inbox            chan hostEvent
	rx               []byte
	stopRequested    atomic.Bool
	stopCause        atomic.Uint32
	progress         atomic.Uint64
	jobsPending      atomic.Int64
	dirtyAcc         []uint64     // pages written, for the snapshot store
	checkAcc         []uint64     // pages written, for the next state digest
	capture          *pageCapture // the open captured snapshot, if any
	haltReason       HaltReason
	exitCode         int
	htif             htif
	hostStopReported bool
	blockDone        chan BlockDone
	blockEarly       []BlockDone
	workers          []*blockWorker
	net              netHost
	// written marks the RAM pages written other than by a hart (the
	// loader, devices, snapshot restores) while ran is false: until the
	// machine first runs, the only pages that can be non-zero.
	written []uint64
	ran     bool
}

type consoleWriter struct{ m *Machine }

func (w consoleWriter) Write(p []byte) (int, error) {
	w.m.consoleOut(p)
	return len(p), nil
}

func (m *Machine) consoleOut(p []byte) {
	if m.console != nil {
		// A failing console is the host's problem; the guest never sees it.
		_, _ = m.console.Write(p)
	}
}

// New builds and loads a machine. It reads nothing from the host: every
// image is already in cfg.
func New(cfg Config) (*Machine, error) {
	if cfg.RAMSize == 0 {
		cfg.RAMSize = 256 << 20
	}
	if cfg.RAMSize%4096 != 0 {
		return nil, fmt.Errorf("machine: RAM size %d is not a multiple of 4 KiB", cfg.RAMSize)
	}
	if cfg.TimebaseHz == 0 {
		cfg.TimebaseHz = DefaultTimebaseHz
	}
	if cfg.TimebaseHz > 1_000_000_000 {
		return nil, fmt.Errorf("machine: timebase %d Hz is above 1 GHz (mtime cannot tick faster than virtual nanoseconds)", cfg.TimebaseHz)
	}
	if n := len(cfg.Disks) + b2i(cfg.RNG) + b2i(cfg.NIC); n > VirtioSlots {
		return nil, fmt.Errorf("machine: %d virtio devices, but the board has %d virtio slots", n, VirtioSlots)
	}
	if cfg.Harts == 0 {
		cfg.Harts = 1
	}
	if cfg.Harts < 1 || cfg.Harts > MaxHarts {
		return nil, fmt.Errorf("machine: %d harts; the virt board takes 1 to %d", cfg.Harts, MaxHarts)
	}
	sc, err := cfg.Schedule.normalize()
	if err != nil {
		return nil, fmt.Errorf("machine: schedule: %w", err)
	}
	ram := cfg.RAM
	if ram != nil && uint64(len(ram)) != cfg.RAMSize {
		return nil, fmt.Errorf("machine: %d bytes of RAM given for a RAM size of %d", len(ram), cfg.RAMSize)
	}
	cfg.RAM = nil
	m := &Machine{cfg: cfg, console: cfg.Console, inbox: make(chan hostEvent, 64), StopHart: -1}
	m.sched = sched{cfg: sc, rng: sc.Seed}
	if ram != nil {
		m.Bus = bus.NewWithRAM(RAMBase, ram)
	} else {
		m.Bus = bus.New(RAMBase, cfg.RAMSize)
	}
	m.written = make([]uint64, (cfg.RAMSize/4096+63)/64)
	m.Bus.Observe(m.noteWritten)
	clintHarts := make([]clint.Hart, cfg.Harts)
	plicHarts := make([]plic.Hart, cfg.Harts)
	for i := 0; i < cfg.Harts; i++ {
		h := cpu.New(m.Bus)
		h.HartID = uint64(i)
		h.Sv48 = cfg.Sv48
		h.BreakReservationOnTrap = cfg.Harts > 1
		if cfg.JIT {
			if i > 0 {
				h.ShareJIT(m.Harts[0]) // one code cache for all harts
			} else if err := h.EnableJIT(0); err != nil && cfg.Logf != nil {
				// The engine changes only the speed, never what the
				// guest does: run on, but say so.
				cfg.Logf("the compiled engine is unavailable (%v); running on the interpreter", err)
			}
		}
		m.Harts = append(m.Harts, h)
		clintHarts[i], plicHarts[i] = h, h
	}
	if cfg.Harts > 1 {
		cpu.Link(m.Harts)
	}
	m.hart = m.Harts[0]
	m.sched.left = m.sched.quantum()
	m.Clock = vclock.New(m.ICount, cfg.ICountShift)
	m.Clock.OnChange = m.requestExit
	m.CLINT = clint.New(m.Clock, clintHarts, cfg.TimebaseHz)
	for _, h := range m.Harts {
		h.Time = m.CLINT.Time
	}
	m.PLIC = plic.New(plicHarts)
	m.UART = uart.New(consoleWriter{m}, m.PLIC.Line(UARTIRQ))
	m.UART.OnRxDiscard = func(p []byte) {
		// The guest reset its receive FIFO: queue the unread bytes again,
		// ahead of anything typed after them. A replay drops them: the
		// recording supplies them again where they entered.
		if m.Player == nil {
			m.rx = append(append([]byte(nil), p...), m.rx...)
		}
	}
	m.UART.OnRxRead = func() {
		if len(m.rx) > 0 {
			m.requestExit() // feed the next bytes now, not at the slice end
		}
	}
	m.RTC = rtc.New(m.Clock, m.PLIC.Line(RTCIRQ), cfg.RTCBaseUnixNs)
	m.Syscon = syscon.New(func(k syscon.Kind, code int) {
		switch k {
		case syscon.PowerOff:
			m.halt(HaltPowerOff, 0)
		case syscon.Fail:
			m.halt(HaltFail, code)
		default:
			m.halt(HaltReset, 0)
		}
	})
	if cfg.Logf != nil {
		m.CLINT.Logf, m.PLIC.Logf, m.UART.Logf, m.RTC.Logf, m.Syscon.Logf = cfg.Logf, cfg.Logf, cfg.Logf, cfg.Logf, cfg.Logf
	}
	maps := []struct {
		base, size uint64
		name       string
		dev        bus.Device
	}{
		{CLINTBase, CLINTSize, "clint", m.CLINT},
		{PLICBase, PLICSize, "plic", m.PLIC},
		{UARTBase, UARTSize, "uart", m.UART},
		{RTCBase, RTCSize, "rtc", m.RTC},
		{SysconBase, SysconSize, "syscon", m.Syscon},
	}
	for _, r := range maps {
		if err := m.Bus.Map(r.base, r.size, r.name, r.dev); err != nil {
			return nil, err
		}
	}
	for i := 0; i < VirtioSlots; i++ {
		var be virtio.DeviceBackend = emptySlot{}
		if i < len(cfg.Disks) {
			b := blk.New(cfg.Disks[i], fmt.Sprintf("rewind-vd%c", 'a'+i))
			if cfg.Logf != nil {
				b.Logf = cfg.Logf
			}
			m.Blk = append(m.Blk, b)
			be = b
		} else if i == len(cfg.Disks) && cfg.RNG {
			m.RNG = rng.New()
			m.RNG.OnWant = m.requestExit // fill at the next slice boundary
			be = m.RNG
		} else if i == len(cfg.Disks)+b2i(cfg.RNG) && cfg.NIC {
			m.Net = m.newNIC()
			be = m.Net
		}
		t := virtio.NewMMIO(m.Bus, m.PLIC.Line(VirtioIRQ+i), be)
		if be == virtio.DeviceBackend(m.Net) {
			m.Net.Bind(t)
		}
		if cfg.Logf != nil {
			t.Logf = cfg.Logf
		}
		m.Virtio = append(m.Virtio, t)
		if err := m.Bus.Map(VirtioBase+uint64(i)*VirtioSize, VirtioSize, fmt.Sprintf("virtio%d", i), t); err != nil {
			return nil, err
		}
	}
	if err := m.load(); err != nil {
		return nil, err
	}
	if cfg.AsyncBlock {
		m.startBlockWorkers()
	}
	return m, nil
}

func (m *Machine) load() error {
	cfg := m.cfg
	lc := loader.Config{
		RAM:         loader.RAM{Base: RAMBase, Size: cfg.RAMSize},
		Firmware:    cfg.Firmware,
		Kernel:      cfg.Kernel,
		Initrd:      cfg.Initrd,
		DynamicInfo: cfg.DynamicInfo,
	}
	var syms map[string]uint64
	if cfg.Firmware == nil && loader.IsELF(cfg.Kernel) {
		// -bios none -kernel prog.elf: the ELF is the M-mode program.
		lc.Firmware, lc.Kernel = cfg.Kernel, nil
		var err error
		if syms, err = loader.Symbols(cfg.Kernel); err != nil {
			return fmt.Errorf("machine: kernel ELF symbols: %w", err)
		}
	}
	layout, err := loader.Plan(lc)
	if err != nil {
		return err
	}
	vc := fdt.DefaultVirtConfig()
	vc.RAMSize = cfg.RAMSize
	vc.TimebaseHz = uint32(cfg.TimebaseHz)
	if len(cfg.RNGSeed) > 0 {
		vc.RNGSeed = cfg.RNGSeed
	}
	vc.Bootargs = cfg.Append
	vc.Harts = cfg.Harts
	vc.InitrdStart, vc.InitrdEnd = layout.Initrd.Start, layout.Initrd.End
	if cfg.Sv48 {
		vc.MMUType = "riscv,sv48"
	}
	dtb, err := fdt.Virt(vc)
	if err != nil {
		return fmt.Errorf("machine: device tree: %w", err)
	}
	if err := layout.Load(m.Bus, dtb); err != nil {
		return err
	}
	m.DTB, m.Layout = dtb, layout
	// Every hart starts at the entry, as QEMU's reset vector starts them:
	// a0 is the hart id, a1 the device tree, a2 fw_dynamic's info. The
	// firmware picks the boot hart; the others wait for SBI HSM.
	to, useHTIF := syms["tohost"]
	if useHTIF {
		m.htif = htif{tohost: to, fromhost: syms["fromhost"]}
	}
	for i, h := range m.Harts {
		h.SetPC(layout.Entry)
		h.SetReg(10, layout.A0+uint64(i))
		h.SetReg(11, layout.A1)
		h.SetReg(12, layout.A2)
		if useHTIF {
			h.WatchStore(to)
			h.OnWatch = m.onHTIF
		}
	}
	return nil
}

// requestExit ends the running hart's slice after its current
// instruction (devices and the clock call it on the machine goroutine).
func (m *Machine) requestExit() { m.hart.RequestExit() }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// noteWritten is the bus observer behind InitialPages.
func (m *Machine) noteWritten(pa, n uint64) {
	if m.ran || n == 0 || pa < RAMBase {
		return
	}
	last := (pa + n - 1 - RAMBase) >> 12
	for pg := (pa - RAMBase) >> 12; pg <= last && pg>>6 < uint64(len(m.written)); pg++ {
		m.written[pg>>6] |= 1 << (pg & 63)
	}
}

// InitialPages returns, in ascending order, the only RAM pages that can
// be non-zero in a machine that has not run yet: those the loader,
// devices or a snapshot restore wrote. ok is false once the machine has
// run (its harts' stores are not tracked here); the caller must then
// look at all of RAM.
func (m *Machine) InitialPages() (pages []uint64, ok bool) {
	if m.ran {
		return nil, false
	}
	for w, word := range m.written {
		for word != 0 {
			b := word & -word
			pages = append(pages, uint64(w)*64+uint64(bits.TrailingZeros64(b)))
			word &^= b
		}
	}
	return pages, true
}
