package chardev

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// openTestSocket opens a tcp or telnet server backend on a free port.
func openTestSocket(t *testing.T, spec string, opts Options) (*socketBackend, *syncBuffer) {
	t.Helper()
	stderr := &syncBuffer{}
	if opts.Stderr == nil {
		opts.Stderr = stderr
	}
	b, err := Open(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b.(*socketBackend), stderr
}

func dial(t *testing.T, b *socketBackend) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", b.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	return c
}

// readN reads exactly n bytes from c.
func readN(t *testing.T, c io.Reader, n int) string {
	t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading %d bytes: %v (got %q)", n, err, buf)
	}
	return string(buf)
}

// waitConnected waits until b sends output to a client.
func waitConnected(t *testing.T, b *socketBackend) {
	t.Helper()
	eventually(t, "client to be attached", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.conn != nil
	})
}

func waitDisconnected(t *testing.T, b *socketBackend) {
	t.Helper()
	eventually(t, "client to be detached", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.conn == nil
	})
}

func TestTCPServerWaitBlocksStart(t *testing.T) {
	b, stderr := openTestSocket(t, "tcp:127.0.0.1:0,server", Options{Label: "serial0"})
	in := newCollector()
	started := make(chan error, 1)
	go func() { started <- b.Start(in.deliver) }()
	select {
	case err := <-started:
		t.Fatalf("Start returned %v before a client connected", err)
	case <-time.After(30 * time.Millisecond):
	}
	want := fmt.Sprintf("serial0: waiting for connection on tcp:%s,server", b.Addr())
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr = %q, want it to contain %q", stderr.String(), want)
	}
	c := dial(t, b)
	if err := <-started; err != nil {
		t.Fatalf("Start: %v", err)
	}
	c.Write([]byte("ping"))
	in.waitFor(t, "ping")
	b.Write([]byte("pong"))
	if got := readN(t, c, 4); got != "pong" {
		t.Errorf("client read %q, want pong", got)
	}
}

