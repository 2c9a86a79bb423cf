package cli

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/fdt"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// rngELF is the bare-metal virtio-rng guest (testdata/virtio-rng).
var rngELF = filepath.Join("..", "..", "testdata", "virtio-rng", "rng.elf")

var rngLineRE = regexp.MustCompile(`(?m)^rng ([a-f]): len (\d+) ([0-9a-f]+)\r?$`)

// rngLines returns the "rng X: len N HEX" lines the guest printed.
func rngLines(t *testing.T, out string) []string {
	t.Helper()
	if !strings.Contains(out, "rng: done") {
		t.Fatalf("the rng guest did not finish:\n%s", out)
	}
	var lines []string
	for _, m := range rngLineRE.FindAllStringSubmatch(out, -1) {
		lines = append(lines, m[0])
	}
	if len(lines) != 6 {
		t.Fatalf("want 6 answers from the rng guest, got %d:\n%s", len(lines), out)
	}
	return lines
}

// runRNG runs the rng guest with extra options; the console goes to a
// file, whose contents it returns.
func runRNG(t *testing.T, extra ...string) (code int, console, stderr string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "console")
	args := append([]string{"run", "-bios", "none", "-kernel", rngELF, "-serial", "file:" + out}, extra...)
	code, _, stderr = runCLI(args...)
	b, _ := os.ReadFile(out)
	return code, string(b), stderr
}

func TestVirtioRNGRun(t *testing.T) {
	code, out1, stderr := runRNG(t, "-device", "virtio-rng-device")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	_, out2, _ := runRNG(t, "-device", "virtio-rng-device")
	a, b := rngLines(t, out1), rngLines(t, out2)
	if a[0] == b[0] {
		t.Errorf("two runs got the same host entropy: %s", a[0])
	}
	// A file as the entropy source (QEMU's rng-random): known bytes.
	src := filepath.Join(t.TempDir(), "entropy")
	pattern := make([]byte, 256)
	for i := range pattern {
		pattern[i] = byte(i)
	}
	if err := os.WriteFile(src, pattern, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runRNG(t, "-object", "rng-random,id=r0,filename="+src, "-device", "virtio-rng-device,rng=r0")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want := []string{
		"rng a: len 16 " + hex.EncodeToString(pattern[0:16]),
		"rng b: len 16 " + hex.EncodeToString(pattern[16:32]),
		"rng c: len 16 " + hex.EncodeToString(pattern[32:48]),
		"rng d: len 8 " + hex.EncodeToString(pattern[48:56]),
		"rng e: len 24 " + hex.EncodeToString(pattern[56:80]),
		"rng f: len 16 " + hex.EncodeToString(pattern[80:96]),
	}
	got := rngLines(t, out)
	for i := range got {
		got[i] = strings.TrimSuffix(got[i], "\r")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entropy from a file (-want +got):\n%s", diff)
	}
	// An exhausted entropy file is an error, not garbage.
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, pattern[:20], 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runRNG(t, "-object", "rng-random,id=r0,filename="+short, "-device", "virtio-rng-device,rng=r0")
	if code == 0 || !strings.Contains(stderr, "reading host entropy") {
		t.Errorf("short entropy file: exit %d\n%s", code, stderr)
	}
}

func TestVirtioRNGRecordReplay(t *testing.T) {
	bin := rewindBinary(t)
	rec := filepath.Join(t.TempDir(), "rng.rwd")
	cmd := exec.Command(bin, "record", "-o", rec, "--stats", "-bios", "none", "-kernel", rngELF, "-device", "virtio-rng-device")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("record: %v\n%s", err, errb.String())
	}
	recorded := rngLines(t, out.String())
	code, replayed, stderr := replayCLI(t, "--stats", rec)
	if code != 0 {
		t.Fatalf("replay exit %d\n%s", code, stderr)
	}
	if diff := cmp.Diff(recorded, rngLines(t, replayed)); diff != "" {
		t.Errorf("replayed entropy differs (-recorded +replayed):\n%s", diff)
	}
	if got, want := statsField(t, digestRE, stderr), statsField(t, digestRE, errb.String()); got != want {
		t.Errorf("final digest %s, recorded %s", got, want)
	}
	// The recording holds the bytes as entropy events: 5 fills, 96 bytes.
	r, err := rrlog.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var fills, total int
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Kind == rrlog.KindEntropy {
			_, data, err := ev.Entropy()
			if err != nil {
				t.Fatal(err)
			}
			fills++
			total += len(data)
		}
	}
	if fills != 5 || total != 96 {
		t.Errorf("recording has %d entropy events with %d bytes, want 5 with 96", fills, total)
	}
	// A replay flag cannot add or change devices.
	if code, _, stderr := replayCLI(t, "-device", "virtio-rng-device", rec); code == 0 || !strings.Contains(stderr, "the recording defines it") {
		t.Errorf("replay -device: exit %d\n%s", code, stderr)
	}
}

