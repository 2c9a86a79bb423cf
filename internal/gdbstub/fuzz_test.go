package gdbstub

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// FuzzHandlePacket sends random packet bodies (as they come off the wire:
// still run-length encoded and escaped) to a session with a fake target.
// The stub must not panic and must answer with well-formed packets: valid
// checksums, nothing that gdb would take for framing or run-length
// markers, no longer than MaxPacketSize, and exactly one final reply
// (after any 'O' console packets), except for 'k'.
func FuzzHandlePacket(f *testing.F) {
	for _, s := range []string{
		"?", "g", "G0000", "p20", "p1041", "P5=0100000000000000", "m80000000,40", "M80001000,2:abcd",
		"X80001000,2:}\x03}\x04", "c", "s", "bc", "bs", "vCont;s:1;c", "vCont?", "Z0,80000010,4",
		"z2,80001000,8", "Z4,80001004,8", "qSupported:swbreak+;hwbreak+", "qXfer:features:read:target.xml:0,ffb",
		"qRcmd,7768656e", "qRcmd,7365656b2033", "qRcmd,626967", "QStartNoAckMode", "D", "k", "qC", "Hg0",
		"T1", "vKill;1", "0*~", "m80*\"0,4", "\x00", "C05;80000000", "qAttached:1",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, ack bool) {
		ft := newFakeTarget()
		srv := NewServer(ft, Options{})
		var out bytes.Buffer
		s := newSession(srv, nil, &out)
		s.noAck = !ack
		// Run a few packets: the body, then a watch stop and the body again
		// (exercises the step-over state), then a sanity packet.
		for _, pkt := range [][]byte{body, []byte("Z2,80001000,8"), []byte("c"), body, []byte("qC")} {
			if len(body) > 0 && body[0] == 'c' && bytes.Equal(pkt, body) {
				ft.seek(0)
			}
			out.Reset()
			done, err := s.handleEvent(event{kind: framePacket, data: pkt})
			if err != nil && !errors.Is(err, ErrKilled) {
				t.Fatalf("%q: %v", pkt, err)
			}
			replies := splitFrames(t, out.Bytes())
			checkReplies(t, pkt, replies, done)
			if done {
				return
			}
		}
	})
}

func checkReplies(t *testing.T, pkt []byte, replies []string, done bool) {
	t.Helper()
	if dec, err := expandRLE(pkt, MaxPacketSize); err == nil && len(dec) > 0 && dec[0] == 'k' {
		if len(replies) != 0 || !done {
			t.Fatalf("k: replies %q done %v", replies, done)
		}
		return
	}
	if len(replies) == 0 {
		t.Fatalf("%q: no reply", pkt)
	}
	for i, r := range replies {
		if len(r) > MaxPacketSize {
			t.Fatalf("%q: reply of %d bytes", pkt, len(r))
		}
		binary := bytes.HasPrefix(pkt, []byte("qXfer:")) && i == len(replies)-1
		for j := 0; j < len(r); j++ {
			c := r[j]
			switch {
			case c == '$' || c == '#' || c == '*':
				t.Fatalf("%q: reply %q has a raw %q", pkt, r, c)
			case c == '}' && binary:
				j++
				if j == len(r) {
					t.Fatalf("%q: reply %q ends in an escape", pkt, r)
				}
			case c == '}' || c < 0x20 || c > 0x7e:
				if !binary {
					t.Fatalf("%q: text reply %q has byte %q", pkt, r, c)
				}
			}
		}
		if i < len(replies)-1 && (len(r) < 1 || r[0] != 'O' || r == "OK") {
			t.Fatalf("%q: reply %d of %d is %q, not console output", pkt, i+1, len(replies), r)
		}
	}
}

// FuzzSession writes a random byte stream to a whole session over a pipe
// and hangs up: the server must neither panic nor hang, whatever arrived.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"+$qSupported:swbreak+#00$qC#b4", frame("QStartNoAckMode") + frame("g") + "-" + frame("c"),
		"$m80000000,4#c5-+-\x03" + frame("bc") + frame("D"), frame("Z2,80001000,8") + frame("c") + frame("vCont;s:1"),
		"$" + string(bytes.Repeat([]byte("a"), MaxPacketSize+5)) + "#00", frame("k"), "$qRcmd,626967#00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		srv := NewServer(newFakeTarget(), Options{WriteTimeout: time.Second})
		server, client := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(server) }()
		go io.Copy(io.Discard, client)
		go func() {
			client.Write(data)
			client.Close()
		}()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, ErrDisconnected) && !errors.Is(err, ErrKilled) {
				t.Fatalf("ServeConn: %v", err)
			}
		case <-time.After(5 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("session hung on %q:\n%s", data, buf[:runtime.Stack(buf, true)])
		}
	})
}
