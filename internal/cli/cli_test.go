package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func guestDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("REWIND_GUEST")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "guest")
	}
	if _, err := os.Stat(filepath.Join(dir, "Image")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Linux guest not found (set REWIND_GUEST): %v", err)
		}
		t.Skipf("Linux guest not found: %v", err)
	}
	return dir
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(args, &o, &e)
	return code, o.String(), e.String()
}

// Bad command lines and bad files give a clear message and a nonzero
// exit, never a panic.
func TestRunErrors(t *testing.T) {
	tmp := t.TempDir()
	odd := filepath.Join(tmp, "odd.img")
	if err := os.WriteFile(odd, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"missing kernel", []string{"run", "-bios", "none", "-kernel", filepath.Join(tmp, "nope.elf")}, 1, "no such file"},
		{"missing bios", []string{"run", "-bios", filepath.Join(tmp, "fw.bin"), "-kernel", odd}, 1, "-bios"},
		{"not an elf without bios", []string{"run", "-kernel", odd}, 1, "give the firmware with -bios"},
		{"bad drive syntax", []string{"run", "-drive", "format=raw"}, 1, "missing file=PATH"},
		{"drive without value", []string{"run", "-drive", "file"}, 1, "needs a value"},
		{"drive qcow2", []string{"run", "-drive", "file=x.qcow2,format=qcow2"}, 1, `format "qcow2" is not supported`},
		{"drive missing file", []string{"run", "-drive", "file=" + filepath.Join(tmp, "none.img") + ",format=raw"}, 1, "no such file"},
		{"drive odd size", []string{"run", "-drive", "file=" + odd + ",format=raw"}, 1, "512"},
		{"bad memory size", []string{"run", "-m", "lots"}, 1, "not a size"},
		{"nine harts", []string{"run", "-smp", "9"}, 1, "1 to 8 harts"},
		{"smp topology", []string{"run", "-smp", "4,sockets=1,cores=2"}, 1, "gives 2 harts, not 4"},
		{"schedule range without seed", []string{"run", "-smp", "2", "--schedule", "quantum=5-10"}, 1, "needs a seed"},
		{"schedule seed zero", []string{"run", "-smp", "2", "--schedule", "seed=0"}, 1, "at least 1"},
		{"seeds syntax", []string{"record", "-o", filepath.Join(tmp, "x.rwd"), "--seeds", "5-1"}, 2, "not a seed"},
		{"other board", []string{"run", "-machine", "sifive_u"}, 2, "only the virt board"},
		{"icount auto", []string{"run", "-icount", "shift=auto"}, 1, "auto is not supported"},
		{"bad serial", []string{"run", "-serial", "udp:1.2.3.4:5"}, 1, "udp"},
		{"stray argument", []string{"run", "extra"}, 2, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not mention %q:\n%s", tc.want, stderr)
			}
		})
	}
}

