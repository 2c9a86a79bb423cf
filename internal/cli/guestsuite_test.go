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

// Tests that run software nobody on the project wrote — the Go standard
// library's own tests — and a program that needs the kernel's random
// generator right after boot, inside the Linux guest, under record and
// replay at default settings.

// mkfsExt4 returns the path of mkfs.ext4 (often in /sbin, outside a
// user's PATH).
func mkfsExt4(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mkfs.ext4"); err == nil {
		return p
	}
	for _, p := range []string{"/sbin/mkfs.ext4", "/usr/sbin/mkfs.ext4"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("mkfs.ext4 not found (install e2fsprogs)")
	}
	t.Skip("mkfs.ext4 not found (install e2fsprogs)")
	return ""
}

// makeExt4 packs the directory root into a fresh ext4 image of sizeMiB
// (e2fsprogs' mkfs.ext4 -d), with a fixed UUID, hash seed and time so the
// same tree gives the same image.
func makeExt4(t *testing.T, root string, sizeMiB int) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "disk.img")
	const uuid = "5e1f0d2c-7a3b-4c2d-9e8f-0123456789ab"
	cmd := exec.Command(mkfsExt4(t), "-q", "-F", "-U", uuid, "-E", "hash_seed="+uuid,
		"-d", root, img, fmt.Sprintf("%dM", sizeMiB))
	cmd.Env = append(os.Environ(), "E2FSPROGS_FAKE_TIME=1700000000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	return img
}

// goRISCV runs the go command with GOOS=linux GOARCH=riscv64 (static,
// no cgo).
func goRISCV(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// guestSession is one run of the Linux guest through the real binary with
// a console the test types into.
type guestSession struct {
	cmd    *exec.Cmd
	con    *console
	stderr bytes.Buffer
}

// startGuest starts `rewind MODE ... ` on the Linux guest with the given
// disk and extra options.
func startGuest(t *testing.T, mode string, disk string, extra ...string) *guestSession {
	t.Helper()
	dir := guestDir(t)
	args := []string{mode, "--stats", "-serial", "stdio", "-m", "512M",
		"-bios", filepath.Join(dir, "fw_jump.bin"), "-kernel", filepath.Join(dir, "Image"),
		"-initrd", filepath.Join(dir, "initramfs.cpio"), "-append", "console=ttyS0",
		"-drive", "file=" + disk + ",format=raw"}
	if mode == "run" {
		args[len(args)-1] += ",snapshot=on"
	}
	s := &guestSession{cmd: exec.Command(rewindBinary(t), append(args, extra...)...)}
	stdin, _ := s.cmd.StdinPipe()
	stdout, _ := s.cmd.StdoutPipe()
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	s.con = newConsole(t, stdout, stdin)
	return s
}

// wait waits for the guest to power off.
func (s *guestSession) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v\nconsole tail:\n%s\nstderr:\n%s", err, tail(s.con.bytes(), 2000), s.stderr.String())
		}
	case <-time.After(timeout):
		_ = s.cmd.Process.Kill()
		t.Fatalf("guest still running after %v\nconsole tail:\n%s", timeout, tail(s.con.bytes(), 2000))
	}
}

// replayOnce replays rec and checks the console output and final digest
// against the recording's.
func replayOnce(t *testing.T, rec string, wantOut []byte, recStderr string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(rewindBinary(t), "replay", "--stats", "-serial", "stdio", rec)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("replay: %v\n%s", err, errb.String())
	}
	if !bytes.Equal(out.Bytes(), wantOut) {
		t.Fatalf("replay console output differs from the recording (%d vs %d bytes)\nreplay tail:\n%s\nrecording tail:\n%s",
			out.Len(), len(wantOut), tail(out.Bytes(), 800), tail(wantOut, 800))
	}
	if got, want := statsField(t, digestRE, errb.String()), statsField(t, digestRE, recStderr); got != want {
		t.Fatalf("replay final state digest %s, recorded %s", got, want)
	}
	if n := statsField(t, checkedRE, errb.String()); n == "0" {
		t.Fatalf("replay verified no state digest:\n%s", errb.String())
	}
	t.Logf("replay: %s, %v", statsField(t, checkedRE, errb.String())+" digests verified", time.Since(start).Round(time.Millisecond))
}

var randomRE = regexp.MustCompile(`RANDOM ([0-9a-f]{32})`)

