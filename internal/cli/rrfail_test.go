package cli

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// recordBuiltinCLI records a built-in guest session through the real
// binary (stdin typed with gaps) with a disk image, and returns the
// recording, the disk image path and the console output.
func recordBuiltinCLI(t *testing.T, extra ...string) (rec, img string, out []byte) {
	t.Helper()
	return recordBuiltinDrive(t, "", extra...)
}

// recordBuiltinDrive is recordBuiltinCLI with more -drive options
// (driveOpts, e.g. ",readonly=on") for its disk.
func recordBuiltinDrive(t *testing.T, driveOpts string, extra ...string) (rec, img string, out []byte) {
	t.Helper()
	bin := rewindBinary(t)
	dir := t.TempDir()
	rec = filepath.Join(dir, "b.rwd")
	img = filepath.Join(dir, "disk.img")
	if err := os.WriteFile(img, bytes.Repeat([]byte{0x5a}, 256<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"record", "-o", rec, "--stats", "--digest-interval", "1000000",
		"-drive", "file=" + img + ",format=raw" + driveOpts, "-serial", "stdio"}, extra...)
	cmd := exec.Command(bin, args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := newConsole(t, stdout, stdin)
	for _, line := range []string{"hello", "disk", "help", "second line"} {
		c.expect("> ", 30*time.Second)
		c.typeLine(line + "\r")
	}
	c.expect("> ", 30*time.Second)
	c.typeLine("quit\r")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("record: %v\n%s", err, errb.String())
	}
	// The image itself is never written by a recording.
	data, _ := os.ReadFile(img)
	if !bytes.Equal(data, bytes.Repeat([]byte{0x5a}, 256<<10)) {
		t.Fatal("recording modified the disk image")
	}
	return rec, img, c.bytes()
}

func replayCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(rewindBinary(t), append([]string{"replay", "-serial", "stdio"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ee.Sys().(syscall.WaitStatus).Signaled() {
			t.Fatalf("replay died from a signal: %v\n%s", err, errb.String())
		}
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errb.String(), "panic") || strings.Contains(errb.String(), "emulator bug") {
		t.Fatalf("replay panicked:\n%s", errb.String())
	}
	return code, out.String(), errb.String()
}

func TestReplayFailures(t *testing.T) {
	rec, img, out := recordBuiltinCLI(t)
	code, got, stderr := replayCLI(t, rec)
	if code != 0 || got != string(out) {
		t.Fatalf("clean replay: exit %d, output equal %v\n%s", code, got == string(out), stderr)
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("truncated", func(t *testing.T) {
		for _, frac := range []int{25, 50, 75, 95} {
			cut := len(data) * frac / 100
			code, got, stderr := replayCLI(t, write("cut.rwd", data[:cut]))
			if code == 0 || code == 2 {
				t.Fatalf("cut at %d%%: exit %d\n%s", frac, code, stderr)
			}
			if code == exitTruncated && !strings.Contains(stderr, "truncated") {
				t.Fatalf("cut at %d%%: no truncation message:\n%s", frac, stderr)
			}
			if code == exitTruncated && !strings.HasPrefix(string(out), got) {
				t.Fatalf("cut at %d%%: replayed output is not a prefix of the recorded output", frac)
			}
		}
		for _, cut := range []int{0, 5, 20} { // inside the header
			code, _, stderr := replayCLI(t, write("hdr.rwd", data[:cut]))
			if code != 1 || stderr == "" {
				t.Fatalf("header cut at %d: exit %d\n%s", cut, code, stderr)
			}
		}
	})

	t.Run("flipped byte", func(t *testing.T) {
		bad := bytes.Clone(data)
		i := bytes.Index(bad, []byte("CHNK"))
		if i < 0 {
			t.Fatal("no chunk found")
		}
		bad[i+20] ^= 0x10
		code, _, stderr := replayCLI(t, write("flip.rwd", bad))
		if code == 0 || !strings.Contains(stderr, "CRC") {
			t.Fatalf("exit %d, want a CRC error:\n%s", code, stderr)
		}
	})

	t.Run("newer version", func(t *testing.T) {
		bad := bytes.Clone(data)
		binary.LittleEndian.PutUint16(bad[8:], 99)
		code, _, stderr := replayCLI(t, write("new.rwd", bad))
		if code != 1 || !strings.Contains(stderr, "newer than this rewind") {
			t.Fatalf("exit %d:\n%s", code, stderr)
		}
	})

	t.Run("modified disk image", func(t *testing.T) {
		other := write("other.img", bytes.Repeat([]byte{0x5b}, 256<<10))
		code, _, stderr := replayCLI(t, "-image", "disk0="+other, rec)
		if code != 1 || !strings.Contains(stderr, "not the recorded one") || !strings.Contains(stderr, other) {
			t.Fatalf("exit %d:\n%s", code, stderr)
		}
		// The same bytes elsewhere are fine.
		orig, _ := os.ReadFile(img)
		same := write("same.img", orig)
		if code, _, stderr := replayCLI(t, "-image", "disk0="+same, rec); code != 0 {
			t.Fatalf("replay with a copy of the image: exit %d\n%s", code, stderr)
		}
	})

	t.Run("contradicting flag", func(t *testing.T) {
		code, _, stderr := replayCLI(t, "-m", "512M", rec)
		if code != 2 || !strings.Contains(stderr, "contradicts the recording") {
			t.Fatalf("exit %d:\n%s", code, stderr)
		}
	})
}

// --self-contained recordings replay with no image at all.
func TestSelfContained(t *testing.T) {
	rec, img, out := recordBuiltinCLI(t, "--self-contained")
	if err := os.Remove(img); err != nil {
		t.Fatal(err)
	}
	code, got, stderr := replayCLI(t, rec)
	if code != 0 || got != string(out) {
		t.Fatalf("exit %d, output equal %v\n%s", code, got == string(out), stderr)
	}
}

// A recorder killed with SIGKILL leaves a recording whose complete part
// replays.
func TestRecorderKilled(t *testing.T) {
	bin := rewindBinary(t)
	rec := filepath.Join(t.TempDir(), "k.rwd")
	cmd := exec.Command(bin, "record", "-o", rec, "-serial", "stdio", "--digest-interval", "1000000")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := newConsole(t, stdout, stdin)
	for _, line := range []string{"one", "two", "three"} {
		c.expect("> ", 30*time.Second)
		c.typeLine(line + "\r")
	}
	c.expect("you typed: three", 30*time.Second)
	time.Sleep(400 * time.Millisecond) // more than the 100 ms flush interval
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	code, got, stderr := replayCLI(t, rec)
	if code != exitTruncated || !strings.Contains(stderr, "truncated") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if !strings.Contains(got, "you typed: three") {
		t.Fatalf("replayed prefix lacks the last typed line:\n%s", got)
	}
}
