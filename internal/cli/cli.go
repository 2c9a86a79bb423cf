// Package cli implements the rewind command: subcommands, flag parsing
// (QEMU-compatible where the options overlap), and the host side of a run
// (files, disks, the console, signals).
package cli

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rewindvm/rewind/guest/builtin"
	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/chardev"
	"github.com/rewindvm/rewind/internal/debugger"
	"github.com/rewindvm/rewind/internal/gdbstub"
	"github.com/rewindvm/rewind/internal/hostnet"
	"github.com/rewindvm/rewind/internal/hugemem"
	"github.com/rewindvm/rewind/internal/loader"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// Version is the emulator version string.
const Version = "0.1.0"

const usage = `Rewind: a deterministic RISC-V (RV64GC) full-system emulator.

Usage:
  rewind run [options]               boot a machine (default: the built-in guest)
  rewind record -o FILE [options]    run a machine and record it into FILE
  rewind replay [options] FILE       replay a recording exactly (--gdb ADDR: debug it)
  rewind debug FILE                  serve FILE to gdb on 127.0.0.1:1234, both directions
  rewind log info|dump|verify FILE   inspect a recording
  rewind version                     print the version

Run "rewind run -help" for the machine options; record takes the same.
`

// Main runs the command line args (without the program name) and returns
// the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run", "record", "replay", "debug":
		// No collection until guest RAM is allocated (reserveRAM; tuneGC
		// explains why); the default pace again once the command is done.
		debug.SetGCPercent(-1)
		defer tuneGC(0)
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "record":
		return cmdRecord(args[1:], stdout, stderr)
	case "replay":
		return cmdReplay(args[1:], stdout, stderr)
	case "debug":
		return cmdReplay(append([]string{"--gdb", "127.0.0.1:1234"}, args[1:]...), stdout, stderr)
	case "log":
		return cmdLog(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "rewind %s\n", Version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "rewind: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// machineFlags are the options shared by every command that builds a
// machine.
type machineFlags struct {
	mem      string
	bios     string
	kernel   string
	initrd   string
	appendS  string
	drives   multiFlag
	serial   string
	icount   string
	stats    bool
	fastIdle bool
	maxInsns uint64
	sv48     bool
	smp      string
	schedule string
	rtcBase  string
	gdb      string
	rngSeedS string
	devices  multiFlag
	objects  multiFlag
	netdevs  multiFlag
	nic      string
	engine   string
	jitDump  string
	// ram is guest RAM allocated ahead of the images (reserveRAM), for
	// build to hand to the machine once.
	ram []byte

	// record: disks always go behind an overlay (the image is never
	// written) and disk I/O is asynchronous, as record/replay needs.
	record bool
	// images, when set (replay), supplies boot images by role instead of
	// reading the flag paths.
	images map[string][]byte
	// sums (record) are the boot images' SHA-256 digests for the
	// recording's header, computed while the machine is built.
	sums map[string]*imageSum
	// disks, when set (replay), supplies opened disks instead of -drive.
	disks []block.Device
	// rtcNs, when nonzero (replay), is the recorded RTC base.
	rtcNs uint64
	// replaying: the configuration below comes from a recording.
	replaying bool
	// recordedSeed is the recorded rng-seed (nil: none).
	recordedSeed []byte
	// timebase is the recorded timebase (0: the default).
	timebase uint64
}

func (f *machineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.mem, "m", "256M", "guest RAM `size` (QEMU syntax: 256M, 1G; bare numbers are MiB)")
	fs.StringVar(&f.bios, "bios", "", "M-mode firmware `file` (fw_jump.bin, fw_dynamic.bin, an ELF) or none")
	fs.StringVar(&f.kernel, "kernel", "", "kernel Image, flat binary, or (with -bios none) an ELF program; default: the built-in guest")
	fs.StringVar(&f.initrd, "initrd", "", "initial ramdisk `file`")
	fs.StringVar(&f.appendS, "append", "", "kernel command `line`")
	fs.Var(&f.drives, "drive", "disk: file=PATH,format=raw[,snapshot=on][,readonly=on] (repeatable; virtio-blk)")
	fs.StringVar(&f.serial, "serial", "stdio", "serial port backend: stdio, null, file:PATH, pty, tcp:HOST:PORT,server[,nowait], telnet:HOST:PORT,server")
	fs.StringVar(&f.icount, "icount", "shift=0", "virtual time per instruction: shift=N means 2^N ns")
	fs.BoolVar(&f.stats, "stats", false, "print instructions, host seconds, MIPS and the final state digest on stderr at exit")
	fs.BoolVar(&f.fastIdle, "fast-idle", false, "when the guest idles, jump virtual time to the next timer instead of sleeping (deterministic, no host clock)")
	fs.Uint64Var(&f.maxInsns, "max-insns", 0, "stop after this many instructions (0: no limit)")
	fs.BoolVar(&f.sv48, "sv48", false, "offer Sv48 paging as well as Sv39")
	fs.StringVar(&f.rtcBase, "rtc-base", "", "RTC start time (RFC 3339 or Unix seconds); default: now")
	fs.StringVar(&f.gdb, "gdb", "", "wait for gdb on `ADDR` (e.g. 127.0.0.1:1234) and run under its control, forward only")
	fs.StringVar(&f.rngSeedS, "rng-seed", "", "device-tree /chosen rng-seed: `HEX` bytes, or none; default: 32 fresh random bytes (recorded)")
	fs.Var(&f.devices, "device", "extra device: virtio-rng-device[,rng=ID] (QEMU syntax)")
	fs.Var(&f.objects, "object", "entropy backend for -device virtio-rng-device,rng=ID: rng-random,id=ID[,filename=PATH] or rng-builtin,id=ID")
	fs.Var(&f.netdevs, "netdev", "network backend for -device virtio-net-device,netdev=ID[,mac=MAC][,host_mtu=N]: user,id=ID[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...")
	fs.StringVar(&f.nic, "nic", "none", "network card and backend in one: user[,model=virtio-net-device][,mac=MAC][,hostfwd=...], or none")
	fs.StringVar(&f.smp, "smp", "1", "number of harts, 1 to 8 (QEMU syntax: N or cpus=N); they run one at a time, deterministically")
	fs.StringVar(&f.schedule, "schedule", "", "hart schedule of an -smp machine: seed=S[,quantum=MIN-MAX][,order=random] draws quanta from a generator seeded by S (recorded); quantum=N fixes them (default 10000)")
	fs.StringVar(&f.engine, "engine", defaultEngine, "how the hart runs: jit (compiled, linux/amd64) or interp; the same guest behaviour either way")
	fs.StringVar(&f.jitDump, "jit-dump", "", "at exit, write the compiled engine's code cache to `file`: every block's guest words and host code, disassembled (for debugging the compiler)")
	// Accepted for QEMU command-line compatibility.
	var ignored string
	var ignoredBool bool
	fs.StringVar(&ignored, "machine", "virt", "board (only virt)")
	fs.StringVar(&ignored, "M", "virt", "board (only virt)")
	fs.StringVar(&ignored, "cpu", "rv64", "CPU model (only rv64)")
	fs.BoolVar(&ignoredBool, "nographic", false, "accepted for QEMU compatibility (Rewind has no display)")
	fs.BoolVar(&ignoredBool, "no-reboot", false, "accepted for QEMU compatibility (a guest reset always stops Rewind)")
}

