package gdbstub

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// client is a raw RSP client over TCP for protocol-level tests.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// serveOne accepts one connection on a loopback listener, serves it with
// ServeConn and returns a client connected to it and ServeConn's result.
func serveOne(t *testing.T, tg Target, opts Options) (*client, <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	srv := NewServer(tg, opts)
	done := make(chan error, 1)
	go func() {
		// The listener closes only once the connection is accepted:
		// closing it with the connection still queued resets it.
		conn, err := l.Accept()
		l.Close()
		if err != nil {
			done <- err
			return
		}
		done <- srv.ServeConn(conn)
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	return &client{t: t, c: c, r: bufio.NewReader(c)}, done
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) send(body string) { c.t.Helper(); c.write(frame(body)) }

func (c *client) readByte() byte {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := c.r.ReadByte()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return b
}

// expect reads exactly s.
func (c *client) expect(s string) {
	c.t.Helper()
	for i := 0; i < len(s); i++ {
		if b := c.readByte(); b != s[i] {
			c.t.Fatalf("read %q, expected %q (byte %d of %q)", b, s[i], i, s)
		}
	}
}

// packet reads the next packet (skipping acks) and checks its checksum.
func (c *client) packet() string {
	c.t.Helper()
	f := newFramer(MaxPacketSize)
	for {
		switch k := f.feed(c.readByte()); k {
		case framePacket:
			return string(f.body)
		case frameBadSum:
			c.t.Fatalf("reply %q with a bad checksum", f.body)
		}
	}
}

// quiet checks that nothing arrives for a moment.
func (c *client) quiet() {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if b, err := c.r.ReadByte(); err == nil {
		c.t.Fatalf("unexpected byte %q", b)
	}
}

func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("server did not return")
		return nil
	}
}

func TestAckMode(t *testing.T) {
	c, done := serveOne(t, newFakeTarget(), Options{})
	c.write("+") // gdb starts with an ack
	c.send("qC")
	c.expect("+")
	c.expect(frame("QC1"))
	c.write("+")
	// Bad checksum: NAK, no reply.
	c.write("$qC#00")
	c.expect("-")
	c.quiet()
	// NAK of a reply: retransmitted.
	c.send("qfThreadInfo")
	c.expect("+" + frame("m1"))
	c.write("-")
	c.expect(frame("m1"))
	c.write("+")
	// Junk between packets is ignored.
	c.write("garbage\x00\xff\r\n")
	c.send("qC")
	c.expect("+" + frame("QC1"))
	// Switch to no-ack mode: the OK is still acked.
	c.send("QStartNoAckMode")
	c.expect("+" + frame("OK"))
	c.write("+")
	c.send("qC")
	c.expect(frame("QC1"))
	// In no-ack mode bad checksums are ignored.
	c.write("$qC#00")
	c.quiet()
	c.write("-") // and naks too
	c.quiet()
	c.send("D")
	c.expect(frame("OK"))
	if err := waitErr(t, done); err != nil {
		t.Errorf("ServeConn after D: %v", err)
	}
}

func TestHostileInput(t *testing.T) {
	c, done := serveOne(t, newFakeTarget(), Options{})
	c.send("QStartNoAckMode")
	c.expect("+" + frame("OK"))
	// Oversized packet: an error, then back in sync.
	c.send("m" + strings.Repeat("0", MaxPacketSize+10))
	if r := c.packet(); r != "E01" {
		t.Errorf("oversized packet: %q", r)
	}
	c.send("qC")
	if r := c.packet(); r != "QC1" {
		t.Errorf("after oversized: %q", r)
	}
	// An oversized packet that never ends, then a '$': resync.
	c.write("$" + strings.Repeat("x", 3*MaxPacketSize))
	c.send("qC")
	if r := c.packet(); r != "QC1" {
		t.Errorf("after unterminated junk: %q", r)
	}
	// Run-length encoded input.
	c.send("M80001000,4:000*\"") // eight zeros
	if r := c.packet(); r != "OK" {
		t.Errorf("RLE M: %q", r)
	}
	c.send("M80001000,4:7*\"7")
	if r := c.packet(); r != "E01" { // 7 digits: odd
		t.Errorf("RLE M with a bad count: %q", r)
	}
	c.send("M80001000,4:7*\"77")
	if r := c.packet(); r != "OK" {
		t.Errorf("RLE M: %q", r)
	}
	c.send("m80001000,4")
	if r := c.packet(); r != "77777777" {
		t.Errorf("after RLE M: %q", r)
	}
	c.send("m80*\"0,4") // m80000000,4
	if r := c.packet(); r != "13000000" {
		t.Errorf("RLE m: %q", r)
	}
	c.send("*malformed")
	if r := c.packet(); r != "E01" {
		t.Errorf("malformed RLE: %q", r)
	}
	// Binary junk inside packets: empty replies.
	c.send("\x01\x02\x7f\xfe")
	if r := c.packet(); r != "" {
		t.Errorf("binary packet: %q", r)
	}
	// A Ctrl-C while stopped is ignored.
	c.write("\x03")
	c.quiet()
	// A truncated packet, then the client goes away.
	c.write("$m80000000,")
	c.c.Close()
	err := waitErr(t, done)
	if !errors.Is(err, ErrDisconnected) {
		t.Errorf("ServeConn after disconnect: %v, want ErrDisconnected", err)
	}
}