// The device tree carries a fresh rng-seed by default, the one given with
// -rng-seed, or none; the timebase is 1 GHz.
func TestRNGSeedAndTimebase(t *testing.T) {
	dtb := func(t *testing.T, args ...string) *fdt.Node {
		t.Helper()
		var f machineFlags
		fs := newTestFlagSet(&f)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		b, err := f.build(&bytes.Buffer{}, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		root, err := fdt.Parse(b.m.DTB)
		if err != nil {
			t.Fatal(err)
		}
		return root
	}
	seedOf := func(root *fdt.Node) []byte {
		v, _ := root.Find("/chosen").Prop("rng-seed")
		return v
	}
	a, b := seedOf(dtb(t)), seedOf(dtb(t))
	if len(a) != machine.RNGSeedSize || bytes.Equal(a, b) {
		t.Errorf("default seeds % x and % x: want two different %d-byte seeds", a, b, machine.RNGSeedSize)
	}
	fixed := "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	if got := hex.EncodeToString(seedOf(dtb(t, "-rng-seed", fixed))); got != fixed {
		t.Errorf("-rng-seed: got %s", got)
	}
	if got := seedOf(dtb(t, "-rng-seed", "none")); got != nil {
		t.Errorf("-rng-seed none: got % x", got)
	}
	tb, _ := dtb(t).Find("/cpus").Prop("timebase-frequency")
	if !bytes.Equal(tb, []byte{0x3b, 0x9a, 0xca, 0x00}) {
		t.Errorf("timebase-frequency % x, want 1 GHz", tb)
	}
	for _, bad := range []string{"xyz", "0", strings.Repeat("00", 1025)} {
		var f machineFlags
		fs := newTestFlagSet(&f)
		if err := fs.Parse([]string{"-rng-seed", bad}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.build(&bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-rng-seed") {
			t.Errorf("-rng-seed %.10s: err %v", bad, err)
		}
	}
}

// A recording keeps the seed and timebase, and replay uses them; a
// recording without a timebase (made before it was recorded) replays at
// QEMU's 10 MHz.
func TestRecordedSeedAndTimebase(t *testing.T) {
	const seed = "0badc0ffee"
	rec, _, out := recordBuiltinCLI(t, "-rng-seed", seed)
	_, cfg := readRecordedConfig(t, rec)
	if cfg.RNGSeed != seed || cfg.TimebaseHz != machine.DefaultTimebaseHz {
		t.Errorf("recorded rng_seed %q timebase %d", cfg.RNGSeed, cfg.TimebaseHz)
	}
	code, got, stderr := replayCLI(t, rec)
	if code != 0 || got != string(out) {
		t.Fatalf("replay: exit %d, same output %v\n%s", code, got == string(out), stderr)
	}
	var f machineFlags
	if err := applyRecorded(newTestFlagSet(&f), &f, recordedConfig{Mem: "256M", ICount: "shift=0"}); err != nil {
		t.Fatal(err)
	}
	if f.timebase != machine.QEMUTimebaseHz || f.recordedSeed != nil {
		t.Errorf("legacy recording: timebase %d seed % x", f.timebase, f.recordedSeed)
	}
}

func TestParseDeviceAndObject(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-device", "virtio-rng-pci"}, "no PCI bus"},
		{[]string{"-device", "e1000"}, "unknown device"},
		{[]string{"-device", "virtio-rng-device,max-bytes=1024,period=1000"}, "rate limiting"},
		{[]string{"-device", "virtio-rng-device,rng=nope"}, "no -object with id=nope"},
		{[]string{"-device", "virtio-rng-device", "-device", "virtio-rng-device"}, "only one entropy device"},
		{[]string{"-object", "memory-backend-ram,id=m"}, "unsupported object type"},
		{[]string{"-object", "rng-random,filename=/dev/urandom"}, "missing id"},
		{[]string{"-object", "rng-random,id=a", "-object", "rng-builtin,id=a"}, "duplicate id"},
		{[]string{"-object", "rng-random,id=a,filename=/nonexistent/rng", "-device", "virtio-rng-device,rng=a"}, "no such file"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(append([]string{"run"}, tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want an error mentioning %q:\n%s", code, tc.want, stderr)
			}
		})
	}
}

// newTestFlagSet returns a flag set with the machine flags registered on f.
func newTestFlagSet(f *machineFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.register(fs)
	return fs
}

// readRecordedConfig returns a recording's header and machine
// configuration.
func readRecordedConfig(t *testing.T, rec string) (rrlog.Header, recordedConfig) {
	t.Helper()
	r, err := rrlog.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := r.Header()
	var cfg recordedConfig
	if err := json.Unmarshal(h.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	return h, cfg
}
