package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// smpArgs boots the SMP kernel of the shared guest with n harts (and,
// with disk, the test disk). The rng-seed is fixed and idle time is
// warped, so with the session typed ahead a run depends on nothing but
// the schedule and, with a disk under record, when the host completes
// its requests.
func smpArgs(t *testing.T, n int, disk bool) []string {
	t.Helper()
	dir := guestDir(t)
	if _, err := os.Stat(filepath.Join(dir, "Image-smp")); err != nil {
		t.Fatalf("SMP kernel missing: %v", err)
	}
	args := []string{"-smp", fmt.Sprint(n), "-m", "256M", "-bios", filepath.Join(dir, "fw_jump.bin"),
		"-kernel", filepath.Join(dir, "Image-smp"), "-initrd", filepath.Join(dir, "initramfs.cpio"),
		"-append", "console=ttyS0", "--fast-idle", "--rng-seed", strings.Repeat("5a", 32)}
	if disk {
		args = append(args, "-drive", "file="+filepath.Join(dir, "disk.img")+",format=raw")
	}
	return args
}

// The multi-hart sessions, typed ahead: the hart count, a Go program
// with four goroutines, checksums (of disk files, or csum's in-memory
// self-test). Typed ahead, the input enters where the guest reads it,
// not where the host happens to deliver it.
//
// That matters because the shared SMP kernel has a vDSO bug: a Go
// program dies when it reads the clock while another hart is descheduled
// inside the kernel's time update (it happens under QEMU -smp 4 as well;
// see guest/linux/kernel.fragment). With host-timed input a test would
// hit it at random; typed ahead, with no disk, a recorded run is a pure
// function of its schedule, which either hits it every time or never.
// The first byte is a newline because the console drops what arrives
// before init opens it.
const (
	smpDiskInput = "\ngrep -c processor /proc/cpuinfo\ngowork\nmount -t ext4 -r /dev/vda /mnt\ncsum /mnt/hello.txt /mnt/data.bin\numount /mnt\npoweroff\n"
	smpInput     = "\ngrep -c processor /proc/cpuinfo\ngowork\ncsum\npoweroff\n"
)

// checkSMPConsole checks what the guest printed for a session; want
// adds session-specific output.
func checkSMPConsole(t *testing.T, out []byte, n int, want ...string) {
	t.Helper()
	if n > 1 {
		if want := fmt.Sprintf("smp: Brought up 1 node, %d CPUs", n); !bytes.Contains(out, []byte(want)) {
			t.Errorf("console lacks %q", want)
		}
	}
	if !regexp.MustCompile(fmt.Sprintf(`\$ (\$ )*%d\r?\n`, n)).Match(out) {
		t.Errorf("/proc/cpuinfo does not list %d processors:\n%s", n, tail(out, 3000))
	}
	for _, w := range append([]string{"gowork done", "gowork integrate pi~3.14159", "reboot: Power down"}, want...) {
		if !bytes.Contains(out, []byte(w)) {
			t.Errorf("console lacks %q:\n%s", w, tail(out, 3000))
		}
	}
}

// TestSMPLinuxBoot boots the SMP kernel with 1, 2, 4 and 8 harts: Linux
// brings up every hart, /proc/cpuinfo lists them, and a Go program with
// four goroutines completes.
func TestSMPLinuxBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	bin := rewindBinary(t)
	for _, n := range []int{1, 2, 4, 8} {
		t.Run(fmt.Sprintf("smp%d", n), func(t *testing.T) {
			args := append([]string{"run", "--stats", "-serial", "stdio"}, smpArgs(t, n, true)...)
			args[len(args)-1] += ",snapshot=on"
			out, errb := runSMPSession(t, bin, args, smpDiskInput)
			checkSMPConsole(t, out.Bytes(), n, "1048576 /mnt/data.bin")
			t.Logf("%s", strings.TrimSpace(strings.Split(errb.String(), "\n")[0]))
		})
	}
}

// vdsoCrashRE matches how a Go program reports the shared SMP kernel's
// vDSO bug (README, "Multi-hart machines"): reading the clock while
// another hart is inside the kernel's time update, the vDSO loads from
// address 4 (a pointer it was never relocated to).
var vdsoCrashRE = regexp.MustCompile(`SIGSEGV: segmentation violation\r?\nPC=0x[0-9a-f]+ m=\d+ sigcode=1 addr=0x4\r?\n`)

// vdsoCrashed reports whether console output shows that crash.
func vdsoCrashed(out []byte) bool { return vdsoCrashRE.Match(out) }

// vdsoWatch passes console output to w and calls kill once it shows the
// vDSO bug: the guest then idles on for hours of virtual time, so the
// recorder would only stop at the test's timeout.
type vdsoWatch struct {
	w      *bytes.Buffer
	kill   func()
	killed bool
	segv   int // where the first SIGSEGV report starts, or 0 (none yet)
}

