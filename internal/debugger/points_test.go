package debugger

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/rewindvm/rewind/internal/gdbstub"
)

// rspCall sends one packet in no-ack mode and returns the reply.
func rspCall(t *testing.T, c net.Conn, r *bufio.Reader, body string) string {
	t.Helper()
	var sum byte
	for i := 0; i < len(body); i++ {
		sum += body[i]
	}
	if _, err := fmt.Fprintf(c, "$%s#%02x", body, sum); err != nil {
		t.Fatal(err)
	}
	for {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if b != '$' {
			continue // acks before no-ack mode
		}
		reply, err := r.ReadString('#')
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Discard(2); err != nil {
			t.Fatal(err)
		}
		return reply[:len(reply)-1]
	}
}

// A gdb that goes away without removing its breakpoints and watchpoints
// leaves none behind in the replay: the next client's continue runs to
// the end of the recording, through the places they were.
func TestClientPointsGoWithTheClient(t *testing.T) {
	path := recording(t)
	d, _ := open(t, path, Options{Spacing: 500_000})
	tg := NewTarget(d)
	// A breakpoint the recording reaches many times: an instruction
	// halfway through, and a watchpoint on the stack below it.
	if err := d.Seek(d.End() / 2); err != nil {
		t.Fatal(err)
	}
	pc, sp := d.Machine().Cur().PC(), d.Machine().Cur().Reg(2)
	if err := d.Seek(0); err != nil {
		t.Fatal(err)
	}
	srv := gdbstub.NewServer(tg, gdbstub.Options{Logf: t.Logf})
	serve := func() (net.Conn, *bufio.Reader, <-chan error) {
		a, b := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(b) }()
		r := bufio.NewReader(a)
		if got := rspCall(t, a, r, "QStartNoAckMode"); got != "OK" {
			t.Fatalf("QStartNoAckMode: %q", got)
		}
		return a, r, done
	}

	c, r, done := serve()
	for _, pkt := range []string{
		fmt.Sprintf("Z0,%x,4", pc),
		fmt.Sprintf("Z0,%x,4", pc),
		fmt.Sprintf("Z2,%x,8", sp-8),
	} {
		if got := rspCall(t, c, r, pkt); got != "OK" {
			t.Fatalf("%s: %q", pkt, got)
		}
	}
	// With them, a continue stops.
	if got := rspCall(t, c, r, "c"); !strings.HasPrefix(got, "T05") || strings.Contains(got, "replaylog") {
		t.Fatalf("continue with a breakpoint and a watchpoint: %q", got)
	}
	c.Close()
	if err := <-done; !errors.Is(err, gdbstub.ErrDisconnected) {
		t.Fatalf("ServeConn: %v", err)
	}
	if len(tg.bps) != 0 || len(tg.watches) != 0 {
		t.Fatalf("after the client left: breakpoints %v, watchpoints %v", tg.bps, tg.watches)
	}

	c, r, done = serve()
	if got := rspCall(t, c, r, "c"); !strings.HasPrefix(got, "T05replaylog:end;") {
		t.Fatalf("the next client's continue stopped: %q", got)
	}
	if got := rspCall(t, c, r, "D"); got != "OK" {
		t.Fatalf("D: %q", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeConn after detach: %v", err)
	}
}