// checkCompat rejects QEMU options whose values Rewind cannot honour.
func checkCompat(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(fl *flag.Flag) {
		v := fl.Value.String()
		switch fl.Name {
		case "machine", "M":
			if name, _, _ := strings.Cut(v, ","); name != "virt" {
				err = fmt.Errorf("-%s %s: only the virt board exists", fl.Name, v)
			}
		case "cpu":
			if v != "rv64" && v != "any" && v != "max" {
				err = fmt.Errorf("-cpu %s: only rv64 (RV64GC) is emulated", v)
			}
		}
	})
	return err
}

// built is a machine and the host resources behind it.
type built struct {
	m       *machine.Machine
	cfg     machine.Config
	builtin bool
	drives  []DriveSpec
	closers []io.Closer
	net     *hostnet.User // the user network behind the card (nil: none)
}

func (b *built) Close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		_ = b.closers[i].Close()
	}
}

func (f *machineFlags) readImage(what, role, path string) ([]byte, error) {
	if data, ok := f.images[role]; ok {
		return data, nil
	}
	data, err := readImage(what, path)
	if err == nil && f.record {
		// The header needs the digest; the machine meanwhile copies
		// the image into RAM (both only read data).
		if f.sums == nil {
			f.sums = map[string]*imageSum{}
		}
		sum := &imageSum{done: make(chan struct{})}
		f.sums[role] = sum
		go func() {
			defer close(sum.done)
			sum.hex = sha256Hex(data)
		}()
	}
	return data, err
}