func (v *vdsoWatch) Write(p []byte) (int, error) {
	n, err := v.w.Write(p)
	if v.killed {
		return n, err
	}
	if v.segv == 0 {
		from := max(0, v.w.Len()-len(p)-64)
		if i := bytes.Index(v.w.Bytes()[from:], []byte("SIGSEGV")); i >= 0 {
			v.segv = from + i + 1 // +1: 0 means none
		}
	}
	if v.segv > 0 && vdsoCrashed(v.w.Bytes()[v.segv-1:]) {
		v.killed = true
		v.kill()
	}
	return n, err
}

// runSMPSession runs bin with args and input on stdin, and returns its
// console output and stderr. Input typed ahead enters at host-timed
// points, and so do a disk's completions, so a run can meet the guest
// kernel's vDSO bug (README, Multi-hart machines; about one run in five
// under load): such a run is killed and run again, up to five times in
// all (five in a row would take about one in 3,000).
func runSMPSession(t *testing.T, bin string, args []string, input string) (out, errb *bytes.Buffer) {
	t.Helper()
	out, errb = new(bytes.Buffer), new(bytes.Buffer)
	for attempt := 1; ; attempt++ {
		cmd := exec.Command(bin, args...)
		cmd.Stdin = strings.NewReader(input)
		out.Reset()
		errb.Reset()
		cmd.Stdout, cmd.Stderr = &vdsoWatch{w: out, kill: func() { _ = cmd.Process.Kill() }}, errb
		err := runFor(cmd, 5*time.Minute)
		if vdsoCrashed(out.Bytes()) && attempt < 5 {
			t.Logf("the guest met the SMP kernel's vDSO bug; running again")
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s\nconsole tail:\n%s", args[0], err, errb.String(), tail(out.Bytes(), 3000))
		}
		return out, errb
	}
}

// runFor runs cmd, killing it after d.
func runFor(cmd *exec.Cmd, d time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	timer := time.AfterFunc(d, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	return cmd.Wait()
}

// TestSMPRecordReplayLinux records a 4-hart session under the default
// schedule and under seeded ones, and replays each on both engines: the
// console output is byte-identical and every digest verifies.
func TestSMPRecordReplayLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	bin := rewindBinary(t)
	for _, sched := range []string{"", "seed=11", "seed=12,quantum=500-5000,order=random"} {
		name := sched
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "smp.rwd")
			keepFailed(t, rec)
			args := []string{"record", "-o", rec, "--stats", "--engine", engine("jit"), "--digest-interval", "20000000", "-serial", "stdio"}
			if sched != "" {
				args = append(args, "--schedule", sched)
			}
			out, errb := runSMPSession(t, bin, append(args, smpArgs(t, 4, false)...), smpInput)
			checkSMPConsole(t, out.Bytes(), 4, "csum selftest: bytes=2097152")
			replayAndCompare(t, bin, rec, out.Bytes(), errb.String(), "interp", "jit")
			code, info, e := runCLI("log", "info", rec)
			if code != 0 || !strings.Contains(info, `"harts": 4`) {
				t.Fatalf("log info (exit %d) does not show 4 harts:\n%s%s", code, info, e)
			}
			if sched != "" && !strings.Contains(info, sched) {
				t.Errorf("log info does not show the schedule %q:\n%s", sched, info)
			}
			if sched != "" {
				return
			}
			// The embedded snapshots restore every hart and the scheduler:
			// parallel verification and a trimmed window work as on one hart.
			// (--verify starts the binary itself for each job: not runCLI.)
			if out, err := exec.Command(bin, "replay", "--verify", "--jobs", "2", rec).CombinedOutput(); err != nil || !strings.Contains(string(out), "verified: ") {
				t.Fatalf("replay --verify --jobs 2: %v\n%s", err, out)
			}
			trimmed := filepath.Join(t.TempDir(), "trim.rwd")
			if code, _, e := runCLI("log", "trim", "--from", "250000000", "--to", "500000000", rec, trimmed); code != 0 {
				t.Fatalf("log trim: exit %d\n%s", code, e)
			}
			if code, _, e := runCLI("replay", "--stats", "-serial", "null", trimmed); code != 0 || !strings.Contains(e, "state digests verified") {
				t.Fatalf("replay of the trimmed recording: exit %d\n%s", code, e)
			}
		})
	}
}

var (
	smpRaceELF   = filepath.Join("..", "..", "testdata", "smp-race", "race.elf")
	smpLockedELF = filepath.Join("..", "..", "testdata", "smp-race", "locked.elf")
	lostRE       = regexp.MustCompile(`counter=(\d+) expected=400000 lost=(\d+)`)
)

