package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/chardev"
	"github.com/rewindvm/rewind/internal/debugger"
	"github.com/rewindvm/rewind/internal/gdbstub"
	"github.com/rewindvm/rewind/internal/hugemem"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// exitTruncated is replay's exit status when the recording was cut short
// (recorder killed, file damaged): the complete part replayed correctly,
// but the session is not all there.
const exitTruncated = 3

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	return cmdReplayWith(args, replayOpts{}, stdout, stderr)
}

// cmdReplayWith is cmdReplay with options the flags do not set (log trim).
func cmdReplayWith(args []string, extra replayOpts, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rewind replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f machineFlags
	f.register(fs)
	fs.Lookup("gdb").Usage = "serve the recording to gdb on `ADDR` (e.g. 127.0.0.1:1234), both directions, instead of running it"
	until := fs.Uint64("until", 0, "stop at this instruction count")
	live := fs.Bool("live", false, "with --until: at that point stop replaying and run the same machine on live, with host input and disks attached")
	branch := fs.String("record", "", "with --until: like --live, and record the new branch into `FILE` (it replays on its own)")
	fromStart := fs.Bool("from-start", false, "with --until: replay from the beginning even when an embedded snapshot is nearer (console output from the start)")
	verify := fs.Bool("verify", false, "verify the recording segment by segment (between embedded snapshots), --jobs at a time, without console output")
	jobs := fs.Int("jobs", runtime.NumCPU(), "with --verify: how many segments to replay at once")
	segment := fs.String("segment", "", "replay only segment `K` (from embedded snapshot K-1, or the start, to snapshot K, or the end) and check that it arrives at snapshot K's state; A-B: segments A to B")
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
	if *verify {
		// No machine in this process (the segments replay in child
		// processes): the collector's usual pace for the scan.
		tuneGC(0)
		code, err := verifyParallel(fs.Arg(0), *jobs, imageFlags, stdout, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "rewind replay: %v\n", err)
		}
		return code
	}
	segFrom, segTo, err := parseSegments(*segment)
	if err != nil {
		fmt.Fprintf(stderr, "rewind replay: %v\n", err)
		return 2
	}
	code, err := replayFile(fs, &f, fs.Arg(0), replayOpts{until: *until, gdb: f.gdb, budget: *budget << 20, segment: segFrom, segmentTo: segTo, fromStart: *fromStart, live: *live || *branch != "", branch: *branch, trimTo: extra.trimTo, trimOut: extra.trimOut}, imageFlags, stdout, stderr)
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
		"schedule": cfg.Schedule,
	}
	var err error
	fs.Visit(func(fl *flag.Flag) {
		want, ok := recorded[fl.Name]
		if ok && fl.Value.String() != want && err == nil {
			err = fmt.Errorf("-%s %q contradicts the recording (recorded: %q); the machine configuration comes from the recording", fl.Name, fl.Value.String(), want)
		}
		switch fl.Name {
		case "drive", "rtc-base", "max-insns", "fast-idle", "device", "object", "rng-seed", "netdev", "nic":
			if err == nil {
				err = fmt.Errorf("-%s cannot be used with replay: the recording defines it", fl.Name)
			}
		}
	})
	if err != nil {
		return err
	}
	f.mem, f.bios, f.kernel, f.initrd, f.appendS, f.icount, f.sv48 = cfg.Mem, cfg.Bios, cfg.Kernel, cfg.Initrd, cfg.Append, cfg.ICount, cfg.Sv48
	harts := max(cfg.Harts, 1)
	fs.Visit(func(v *flag.Flag) {
		if v.Name == "smp" {
			if n, perr := parseSMP(v.Value.String()); perr != nil || n != harts {
				err = fmt.Errorf("-smp %s contradicts the recording (recorded: %d harts); the machine configuration comes from the recording", v.Value.String(), harts)
			}
		}
	})
	if err != nil {
		return err
	}
	if harts > machine.MaxHarts {
		return fmt.Errorf("recording: configuration: %d harts (this rewind takes at most %d)", harts, machine.MaxHarts)
	}
	f.smp, f.schedule = strconv.Itoa(harts), cfg.Schedule
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
		if name, _, _ := strings.Cut(d, ","); name != deviceVirtioRNG && name != deviceVirtioNet {
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

// recordedClock makes the machine's RTC start at the recorded base, even
// when that is 0 (the Unix epoch): never at the host clock.
func (f *machineFlags) recordedClock(h rrlog.Header) {
	f.rtcNs = h.RTCBaseUnixNs
	f.rtcBase = "0"
}

// ImageMismatchError says an image given for replay is not the recorded
// one. Got is empty when the sizes differ (the file is not hashed then);
// More says the input goes on past the recorded size (GotSz is then
// only a lower bound).
type ImageMismatchError struct {
	Role, Path    string
	Want, Got     string
	WantSz, GotSz int64
	More          bool
}

func (e *ImageMismatchError) Error() string {
	s := fmt.Sprintf("%s image %s is not the recorded one: recorded sha256 %s (%d bytes), ", e.Role, e.Path, e.Want, e.WantSz)
	switch {
	case e.More:
		return s + fmt.Sprintf("this file has more than %d bytes", e.WantSz)
	case e.Got == "":
		return s + fmt.Sprintf("this file has %d bytes", e.GotSz)
	}
	return s + fmt.Sprintf("this file has sha256 %s (%d bytes)", e.Got, e.GotSz)
}

// pushback is an event source with one event pushed back. It passes on
// the reader's Position and End, so the player can say where an event
// is stored and where the recording ends.
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

// Position implements the player's optional source method.
func (p *pushback) Position() rrlog.Position { return p.r.Position() }

// End implements the player's optional source method.
func (p *pushback) End() (rrlog.EndInfo, bool) { return p.r.End() }

// readEmbedded collects the images embedded at the start of a
// self-contained recording and returns the source of the remaining
// events. The pieces of an image must come in order, each starting where
// the previous one ended, and stay within the size the header declares:
// memory is spent only on bytes the recording holds.
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
		where := r.Position().String()
		d, err := ev.ImageData()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		size, ok := sizes[d.Role]
		if !ok {
			return nil, nil, fmt.Errorf("%s: image-data event at icount %d: the header has no embedded image %q", where, ev.ICount, d.Role)
		}
		buf := images[d.Role]
		if d.Offset != uint64(len(buf)) {
			return nil, nil, fmt.Errorf("%s: image-data event at icount %d: piece of image %q at offset %d, expected the next piece at offset %d (pieces come in order, without gaps or overlaps)", where, ev.ICount, d.Role, d.Offset, len(buf))
		}
		if uint64(len(d.Data)) > size-d.Offset {
			return nil, nil, fmt.Errorf("%s: image-data event at icount %d: piece of image %q at offset %d (%d bytes) goes past the %d-byte image the header declares", where, ev.ICount, d.Role, d.Offset, len(d.Data), size)
		}
		images[d.Role] = append(buf, d.Data...)
	}
}

