//go:build linux

package chardev

import (
	"os"
	"regexp"
	"testing"
	"time"

	"golang.org/x/term"
)

func TestPTY(t *testing.T) {
	stderr := &syncBuffer{}
	be, err := Open("pty", Options{Stderr: stderr, Label: "serial0"})
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer be.Close()
	b := be.(*ptyBackend)
	if m := regexp.MustCompile(`^char device redirected to (/dev/pts/\d+) \(label serial0\)\n$`).FindStringSubmatch(stderr.String()); m == nil || m[1] != b.Path() {
		t.Fatalf("stderr = %q, path %q", stderr.String(), b.Path())
	}

	// Output written before anyone opens the pty is kept.
	b.Write([]byte("boot log\r\n"))

	in := newCollector()
	if err := b.Start(in.deliver); err != nil {
		t.Fatal(err)
	}
	client, err := os.OpenFile(b.Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.SetDeadline(time.Now().Add(testTimeout))
	if _, err := term.MakeRaw(int(client.Fd())); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, client, 10); got != "boot log\r\n" {
		t.Errorf("client read %q", got)
	}
	client.Write([]byte("typed\r\x03"))
	in.waitFor(t, "typed\r\x03")
	b.Write([]byte("\x00\xff\n"))
	if got := readN(t, client, 3); got != "\x00\xff\n" {
		t.Errorf("client read %q, want 8-bit clean output", got)
	}

	// A second client after the first left.
	client.Close()
	client2, err := os.OpenFile(b.Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer client2.Close()
	client2.Write([]byte("again"))
	in.waitFor(t, "typed\r\x03again")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
