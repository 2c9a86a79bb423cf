// Package chardev implements the host end of a guest serial port: stdio
// (with a raw terminal and a QEMU-style escape key), null, file, pty, and
// TCP/telnet sockets, selected by a QEMU-compatible spec string.
//
// # Where this sits
//
// The machine runs every hart and device on one goroutine and takes host input
// only through its inbox (DESIGN.md §1). Backends are the host side of that
// door: they may use goroutines, files and sockets, and never touch machine
// state. Input is handed to the caller's deliver function from a backend
// goroutine; the caller posts it to the inbox, where record mode logs it.
// Output arrives from the machine goroutine through Write.
//
// # Output never makes the guest see host timing
//
// Write copies into a bounded queue drained by a writer goroutine. When the
// queue is full, Write blocks the machine goroutine rather than reporting a
// short write: the guest must not be able to observe how fast the host reads
// (a UART that reported "busy" while the host lagged would behave differently
// in replay). Blocking costs host time only; virtual time does not advance.
//
//   - stdio, file, pty: output is never dropped. A host reader that stops
//     reading stalls the machine once the queue and the kernel buffers are
//     full. For pty this includes "nobody has opened the pty yet".
//   - tcp, telnet: output is dropped while no client is connected. A connected
//     client that stops reading for Options.StallTimeout is disconnected (its
//     pending output is dropped) and the next client is accepted, so a stuck
//     client stalls the machine for at most that long.
//
// # Caller protocol
//
//	b, err := chardev.Open(spec, opts) // may print a message (pty path)
//	defer b.Close()                    // restores the terminal
//	err = b.Start(deliver)             // tcp/telnet with wait: blocks for a client
//	... run the machine, calling b.Write from the machine goroutine ...
//
// Also call RestoreAll (or Restore on the backend) from every other exit path:
// the top-level panic recovery and signal handlers. OnQuit and OnEOF run on a
// backend goroutine and must not call Close (Close waits for that goroutine);
// they should post a request to the machine and return.
package chardev

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Backend is the host end of a guest serial port.
//
// Write is called from the machine goroutine; Start and Close from the
// goroutine that owns the machine's lifetime; Close may also be called from
// another goroutine to abort a Start that waits for a client.
type Backend interface {
	// Write queues guest output for the host and returns len(p), nil unless
	// the backend is closed (ErrClosed) or an earlier host write failed (that
	// error, repeated on every later Write; output is then discarded).
	// It blocks only while the output queue is full; see the package comment
	// for what each backend does with a slow or absent reader.
	Write(p []byte) (int, error)

	// Start begins delivering host input. deliver is called from a backend
	// goroutine with each chunk read, one call at a time; the slice is reused
	// after deliver returns, so the callee copies what it keeps. deliver may
	// block to apply back-pressure, but must not wait for the goroutine that
	// calls Close. Start may be called once; backends without input (null,
	// file) return immediately and never call deliver. For tcp and telnet in
	// server mode with wait, Start blocks until the first client connects or
	// Close is called (then it returns ErrClosed).
	Start(deliver func([]byte)) error

	// Close flushes pending output (waiting a bounded time), stops the input
	// goroutines and waits for them to exit, restores the terminal if stdio
	// made it raw, and releases host resources. deliver is not called after
	// Close returns. Close is idempotent; it returns the first host output
	// error, if any.
	Close() error
}

// Restorer is implemented by backends that change host terminal state
// (stdio on a terminal). Restore puts the terminal back as it was; it is
// idempotent and safe to call from any goroutine at any time, including
// while the backend is running (input then continues in cooked mode).
type Restorer interface {
	Restore()
}

// Addresser is implemented by the tcp and telnet backends. Addr returns the
// address the server listens on (useful with port 0), or nil in client mode.
type Addresser interface {
	Addr() net.Addr
}