func TestInterrupt(t *testing.T) {
	ft := newFakeTarget()
	ft.spin = true
	c, done := serveOne(t, ft, Options{})
	c.send("QStartNoAckMode")
	c.expect("+" + frame("OK"))
	c.send("vCont;c")
	<-ft.started
	c.write("\x03")
	if r := c.packet(); r != "T02thread:1;20:"+leHex(fakeCode)+";" {
		t.Errorf("interrupted continue: %q", r)
	}
	// Packets sent while running are answered after the stop.
	c.send("c")
	<-ft.started
	c.send("qC")
	c.write("\x03")
	if r := c.packet(); !strings.HasPrefix(r, "T02") {
		t.Errorf("second interrupt: %q", r)
	}
	if r := c.packet(); r != "QC1" {
		t.Errorf("queued packet: %q", r)
	}
	// A flood while running is bounded, and Ctrl-C still gets through.
	c.send("c")
	<-ft.started
	for i := 0; i < 3*maxQueued; i++ {
		c.send("qC")
	}
	c.write("\x03")
	if r := c.packet(); !strings.HasPrefix(r, "T02") {
		t.Errorf("interrupt after a flood: %q", r)
	}
	for i := 0; i < maxQueued; i++ {
		if r := c.packet(); r != "QC1" {
			t.Fatalf("queued reply %d: %q", i, r)
		}
	}
	c.send("?")
	if r := c.packet(); !strings.HasPrefix(r, "T02") {
		t.Errorf("after the flood: %q", r)
	}
	// Disconnecting while running interrupts the target.
	c.send("c")
	<-ft.started
	start := time.Now()
	c.c.Close()
	if err := waitErr(t, done); !errors.Is(err, ErrDisconnected) {
		t.Errorf("ServeConn: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to notice the disconnect", d)
	}
}

func TestKill(t *testing.T) {
	c, done := serveOne(t, newFakeTarget(), Options{})
	c.send("k")
	c.expect("+")
	if err := waitErr(t, done); !errors.Is(err, ErrKilled) {
		t.Errorf("ServeConn after k: %v, want ErrKilled", err)
	}
}

func TestSlowReader(t *testing.T) {
	// A client that sends requests and never reads the replies must not
	// wedge the server: writes time out.
	c, done := serveOne(t, newFakeTarget(), Options{WriteTimeout: 200 * time.Millisecond, Logf: func(string, ...any) {}})
	req := frame("m80000000,1fd0")
	go func() {
		for i := 0; i < 5000; i++ {
			if _, err := c.c.Write([]byte(req)); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrDisconnected) {
			t.Errorf("ServeConn: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server wedged by a client that does not read")
	}
}

func TestServe(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(newFakeTarget(), Options{Logf: t.Logf})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	dial := func() *client {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return &client{t: t, c: conn, r: bufio.NewReader(conn)}
	}
	// A client that just disconnects: Serve waits for the next one.
	c1 := dial()
	c1.send("qC")
	c1.expect("+" + frame("QC1"))
	c1.c.Close()
	// The next client is served and detaches: Serve returns nil.
	c2 := dial()
	c2.send("?")
	c2.expect("+")
	if r := c2.packet(); !strings.HasPrefix(r, "T05") {
		t.Errorf("?: %q", r)
	}
	c2.send("D")
	c2.expect("+" + frame("OK"))
	if err := waitErr(t, done); err != nil {
		t.Errorf("Serve after detach: %v", err)
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Error("listener still open after Serve returned")
	}
}

func TestClose(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ft := newFakeTarget()
	ft.spin = true
	srv := NewServer(ft, Options{Logf: t.Logf})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &client{t: t, c: conn, r: bufio.NewReader(conn)}
	c.send("c")
	<-ft.started
	srv.Close()
	if err := waitErr(t, done); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
	if err := srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve on a closed server: %v", err)
	}
}

func TestListenDefaultsToLoopback(t *testing.T) {
	l, err := Listen(":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("Listen(:0) bound to %v", ip)
	}
	if _, err := Listen("nonsense"); err == nil {
		t.Error("Listen(nonsense) succeeded")
	}
}

func TestServeKill(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(l, newFakeTarget(), Options{Logf: t.Logf}) }()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &client{t: t, c: conn, r: bufio.NewReader(conn)}
	c.send("vKill;1")
	c.expect("+" + frame("OK"))
	if err := waitErr(t, done); !errors.Is(err, ErrKilled) {
		t.Errorf("Serve after vKill: %v, want ErrKilled", err)
	}
}