func TestKernelTooLargeForRAM(t *testing.T) {
	dir := guestDir(t)
	code, _, stderr := runCLI("run", "-m", "4M", "-bios", filepath.Join(dir, "fw_jump.bin"),
		"-kernel", filepath.Join(dir, "Image"), "-serial", "null")
	if code != 1 || !strings.Contains(stderr, "does not fit in RAM") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// runBuiltin runs the built-in guest through the binary with args, its
// console on stdio, until the guest's own quit command (typed ahead)
// powers it off. The guest polls its disk, and a request completes at a
// slice boundary after the host worker finished it (as when recording),
// so how many instructions a session takes depends on the host: it must
// end by the guest, not at an instruction budget.
func runBuiltin(t *testing.T, args ...string) (console, stderr string) {
	t.Helper()
	cmd := exec.Command(rewindBinary(t), append([]string{"run", "-serial", "stdio", "--fast-idle"}, args...)...)
	cmd.Stdin = strings.NewReader("quit\r")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := runFor(cmd, 2*time.Minute); err != nil {
		t.Fatalf("%v; stderr:\n%s\nconsole:\n%s", err, e.String(), o.String())
	}
	return o.String(), e.String()
}

// The built-in guest runs with no options at all and uses its disk.
// (--stats and --jit-dump only report.)
func TestBuiltinGuest(t *testing.T) {
	dump := filepath.Join(t.TempDir(), "jit.txt")
	got, stderr := runBuiltin(t, "--stats", "--jit-dump", dump)
	for _, want := range []string{"Rewind built-in guest", "virtio-blk", "boot count 1", "> ", "bye"} {
		if !strings.Contains(got, want) {
			t.Errorf("console lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(stderr, "state digest") || !strings.Contains(stderr, "MIPS") {
		t.Errorf("--stats output missing:\n%s", stderr)
	}
	d, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	if jitHost {
		if !strings.Contains(stderr, "compiled engine:") || !strings.Contains(string(d), "\nblock 0x") {
			t.Errorf("no compiled blocks in --stats or --jit-dump; stderr:\n%s\ndump:\n%.2000s", stderr, d)
		}
	} else if !strings.Contains(string(d), "compiled engine is off") {
		t.Errorf("--jit-dump: %q", d)
	}
}

// -drive without snapshot=on writes the image; with it the image is
// untouched.
func TestDriveSnapshot(t *testing.T) {
	for _, snap := range []bool{false, true} {
		img := filepath.Join(t.TempDir(), "d.img")
		if err := os.WriteFile(img, make([]byte, 64<<10), 0o644); err != nil {
			t.Fatal(err)
		}
		spec := "file=" + img + ",format=raw"
		if snap {
			spec += ",snapshot=on"
		}
		runBuiltin(t, "-drive", spec)
		data, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		// The built-in guest stores its boot counter at sector 1.
		counter := data[512]
		if snap && counter != 0 || !snap && counter != 1 {
			t.Errorf("snapshot=%v: boot counter byte on the image is %d", snap, counter)
		}
	}
}

// An ISA test program through the whole command line: HTIF exit code 0.
func TestBareMetalELF(t *testing.T) {
	code, _, stderr := runCLI("run", "-bios", "none", "-kernel", filepath.Join("..", "..", "testdata", "isa", "rv64m.elf"), "-serial", "null", "-m", "16M")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
}

func TestParseDrive(t *testing.T) {
	tests := []struct {
		in   string
		want DriveSpec
	}{
		{"file=a.img,format=raw", DriveSpec{File: "a.img"}},
		{"file=a.img,format=raw,snapshot=on,if=none,id=d0", DriveSpec{File: "a.img", Snapshot: true}},
		{"file=my,,disk.img,readonly=on", DriveSpec{File: "my,disk.img", ReadOnly: true}},
	}
	for _, tc := range tests {
		got, err := parseDrive(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q:\n%s", tc.in, diff)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"256M", 256 << 20, false}, {"1G", 1 << 30, false}, {"512", 512 << 20, false},
		{"4096K", 4 << 20, false}, {"0", 0, true}, {"1000B", 0, true}, {"99999G", 0, true}, {"", 0, true},
	}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v", tc.in, got, err)
		}
	}
}

// readFileHuge reads what os.ReadFile reads, whatever the size (around
// the sizes where its buffer starts to be advised for huge pages too)
// and for files that are not regular.
func TestReadFileHuge(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 4095, 4096, 1<<20 - 2, 1<<20 - 1, 1 << 20, 4<<20 - 1, 4 << 20, 4<<20 + 4097} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*7 + i>>12)
		}
		path := filepath.Join(dir, "img")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readFileHuge(path)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%d bytes: read %d bytes, not the file's", n, len(got))
		}
	}
	if got, err := readFileHuge(os.DevNull); err != nil || len(got) != 0 {
		t.Errorf("%s: %d bytes, %v", os.DevNull, len(got), err)
	}
	if _, err := readFileHuge(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want a not-exist error", err)
	}
}