func TestTCPServerWaitAbortedByClose(t *testing.T) {
	b, _ := openTestSocket(t, "tcp:127.0.0.1:0,server", Options{})
	started := make(chan error, 1)
	go func() { started <- b.Start(newCollector().deliver) }()
	time.Sleep(10 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-started; !errors.Is(err, ErrClosed) {
		t.Errorf("Start = %v, want ErrClosed", err)
	}
}

func TestTCPExchangeDisconnectReconnect(t *testing.T) {
	b, _ := openTestSocket(t, "tcp:127.0.0.1:0,server,nowait", Options{})
	in := newCollector()
	if err := b.Start(in.deliver); err != nil {
		t.Fatal(err)
	}

	// No client yet: output is dropped, Write does not block.
	if n, err := b.Write([]byte("lost")); n != 4 || err != nil {
		t.Fatalf("Write without client = %d, %v", n, err)
	}

	var want string
	for round := 0; round < 3; round++ {
		c := dial(t, b)
		waitConnected(t, b)

		msg := fmt.Sprintf("in%d\xff\x00", round)
		c.Write([]byte(msg))
		want += msg
		in.waitFor(t, want)

		out := fmt.Sprintf("out%d\xff", round)
		b.Write([]byte(out))
		if got := readN(t, c, len(out)); got != out {
			t.Errorf("round %d: client read %q, want %q", round, got, out)
		}

		c.Close()
		waitDisconnected(t, b)
		b.Write([]byte("dropped while disconnected"))
	}
}

func TestTCPOneClientAtATime(t *testing.T) {
	b, _ := openTestSocket(t, "tcp:127.0.0.1:0,server,nowait", Options{})
	in := newCollector()
	if err := b.Start(in.deliver); err != nil {
		t.Fatal(err)
	}
	c1 := dial(t, b)
	waitConnected(t, b)
	c2 := dial(t, b) // sits in the listen backlog
	c2.Write([]byte("second"))
	c1.Write([]byte("first"))
	in.waitFor(t, "first")
	b.Write([]byte("to1"))
	if got := readN(t, c1, 3); got != "to1" {
		t.Errorf("first client read %q", got)
	}
	c1.Close()
	in.waitFor(t, "firstsecond") // the second client is served next
	b.Write([]byte("to2"))
	if got := readN(t, c2, 3); got != "to2" {
		t.Errorf("second client read %q", got)
	}
}

func TestTCPStalledClientIsDisconnected(t *testing.T) {
	b, _ := openTestSocket(t, "tcp:127.0.0.1:0,server,nowait", Options{StallTimeout: 50 * time.Millisecond})
	if err := b.Start(newCollector().deliver); err != nil {
		t.Fatal(err)
	}
	c := dial(t, b) // never reads
	waitConnected(t, b)
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	start := time.Now()
	for i := 0; i < 1024; i++ { // 64 MiB: far more than the socket buffers
		if _, err := b.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > testTimeout {
		t.Errorf("writing to a stalled client took %v", d)
	}
	waitDisconnected(t, b)
	// The stalled client sees its connection end.
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.Copy(io.Discard, c); err != nil && !isConnReset(err) {
		t.Errorf("stalled client: %v", err)
	}
	// And the next client is served.
	c2 := dial(t, b)
	waitConnected(t, b)
	b.Write([]byte("hi"))
	if got := readN(t, c2, 2); got != "hi" {
		t.Errorf("next client read %q", got)
	}
}

func isConnReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

func TestTCPCloseFlushesToClient(t *testing.T) {
	b, _ := openTestSocket(t, "tcp:127.0.0.1:0,server,nowait", Options{})
	if err := b.Start(newCollector().deliver); err != nil {
		t.Fatal(err)
	}
	c := dial(t, b)
	waitConnected(t, b)
	b.Write([]byte("last words"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "last words" {
		t.Errorf("client read %q, want %q then EOF", got, "last words")
	}
}

func TestTCPClientMode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	be, err := Open(fmt.Sprintf("tcp::%d", port), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if a := be.(Addresser).Addr(); a != nil {
		t.Errorf("client mode Addr() = %v, want nil", a)
	}
	peer := <-accepted
	defer peer.Close()
	peer.SetDeadline(time.Now().Add(testTimeout))

	be.Write([]byte("before start")) // output flows before Start
	in := newCollector()
	if err := be.Start(in.deliver); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, peer, 12); got != "before start" {
		t.Errorf("peer read %q", got)
	}
	peer.Write([]byte("hello"))
	in.waitFor(t, "hello")

	peer.Close()
	b := be.(*socketBackend)
	waitDisconnected(t, b)
	if n, err := be.Write([]byte("dropped")); n != 7 || err != nil {
		t.Errorf("Write after peer left = %d, %v", n, err)
	}
}

func TestTCPClientModeRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if _, err := Open(fmt.Sprintf("tcp:127.0.0.1:%d", port), Options{}); err == nil {
		t.Fatal("Open succeeded with nobody listening")
	}
}

func TestTCPPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	spec := fmt.Sprintf("tcp::%d,server,nowait", ln.Addr().(*net.TCPAddr).Port)
	_, err = Open(spec, Options{})
	if err == nil || !strings.Contains(err.Error(), "chardev: tcp:") {
		t.Fatalf("Open(%q) = %v, want an error naming the spec", spec, err)
	}
}

func TestTCPDefaultHostIsLoopback(t *testing.T) {
	b, _ := openTestSocket(t, "tcp::0,server,nowait", Options{})
	if ip := b.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("listening on %v, want loopback", ip)
	}
}

func TestTelnet(t *testing.T) {
	b, _ := openTestSocket(t, "telnet:127.0.0.1:0,server,nowait", Options{})
	in := newCollector()
	if err := b.Start(in.deliver); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ { // negotiation is sent to every client
		c := dial(t, b)
		r := bufio.NewReader(c)
		if got := readN(t, r, len(telnetInit)); got != string(telnetInit) {
			t.Fatalf("negotiation = % x, want % x", got, telnetInit)
		}
		waitConnected(t, b)

		// Client input: answers to the negotiation, a subnegotiation and an
		// escaped 0xff, split across writes mid-command.
		pieces := []string{
			"\xff\xfd\x01\xff\xfd", "\x03\xff\xfb\x00a",
			"\xff", "\xfa\x1f\x00\x50\x00\x18\xff", "\xf0b\xff", "\xffc",
		}
		for _, p := range pieces {
			c.Write([]byte(p))
			time.Sleep(time.Millisecond) // encourage separate reads
		}
		want := strings.Repeat("ab\xffc", round+1)
		in.waitFor(t, want)

		// Output: 0xff is escaped.
		b.Write([]byte("x\xffy"))
		if got := readN(t, r, 4); got != "x\xff\xffy" {
			t.Errorf("client read % x, want % x", got, "x\xff\xffy")
		}
		c.Close()
		waitDisconnected(t, b)
	}
}
