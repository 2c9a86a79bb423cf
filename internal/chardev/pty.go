package chardev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/term"
)

// ptyBackend is "pty": a new pseudo-terminal whose slave path is printed
// ("char device redirected to /dev/pts/N"), input and output through the
// master.
//
// The backend keeps its own handle on the slave, in raw mode. That way the
// master never reports a hangup between clients, and output written before
// anyone opens the pty is kept (in the kernel's buffer, then in the output
// queue) instead of dropped: once both are full the machine stalls until a
// client reads. A client such as screen or minicom sets its own terminal
// modes when it opens the slave.
type ptyBackend struct {
	g      startGuard
	master *os.File
	slave  *os.File
	path   string
	out    *outQueue
}

var _ Backend = (*ptyBackend)(nil)

func openPTY(_ Spec, opts Options) (*ptyBackend, error) {
	master, slave, path, err := openPTYPair()
	if err != nil {
		return nil, fmt.Errorf("chardev: pty: %w", err)
	}
	// Raw, so the line discipline neither echoes guest output back as input
	// nor rewrites it.
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("chardev: pty: raw mode: %w", err)
	}
	b := &ptyBackend{master: master, slave: slave, path: path}
	b.out = newOutQueue(opts.BufferSize, func(p []byte) error {
		if _, err := master.Write(p); err != nil {
			return fmt.Errorf("chardev: pty %s: %w", path, err)
		}
		return nil
	})
	if opts.Label != "" {
		fmt.Fprintf(opts.Stderr, "char device redirected to %s (label %s)\n", path, opts.Label)
	} else {
		fmt.Fprintf(opts.Stderr, "char device redirected to %s\n", path)
	}
	return b, nil
}

// Path returns the slave device path, e.g. /dev/pts/3.
func (b *ptyBackend) Path() string { return b.path }

// Write queues p for the pty.
func (b *ptyBackend) Write(p []byte) (int, error) { return b.out.Write(p) }

// Start starts the input goroutine.
func (b *ptyBackend) Start(deliver func([]byte)) error {
	return b.g.start(func() error {
		b.g.goLocked(func() { b.readLoop(deliver) })
		return nil
	})
}

func (b *ptyBackend) readLoop(deliver func([]byte)) {
	buf := make([]byte, 4096)
	for {
		n, err := b.master.Read(buf)
		if n > 0 {
			deliver(buf[:n])
		}
		switch {
		case err == nil:
		case errors.Is(err, syscall.EIO) && !b.g.isClosed():
			// No slave open (cannot happen while we hold one; kept for
			// safety): wait for a client instead of spinning.
			time.Sleep(100 * time.Millisecond)
		case errors.Is(err, io.EOF) && !b.g.isClosed():
			time.Sleep(100 * time.Millisecond)
		default:
			return
		}
	}
}

// Close flushes output (bounded by drainTimeout, then abandoned), stops
// input and releases the pty.
func (b *ptyBackend) Close() error {
	if b.g.close() {
		return nil
	}
	drained := b.out.close(drainTimeout)
	b.master.Close() // interrupts the reader and a stuck writer
	if !drained {
		b.out.wait()
	}
	b.g.wg.Wait()
	b.slave.Close()
	if err := b.out.firstErr(); err != nil && drained {
		return err
	}
	return nil
}
