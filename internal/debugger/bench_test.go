package debugger

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// benchJIT is the engine the benchmarks use: the one users get
// (REWIND_ENGINE=interp: the interpreter).
var benchJIT = os.Getenv("REWIND_ENGINE") != "interp"

// linuxLong builds the shared Linux guest (idle warped) on the given
// engine with the given number of harts (the SMP kernel for more than
// one), for the long recordings of the reverse-execution benchmarks and
// the engine comparison. In CI a missing guest is a failure.
func linuxLong(b testing.TB, out *bytes.Buffer, jit bool, harts int) *machine.Machine {
	b.Helper()
	dir := os.Getenv("REWIND_GUEST")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "guest")
	}
	read := func(n string) []byte {
		d, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			if os.Getenv("CI") != "" {
				b.Fatalf("Linux guest not found (set REWIND_GUEST): %v", err)
			}
			b.Skipf("Linux guest not found: %v", err)
		}
		return d
	}
	image := "Image"
	if harts > 1 {
		image = "Image-smp"
	}
	fw, kernel, initrd := read("fw_jump.bin"), read(image), read("initramfs.cpio")
	raw, err := block.OpenRaw(filepath.Join(dir, "disk.img"), true)
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { raw.Close() })
	m, err := machine.New(machine.Config{
		RAMSize: 256 << 20, Firmware: fw, Kernel: kernel, Initrd: initrd,
		Append: "console=ttyS0", DynamicInfo: true, Disks: []block.Device{block.NewOverlay(raw)},
		AsyncBlock: true, RTCBaseUnixNs: 1_700_000_000e9, Console: out,
		JIT: jit, Harts: harts,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	m.Idle = machine.IdleFast
	return m
}

// recordGowork records the Linux guest booting and running gowork until
// more than total instructions have run, then powering off, into a new
// file (with snapshots embedded every snapEvery instructions, 0: none).
func recordGowork(b testing.TB, total, snapEvery uint64) (string, machine.Result, *replay.Recorder) {
	b.Helper()
	return recordGoworkHarts(b, total, snapEvery, 1)
}

// recordGoworkHarts is recordGowork on a machine with harts harts.
func recordGoworkHarts(b testing.TB, total, snapEvery uint64, harts int) (string, machine.Result, *replay.Recorder) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "long.rwd")
	var out bytes.Buffer
	m := linuxLong(b, &out, benchJIT, harts)
	w, err := rrlog.Create(path, rrlog.Header{Emulator: "rewind bench"})
	if err != nil {
		b.Fatal(err)
	}
	rec := replay.Record(m, w, 0, false)
	if snapEvery > 0 {
		rec.EmbedSnapshots(snapEvery)
	}
	mark := 0
	m.BeforeSlice = func() {
		if i := strings.Index(out.String()[mark:], "\n$ "); i >= 0 {
			mark += i + 3
			cmd := "gowork\n"
			if m.ICount() > total {
				cmd = "poweroff\n"
			}
			m.InjectInput([]byte(cmd))
		}
	}
	res, err := m.Run(0)
	if err != nil || res.Reason != machine.HaltPowerOff {
		b.Fatalf("recording: %v %v", res.Reason, err)
	}
	if err := rec.Finish(res); err != nil {
		b.Fatal(err)
	}
	return path, res, rec
}

// BenchmarkReverseStep records a long Linux session (boot, then gowork
// until at least 5 billion instructions), opens it in the debugger with
// the default snapshot budget, walks to the end once (building
// snapshots), then measures reverse-stepi and seek latency at several
// points of the recording. Run it with -benchtime 1x.
func BenchmarkReverseStep(b *testing.B) {
	const total = 5_000_000_000
	start := time.Now()
	path, res, _ := recordGowork(b, total, 0)
	b.Logf("recorded %d instructions in %v", res.ICount, time.Since(start))

	d := openLong(b, path, benchJIT, 1)
	start = time.Now()
	if err := d.Seek(d.End()); err != nil {
		b.Fatal(err)
	}
	n, mem := d.Snapshots()
	b.Logf("first pass to %d: %v; %d snapshots, %d MiB", d.End(), time.Since(start), n, mem>>20)
	b.ReportMetric(float64(mem)/(1<<20), "snapshot-MiB")
	b.ReportMetric(float64(n), "snapshots")

	b.ResetTimer()
	var steps, seeks []time.Duration
	for _, frac := range []float64{0.05, 0.25, 0.5, 0.75, 0.95, 0.999} {
		target := uint64(float64(d.End()) * frac)
		t0 := time.Now()
		if err := d.Seek(target); err != nil {
			b.Fatal(err)
		}
		seeks = append(seeks, time.Since(t0))
		for i := 0; i < 5; i++ {
			t0 := time.Now()
			if _, err := d.StepBackward(); err != nil {
				b.Fatal(err)
			}
			steps = append(steps, time.Since(t0))
		}
	}
	b.StopTimer()
	slices.Sort(steps)
	slices.Sort(seeks)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	b.ReportMetric(ms(steps[len(steps)/2]), "revstep-median-ms")
	b.ReportMetric(ms(steps[len(steps)-1]), "revstep-worst-ms")
	b.ReportMetric(ms(seeks[len(seeks)/2]), "seek-median-ms")
	b.ReportMetric(ms(seeks[len(seeks)-1]), "seek-worst-ms")
	b.ReportMetric(float64(d.End()), "insns")
}

