package gdbstub

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
)

// fakePoints returns the breakpoints and watchpoints armed in ft, and how
// often each was cleared.
func fakePoints(ft *fakeTarget) (armed int, clears map[string]int) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	clears = map[string]int{}
	for _, c := range ft.calls {
		if strings.HasPrefix(c, "Clear ") {
			clears[strings.TrimPrefix(c, "Clear ")]++
		}
	}
	return len(ft.bps), clears
}

// A client that vanishes without removing its breakpoints and watchpoints
// (gdb killed, the connection lost, or "breakpoint always-inserted")
// must not leave them to the next client: the stub removes them, once
// for every insertion not yet removed.
func TestPointsClearedWhenClientLeaves(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ft := newFakeTarget()
	srv := NewServer(ft, Options{Logf: t.Logf})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	dial := func() *client {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		c := &client{t: t, c: conn, r: bufio.NewReader(conn)}
		c.send("QStartNoAckMode")
		c.expect("+" + frame("OK"))
		return c
	}
	ask := func(c *client, pkt, want string) {
		t.Helper()
		c.send(pkt)
		if r := c.packet(); r != want {
			t.Fatalf("%s: reply %q, want %q", pkt, r, want)
		}
	}

	c1 := dial()
	store := fmt.Sprintf("Z0,%x,4", fakeStore)
	ask(c1, store, "OK")
	ask(c1, store, "OK") // inserted twice: removed twice
	ask(c1, fmt.Sprintf("Z2,%x,8", fakeData), "OK")
	ask(c1, fmt.Sprintf("Z1,%x,4", fakeBranch), "OK")
	ask(c1, fmt.Sprintf("z1,%x,4", fakeBranch), "OK") // removed by the client itself
	ask(c1, "Z0,1,4", replyTargetErr)                 // refused: nothing to remove
	c1.c.Close()

	// The next client is served only after the first one's session has
	// ended, so its points are gone by the time it gets an answer.
	c2 := dial()
	armed, clears := fakePoints(ft)
	if armed != 0 {
		t.Errorf("%d breakpoints and watchpoints still armed after the client left", armed)
	}
	want := map[string]int{
		fmt.Sprintf("swbreak %#x 4", fakeStore):  2,
		fmt.Sprintf("watch %#x 8", fakeData):     1,
		fmt.Sprintf("hwbreak %#x 4", fakeBranch): 1, // the client's own z1
	}
	for k, n := range want {
		if clears[k] != n {
			t.Errorf("clear %s: %d times, want %d (all clears: %v)", k, clears[k], n, clears)
		}
	}
	if clears["swbreak 0x1 4"] != 0 {
		t.Errorf("a breakpoint the target refused was cleared: %v", clears)
	}
	// Nothing stops the new client's continue before the end of the
	// recording.
	c2.send("c")
	if r := c2.packet(); !strings.HasPrefix(r, "T05replaylog:end;") {
		t.Errorf("continue after the first client left: %q, want the end of the recording", r)
	}
	// Detaching removes what the client left too (gdb removes its
	// breakpoints before detaching, unless it is told to keep them).
	ask(c2, "bc", fmt.Sprintf("T05replaylog:begin;thread:1;20:%s;", leHex(fakeCode)))
	ask(c2, store, "OK")
	c2.send("D")
	if r := c2.packet(); r != "OK" {
		t.Fatalf("D: %q", r)
	}
	if err := waitErr(t, done); err != nil {
		t.Errorf("Serve after detach: %v", err)
	}
	if armed, _ := fakePoints(ft); armed != 0 {
		t.Errorf("%d breakpoints and watchpoints armed after a detach", armed)
	}
}

func TestPointsClearedOnKill(t *testing.T) {
	ft := newFakeTarget()
	c, done := serveOne(t, ft, Options{})
	c.send(fmt.Sprintf("Z4,%x,8", fakeInput))
	c.expect("+" + frame("OK"))
	c.send("k")
	c.expect("+")
	waitErr(t, done)
	if armed, clears := fakePoints(ft); armed != 0 || clears[fmt.Sprintf("awatch %#x 8", fakeInput)] != 1 {
		t.Errorf("after k: %d armed, clears %v", armed, clears)
	}
}