// verifyImage checks that path holds the recorded image im: its size
// first (from the file system for a regular file; otherwise by reading
// at most one byte more than recorded, so an endless input such as
// /dev/zero is refused at once), then its SHA-256. Disk images must be
// regular files. With keep it returns the bytes.
func verifyImage(im rrlog.Image, path string, keep bool) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	disk := strings.HasPrefix(im.Role, "disk")
	switch {
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory", path)
	case disk && !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file (a disk image must be one)", path)
	case st.Mode().IsRegular() && st.Size() != im.Size:
		return nil, &ImageMismatchError{Role: im.Role, Path: path, Want: im.SHA256, WantSz: im.Size, GotSz: st.Size()}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	var w io.Writer = h
	var data bytes.Buffer
	if keep {
		if st.Mode().IsRegular() {
			data = *bytes.NewBuffer(hugemem.Alloc(int(im.Size))[:0])
		}
		w = io.MultiWriter(h, &data)
	}
	n, err := io.Copy(w, io.LimitReader(f, im.Size+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if n != im.Size {
		return nil, &ImageMismatchError{Role: im.Role, Path: path, Want: im.SHA256, WantSz: im.Size, GotSz: n, More: n > im.Size}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != im.SHA256 {
		return nil, &ImageMismatchError{im.Role, path, im.SHA256, sum, im.Size, n, false}
	}
	return data.Bytes(), nil
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
			if sum := sha256Hex(data); sum != im.SHA256 || int64(len(data)) != im.Size {
				return nil, nil, &ImageMismatchError{im.Role, "(embedded)", im.SHA256, sum, im.Size, int64(len(data)), false}
			}
			images[im.Role] = data
			continue
		}
		disk := strings.HasPrefix(im.Role, "disk")
		_, given := overrides[im.Role]
		data, err := verifyImage(im, path, !disk)
		var mismatch *ImageMismatchError
		switch {
		case errors.As(err, &mismatch):
			return nil, nil, err
		case err != nil && disk && h.SelfContained && !given:
			continue // reads come from the recording
		case err != nil && given:
			return nil, nil, fmt.Errorf("%s image: %w", im.Role, err)
		case err != nil:
			return nil, nil, fmt.Errorf("%s image: %w (use -image %s=PATH)", im.Role, err, im.Role)
		}
		if !disk {
			images[im.Role] = data
		}
	}
	return images, paths, nil
}

// maxICountShift is the largest -icount shift Rewind runs with.
const maxICountShift = 10

// checkHeader cross-checks the header of a recording against the
// machine configuration it carries, before anything is built from
// either: the image entries are well formed (rrlog.Header.Validate), the
// header's icount_shift is the configuration's, every image the
// configuration needs is in the header and every image in the header is
// one the configuration uses, boot images fit in the recorded RAM, and
// disk images have whole sectors.
func checkHeader(h rrlog.Header, cfg recordedConfig) error {
	if err := h.Validate(); err != nil {
		return err
	}
	ram, err := parseSize(cfg.Mem)
	if err != nil {
		return fmt.Errorf("configuration: %v", err)
	}
	shift, err := parseICount(cfg.ICount)
	if err != nil {
		return fmt.Errorf("configuration: %v", err)
	}
	if h.ICountShift > maxICountShift {
		return fmt.Errorf("header: icount_shift %d is out of range (this rewind runs with 0..%d)", h.ICountShift, maxICountShift)
	}
	if h.ICountShift != shift {
		return fmt.Errorf("header: icount_shift %d disagrees with the configuration's icount %q (shift %d)", h.ICountShift, cfg.ICount, shift)
	}
	if len(cfg.DrivesReadOnly) > len(cfg.Drives) {
		return fmt.Errorf("configuration: %d drives_readonly entries for %d drives", len(cfg.DrivesReadOnly), len(cfg.Drives))
	}
	type need struct{ role, what string }
	var needs []need
	if cfg.Bios != "" && cfg.Bios != "none" {
		needs = append(needs, need{roleFirmware, "-bios " + cfg.Bios})
	}
	if cfg.Kernel != "" && !cfg.Builtin {
		needs = append(needs, need{roleKernel, "-kernel " + cfg.Kernel})
	}
	if cfg.Initrd != "" {
		needs = append(needs, need{roleInitrd, "-initrd " + cfg.Initrd})
	}
	for i, d := range cfg.Drives {
		needs = append(needs, need{"disk" + strconv.Itoa(i), "drive " + d})
	}
	byRole := map[string]rrlog.Image{}
	for _, im := range h.Images {
		byRole[im.Role] = im
	}
	used := map[string]bool{}
	for _, n := range needs {
		if _, ok := byRole[n.role]; !ok {
			return fmt.Errorf("header: the configuration has %s, but no %s image is listed", n.what, n.role)
		}
		used[n.role] = true
	}
	for _, im := range h.Images {
		switch {
		case !used[im.Role]:
			return fmt.Errorf("header: %s image: the configuration has no use for it (recorded by a newer rewind?)", im.Role)
		case strings.HasPrefix(im.Role, "disk") && im.Embedded:
			return fmt.Errorf("header: %s image: marked embedded, but disks never are (their reads are in the block-complete events)", im.Role)
		case strings.HasPrefix(im.Role, "disk") && im.Size%block.SectorSize != 0:
			return fmt.Errorf("header: %s image: size %d is not a whole number of %d-byte sectors", im.Role, im.Size, block.SectorSize)
		case !strings.HasPrefix(im.Role, "disk") && uint64(im.Size) > ram:
			return fmt.Errorf("header: %s image: %d bytes do not fit in the recorded RAM (%d bytes)", im.Role, im.Size, ram)
		}
	}
	return nil
}

// parseImageFlags parses the -image ROLE=PATH flags: every role must be
// one the recording has, and be given once.
func parseImageFlags(h rrlog.Header, flags []string) (map[string]string, error) {
	var roles []string
	known := map[string]bool{}
	for _, im := range h.Images {
		roles = append(roles, im.Role)
		known[im.Role] = true
	}
	has := "it has none"
	if len(roles) > 0 {
		has = "it has " + strings.Join(roles, ", ")
	}
	overrides := map[string]string{}
	for _, s := range flags {
		role, p, ok := strings.Cut(s, "=")
		if !ok || role == "" || p == "" {
			return nil, fmt.Errorf("-image %q: want ROLE=PATH", s)
		}
		if !known[role] {
			return nil, fmt.Errorf("-image %s: the recording has no %s image (%s)", s, role, has)
		}
		if _, dup := overrides[role]; dup {
			return nil, fmt.Errorf("-image %s: %s is given twice", s, role)
		}
		overrides[role] = p
	}
	return overrides, nil
}

// zeroDisk stands in for a disk image a self-contained recording does
// not need: every read the guest makes is in the recording, so the
// stand-in only has to have the right size (and costs no memory).
type zeroDisk struct{ size int64 }

func (z zeroDisk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || int64(len(p)) > z.size || off > z.size-int64(len(p)) {
		return 0, fmt.Errorf("read %d bytes at offset %d of a %d-byte disk: %w", len(p), off, z.size, block.ErrOutOfRange)
	}
	clear(p)
	return len(p), nil
}

func (z zeroDisk) WriteAt(p []byte, off int64) (int, error) {
	return 0, block.ErrReadOnly
}

func (zeroDisk) Flush() error   { return nil }
func (z zeroDisk) Size() int64  { return z.size }
func (zeroDisk) ReadOnly() bool { return true }

type replayOpts struct {
	until  uint64
	gdb    string
	budget uint64
	// segment >= 0 replays only segments segment..segmentTo (RunSegments).
	segment, segmentTo int
	// fromStart: --until replays from the beginning.
	fromStart bool
	// live: at until, run on live; branch: and record into this file.
	live   bool
	branch string
	// trimOut: at until, write the recording's window up to trimTo there.
	trimTo  uint64
	trimOut string
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
	dec := json.NewDecoder(bytes.NewReader(h.Config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return 1, fmt.Errorf("%s: the machine configuration in the header has field %s, unknown to this rewind (recorded by a newer one?)", path, field)
		}
		return 1, fmt.Errorf("%s: machine configuration in the header: %w", path, err)
	}
	if err := checkHeader(h, cfg); err != nil {
		return 1, fmt.Errorf("%s: %w", path, err)
	}
	if err := applyRecorded(fs, f, cfg); err != nil {
		return 2, err
	}
	// Guest RAM before the images: see reserveRAM.
	if err := f.reserveRAM(); err != nil {
		return 2, err
	}
	overrides, err := parseImageFlags(h, imageFlags)
	if err != nil {
		return 2, err
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
	f.recordedClock(h)
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
		// A read-only drive was recorded without an overlay (the guest
		// sees a read-only disk); every other one behind an overlay.
		readOnly := i < len(cfg.DrivesReadOnly) && cfg.DrivesReadOnly[i]
		var base block.Device
		raw, err := block.OpenRaw(paths[role], true)
		if err != nil {
			if !h.SelfContained {
				return 1, fmt.Errorf("%s image: %w", role, err)
			}
			base = zeroDisk{im.Size}
		} else {
			defer raw.Close()
			base = raw
		}
		if !readOnly {
			base = block.NewOverlay(base)
		}
		disks = append(disks, base)
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
	// A --segment job needs the recording only up to the snapshot its
	// last segment ends at.
	last := -1
	if ro.segment >= 0 && ro.gdb == "" {
		last = ro.segmentTo
	}
	p, err := replay.PlayTo(m, src, last)
	if err != nil {
		return 1, err
	}
	if cfg.StartSnapshot {
		// A branch or trimmed recording: its first events are the full
		// snapshot it starts from.
		if len(p.Snapshots()) == 0 || p.Snapshots()[0].Seq != 0 {
			return 1, fmt.Errorf("%s: the recording starts from a snapshot, but its first snapshot is missing or damaged %v", path, p.SnapshotErrors())
		}
		if err := p.RestoreSnapshot(0); err != nil {
			return 1, fmt.Errorf("%s: starting snapshot: %w", path, err)
		}
	}
	if ro.live && (until == 0 || ro.gdb != "" || ro.segment >= 0) {
		return 2, errors.New("--live and --record need --until N (and no --gdb or --segment)")
	}
	if ro.segment >= 0 && ro.gdb == "" {
		return replaySegment(m, p, ro.segment, ro.segmentTo, stdout, stderr)
	}
	if until != 0 {
		m.StopAt = min(until, m.StopAt)
		if e := p.NearestSnapshot(until); e >= 0 && !ro.fromStart && ro.gdb == "" {
			if err := p.RestoreSnapshot(e); err != nil {
				return 1, err
			}
			fmt.Fprintf(stderr, "rewind: starting from the snapshot embedded at icount %d (console output before it is not shown; --from-start replays it)\n", m.ICount())
		}
	}
	if ro.gdb != "" {
		once.icount = m.ICount
		if err := con.Start(func([]byte) {}); err != nil {
			return 1, fmt.Errorf("serial: %w", err)
		}
		return serveGDB(m, p, ro, stderr)
	}
	defer notifySignals(m)()
	// Host input is ignored during replay (the quit key still works);
	// going live, it waits in the machine's inbox until the replay ends.
	input := func([]byte) {}
	if ro.live {
		input = m.Input
	}
	if err := con.Start(input); err != nil {
		return 1, fmt.Errorf("serial: %w", err)
	}
	stopProgress := progress(stderr, m, p.EndICount())
	start := time.Now()
	res, runErr := runGuarded(m, 0)
	if runErr == nil && ro.trimOut != "" {
		stopProgress()
		stopProgress = func() {}
		runErr = trim(m, p, h, cfg, ro.trimTo, ro.trimOut, stderr)
	} else if runErr == nil && ro.live {
		stopProgress()
		stopProgress = func() {}
		res, runErr = goLive(m, p, h, cfg, res, ro.branch, stderr)
	} else if runErr == nil {
		runErr = p.Finish(m)
	}
	elapsed := time.Since(start)
	stopProgress()
	_ = con.Close()
	if f.stats {
		printStats(stderr, b, res, elapsed)
		fmt.Fprintf(stderr, "rewind: %d events replayed, %d state digests verified\n", p.Events, p.Verified)
	}
	if derr := f.writeJITDump(m); derr != nil && runErr == nil {
		runErr = derr
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
