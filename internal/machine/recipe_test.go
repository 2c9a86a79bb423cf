package machine

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/block"
)

// The tests in this file check a guest made by the project's own recipe,
// guest/linux/build.sh, which takes minutes and needs Debian packages,
// so they never run in CI (which boots ../shared/guest) and run only when
// pointed at the recipe's output:
//
//	guest/linux/build.sh ~/rewind-guest
//	REWIND_RECIPE_OUT=~/rewind-guest go test -run Recipe ./internal/machine

// recipeDir returns the directory the recipe filled, or skips.
func recipeDir(t *testing.T) string {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Skip("the recipe's guest is checked by hand, not in CI (set REWIND_RECIPE_OUT outside CI)")
	}
	dir := os.Getenv("REWIND_RECIPE_OUT")
	if dir == "" {
		t.Skip("REWIND_RECIPE_OUT is not set (a directory guest/linux/build.sh filled)")
	}
	if testing.Short() {
		t.Skip("boots Linux")
	}
	for _, f := range []string{"fw_jump.bin", "Image", "Image-smp", "initramfs.cpio", "disk.img", "disk-files.sha256", "expected-output.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("REWIND_RECIPE_OUT=%s is not a finished recipe build: %v", dir, err)
		}
	}
	return dir
}

// recipeSeed is the device tree's /chosen/rng-seed in these tests.
var recipeSeed = bytes.Repeat([]byte{0x5e, 0xed}, RNGSeedSize/2)

// recipeConfig boots kernel (Image or Image-smp) from dir as the README
// shows, with an rng-seed, a virtio-rng device fed from a fixed stream,
// and the disk behind an overlay.
func recipeConfig(t *testing.T, dir, kernel string) (Config, *block.Overlay) {
	raw, err := block.OpenRaw(filepath.Join(dir, "disk.img"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	ov := block.NewOverlay(raw)
	var key [32]byte
	copy(key[:], "rewind recipe test entropy")
	return Config{
		RAMSize:       256 << 20,
		Firmware:      readGuest(t, dir, "fw_jump.bin"),
		Kernel:        readGuest(t, dir, kernel),
		Initrd:        readGuest(t, dir, "initramfs.cpio"),
		Append:        "console=ttyS0 earlycon=sbi panic=-1",
		RTCBaseUnixNs: 1_700_000_000e9,
		Disks:         []block.Device{ov},
		RNGSeed:       recipeSeed,
		RNG:           true,
		Entropy:       rand.NewChaCha8(key),
	}, ov
}

// command is one command of expected-output.txt and what it must print.
type command struct {
	line string
	want []string
}

// expectedOutput parses expected-output.txt: "$ cmd" lines, each
// followed by the lines that command prints; "#" lines are comments.
func expectedOutput(t *testing.T, dir string) []command {
	var cmds []command
	sc := bufio.NewScanner(bytes.NewReader(readGuest(t, dir, "expected-output.txt")))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "$ "):
			cmds = append(cmds, command{line: strings.TrimPrefix(line, "$ ")})
		case strings.HasPrefix(line, "#") && len(cmds) == 0:
		case len(cmds) == 0:
			t.Fatalf("expected-output.txt: output before the first command: %q", line)
		default:
			cmds[len(cmds)-1].want = append(cmds[len(cmds)-1].want, line)
		}
	}
	if len(cmds) < 3 {
		t.Fatalf("expected-output.txt has %d commands, want csum, gowork and csum of the disk files", len(cmds))
	}
	return cmds
}

// outputs splits a console transcript at the shell prompts and returns
// what each typed command printed, by command line.
func outputs(transcript string) map[string][]string {
	out := map[string][]string{}
	for _, chunk := range strings.Split(strings.ReplaceAll(transcript, "\r\n", "\n"), prompt)[1:] {
		lines := strings.Split(strings.TrimSuffix(chunk, "\n"), "\n")
		out[lines[0]] = lines[1:]
	}
	return out
}

// kernelRelease reads the "Linux version X" banner from an Image.
func kernelRelease(t *testing.T, image []byte) string {
	m := regexp.MustCompile(`Linux version (\S+)`).FindSubmatch(image)
	if m == nil {
		t.Fatal("no Linux version string in Image")
	}
	return string(m[1])
}