// imageSum is a boot image's SHA-256 being computed.
type imageSum struct {
	done chan struct{}
	hex  string
}

// imageSHA256 returns the SHA-256 of data, the boot image read for role.
func (f *machineFlags) imageSHA256(role string, data []byte) string {
	if sum := f.sums[role]; sum != nil {
		<-sum.done
		return sum.hex
	}
	return sha256Hex(data)
}

// readImage reads the boot image at path (what names it in errors).
func readImage(what, path string) ([]byte, error) {
	data, err := readFileHuge(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return data, nil
}

// readFileHuge is os.ReadFile into a buffer advised for huge pages (see
// package hugemem): a 14 MB initrd read into fresh 4 KiB pages cost
// about 40 ms of page faults, a quarter of a plain run's start-up. A
// file of a megabyte or more gets a buffer of at least hugemem.MinSize,
// so it is advised too: the shared guest's 4.0 MB kernel, just under
// MinSize, took 1,000 page faults (12 ms) to read.
func readFileHuge(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// One byte more than the size, so that a file that grew since the
	// Stat is read whole and its end seen without growing the buffer.
	n := 512
	if st.Mode().IsRegular() && st.Size() < 1<<40 {
		n = int(st.Size()) + 1
	}
	if n >= 1<<20 {
		n = max(n, hugemem.MinSize)
	}
	data := hugemem.Alloc(n)[:0]
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		k, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+k]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// build reads every host file and constructs the machine.
func (f *machineFlags) build(console io.Writer, stderr io.Writer) (*built, error) {
	ram, err := parseSize(f.mem)
	if err != nil {
		return nil, err
	}
	shift, err := parseICount(f.icount)
	if err != nil {
		return nil, err
	}
	if f.ram == nil {
		if err := f.reserveRAM(); err != nil {
			return nil, err
		}
	}
	cfg := machine.Config{RAMSize: ram, RAM: f.ram, ICountShift: shift, Append: f.appendS, Console: console, Sv48: f.sv48, TimebaseHz: f.timebase}
	f.ram = nil // the machine's own now
	if cfg.Harts, err = parseSMP(f.smp); err != nil {
		return nil, err
	}
	if cfg.Schedule, err = machine.ParseSchedule(f.schedule); err != nil {
		return nil, fmt.Errorf("--%w", err)
	}
	if cfg.TimebaseHz == 0 {
		cfg.TimebaseHz = machine.DefaultTimebaseHz
	}
	if cfg.RNGSeed, err = f.rngSeed(); err != nil {
		return nil, err
	}
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "rewind: "+format+"\n", args...) }
	cfg.RTCBaseUnixNs, err = parseRTCBase(f.rtcBase)
	if err != nil {
		return nil, err
	}
	if f.rtcNs != 0 {
		cfg.RTCBaseUnixNs = f.rtcNs
	}
	b := &built{}
	builtinGuest := f.kernel == "" && (f.bios == "" || f.bios == "none")
	b.builtin = builtinGuest
	// Disk requests run on host workers and complete at slice boundaries
	// in every mode, so a plain run takes the path a recording of the
	// same inputs takes (record logs the completions, replay applies
	// them where they were logged).
	cfg.AsyncBlock = true
	if cfg.JIT, err = parseEngine(f.engine); err != nil {
		return nil, err
	}
	switch {
	case builtinGuest:
		cfg.Kernel = builtin.ELF
	default:
		if f.kernel != "" {
			if cfg.Kernel, err = f.readImage("-kernel", roleKernel, f.kernel); err != nil {
				return nil, err
			}
		}
	}
	switch f.bios {
	case "", "none":
		if f.bios == "" && f.kernel != "" && !loader.IsELF(cfg.Kernel) {
			return nil, fmt.Errorf("-kernel %s is not an ELF program: give the firmware with -bios (for example fw_jump.bin) or -bios none", f.kernel)
		}
	default:
		if cfg.Firmware, err = f.readImage("-bios", roleFirmware, f.bios); err != nil {
			return nil, err
		}
		cfg.DynamicInfo = cfg.Kernel != nil
	}
	if f.initrd != "" {
		if cfg.Initrd, err = f.readImage("-initrd", roleInitrd, f.initrd); err != nil {
			return nil, err
		}
	}
	for _, spec := range f.drives {
		d, err := parseDrive(spec)
		if err != nil {
			b.Close()
			return nil, err
		}
		b.drives = append(b.drives, d)
		if f.disks != nil {
			continue
		}
		raw, err := block.OpenRaw(d.File, d.ReadOnly || d.Snapshot || f.record)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("-drive: %w", err)
		}
		b.closers = append(b.closers, raw)
		var dev block.Device = raw
		if (d.Snapshot || f.record) && !d.ReadOnly {
			dev = block.NewOverlay(raw)
		}
		cfg.Disks = append(cfg.Disks, dev)
	}
	if f.disks != nil {
		cfg.Disks = f.disks
	}
	entropyFile, err := f.applyDevices(&cfg)
	if err != nil {
		b.Close()
		return nil, err
	}
	if entropyFile != nil {
		b.closers = append(b.closers, entropyFile)
	}
	netdev, err := f.applyNet(&cfg)
	if err != nil {
		b.Close()
		return nil, err
	}
	if builtinGuest && len(cfg.Disks) == 0 && f.disks == nil {
		// The built-in guest shows off its disk driver on a scratch disk.
		scratch, err := block.NewMemory(make([]byte, 1<<20), false)
		if err != nil {
			return nil, err
		}
		cfg.Disks = append(cfg.Disks, scratch)
	}
	m, err := machine.New(cfg)
	cfg.RAM = nil
	if err != nil {
		b.Close()
		return nil, err
	}
	if f.fastIdle {
		m.Idle = machine.IdleFast
	}
	b.m = m
	b.cfg = cfg
	if netdev != nil {
		if err := startNet(b, netdev); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

func parseRTCBase(s string) (uint64, error) {
	if s == "" {
		return uint64(time.Now().UnixNano()), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return uint64(t.UnixNano()), nil
	}
	var secs uint64
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil {
		return secs * 1e9, nil
	}
	return 0, fmt.Errorf("-rtc-base %q: want RFC 3339 (2024-01-01T00:00:00Z) or Unix seconds", s)
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rewind run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f machineFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rewind run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := checkCompat(fs); err != nil {
		fmt.Fprintf(stderr, "rewind run: %v\n", err)
		return 2
	}
	code, err := run(&f, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "rewind run: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func run(f *machineFlags, stdout, stderr io.Writer) (int, error) {
	var m *machine.Machine
	opts := chardev.Options{
		Stderr: stderr,
		Label:  "serial0",
		OnQuit: func() {
			if m != nil {
				m.RequestStop()
			}
		},
	}
	con, err := chardev.Open(f.serial, opts)
	if err != nil {
		return 1, err
	}
	defer con.Close()
	b, err := f.build(con, stderr)
	if err != nil {
		return 1, err
	}
	defer b.Close()
	m = b.m
	if (f.serial == "null" || f.serial == "") && b.net == nil {
		m.NoHostInput = true
	}

	defer notifySignals(m)()

	if err := con.Start(m.Input); err != nil {
		return 1, fmt.Errorf("serial: %w", err)
	}
	start := time.Now()
	var res machine.Result
	if f.gdb != "" {
		res, err = runUnderGDB(m, f.gdb, f.maxInsns, stderr)
	} else {
		res, err = runGuarded(m, f.maxInsns)
	}
	elapsed := time.Since(start)
	if cerr := con.Close(); cerr != nil && err == nil {
		fmt.Fprintf(stderr, "rewind: console: %v\n", cerr)
	}
	if f.stats {
		printStats(stderr, b, res, elapsed)
	}
	if derr := f.writeJITDump(m); derr != nil && err == nil {
		err = derr
	}
	if err != nil {
		return 1, err
	}
	return exitCode(res)
}

// notifySignals turns SIGINT, SIGTERM and SIGHUP into a clean stop of m
// (recorded with the signal as its cause). It returns the undo function.
func notifySignals(m *machine.Machine) func() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for sig := range sigs {
			cause := rrlog.ShutdownInterrupt
			switch sig {
			case syscall.SIGTERM:
				cause = rrlog.ShutdownTerminate
			case syscall.SIGHUP:
				cause = rrlog.ShutdownHangup
			}
			m.RequestStopCause(uint8(cause))
		}
	}()
	return func() { signal.Stop(sigs); close(sigs) }
}

