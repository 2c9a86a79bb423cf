package gdbstub

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Logf, if set, receives diagnostics: connections, protocol errors,
	// target errors hidden from gdb (e.g. unreadable registers).
	Logf func(format string, args ...any)
	// TracePackets logs every packet received and sent through Logf.
	TracePackets bool
	// WriteTimeout bounds each write to the client, so a client that stops
	// reading cannot block the server forever. Zero means 30 seconds.
	WriteTimeout time.Duration
	// CSRs lists the CSRs described to gdb (register RegCSR0+Num). Nil means
	// DefaultCSRs(). fflags, frm and fcsr are always described.
	CSRs []CSR
}

// DefaultAddr is the address the stub listens on by default: loopback only.
const DefaultAddr = "127.0.0.1:1234"

// ErrDisconnected is returned (wrapped) by ServeConn when the client went
// away without detaching or killing.
var ErrDisconnected = errors.New("gdbstub: client disconnected")

// ErrKilled is returned by ServeConn and Serve when the client killed the
// target ('k', gdb's "kill"), as opposed to detaching (nil). It is not a
// failure: the integrator decides what killing means (e.g. stop the
// machine), where a detach leaves it to carry on.
var ErrKilled = errors.New("gdbstub: client killed the target")

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("gdbstub: server closed")

// Server serves the GDB remote protocol for one Target.
type Server struct {
	t    Target
	opts Options
	regs *regTable

	// mu guards the fields below.
	mu     sync.Mutex
	ln     net.Listener // listener of a running Serve
	conn   net.Conn     // connection being served
	closed bool         // Close was called
}

// NewServer returns a server for t.
func NewServer(t Target, opts Options) *Server {
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	return &Server{t: t, opts: opts, regs: newRegTable(opts.CSRs)}
}

// Serve is NewServer(t, opts).Serve(l).
func Serve(l net.Listener, t Target, opts Options) error {
	return NewServer(t, opts).Serve(l)
}

// Listen listens on TCP addr for a gdb client. A missing host means
// 127.0.0.1 (":1234" listens on loopback only); an empty addr means
// DefaultAddr.
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("gdbstub: listen %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("gdbstub: %w", err)
	}
	return l, nil
}

// Serve accepts clients on l and serves them one at a time (others wait in
// the listen backlog). It returns nil when a client detaches ('D') and
// ErrKilled when one kills ('k'); a client that merely disconnects is
// logged and the next one accepted. It returns ErrServerClosed after
// Close, or the listener's error if accepting fails. Serve closes l when it
// returns.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.ln = l
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.ln = nil
		s.mu.Unlock()
		l.Close()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			return fmt.Errorf("gdbstub: accept: %w", err)
		}
		err = s.ServeConn(conn)
		switch {
		case err == nil || errors.Is(err, ErrKilled):
			return err
		case s.isClosed():
			return ErrServerClosed
		default:
			// ServeConn has logged why the client is gone.
			s.logf("gdbstub: waiting for the next client")
		}
	}
}

// ServeConn serves one client on conn until it detaches (nil) or kills
// (ErrKilled), the connection fails or drops (an error wrapping
// ErrDisconnected), or the server is closed. It closes conn when it
// returns. A panic in the Target propagates to ServeConn's caller.
func (s *Server) ServeConn(conn net.Conn) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return ErrServerClosed
	}
	if s.conn != nil {
		s.mu.Unlock()
		conn.Close()
		return errors.New("gdbstub: already serving a client")
	}
	s.conn = conn
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.conn = nil
		s.mu.Unlock()
	}()
	s.logf("gdbstub: client %v connected", conn.RemoteAddr())
	sess := newSession(s, conn, conn)
	err := sess.serve()
	switch {
	case err == nil:
		s.logf("gdbstub: client %v detached", conn.RemoteAddr())
	case errors.Is(err, ErrKilled):
		s.logf("gdbstub: client %v killed the target", conn.RemoteAddr())
	default:
		s.logf("gdbstub: client %v: %v", conn.RemoteAddr(), err)
	}
	return err
}

// Close stops Serve and drops the client being served, if any. A Continue
// in progress is interrupted.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	if s.conn != nil {
		s.conn.Close()
	}
	return err
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}