// openLong opens the recording at path in a debugger, on a fresh machine
// with the given engine and number of harts.
func openLong(b testing.TB, path string, jit bool, harts int) *Debugger {
	b.Helper()
	var out bytes.Buffer
	m := linuxLong(b, &out, jit, harts)
	r, err := rrlog.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	p, err := replay.Play(m, r)
	r.Close()
	if err != nil {
		b.Fatal(err)
	}
	d, err := New(m, p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkReverseContinue records a Linux session of about a billion
// instructions (boot, gowork until 700 M, poweroff), walks to its end
// in the debugger, and measures a reverse-continue with a breakpoint, or
// a write watchpoint, that is never hit: it replays the whole recording,
// interval by interval, with it armed, and ends at the start. Run it with
// -benchtime 1x.
func BenchmarkReverseContinue(b *testing.B) {
	path, res, _ := recordGowork(b, 700_000_000, 0)
	for _, tc := range []struct {
		name string
		arm  func(d *Debugger)
	}{
		{"breakpoint", func(d *Debugger) { d.SetBreakpoints([]uint64{0x1000}) }},
		{"watchpoint", func(d *Debugger) {
			d.SetWatchpoints([]cpu.Watch{{Addr: 0x1000, Len: 8, Kind: cpu.WatchWrite}})
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			d := openLong(b, path, benchJIT, 1)
			if err := d.Seek(d.End()); err != nil {
				b.Fatal(err)
			}
			tc.arm(d)
			b.ResetTimer()
			for range b.N {
				if err := d.Seek(d.End()); err != nil {
					b.Fatal(err)
				}
				st, err := d.ReverseContinue(nil)
				if err != nil || st.Kind != StopBegin {
					b.Fatalf("reverse-continue: %+v, %v; want the start of the recording", st, err)
				}
			}
			b.StopTimer()
			s := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(s, "revcont-s")
			b.ReportMetric(float64(res.ICount)/s/1e6, "MIPS")
		})
	}
}

// BenchmarkFirstSeek records a long Linux session (boot, then gowork
// until about 4.5 billion instructions) with snapshots embedded every
// REWIND_SNAPSHOT_EVERY instructions (default replay.DefaultSnapshotEvery),
// then measures, for several targets, the time from opening the recording
// (reading it, building the machine) to standing at the target in a fresh
// debugger, and a reverse-stepi there. It also reports the snapshots'
// share of the log. Run it with -benchtime 1x.
func BenchmarkFirstSeek(b *testing.B) {
	const total = 4_500_000_000
	every := uint64(replay.DefaultSnapshotEvery)
	if s := os.Getenv("REWIND_SNAPSHOT_EVERY"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			b.Fatalf("REWIND_SNAPSHOT_EVERY: %v", err)
		}
		every = v
	}
	start := time.Now()
	path, res, rec := recordGowork(b, total, every)
	st, _ := os.Stat(path)
	n, snapBytes := rec.Snapshots()
	b.Logf("recorded %d instructions in %v; log %d bytes, %d snapshots every %d instructions, %d bytes of them",
		res.ICount, time.Since(start), st.Size(), n, every, snapBytes)
	b.ReportMetric(float64(snapBytes)/float64(max(n, 1))/(1<<20), "MiB/snapshot")
	b.ReportMetric(float64(st.Size())/(1<<20), "log-MiB")

	b.ResetTimer()
	var seeks, steps []time.Duration
	for _, frac := range []float64{0.999, 0.5, 0.25, 0.9, 0.05} {
		t0 := time.Now()
		var out2 bytes.Buffer
		m2 := linuxLong(b, &out2, benchJIT, 1)
		r, err := rrlog.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		tBuilt := time.Now()
		p, err := replay.Play(m2, r)
		r.Close()
		if err != nil {
			b.Fatal(err)
		}
		tPlay := time.Now()
		d, err := New(m2, p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		tNew := time.Now()
		target := uint64(float64(d.End()) * frac)
		if err := d.Seek(target); err != nil {
			b.Fatal(err)
		}
		seeks = append(seeks, time.Since(t0))
		b.Logf("  machine %v, read %v, debugger %v, seek %v", tBuilt.Sub(t0).Round(time.Millisecond),
			tPlay.Sub(tBuilt).Round(time.Millisecond), tNew.Sub(tPlay).Round(time.Millisecond), time.Since(tNew).Round(time.Millisecond))
		t1 := time.Now()
		if _, err := d.StepBackward(); err != nil {
			b.Fatal(err)
		}
		steps = append(steps, time.Since(t1))
		b.Logf("open + seek to %.1f%% (%d): %v, then reverse-stepi %v", frac*100, target, seeks[len(seeks)-1], steps[len(steps)-1])
		m2.Close()
	}
	b.StopTimer()
	slices.Sort(seeks)
	slices.Sort(steps)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	b.ReportMetric(ms(seeks[len(seeks)/2]), "first-seek-median-ms")
	b.ReportMetric(ms(seeks[len(seeks)-1]), "first-seek-worst-ms")
	b.ReportMetric(ms(steps[len(steps)-1]), "revstep-worst-ms")
}