// TestRecipeGuest boots the recipe's single-hart kernel with its
// initramfs and disk, and checks uname, the entropy setup (the rng-seed
// initialises the random pool at boot; virtio-rng is the hardware RNG),
// the disk's file digests and the workloads' output against the build
// host's; then runs the session again and requires the same run.
func TestRecipeGuest(t *testing.T) {
	dir := recipeDir(t)
	cfg, ov := recipeConfig(t, dir, "Image")
	sums := readGuest(t, dir, "disk-files.sha256")
	var files []string
	for _, l := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			files = append(files, f[1])
		}
	}
	cmds := expectedOutput(t, dir)
	lines := []string{
		"uname -a",
		"cat /proc/sys/kernel/random/entropy_avail",
		"cat /sys/class/misc/hw_random/rng_current",
		"dmesg",
		"mount -t ext4 /dev/vda /mnt",
		"cd /mnt",
		"shasum -a 256 " + strings.Join(files, " "),
	}
	for _, c := range cmds {
		lines = append(lines, c.line)
	}
	lines = append(lines, "poweroff")
	var steps []step
	for _, l := range lines {
		steps = append(steps, step{Expect: prompt, Send: l + "\n"})
	}
	s := newSession(t, cfg, steps)
	res := s.run(20_000_000_000)
	if res.Reason != HaltPowerOff {
		t.Fatalf("halt %v; console:\n%s", res.Reason, s.String())
	}
	t.Logf("powered off after %d instructions", res.ICount)
	out := outputs(s.String())

	release := kernelRelease(t, cfg.Kernel)
	uname := regexp.MustCompile(`^Linux \S+ ` + regexp.QuoteMeta(release) + ` #1 .* riscv64$`)
	if u := out["uname -a"]; len(u) != 1 || !uname.MatchString(u[0]) {
		t.Errorf("uname -a printed %q, want Linux %s #1 ... riscv64", u, release)
	}
	// The kernel trusts the bootloader's seed: the pool is full (256
	// bits) and crng was ready before user space started.
	if e := out["cat /proc/sys/kernel/random/entropy_avail"]; len(e) != 1 || e[0] != "256" {
		t.Errorf("entropy_avail: %q, want 256", e)
	}
	if r := out["cat /sys/class/misc/hw_random/rng_current"]; len(r) != 1 || !strings.HasPrefix(r[0], "virtio_rng") {
		t.Errorf("hw_random rng_current: %q, want virtio_rng.N", r)
	}
	dmesg := strings.Join(out["dmesg"], "\n")
	crng, initStart := strings.Index(dmesg, "random: crng init done"), strings.Index(dmesg, "Run /init")
	if crng < 0 || initStart < 0 || crng > initStart {
		t.Errorf("dmesg: want \"random: crng init done\" before \"Run /init\":\n%s", dmesg)
	}
	// u-root's shasum separates digest and name by one space, sha256sum by two.
	fields := func(lines []string) (f [][]string) {
		for _, l := range lines {
			f = append(f, strings.Fields(l))
		}
		return f
	}
	shasum := out["shasum -a 256 "+strings.Join(files, " ")]
	if diff := cmp.Diff(fields(strings.Split(strings.TrimSpace(string(sums)), "\n")), fields(shasum)); diff != "" {
		t.Errorf("disk file digests differ from disk-files.sha256 (-want +got):\n%s", diff)
	}
	for _, c := range cmds {
		if diff := cmp.Diff(c.want, out[c.line]); diff != "" {
			t.Errorf("%s: output differs from the build host's (-want +got):\n%s", c.line, diff)
		}
	}
	if t.Failed() {
		t.Logf("console:\n%s", s.String())
		return
	}

	// The same machine given the same input at the same instruction
	// counts (and the same entropy stream) repeats the run exactly.
	cfg2, ov2 := recipeConfig(t, dir, "Image")
	var out2 bytes.Buffer
	cfg2.Console = &out2
	m2, err := New(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	m2.Idle, m2.NoHostInput = IdleFast, true
	if res2 := runTimeline(t, m2, s.entered, 20_000_000_000); res2 != res {
		t.Errorf("second run ended %+v, first %+v", res2, res)
	}
	if out2.String() != s.String() {
		t.Errorf("console output differs between runs (%d vs %d bytes)", out2.Len(), len(s.String()))
	}
	if d1, d2 := s.m.Digest(), m2.Digest(); d1 != d2 {
		t.Errorf("final state digest differs: %s vs %s", fmtDigest(d1), fmtDigest(d2))
	}
	if diff := cmp.Diff(ov.Save(), ov2.Save()); diff != "" {
		t.Errorf("disk overlays differ")
	}
}

// TestRecipeGuestSMP boots the recipe's multi-hart kernel on Rewind's one
// hart: it must come up and run gowork's four goroutines as the host did.
func TestRecipeGuestSMP(t *testing.T) {
	dir := recipeDir(t)
	cfg, _ := recipeConfig(t, dir, "Image-smp")
	var gowork command
	for _, c := range expectedOutput(t, dir) {
		if c.line == "gowork" {
			gowork = c
		}
	}
	if gowork.want == nil {
		t.Fatal("expected-output.txt has no gowork")
	}
	s := newSession(t, cfg, []step{
		{Expect: prompt, Send: "uname -a\n"},
		{Expect: prompt, Send: "gowork\n"},
		{Expect: prompt, Send: "poweroff\n"},
	})
	if res := s.run(10_000_000_000); res.Reason != HaltPowerOff {
		t.Fatalf("halt %v; console:\n%s", res.Reason, s.String())
	}
	out := outputs(s.String())
	if u := strings.Join(out["uname -a"], "\n"); !strings.Contains(u, " SMP ") {
		t.Errorf("uname -a of Image-smp: %q, want an SMP kernel", u)
	}
	if diff := cmp.Diff(gowork.want, out["gowork"]); diff != "" {
		t.Errorf("gowork on Image-smp (-want +got):\n%s", diff)
	}
}
