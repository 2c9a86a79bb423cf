package chardev

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// socketBackend serves tcp and telnet specs.
//
// Server mode: one client at a time, like QEMU. While a client is connected
// the backend does not accept, so further clients wait in the listen backlog;
// when the client disconnects the next one is accepted. Output while no
// client is connected is dropped; so is the pending output of a client that
// is disconnected for stalling (Options.StallTimeout).
//
// Client mode (tcp without server): Open connects; when the connection ends
// input stops and output is dropped (no reconnect).
type socketBackend struct {
	g       startGuard
	kind    Kind
	telnet  bool
	ln      net.Listener // nil in client mode
	wait    bool
	stall   time.Duration
	stderr  io.Writer
	label   string
	out     *outQueue
	scratch []byte // telnet escaping; used only by the writer goroutine

	mu   sync.Mutex
	conn net.Conn // guarded by mu; the current client, nil if none
}

var (
	_ Backend   = (*socketBackend)(nil)
	_ Addresser = (*socketBackend)(nil)
)

// openSocket listens (server) or connects (client).
func openSocket(s Spec, opts Options) (*socketBackend, error) {
	b := &socketBackend{
		kind:   s.Kind,
		telnet: s.Kind == KindTelnet,
		wait:   s.Wait,
		stall:  opts.StallTimeout,
		stderr: opts.Stderr,
		label:  opts.Label,
	}
	addr := s.listenAddr()
	if s.Server {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("chardev: %s: %w", s, err)
		}
		b.ln = ln
	} else {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return nil, fmt.Errorf("chardev: %s: %w", s, err)
		}
		b.conn = c
	}
	b.out = newOutQueue(opts.BufferSize, b.send)
	return b, nil
}

// Addr returns the listening address, or nil in client mode.
func (b *socketBackend) Addr() net.Addr {
	if b.ln == nil {
		return nil
	}
	return b.ln.Addr()
}

// Write queues p for the current client. Without a client p is dropped
// here; output still queued when a client goes away is dropped by send.
func (b *socketBackend) Write(p []byte) (int, error) {
	b.mu.Lock()
	c := b.conn
	b.mu.Unlock()
	if c == nil {
		if b.g.isClosed() {
			return 0, ErrClosed
		}
		return len(p), nil
	}
	return b.out.Write(p)
}

// Start serves clients. In server mode with wait it first blocks until a
// client connects.
func (b *socketBackend) Start(deliver func([]byte)) error {
	if err := b.g.start(nil); err != nil {
		return err
	}
	var first net.Conn
	switch {
	case b.ln == nil:
		b.mu.Lock()
		first = b.conn
		b.mu.Unlock()
	case b.wait:
		fmt.Fprintf(b.stderr, "rewind: %swaiting for connection on %s:%s,server\n", b.labelPrefix(), b.kind, b.ln.Addr())
		c, err := b.accept()
		if err != nil {
			return err
		}
		first = c
	}
	if !b.g.spawn(func() { b.serve(first, deliver) }) {
		if first != nil {
			b.detach(first)
		}
		return ErrClosed
	}
	return nil
}

func (b *socketBackend) labelPrefix() string {
	if b.label == "" {
		return ""
	}
	return b.label + ": "
}

// serve is the input goroutine: it reads from each client in turn.
func (b *socketBackend) serve(c net.Conn, deliver func([]byte)) {
	buf := make([]byte, 4096)
	for {
		if c == nil {
			if b.ln == nil {
				return // client mode: no reconnect
			}
			var err error
			if c, err = b.accept(); err != nil {
				return
			}
		}
		var dec telnetDecoder
		for {
			n, err := c.Read(buf)
			data := buf[:n]
			if b.telnet {
				data = dec.decode(data)
			}
			if len(data) > 0 {
				deliver(data)
			}
			if err != nil {
				break
			}
		}
		b.detach(c)
		c = nil
	}
}

// accept waits for the next client, sends the telnet negotiation and makes
// it the output target. It fails only when the backend is closed.
func (b *socketBackend) accept() (net.Conn, error) {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			if b.g.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil, ErrClosed
			}
			time.Sleep(50 * time.Millisecond) // e.g. EMFILE: retry, do not spin
			continue
		}
		if b.telnet {
			c.SetWriteDeadline(time.Now().Add(b.stall))
			if _, err := c.Write(telnetInit); err != nil {
				c.Close()
				continue
			}
		}
		// Output still queued was written for the previous client (or
		// for none): it must not reach this one. (Not under b.mu: the
		// sink takes it.)
		b.out.discard()
		b.mu.Lock()
		if b.g.isClosed() {
			b.mu.Unlock()
			c.Close()
			return nil, ErrClosed
		}
		b.conn = c
		b.mu.Unlock()
		return c, nil
	}
}

// detach closes c and stops sending output to it.
func (b *socketBackend) detach(c net.Conn) {
	b.mu.Lock()
	if b.conn == c {
		b.conn = nil
	}
	b.mu.Unlock()
	c.Close()
}

// send is the output queue's sink. It never fails: without a client the
// output is dropped, and a client that errors or stalls is disconnected (the
// serve goroutine then accepts the next one).
func (b *socketBackend) send(p []byte) error {
	b.mu.Lock()
	c := b.conn
	b.mu.Unlock()
	if c == nil {
		return nil
	}
	if b.telnet && bytes.IndexByte(p, telnetIAC) >= 0 {
		b.scratch = appendTelnetEscaped(b.scratch[:0], p)
		p = b.scratch
	}
	c.SetWriteDeadline(time.Now().Add(b.stall))
	if _, err := c.Write(p); err != nil {
		c.Close()
	}
	return nil
}

// Close flushes output to the current client (bounded by drainTimeout),
// disconnects it, stops listening and waits for the input goroutine.
func (b *socketBackend) Close() error {
	if b.g.close() {
		return nil
	}
	if b.ln != nil {
		b.ln.Close()
	}
	drained := b.out.close(drainTimeout)
	b.mu.Lock()
	c := b.conn
	b.conn = nil
	b.mu.Unlock()
	if c != nil {
		c.Close()
	}
	if !drained {
		b.out.wait()
	}
	b.g.wg.Wait()
	return nil
}
