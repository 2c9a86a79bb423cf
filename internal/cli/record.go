package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/rewindvm/rewind/internal/chardev"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// recordedConfig is the machine configuration stored in a recording's
// header (rrlog.Header.Config). Together with the images it names, it is
// everything replay needs to rebuild the machine.
type recordedConfig struct {
	Mem            string   `json:"mem"`
	Bios           string   `json:"bios,omitempty"`
	Kernel         string   `json:"kernel,omitempty"`
	Initrd         string   `json:"initrd,omitempty"`
	Append         string   `json:"append,omitempty"`
	Drives         []string `json:"drives,omitempty"` // file paths, in slot order
	DrivesReadOnly []bool   `json:"drives_readonly,omitempty"`
	ICount         string   `json:"icount"`
	Sv48           bool     `json:"sv48,omitempty"`
	Builtin        bool     `json:"builtin,omitempty"`
	DigestInterval uint64   `json:"digest_interval"`
	// TimebaseHz is the mtime rate; absent in recordings made before it
	// was recorded, which ran at QEMU's 10 MHz.
	TimebaseHz uint64 `json:"timebase_hz,omitempty"`
	// RNGSeed is the /chosen rng-seed in hex; absent: none.
	RNGSeed string `json:"rng_seed,omitempty"`
	// StartSnapshot: the recording does not start at boot but from the
	// full machine snapshot that is its first event (a branch recorded
	// with replay --until N --record, or a trimmed recording).
	StartSnapshot bool `json:"start_snapshot,omitempty"`
	// Devices lists the extra devices (-device), e.g. virtio-rng-device.
	Devices []string `json:"devices,omitempty"`
	// Harts is -smp (absent: 1) and Schedule the hart schedule in
	// --schedule syntax (absent: the default).
	Harts    int    `json:"harts,omitempty"`
	Schedule string `json:"schedule,omitempty"`
}

