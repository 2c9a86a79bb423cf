package cli

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The record/replay tests run the real binary as a user would: a
// recording driven through the serial port with irregular real-time gaps,
// then replays compared byte for byte.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func rewindBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rewind-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "rewind")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/rewind").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// console is the test's end of a guest serial port.
type console struct {
	t    testing.TB
	mu   sync.Mutex
	buf  bytes.Buffer
	mark int
	in   io.Writer
	rng  *rand.Rand
}

func newConsole(t testing.TB, out io.Reader, in io.Writer) *console {
	c := &console{t: t, in: in, rng: rand.New(rand.NewPCG(1, 2))}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := out.Read(b)
			c.mu.Lock()
			c.buf.Write(b[:n])
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return c
}

func (c *console) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}

// expect waits until s appears after the previous match.
func (c *console) expect(s string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		i := bytes.Index(c.buf.Bytes()[c.mark:], []byte(s))
		if i >= 0 {
			c.mark += i + len(s)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("timed out waiting for %q; console tail:\n%s", s, tail(c.bytes(), 2000))
}

// typeLine types s a few characters at a time with irregular gaps, like
// a person (or a flaky network) would.
func (c *console) typeLine(s string) {
	c.t.Helper()
	for len(s) > 0 {
		n := 1 + c.rng.IntN(4)
		if n > len(s) {
			n = len(s)
		}
		if _, err := c.in.Write([]byte(s[:n])); err != nil {
			c.t.Fatalf("typing %q: %v", s, err)
		}
		s = s[n:]
		time.Sleep(time.Duration(c.rng.IntN(25)) * time.Millisecond)
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// linuxCommands is the recorded session: disk reads and writes, a
// workload, and idle time.
var linuxCommands = []string{
	"uname -a",
	"mount -t ext4 /dev/vda /mnt",
	"cat /mnt/hello.txt",
	"gowork",
	"echo recorded-by-rewind > /mnt/rr.txt",
	"sync",
	"sleep 2",
	"cat /mnt/rr.txt",
	"umount /mnt",
}

func linuxArgs(dir string) []string {
	return []string{"-m", "256M", "-bios", filepath.Join(dir, "fw_jump.bin"),
		"-kernel", filepath.Join(dir, "Image"), "-initrd", filepath.Join(dir, "initramfs.cpio"),
		"-append", "console=ttyS0", "-drive", "file=" + filepath.Join(dir, "disk.img") + ",format=raw"}
}

func drive(t *testing.T, c *console) {
	t.Helper()
	c.expect("\n$ ", 2*time.Minute)
	for _, cmd := range linuxCommands {
		c.typeLine(cmd + "\n")
		c.expect("\n$ ", 2*time.Minute)
	}
	c.typeLine("poweroff\n")
}

var (
	digestRE  = regexp.MustCompile(`state digest ([0-9a-f]{64})`)
	overlayRE = regexp.MustCompile(`disk0 overlay: (.*)`)
	checkedRE = regexp.MustCompile(`(\d+) state digests verified`)
)

func statsField(t *testing.T, re *regexp.Regexp, stderr string) string {
	t.Helper()
	m := re.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("%v not found in stderr:\n%s", re, stderr)
	}
	return m[1]
}

// engine returns name, or the interpreter on a host without the compiled
// engine.
func engine(name string) string {
	if !jitHost {
		return "interp"
	}
	return name
}

// replayAndCompare replays rec once on each of the engines and checks
// each replay against the recorded console output, digest and disk
// overlay (and that it verified the recorded state digests).
func replayAndCompare(t *testing.T, bin, rec string, wantOut []byte, recStderr string, engines ...string) {
	t.Helper()
	wantDigest := statsField(t, digestRE, recStderr)
	// A machine without a disk has no overlay line; one with a disk must
	// have it in the replay too.
	var wantOverlay string
	if m := overlayRE.FindStringSubmatch(recStderr); m != nil {
		wantOverlay = m[1]
	}
	for i, eng := range engines {
		cmd := exec.Command(bin, "replay", "--stats", "--engine", engine(eng), "-serial", "stdio", rec)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Stdin = strings.NewReader("this host input must be ignored\n")
		if err := cmd.Run(); err != nil {
			t.Fatalf("replay %d: %v\n%s", i, err, errb.String())
		}
		if !bytes.Equal(out.Bytes(), wantOut) {
			t.Fatalf("replay %d: console output differs from the recording (%d vs %d bytes)\nreplay tail:\n%s\nrecording tail:\n%s",
				i, out.Len(), len(wantOut), tail(out.Bytes(), 800), tail(wantOut, 800))
		}
		if got := statsField(t, digestRE, errb.String()); got != wantDigest {
			t.Fatalf("replay %d: final state digest %s, recorded %s", i, got, wantDigest)
		}
		if wantOverlay != "" {
			if got := statsField(t, overlayRE, errb.String()); got != wantOverlay {
				t.Fatalf("replay %d: disk overlay %s, recorded %s", i, got, wantOverlay)
			}
		}
		if n := statsField(t, checkedRE, errb.String()); n == "0" {
			t.Fatalf("replay %d verified no state digest:\n%s", i, errb.String())
		}
	}
}

// TestRecordReplayLinuxStdio records on the compiled engine and replays
// on the interpreter (and on the compiled engine): the engine is not part
// of a recording.
func TestRecordReplayLinuxStdio(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := guestDir(t)
	bin := rewindBinary(t)
	rec := filepath.Join(t.TempDir(), "run.rwd")
	args := append([]string{"record", "-o", rec, "--engine", engine("jit"), "--stats", "--digest-interval", "20000000", "-serial", "stdio"}, linuxArgs(dir)...)
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := newConsole(t, stdout, stdin)
	drive(t, c)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("record: %v\n%s", err, errb.String())
	}
	out := c.bytes()
	for _, want := range []string{"Hello from the virtio-blk disk!", "gowork done", "\nrecorded-by-rewind"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("recorded session lacks %q:\n%s", want, tail(out, 3000))
		}
	}
	replayAndCompare(t, bin, rec, out, errb.String(), "interp", "jit", "interp")

	// The log tools work on it.
	for _, sub := range []string{"info", "verify", "dump"} {
		code, o, e := runCLI("log", sub, rec)
		if code != 0 {
			t.Fatalf("log %s: exit %d\n%s%s", sub, code, o, e)
		}
	}
}

// TestRecordReplayLinuxTCP records on the interpreter and replays on the
// compiled engine (and on the interpreter).
func TestRecordReplayLinuxTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := guestDir(t)
	bin := rewindBinary(t)
	rec := filepath.Join(t.TempDir(), "tcp.rwd")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := append([]string{"record", "-o", rec, "--engine", "interp", "--stats", "--digest-interval", "20000000", "-serial", fmt.Sprintf("tcp:127.0.0.1:%d,server", port)}, linuxArgs(dir)...)
	cmd := exec.Command(bin, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var conn net.Conn
	for i := 0; i < 200; i++ {
		if conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if conn == nil {
		t.Fatalf("could not connect to the serial port: %v\n%s", err, errb.String())
	}
	c := newConsole(t, conn, conn)
	drive(t, c)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("record: %v\n%s", err, errb.String())
	}
	time.Sleep(100 * time.Millisecond)
	conn.Close()
	replayAndCompare(t, bin, rec, c.bytes(), errb.String(), "jit", "interp", "jit")
}