// TestScheduleExploration: record --seeds records one run per seed until
// the racy counter program prints RACE, keeps that recording and deletes
// the others; the kept recording replays with the same lost update. With
// the lock, no seed fails and nothing is kept.
func TestScheduleExploration(t *testing.T) {
	dir := t.TempDir()
	fail := filepath.Join(dir, "fail.rwd")
	code, _, stderr := runCLI("record", "-o", fail, "--seeds", "1-20", "--until-console", `RACE`,
		"--schedule", "quantum=1000-3000", "-serial", "file:"+filepath.Join(dir, "rec.txt"),
		"-bios", "none", "-kernel", smpRaceELF, "-smp", "2", "-m", "16M", "--fast-idle")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	m := regexp.MustCompile(`seed (\d+) fails: the console matched "RACE"`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no failing seed reported:\n%s", stderr)
	}
	recOut, err := os.ReadFile(filepath.Join(dir, "rec.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lost := lostRE.FindSubmatch(recOut)
	if lost == nil || string(lost[2]) == "0" {
		t.Fatalf("recorded console shows no lost update:\n%s", recOut)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "fail.rwd" && e.Name() != "rec.txt" {
			t.Errorf("passing run left %s behind", e.Name())
		}
	}
	code, info, _ := runCLI("log", "info", fail)
	if code != 0 || !strings.Contains(info, "seed="+m[1]) {
		t.Fatalf("log info does not name seed %s:\n%s", m[1], info)
	}
	for i := 0; i < 2; i++ {
		out := filepath.Join(dir, fmt.Sprintf("replay%d.txt", i))
		code, _, e := runCLI("replay", "--stats", "-serial", "file:"+out, fail)
		if code != 0 {
			t.Fatalf("replay: exit %d\n%s", code, e)
		}
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, recOut) {
			t.Fatalf("replay prints\n%s\nrecording printed\n%s", got, recOut)
		}
	}

	// With the lock no seed loses an update, so nothing is kept.
	ok := filepath.Join(dir, "locked.rwd")
	code, _, stderr = runCLI("record", "-o", ok, "--seeds", "1-5", "--until-console", `RACE|BAD`,
		"--schedule", "quantum=1000-3000", "-serial", "null",
		"-bios", "none", "-kernel", smpLockedELF, "-smp", "2", "-m", "16M", "--fast-idle")
	if code != 1 || !strings.Contains(stderr, "no failure in 5 seeds") {
		t.Fatalf("locked program: exit %d; stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(ok); !os.IsNotExist(err) {
		t.Errorf("a recording was kept although no seed failed: %v", err)
	}
}

// keepFailed copies the recording rec into $REWIND_KEEP_FAILED when the
// test fails, so a failure that happened once can be replayed and
// debugged as often as needed (the recording of a killed session replays
// up to its last complete chunk).
func keepFailed(t *testing.T, rec string) {
	dir := os.Getenv("REWIND_KEEP_FAILED")
	if dir == "" {
		return
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		data, err := os.ReadFile(rec)
		if err != nil {
			t.Logf("keeping the failed recording: %v", err)
			return
		}
		dst := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".rwd")
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Logf("keeping the failed recording: %v", err)
			return
		}
		t.Logf("failed recording kept in %s", dst)
	})
}

func TestVDSOCrashed(t *testing.T) {
	crash := "$ 4\r\nSIGSEGV: segmentation violation\r\nPC=0x3f8214d8ca m=1 sigcode=1 addr=0x4\r\n" +
		"goroutine 0 gp=0x3f39ea8540 m=1 mp=0x3f39efe008 [idle]:\r\nruntime.nanotime()\r\n\truntime/time_nofake.go:33 +0xc\r\n"
	tests := []struct {
		out  string
		want bool
	}{
		{crash, true},
		{"$ 4\r\ngowork done\r\n", false},
		{"SIGSEGV: segmentation violation\r\nPC=0x10 m=0 sigcode=1 addr=0x0\r\nmain.main()\r\n", false},
		{"SIGSEGV: segmentation violation\r\nPC=0x3fa1c4d8ca m=3 sigcode=1 addr=0x4\r\nruntime.walltime()\r\n", true},
	}
	for _, tt := range tests {
		if got := vdsoCrashed([]byte(tt.out)); got != tt.want {
			t.Errorf("vdsoCrashed(%q) = %v", tt.out, got)
		}
		var out bytes.Buffer
		killed := false
		w := &vdsoWatch{w: &out, kill: func() { killed = true }}
		for _, b := range []byte(tt.out) { // byte by byte, as a pipe may deliver it
			_, _ = w.Write([]byte{b})
		}
		if killed != tt.want || out.String() != tt.out {
			t.Errorf("vdsoWatch on %q: killed %v, passed on %q", tt.out, killed, out.String())
		}
	}
}