// runUnderGDB serves the live machine to gdb (forward only). When gdb
// detaches, the machine runs on by itself; when gdb kills it, it stops.
func runUnderGDB(m *machine.Machine, addr string, limit uint64, stderr io.Writer) (machine.Result, error) {
	l, err := gdbstub.Listen(addr)
	if err != nil {
		return machine.Result{}, fmt.Errorf("gdb: %w", err)
	}
	fmt.Fprintf(stderr, "rewind: waiting for gdb on %s (forward-only: record and use rewind debug to go backwards)\n", l.Addr())
	srv := gdbstub.NewServer(debugger.NewLiveTarget(m), gdbstub.Options{Logf: func(format string, args ...any) {
		fmt.Fprintf(stderr, "rewind: gdb: "+format+"\n", args...)
	}})
	err = srv.Serve(l)
	if errors.Is(err, gdbstub.ErrKilled) {
		m.HaltHostStop()
		return machine.Result{Reason: machine.HaltHostStop, ICount: m.ICount()}, nil
	}
	if err != nil {
		return machine.Result{}, err
	}
	if m.Halted() {
		return machine.Result{Reason: m.Reason(), ICount: m.ICount()}, nil
	}
	return runGuarded(m, limit)
}

// runGuarded turns an emulator panic into an error that names the
// machine position, after restoring the terminal.
func runGuarded(m *machine.Machine, limit uint64) (res machine.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			chardev.RestoreAll()
			err = fmt.Errorf("emulator bug at %s: %v (please report it with the command line)", m, r)
		}
	}()
	return m.Run(limit)
}