// image roles in the header.
const (
	roleFirmware = "firmware"
	roleKernel   = "kernel"
	roleInitrd   = "initrd"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func cmdRecord(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rewind record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f machineFlags
	f.register(fs)
	out := fs.String("o", "", "write the recording to `file` (required)")
	selfContained := fs.Bool("self-contained", false, "embed boot images and every disk read, so the recording replays without any image")
	interval := fs.Uint64("digest-interval", replay.DefaultDigestInterval, "instructions between state digests")
	snapEvery := fs.Uint64("snapshot-every", replay.DefaultSnapshotEvery, "embed a machine snapshot about every `N` instructions, for instant seeks and parallel verification (0: none)")
	untilConsole := fs.String("until-console", "", "stop recording when the guest's console output matches `REGEX` (Go syntax)")
	seedsS := fs.String("seeds", "", "schedule exploration: record one run per schedule seed (`LIST`: N, A-B, comma-separated) until one fails (--until-console matches or the guest reports failure); keep that recording in -o, delete the passing ones")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rewind record: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "rewind record: -o FILE is required")
		return 2
	}
	if err := checkCompat(fs); err != nil {
		fmt.Fprintf(stderr, "rewind record: %v\n", err)
		return 2
	}
	var until *regexp.Regexp
	if *untilConsole != "" {
		var err error
		if until, err = regexp.Compile(*untilConsole); err != nil {
			fmt.Fprintf(stderr, "rewind record: --until-console: %v\n", err)
			return 2
		}
	}
	var code int
	var err error
	if *seedsS != "" {
		var seeds []uint64
		if seeds, err = parseSeeds(*seedsS); err != nil {
			fmt.Fprintf(stderr, "rewind record: %v\n", err)
			return 2
		}
		code, err = exploreSeeds(&f, seeds, until, *out, *selfContained, *interval, *snapEvery, stdout, stderr)
	} else {
		var r recordResult
		r, err = record(&f, *out, recordOpts{selfContained: *selfContained, interval: *interval, snapEvery: *snapEvery, until: until}, stdout, stderr)
		code = r.code
	}
	if err != nil {
		fmt.Fprintf(stderr, "rewind record: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// recordOpts are the record command's options beyond the machine.
type recordOpts struct {
	selfContained       bool
	interval, snapEvery uint64
	// until stops the recording when the console output matches it.
	until *regexp.Regexp
}

// recordResult is how a recording ended.
type recordResult struct {
	code  int            // exit status
	res   machine.Result // how the machine stopped
	match string         // what --until-console matched ("" if nothing)
}

func record(f *machineFlags, out string, o recordOpts, stdout, stderr io.Writer) (recordResult, error) {
	r, err := recordRun(f, out, o, stdout, stderr)
	if r.code == 0 && err != nil {
		r.code = 1
	}
	return r, err
}

func recordRun(f *machineFlags, out string, o recordOpts, stdout, stderr io.Writer) (rr recordResult, _ error) {
	selfContained, interval, snapEvery := o.selfContained, o.interval, o.snapEvery
	var m *machine.Machine
	opts := chardev.Options{Stderr: stderr, Label: "serial0", OnQuit: func() {
		if m != nil {
			m.RequestStopCause(uint8(rrlog.ShutdownQuitKey))
		}
	}}
	con, err := chardev.Open(f.serial, opts)
	if err != nil {
		return rr, err
	}
	defer con.Close()
	f.record = true
	var console io.Writer = con
	var watch *consoleWatch
	if o.until != nil {
		watch = &consoleWatch{w: con, re: o.until, stop: func() {
			if m != nil {
				m.RequestStopCause(stopOnMatch)
			}
		}}
		console = watch
	}
	b, err := f.build(console, stderr)
	if err != nil {
		return rr, err
	}
	defer b.Close()
	m = b.m

	h, images, err := f.header(b, selfContained, interval)
	if err != nil {
		return rr, err
	}
	w, err := rrlog.Create(out, h)
	if err != nil {
		return rr, err
	}
	for _, im := range images {
		if err := w.AppendImage(0, im.role, im.data); err != nil {
			return rr, err
		}
	}
	rec := replay.Record(m, w, interval, selfContained)
	if snapEvery > 0 {
		rec.EmbedSnapshots(snapEvery)
	}

	stopSignals := notifySignals(m)
	defer stopSignals()
	if err := con.Start(m.Input); err != nil {
		return rr, fmt.Errorf("serial: %w", err)
	}
	start := time.Now()
	var res machine.Result
	var runErr error
	if f.gdb != "" {
		res, runErr = runUnderGDB(m, f.gdb, f.maxInsns, stderr)
	} else {
		res, runErr = runGuarded(m, f.maxInsns)
	}
	elapsed := time.Since(start)
	rr.res = res
	if watch != nil {
		rr.match = watch.Match()
	}
	dumpErr := f.writeJITDump(m)
	m.Close()
	finErr := rec.Finish(res)
	_ = con.Close()
	if f.stats {
		printStats(stderr, b, res, elapsed)
	}
	if runErr != nil {
		return rr, runErr
	}
	if finErr != nil {
		return rr, finErr
	}
	if dumpErr != nil {
		return rr, dumpErr
	}
	if n, size := rec.Snapshots(); f.stats && n > 0 {
		fmt.Fprintf(stderr, "rewind: %d embedded snapshots, %.1f MiB\n", n, float64(size)/(1<<20))
	}
	fmt.Fprintf(stderr, "rewind: recorded %d instructions (%s) to %s\n", res.ICount, res.Reason, out)
	if rr.match != "" {
		fmt.Fprintf(stderr, "rewind: stopped where the console matched %q\n", rr.match)
		return rr, nil
	}
	rr.code, err = exitCode(res)
	return rr, err
}

type embedImage struct {
	role string
	data []byte
}

// header describes the machine for the recording: configuration, image
// digests, clock settings.
func (f *machineFlags) header(b *built, selfContained bool, interval uint64) (rrlog.Header, []embedImage, error) {
	cfg := recordedConfig{
		Mem: f.mem, Bios: f.bios, Kernel: f.kernel, Initrd: f.initrd, Append: f.appendS,
		ICount: f.icount, Sv48: f.sv48, Builtin: b.builtin, DigestInterval: interval,
		TimebaseHz: b.cfg.TimebaseHz, RNGSeed: hex.EncodeToString(b.cfg.RNGSeed),
		Schedule: b.cfg.Schedule.String(),
	}
	if b.cfg.Harts > 1 {
		cfg.Harts = b.cfg.Harts
	}
	if b.cfg.RNG {
		cfg.Devices = append(cfg.Devices, deviceVirtioRNG)
	}
	if b.cfg.NIC {
		cfg.Devices = append(cfg.Devices, netDeviceSpec(b.cfg.MAC, b.cfg.NetMTU))
	}
	h := rrlog.Header{
		Emulator:      "rewind " + Version,
		ICountShift:   b.cfg.ICountShift,
		RTCBaseUnixNs: b.cfg.RTCBaseUnixNs,
		SelfContained: selfContained,
	}
	var embeds []embedImage
	addImage := func(role, path string, data []byte) {
		abs, _ := filepath.Abs(path)
		h.Images = append(h.Images, rrlog.Image{Role: role, Path: abs, Size: int64(len(data)), SHA256: f.imageSHA256(role, data), Embedded: selfContained})
		if selfContained {
			embeds = append(embeds, embedImage{role, data})
		}
	}
	if b.cfg.Firmware != nil {
		addImage(roleFirmware, f.bios, b.cfg.Firmware)
	}
	if b.cfg.Kernel != nil && !b.builtin {
		addImage(roleKernel, f.kernel, b.cfg.Kernel)
	}
	if b.cfg.Initrd != nil {
		addImage(roleInitrd, f.initrd, b.cfg.Initrd)
	}
	for i, d := range b.drives {
		cfg.Drives = append(cfg.Drives, d.File)
		cfg.DrivesReadOnly = append(cfg.DrivesReadOnly, d.ReadOnly)
		sum, size, err := fileSHA256(d.File)
		if err != nil {
			return h, nil, fmt.Errorf("-drive: %w", err)
		}
		abs, _ := filepath.Abs(d.File)
		h.Images = append(h.Images, rrlog.Image{Role: "disk" + strconv.Itoa(i), Path: abs, Size: size, SHA256: sum})
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return h, nil, err
	}
	h.Config = raw
	return h, embeds, nil
}

func exitCode(res machine.Result) (int, error) {
	switch res.Reason {
	case machine.HaltFail:
		if res.ExitCode == 0 {
			return 1, nil
		}
		return res.ExitCode, nil
	case machine.HaltDeadlock:
		return 1, errors.New("the guest is idle forever: no timer is armed and the serial port has no input")
	}
	return 0, nil
}
