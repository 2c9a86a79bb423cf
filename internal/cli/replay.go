package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/chardev"
	"github.com/rewindvm/rewind/internal/debugger"
	"github.com/rewindvm/rewind/internal/gdbstub"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// exitTruncated is replay's exit status when the recording was cut short
// (recorder killed, file damaged): the complete part replayed correctly,
// but the session is not all there.
const exitTruncated = 3

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rewind replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f machineFlags
	f.register(fs)
	fs.Lookup("gdb").Usage = "serve the recording to gdb on `ADDR` (e.g. 127.0.0.1:1234), both directions, instead of running it"
	until := fs.Uint64("until", 0, "stop at this instruction count")
	budget := fs.Uint64("snapshot-budget", debugger.DefaultBudget>>20, "memory for reverse-execution snapshots, in MiB")
	var imageFlags multiFlag
	fs.Var(&imageFlags, "image", "use `ROLE=PATH` for an image the recording names (firmware, kernel, initrd, disk0, ...): it must have the recorded digest")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "rewind replay: want exactly one recording file")
		return 2
	}
	code, err := replayFile(fs, &f, fs.Arg(0), replayOpts{until: *until, gdb: f.gdb, budget: *budget << 20}, imageFlags, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "rewind replay: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// applyRecorded sets the machine flags from the recording, and rejects a
// flag given on the command line that says otherwise.
func applyRecorded(fs *flag.FlagSet, f *machineFlags, cfg recordedConfig) error {
	recorded := map[string]string{
		"m": cfg.Mem, "bios": cfg.Bios, "kernel": cfg.Kernel, "initrd": cfg.Initrd,
		"append": cfg.Append, "icount": cfg.ICount, "sv48": strconv.FormatBool(cfg.Sv48),
	}
	var err error
	fs.Visit(func(fl *flag.Flag) {
		want, ok := recorded[fl.Name]
		if ok && fl.Value.String() != want && err == nil {
			err = fmt.Errorf("-%s %q contradicts the recording (recorded: %q); the machine configuration comes from the recording", fl.Name, fl.Value.String(), want)
		}
		switch fl.Name {
		case "drive", "rtc-base", "max-insns", "fast-idle", "device", "object", "rng-seed":
			if err == nil {
				err = fmt.Errorf("-%s cannot be used with replay: the recording defines it", fl.Name)
			}
		}
	})
	if err != nil {
		return err
	}
	f.mem, f.bios, f.kernel, f.initrd, f.appendS, f.icount, f.sv48 = cfg.Mem, cfg.Bios, cfg.Kernel, cfg.Initrd, cfg.Append, cfg.ICount, cfg.Sv48
	f.replaying = true
	f.timebase = cfg.TimebaseHz
	if f.timebase == 0 {
		f.timebase = machine.QEMUTimebaseHz // recorded before the timebase was part of the configuration
	}
	f.recordedSeed = nil
	if cfg.RNGSeed != "" {
		seed, err := hex.DecodeString(cfg.RNGSeed)
		if err != nil {
			return fmt.Errorf("recording: configuration: rng_seed %q is not hex", cfg.RNGSeed)
		}
		f.recordedSeed = seed
	}
	f.devices = nil
	for _, d := range cfg.Devices {
		if d != deviceVirtioRNG {
			return fmt.Errorf("recording: configuration: device %q is unknown to this rewind (recorded by a newer one?)", d)
		}
		f.devices = append(f.devices, d)
	}
	f.drives = nil
	for i, d := range cfg.Drives {
		spec := "file=" + strings.ReplaceAll(d, ",", ",,") + ",format=raw"
		if i < len(cfg.DrivesReadOnly) && cfg.DrivesReadOnly[i] {
			spec += ",readonly=on"
		}
		f.drives = append(f.drives, spec)
	}
	return nil
}

// ImageMismatchError says an image given for replay is not the recorded
// one.
type ImageMismatchError struct {
	Role, Path    string
	Want, Got     string
	WantSz, GotSz int64
}

func (e *ImageMismatchError) Error() string {
	return fmt.Sprintf("%s image %s is not the recorded one: recorded sha256 %s (%d bytes), this file has sha256 %s (%d bytes)",
		e.Role, e.Path, e.Want, e.WantSz, e.Got, e.GotSz)
}

// pushback is an event source with one event pushed back.
type pushback struct {
	r  *rrlog.Reader
	ev *rrlog.Event
}

func (p *pushback) Next() (rrlog.Event, error) {
	if p.ev != nil {
		ev := *p.ev
		p.ev = nil
		return ev, nil
	}
	return p.r.Next()
}

// readEmbedded collects the images embedded at the start of a
// self-contained recording and returns the source of the remaining
// events. Pieces must fit the image sizes the header declares.
func readEmbedded(r *rrlog.Reader) (map[string][]byte, *pushback, error) {
	images := map[string][]byte{}
	sizes := map[string]uint64{}
	for _, im := range r.Header().Images {
		if im.Embedded && im.Size >= 0 {
			sizes[im.Role] = uint64(im.Size)
		}
	}
	for {
		ev, err := r.Next()
		if err != nil {
			return images, &pushback{r: r}, nil // the player reports how the stream ended
		}
		if ev.Kind != rrlog.KindImageData {
			return images, &pushback{r: r, ev: &ev}, nil
		}
		d, err := ev.ImageData()
		if err != nil {
			return nil, nil, err
		}
		size, ok := sizes[d.Role]
		if !ok || d.Offset > size || uint64(len(d.Data)) > size-d.Offset {
			return nil, nil, fmt.Errorf("recording: embedded data for image %q at offset %d (%d bytes) does not fit the %d-byte image the header declares", d.Role, d.Offset, len(d.Data), size)
		}
		buf := images[d.Role]
		if end := d.Offset + uint64(len(d.Data)); uint64(len(buf)) < end {
			buf = append(buf, make([]byte, end-uint64(len(buf)))...)
		}
		copy(buf[d.Offset:], d.Data)
		images[d.Role] = buf
	}
}

// loadImages reads and verifies every image the recording names.
func loadImages(h rrlog.Header, embedded map[string][]byte, overrides map[string]string) (map[string][]byte, map[string]string, error) {
	images := map[string][]byte{}
	paths := map[string]string{}
	for _, im := range h.Images {
		path := im.Path
		if p, ok := overrides[im.Role]; ok {
			path = p
		}
		paths[im.Role] = path
		if im.Embedded {
			data, ok := embedded[im.Role]
			if !ok {
				return nil, nil, fmt.Errorf("%s image: marked embedded, but the recording does not contain it", im.Role)
			}
			if sum := sha256Hex(data); sum != im.SHA256 {
				return nil, nil, &ImageMismatchError{im.Role, "(embedded)", im.SHA256, sum, im.Size, int64(len(data))}
			}
			images[im.Role] = data
			continue
		}
		if strings.HasPrefix(im.Role, "disk") {
			sum, size, err := fileSHA256(path)
			if err != nil {
				if h.SelfContained {
					continue // reads come from the recording
				}
				return nil, nil, fmt.Errorf("%s image: %w (use -image %s=PATH)", im.Role, err, im.Role)
			}
			if sum != im.SHA256 {
				return nil, nil, &ImageMismatchError{im.Role, path, im.SHA256, sum, im.Size, size}
			}
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("%s image: %w (use -image %s=PATH)", im.Role, err, im.Role)
		}
		if sum := sha256Hex(data); sum != im.SHA256 {
			return nil, nil, &ImageMismatchError{im.Role, path, im.SHA256, sum, im.Size, int64(len(data))}
		}
		images[im.Role] = data
	}
	return images, paths, nil
}

type replayOpts struct {
	until  uint64
	gdb    string
	budget uint64
}

func replayFile(fs *flag.FlagSet, f *machineFlags, path string, ro replayOpts, imageFlags []string, stdout, stderr io.Writer) (int, error) {
	until := ro.until
	r, err := rrlog.Open(path)
	if err != nil {
		return 1, err
	}
	defer r.Close()
	h := r.Header()
	var cfg recordedConfig
	if err := json.Unmarshal(h.Config, &cfg); err != nil {
		return 1, fmt.Errorf("%s: machine configuration in the header: %w", path, err)
	}
	if err := applyRecorded(fs, f, cfg); err != nil {
		return 2, err
	}
	overrides := map[string]string{}
	for _, s := range imageFlags {
		role, p, ok := strings.Cut(s, "=")
		if !ok {
			return 2, fmt.Errorf("-image %q: want ROLE=PATH", s)
		}
		overrides[role] = p
	}
	embedded, src, err := readEmbedded(r)
	if err != nil {
		return 1, err
	}
	images, paths, err := loadImages(h, embedded, overrides)
	if err != nil {
		return 1, err
	}
	f.images = images
	f.record = true
	f.rtcNs = h.RTCBaseUnixNs
	// Disks: the recorded images (verified above) behind fresh overlays,
	// or, self-contained, zero-filled stand-ins whose reads come from the
	// recording.
	var disks []block.Device
	for i := range cfg.Drives {
		role := "disk" + strconv.Itoa(i)
		var im rrlog.Image
		for _, x := range h.Images {
			if x.Role == role {
				im = x
			}
		}
		raw, err := block.OpenRaw(paths[role], true)
		if err != nil {
			if !h.SelfContained {
				return 1, fmt.Errorf("%s image: %w", role, err)
			}
			mem, merr := block.NewMemory(make([]byte, im.Size), false)
			if merr != nil {
				return 1, merr
			}
			disks = append(disks, block.NewOverlay(mem))
			continue
		}
		defer raw.Close()
		disks = append(disks, block.NewOverlay(raw))
	}
	f.disks = disks // nil without drives: the built-in guest then gets its scratch disk, as when recording
	if cfg.Builtin {
		f.kernel = ""
	}

	var m *machine.Machine
	con, err := chardev.Open(f.serial, chardev.Options{Stderr: stderr, Label: "serial0", OnQuit: func() {
		if m != nil {
			m.RequestStop()
		}
	}})
	if err != nil {
		return 1, err
	}
	defer con.Close()
	var console io.Writer = con
	var once *onceConsole
	if ro.gdb != "" {
		// Reverse execution re-runs parts of the recording: print each
		// byte of console output only the first time it is produced.
		once = &onceConsole{w: con}
		console = once
	}
	b, err := f.build(console, stderr)
	if err != nil {
		return 1, err
	}
	defer b.Close()
	m = b.m
	defer m.Close()
	p, err := replay.Play(m, src)
	if err != nil {
		return 1, err
	}
	if until != 0 {
		m.StopAt = min(until, m.StopAt)
	}
	if ro.gdb != "" {
		once.icount = m.CPU.ICount
		if err := con.Start(func([]byte) {}); err != nil {
			return 1, fmt.Errorf("serial: %w", err)
		}
		return serveGDB(m, p, ro, stderr)
	}
	defer notifySignals(m)()
	// Host input is ignored during replay; the quit key still works.
	if err := con.Start(func([]byte) {}); err != nil {
		return 1, fmt.Errorf("serial: %w", err)
	}
	var total uint64
	if rep, err := rrlog.Verify(path); err == nil || rep.LastICount != 0 {
		total = rep.LastICount
	}
	stopProgress := progress(stderr, m, total)
	start := time.Now()
	res, runErr := runGuarded(m, 0)
	if runErr == nil {
		runErr = p.Finish(m)
	}
	elapsed := time.Since(start)
	stopProgress()
	_ = con.Close()
	if f.stats {
		printStats(stderr, b, res, elapsed)
		fmt.Fprintf(stderr, "rewind: %d events replayed, %d state digests verified\n", p.Events, p.Verified)
	}
	if runErr != nil {
		return 1, runErr
	}
	var trunc *rrlog.TruncatedError
	if errors.As(p.Ended(), &trunc) {
		fmt.Fprintf(stderr, "rewind: the recording is truncated or damaged; replayed its complete part up to icount %d (%v)\n", p.LastICount(), trunc)
		return exitTruncated, nil
	}
	if until != 0 && res.ICount >= until {
		return 0, nil
	}
	return exitCode(res)
}

// progress prints "position / speed" on stderr while replaying, when
// stderr is a terminal. It returns the function that stops it.
func progress(stderr io.Writer, m *machine.Machine, total uint64) func() {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(stderr, "\r\033[K")
				return
			case <-t.C:
				ic := m.Progress()
				secs := time.Since(start).Seconds()
				pct := ""
				if total > 0 {
					pct = fmt.Sprintf(" / %d (%.0f%%)", total, 100*float64(ic)/float64(total))
				}
				fmt.Fprintf(stderr, "\r\033[Kreplay: icount %d%s, %.0f MIPS", ic, pct, float64(ic)/secs/1e6)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// onceConsole passes console output through only for instruction counts
// not seen before, so going backward and forward again in a debugger does
// not print the same output twice.
type onceConsole struct {
	w      io.Writer
	icount func() uint64
	last   uint64
	any    bool
}

func (o *onceConsole) Write(p []byte) (int, error) {
	if o.icount != nil {
		ic := o.icount()
		if o.any && ic <= o.last {
			return len(p), nil
		}
		o.last, o.any = ic, true
	}
	return o.w.Write(p)
}

// serveGDB serves the recording to gdb until it detaches or kills.
func serveGDB(m *machine.Machine, p *replay.Player, ro replayOpts, stderr io.Writer) (int, error) {
	d, err := debugger.New(m, p, debugger.Options{Budget: ro.budget})
	if err != nil {
		return 1, err
	}
	l, err := gdbstub.Listen(ro.gdb)
	if err != nil {
		return 1, fmt.Errorf("gdb: %w", err)
	}
	fmt.Fprintf(stderr, "rewind: serving the recording to gdb on %s (instructions 0..%d)\n", l.Addr(), d.End())
	fmt.Fprintf(stderr, "rewind:   gdb-multiarch -ex 'target remote %s'\n", l.Addr())
	srv := gdbstub.NewServer(debugger.NewTarget(d), gdbstub.Options{Logf: func(format string, args ...any) {
		fmt.Fprintf(stderr, "rewind: gdb: "+format+"\n", args...)
	}})
	err = srv.Serve(l)
	if err == nil || errors.Is(err, gdbstub.ErrKilled) {
		return 0, nil
	}
	return 1, err
}