func printStats(w io.Writer, b *built, res machine.Result, elapsed time.Duration) {
	m := b.m
	secs := elapsed.Seconds()
	mips := 0.0
	if secs > 0 {
		mips = float64(res.ICount) / secs / 1e6
	}
	d := m.Digest()
	fmt.Fprintf(w, "rewind: %s after %d instructions, %.3f host seconds, %.1f MIPS\nrewind: state digest %x\n",
		res.Reason, res.ICount, secs, mips, d)
	if counts := m.HartCounts(); len(counts) > 1 {
		fmt.Fprintf(w, "rewind: %d harts, instructions per hart: %v\n", len(counts), counts)
	}
	for i, disk := range b.cfg.Disks {
		if ov, ok := disk.(*block.Overlay); ok {
			h := sha256.New()
			st := ov.Save()
			for _, blk := range st.Blocks {
				fmt.Fprintf(h, "%d:", blk.Index)
				h.Write(blk.Data)
			}
			fmt.Fprintf(w, "rewind: disk%d overlay: %d blocks written, sha256 %x\n", i, len(st.Blocks), h.Sum(nil))
		}
	}
	if ns, ok := m.NetStats(); ok {
		fmt.Fprintf(w, "rewind: network: %s\n", ns)
	}
	// The harts of a machine share one compiled engine (machine.New).
	if s := m.Harts[0].JITStats(); s.Blocks > 0 {
		who := "hart 0"
		if len(m.Harts) > 1 {
			who = fmt.Sprintf("harts 0-%d", len(m.Harts)-1)
		}
		fmt.Fprintf(w, "rewind: %s compiled engine: %d blocks compiled (%.1f MiB of code), %d entries, %d exits to the interpreter, %d chain links, %d invalidated, %d cache flushes\n",
			who, s.Blocks, float64(s.CodeBytes)/(1<<20), s.Calls, s.InterpExits, s.Chains, s.Invalidated, s.Flushes)
	}
}