// A program that calls getrandom(…, 0) right after boot returns under
// run, record and replay at default settings, and replay returns the
// recorded bytes.
func TestGetrandomAfterBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	guestDir(t)
	root := t.TempDir()
	goRISCV(t, "build", "-trimpath", "-o", filepath.Join(root, "getrandom"), "./testdata/getrandom/main.go")
	disk := makeExt4(t, root, 16)
	session := func(mode string, extra ...string) (*guestSession, string) {
		s := startGuest(t, mode, disk, extra...)
		s.con.expect("\n$ ", 2*time.Minute)
		s.con.typeLine("mount -t ext4 /dev/vda /mnt && /mnt/getrandom\n")
		s.con.expect("RANDOM ", 5*time.Minute)
		s.con.expect("\n$ ", time.Minute)
		s.con.typeLine("poweroff\n")
		s.wait(t, 2*time.Minute)
		m := randomRE.FindSubmatch(s.con.bytes())
		if m == nil {
			t.Fatalf("%s: no random bytes printed:\n%s", mode, tail(s.con.bytes(), 1000))
		}
		return s, string(m[1])
	}
	_, ran := session("run")
	rec := filepath.Join(t.TempDir(), "getrandom.rwd")
	s, recorded := session("record", "-o", rec)
	if ran == recorded {
		t.Errorf("run and record got the same random bytes %s: the rng-seed is not fresh", ran)
	}
	replayOnce(t, rec, s.con.bytes(), s.stderr.String())
}

// stdlibSuite lists the Go standard-library packages whose tests run in
// the guest: math, strconv, crypto, encoding, sort, regexp, sync/atomic,
// fmt and friends — about 11.6 billion guest instructions with
// -test.short.
var stdlibSuite = []string{
	"math", "math/bits", "strconv", "sort", "regexp", "sync/atomic", "fmt",
	"encoding/json", "encoding/base64", "encoding/binary", "encoding/hex",
	"crypto/sha256", "crypto/ed25519", "crypto/hmac", "crypto/aes",
	"hash/crc32", "unicode/utf8", "bytes", "strings", "container/list",
	"bufio", "errors", "path", "text/tabwriter",
}

// The Go standard library's own tests, cross-compiled for riscv64, pass
// in the Linux guest recorded at default settings, and the recording
// replays with identical console output and verified digests. A CPU
// conformance and determinism test at scale.
func TestGoStdlibSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux and runs billions of instructions")
	}
	guestDir(t)
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	root := t.TempDir()
	start := time.Now()
	var script strings.Builder
	for _, pkg := range stdlibSuite {
		name := strings.ReplaceAll(pkg, "/", "_")
		dir := filepath.Join(root, name)
		goRISCV(t, "test", "-c", "-trimpath", "-o", filepath.Join(dir, name+".test"), pkg)
		// Tests read their testdata from the working directory.
		src := filepath.Join(strings.TrimSpace(string(goroot)), "src", pkg, "testdata")
		if _, err := os.Stat(src); err == nil {
			if out, err := exec.Command("cp", "-r", src, dir).CombinedOutput(); err != nil {
				t.Fatalf("copy testdata: %v\n%s", err, out)
			}
		}
		fmt.Fprintf(&script, "cd /mnt/%s\n./%s.test -test.short -test.timeout 30m > /tmp/%s.log 2>&1\necho \"SUITE %s exit $?\"\ntail -n 3 /tmp/%s.log\n",
			name, name, name, pkg, name)
	}
	script.WriteString("echo SUITE-DONE\npoweroff\n")
	if err := os.WriteFile(filepath.Join(root, "run.sh"), []byte(script.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	disk := makeExt4(t, root, 256)
	t.Logf("built %d test binaries and the disk in %v", len(stdlibSuite), time.Since(start).Round(time.Second))
	if keep := os.Getenv("REWIND_SUITE_DISK"); keep != "" {
		// scripts/stdlib-suite.sh runs QEMU on the same disk.
		data, err := os.ReadFile(disk)
		if err == nil {
			err = os.WriteFile(keep, data, 0o644)
		}
		if err != nil {
			t.Fatalf("REWIND_SUITE_DISK: %v", err)
		}
	}

	start = time.Now()
	rec := filepath.Join(t.TempDir(), "stdlib.rwd")
	s := startGuest(t, "record", disk, "-o", rec)
	s.con.expect("\n$ ", 2*time.Minute)
	s.con.typeLine("mount -t ext4 /dev/vda /mnt && gosh /mnt/run.sh\n")
	s.wait(t, 40*time.Minute)
	out := s.con.bytes()
	t.Logf("record: %v; %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(statsLine(s.stderr.String())))
	if !bytes.Contains(out, []byte("SUITE-DONE")) {
		t.Fatalf("the suite did not finish:\n%s", tail(out, 3000))
	}
	for _, pkg := range stdlibSuite {
		if !bytes.Contains(out, []byte("SUITE "+pkg+" exit 0")) {
			t.Errorf("%s failed in the guest:\n%s", pkg, tail(out, 3000))
		}
	}
	if t.Failed() {
		return
	}
	replayOnce(t, rec, out, s.stderr.String())
}

// statsLine returns the "... instructions, ... MIPS" line of --stats.
func statsLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "MIPS") {
			return l
		}
	}
	return ""
}