// Options configures a backend. The zero value is usable.
type Options struct {
	// OnQuit is called from the stdio input goroutine when the user types the
	// escape key followed by 'x' on a terminal. It should ask the machine to
	// shut down (through the inbox, so record mode logs it) and return; it
	// may be called again if the user repeats the key. If nil, the terminal is
	// restored and the process sends itself SIGTERM.
	OnQuit func()

	// OnEOF is called once from the stdio input goroutine when stdin ends
	// (end of a pipe or file, or a read error such as a terminal hangup).
	// No input is delivered afterwards; the machine may keep running.
	OnEOF func()

	// EscapeChar is the stdio escape key (QEMU -echr). Zero means Ctrl-a.
	EscapeChar byte

	// Stderr receives host messages: escape-key help, "waiting for
	// connection", the pty path. Nil means os.Stderr.
	Stderr io.Writer

	// Label names the port in messages, e.g. "serial0". Optional.
	Label string

	// StallTimeout bounds how long a connected tcp/telnet client may refuse
	// output before it is disconnected. Zero means DefaultStallTimeout.
	StallTimeout time.Duration

	// BufferSize is the output queue size in bytes; Write blocks while this
	// much output is pending. Zero means DefaultBufferSize.
	BufferSize int
}

// Defaults for Options fields left zero.
const (
	DefaultEscapeChar   = 0x01 // Ctrl-a, as in QEMU
	DefaultStallTimeout = 5 * time.Second
	DefaultBufferSize   = 64 << 10
)

// drainTimeout bounds how long Close waits for queued output to reach the
// host before it gives up (and, where it can, forces the writer out).
const drainTimeout = 2 * time.Second

// ErrClosed is returned by Write and Start on a closed backend.
var ErrClosed = errors.New("chardev: backend closed")

func (o Options) withDefaults() Options {
	if o.EscapeChar == 0 {
		o.EscapeChar = DefaultEscapeChar
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	return o
}

// Open parses spec (see ParseSpec for the grammar) and opens the backend.
// Host resources are acquired here, so errors such as a port in use or an
// unwritable file surface before the machine starts.
func Open(spec string, opts Options) (Backend, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return OpenSpec(s, opts)
}

// OpenSpec opens the backend described by an already parsed spec.
func OpenSpec(s Spec, opts Options) (Backend, error) {
	opts = opts.withDefaults()
	switch s.Kind {
	case KindNull:
		return &nullBackend{}, nil
	case KindStdio:
		return openStdio(opts)
	case KindFile:
		return openFile(s, opts)
	case KindPTY:
		return openPTY(s, opts)
	case KindTCP, KindTelnet:
		return openSocket(s, opts)
	}
	return nil, errors.New("chardev: invalid spec kind")
}

// startGuard implements the lifecycle rules shared by all backends: Start
// once, never after Close, and Close waits for every backend goroutine.
type startGuard struct {
	mu      sync.Mutex
	started bool           // guarded by mu
	closed  bool           // guarded by mu
	wg      sync.WaitGroup // backend input goroutines; Add only under mu while !closed
}

// start marks the backend started and runs launch (if not nil) under the
// guard's lock, so a concurrent Close sees either nothing or all that launch
// did. launch starts goroutines with goLocked.
func (g *startGuard) start(launch func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	if g.started {
		return errors.New("chardev: Start called twice")
	}
	g.started = true
	if launch == nil {
		return nil
	}
	return launch()
}

// goLocked starts fn as a backend goroutine; g.mu must be held.
func (g *startGuard) goLocked(fn func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fn()
	}()
}

// spawn starts fn as a backend goroutine unless the backend is closed.
func (g *startGuard) spawn(fn func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.goLocked(fn)
	return true
}

// close marks the backend closed and reports whether it already was. After
// close, no new backend goroutine starts; wait for the running ones with
// g.wg.Wait once they have been told to stop.
func (g *startGuard) close() (already bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	already = g.closed
	g.closed = true
	return already
}

func (g *startGuard) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}