// writeJITDump writes --jit-dump: the machine's compiled code (its harts
// share one engine).
func (f *machineFlags) writeJITDump(m *machine.Machine) error {
	if f.jitDump == "" {
		return nil
	}
	out, err := os.Create(f.jitDump)
	if err != nil {
		return fmt.Errorf("--jit-dump: %w", err)
	}
	if err := m.Harts[0].JITDump(out); err != nil {
		out.Close()
		return fmt.Errorf("--jit-dump %s: %w", f.jitDump, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("--jit-dump %s: %w", f.jitDump, err)
	}
	return nil
}

// parseSMP parses -smp in QEMU's syntax: N, cpus=N, optionally with
// maxcpus=N (equal) and a topology whose product is N.
func parseSMP(v string) (int, error) {
	n, prod := 0, 1
	topo := false
	for i, part := range strings.Split(v, ",") {
		k, val, hasKey := strings.Cut(part, "=")
		if !hasKey {
			if i != 0 {
				return 0, fmt.Errorf("-smp %s: %q is not key=value", v, part)
			}
			k, val = "cpus", part
		}
		x, err := strconv.Atoi(val)
		if err != nil || x < 1 {
			return 0, fmt.Errorf("-smp %s: %s=%q is not a positive number", v, k, val)
		}
		switch k {
		case "cpus":
			n = x
		case "maxcpus":
			if n != 0 && x != n {
				return 0, fmt.Errorf("-smp %s: Rewind has no CPU hotplug (maxcpus must equal cpus)", v)
			}
			if n == 0 {
				n = x
			}
		case "sockets", "cores", "threads", "dies", "clusters":
			prod *= x
			topo = true
		default:
			return 0, fmt.Errorf("-smp %s: unknown key %q", v, k)
		}
	}
	if n == 0 && topo {
		n = prod
	}
	if topo && prod != n {
		return 0, fmt.Errorf("-smp %s: the topology gives %d harts, not %d", v, prod, n)
	}
	if n < 1 || n > machine.MaxHarts {
		return 0, fmt.Errorf("-smp %s: the virt board takes 1 to %d harts", v, machine.MaxHarts)
	}
	return n, nil
}

// gcSlack is how much garbage the process may accumulate between
// collections, about.
const gcSlack = 64 << 20

// reserveRAM allocates guest RAM (-m) before anything else is read, and
// then sets the collector's pace (see tuneGC).
func (f *machineFlags) reserveRAM() error {
	ram, err := parseSize(f.mem)
	if err != nil {
		return err
	}
	if ram == 0 || ram%4096 != 0 {
		// machine.New picks its default size, or says what is wrong.
		tuneGC(0)
		return nil
	}
	f.ram = hugemem.Alloc(int(ram))
	tuneGC(ram)
	return nil
}

// startGCPercent is the collector's pace as the runtime set it from GOGC
// when the process started (100 without GOGC).
var startGCPercent = func() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}()

// tuneGC sets the collector's pace for a machine with ram bytes of guest
// RAM, or restores the user's GOGC. Guest RAM lives in the Go heap and has
// no pointers, so it costs a collection nothing to mark, but the default
// pace (collect when the heap has doubled) lets garbage grow to the size
// of guest RAM first. Until then every allocation — network frames, log
// chunks, snapshot pages — lands in memory the process has never
// touched, and on a virtual machine the first touch of each 4 KiB page
// costs more than the work done in it: collecting every gcSlack bytes
// keeps reusing warm memory (a guest download got 40 % faster) and keeps
// the process's RSS near guest RAM plus gcSlack.
//
// Before that, Main holds the collector (GOGC off) from the start of run,
// record, replay and debug until reserveRAM has allocated guest RAM,
// before any image is read. The runtime must zero a large allocation
// that lands on pages the heap used before. If a collection had freed
// memory at the end of the heap by then (reading images leaves garbage),
// guest RAM would start there and Go would clear all of it, faulting in
// every page at once: that was the rare start that took up to a second
// longer and peaked at the size of guest RAM over the usual RSS. With no
// collection before it, guest RAM comes from memory the heap never used,
// which the kernel hands out zeroed as the guest touches it.
func tuneGC(ram uint64) {
	if os.Getenv("GOGC") != "" {
		debug.SetGCPercent(startGCPercent)
		return
	}
	pct := 100
	if ram > 0 {
		pct = int(min(max(100*gcSlack/ram, 5), 100))
	}
	debug.SetGCPercent(pct)
}
