//go:build linux

package chardev

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testPTY returns a pty pair; the slave stands in for the user's terminal.
func testPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, s, _, err := openPTYPair()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

func isCanonical(t *testing.T, f *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ICANON != 0
}

type stdioHarness struct {
	b      *stdioBackend
	in     *collector
	out    *syncBuffer
	stderr *syncBuffer
	quits  atomic.Int32
	eofs   atomic.Int32
}

func newStdioHarness(t *testing.T, inFd int, opts Options) *stdioHarness {
	t.Helper()
	h := &stdioHarness{in: newCollector(), out: &syncBuffer{}, stderr: &syncBuffer{}}
	opts.Stderr = h.stderr
	opts.OnQuit = func() { h.quits.Add(1) }
	opts.OnEOF = func() { h.eofs.Add(1) }
	h.b = newStdio(inFd, h.out, opts.withDefaults())
	t.Cleanup(func() { h.b.Close() })
	return h
}

func TestStdioTerminal(t *testing.T) {
	master, slave := testPTY(t)
	if !isCanonical(t, slave) {
		t.Fatal("fresh pty is not in canonical mode")
	}
	h := newStdioHarness(t, int(slave.Fd()), Options{})
	if !h.b.isTerm {
		t.Fatal("pty slave not detected as a terminal")
	}
	h.b.Write([]byte("early\n")) // output works before Start
	if err := h.b.Start(h.in.deliver); err != nil {
		t.Fatal(err)
	}
	if isCanonical(t, slave) {
		t.Fatal("Start did not make the terminal raw")
	}

	type step struct {
		typed  string // bytes the user types
		guest  string // input the guest has received so far
		quits  int32  // OnQuit calls so far
		stderr string // substring expected on stderr so far
	}
	steps := []step{
		{typed: "ls\r", guest: "ls\r"},             // no ICRNL: CR reaches the guest
		{typed: "\x03", guest: "ls\r\x03"},         // Ctrl-C is input, not a signal
		{typed: "\x01\x01", guest: "ls\r\x03\x01"}, // literal Ctrl-a
		{typed: "\x01c", guest: "ls\r\x03\x01"},    // reserved, swallowed
		{typed: "\x01h", guest: "ls\r\x03\x01", stderr: "C-a x    exit emulator"},
		{typed: "a\x01", guest: "ls\r\x03\x01a"},        // escape split across reads ...
		{typed: "x", guest: "ls\r\x03\x01a", quits: 1},  // ... still quits
		{typed: "z", guest: "ls\r\x03\x01az", quits: 1}, // input continues after quit
	}
	for i, s := range steps {
		if _, err := master.Write([]byte(s.typed)); err != nil {
			t.Fatal(err)
		}
		h.in.waitFor(t, s.guest)
		eventually(t, "OnQuit count", func() bool { return h.quits.Load() >= s.quits })
		if s.stderr != "" {
			eventually(t, "help on stderr", func() bool { return strings.Contains(h.stderr.String(), s.stderr) })
		}
		if got := h.quits.Load(); got != s.quits {
			t.Errorf("step %d: OnQuit called %d times, want %d", i, got, s.quits)
		}
	}

	h.b.Write([]byte("line\r\n")) // passed through untouched
	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := h.out.String(), "early\nline\r\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if !isCanonical(t, slave) {
		t.Error("Close did not restore the terminal")
	}
	if h.eofs.Load() != 0 {
		t.Error("OnEOF called on Close")
	}
}

func TestStdioRestoreAll(t *testing.T) {
	_, slave := testPTY(t)
	h := newStdioHarness(t, int(slave.Fd()), Options{})
	if err := h.b.Start(h.in.deliver); err != nil {
		t.Fatal(err)
	}
	if isCanonical(t, slave) {
		t.Fatal("not raw after Start")
	}
	RestoreAll()
	if !isCanonical(t, slave) {
		t.Fatal("RestoreAll did not restore the terminal")
	}
	RestoreAll() // idempotent
	h.b.Restore()
	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	if !isCanonical(t, slave) {
		t.Fatal("terminal not canonical after Close")
	}
}

func TestStdioCustomEscape(t *testing.T) {
	master, slave := testPTY(t)
	h := newStdioHarness(t, int(slave.Fd()), Options{EscapeChar: 0x1d})
	if err := h.b.Start(h.in.deliver); err != nil {
		t.Fatal(err)
	}
	master.Write([]byte("\x01x\x1d\x1d\x1dx"))
	h.in.waitFor(t, "\x01x\x1d")
	eventually(t, "OnQuit", func() bool { return h.quits.Load() == 1 })
}

func TestStdioNotATerminal(t *testing.T) {
	const data = "verbatim \x01x \x01\x01 \r\n \x03 \xff"
	pipeInput := func(t *testing.T) int {
		var p [2]int
		if err := unix.Pipe(p[:]); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(p[0]) })
		go func() {
			unix.Write(p[1], []byte(data[:10]))
			time.Sleep(5 * time.Millisecond)
			unix.Write(p[1], []byte(data[10:]))
			unix.Close(p[1])
		}()
		return p[0]
	}
	fileInput := func(t *testing.T) int {
		name := t.TempDir() + "/in"
		if err := os.WriteFile(name, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return int(f.Fd())
	}
	for _, tt := range []struct {
		name string
		open func(*testing.T) int
	}{{"pipe", pipeInput}, {"file", fileInput}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newStdioHarness(t, tt.open(t), Options{})
			if h.b.isTerm {
				t.Fatal("detected as a terminal")
			}
			if err := h.b.Start(h.in.deliver); err != nil {
				t.Fatal(err)
			}
			h.in.waitFor(t, data)
			eventually(t, "OnEOF", func() bool { return h.eofs.Load() == 1 })
			if h.quits.Load() != 0 {
				t.Error("escape key processed on a non-terminal")
			}
			h.b.Write([]byte("out\n"))
			if err := h.b.Close(); err != nil {
				t.Fatal(err)
			}
			if got := h.out.String(); got != "out\n" {
				t.Errorf("stdout = %q", got)
			}
			if h.eofs.Load() != 1 {
				t.Errorf("OnEOF called %d times, want 1", h.eofs.Load())
			}
		})
	}
}

func TestStdioCloseInterruptsIdleRead(t *testing.T) {
	_, slave := testPTY(t) // nobody types
	h := newStdioHarness(t, int(slave.Fd()), Options{})
	if err := h.b.Start(h.in.deliver); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close blocked on an idle terminal read")
	}
}

func TestStdioClaim(t *testing.T) {
	b, err := Open("stdio", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open("stdio", Options{}); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("second stdio Open = %v, want an 'already used' error", err)
	}
	// Close without Start must not touch the terminal; it frees the claim.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := Open("stdio", Options{})
	if err != nil {
		t.Fatalf("stdio after Close: %v", err)
	}
	b2.Close()
}
