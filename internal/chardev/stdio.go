package chardev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// stdioBackend is "stdio": output to stdout, input from stdin.
//
// When stdin is a terminal, Start puts it in raw mode (no echo, no line
// editing, no signals from Ctrl-C, no output post-processing: the guest sends
// its own CRLF) and handles the escape key (escapeFilter). Close, Restore and
// RestoreAll put the terminal back.
//
// When stdin is not a terminal, bytes pass verbatim and Options.OnEOF is
// called at end of input. Output is never dropped.
type stdioBackend struct {
	g      startGuard
	inFd   int
	isTerm bool
	opts   Options
	out    *outQueue
	esc    escapeFilter // used only by the input goroutine
	reader *pollReader  // set under g.mu by Start; read by Close after g.close

	claimed bool // holds the process-wide stdio claim (openStdio)

	rawMu sync.Mutex
	saved *term.State // guarded by rawMu; non-nil while the terminal is raw
}

var (
	_ Backend  = (*stdioBackend)(nil)
	_ Restorer = (*stdioBackend)(nil)
)

// errCanceled ends a pollReader read when the backend closes.
var errCanceled = errors.New("chardev: read canceled")

// stdioClaim allows one stdio backend per process, as QEMU does.
var stdioClaim struct {
	sync.Mutex
	used bool // guarded by the mutex
}

// rawTerms holds the backends whose terminal is currently raw, for RestoreAll.
var rawTerms = struct {
	sync.Mutex
	m map[*stdioBackend]struct{} // guarded by the mutex
}{m: map[*stdioBackend]struct{}{}}

// RestoreAll restores every terminal that a stdio backend put in raw mode.
// It is meant for exit paths that do not hold the backend (a panic handler,
// a signal handler); it is idempotent and safe from any goroutine.
func RestoreAll() {
	rawTerms.Lock()
	list := make([]*stdioBackend, 0, len(rawTerms.m))
	for b := range rawTerms.m {
		list = append(list, b)
	}
	rawTerms.Unlock()
	for _, b := range list {
		b.Restore()
	}
}

// openStdio claims the process's stdin and stdout.
func openStdio(opts Options) (*stdioBackend, error) {
	stdioClaim.Lock()
	defer stdioClaim.Unlock()
	if stdioClaim.used {
		return nil, errors.New("chardev: stdio is already used by another backend")
	}
	stdioClaim.used = true
	b := newStdio(int(os.Stdin.Fd()), os.Stdout, opts)
	b.claimed = true
	return b, nil
}

// newStdio builds a stdio backend on any input fd and output writer; tests
// use pipes and pty pairs. opts must have its defaults applied.
func newStdio(inFd int, out io.Writer, opts Options) *stdioBackend {
	b := &stdioBackend{
		inFd:   inFd,
		isTerm: term.IsTerminal(inFd),
		opts:   opts,
		esc:    escapeFilter{esc: opts.EscapeChar},
	}
	b.out = newOutQueue(opts.BufferSize, func(p []byte) error {
		if _, err := out.Write(p); err != nil {
			return fmt.Errorf("chardev: stdio: %w", err)
		}
		return nil
	})
	return b
}

// Write queues p for stdout.
func (b *stdioBackend) Write(p []byte) (int, error) { return b.out.Write(p) }

// Start makes a terminal raw and starts the input goroutine.
func (b *stdioBackend) Start(deliver func([]byte)) error {
	return b.g.start(func() error {
		r, err := newPollReader(b.inFd)
		if err != nil {
			return fmt.Errorf("chardev: stdio: %w", err)
		}
		if b.isTerm {
			if err := b.makeRaw(); err != nil {
				r.close()
				return fmt.Errorf("chardev: stdio: raw mode: %w", err)
			}
		}
		b.reader = r
		b.g.goLocked(func() { b.readLoop(r, deliver) })
		return nil
	})
}

func (b *stdioBackend) makeRaw() error {
	b.rawMu.Lock()
	defer b.rawMu.Unlock()
	st, err := term.MakeRaw(b.inFd)
	if err != nil {
		return err
	}
	b.saved = st
	rawTerms.Lock()
	rawTerms.m[b] = struct{}{}
	rawTerms.Unlock()
	return nil
}

// Restore puts the terminal back in the mode it had before Start.
func (b *stdioBackend) Restore() {
	b.rawMu.Lock()
	defer b.rawMu.Unlock()
	if b.saved == nil {
		return
	}
	term.Restore(b.inFd, b.saved) // nothing useful to do on failure
	b.saved = nil
	rawTerms.Lock()
	delete(rawTerms.m, b)
	rawTerms.Unlock()
}

// readLoop is the input goroutine.
func (b *stdioBackend) readLoop(r *pollReader, deliver func([]byte)) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if b.isTerm {
				b.esc.filter(buf[:n], deliver, b.quit, b.help)
			} else {
				deliver(buf[:n])
			}
		}
		if err != nil {
			if !errors.Is(err, errCanceled) && b.opts.OnEOF != nil {
				b.opts.OnEOF()
			}
			return
		}
	}
}

func (b *stdioBackend) quit() {
	if b.opts.OnQuit != nil {
		b.opts.OnQuit()
		return
	}
	b.Restore()
	terminateSelf()
}

func (b *stdioBackend) help() {
	io.WriteString(b.opts.Stderr, escapeHelp(b.opts.EscapeChar))
}

// Close stops input, flushes output (bounded by drainTimeout), restores the
// terminal and releases stdio for another backend. Output that cannot be
// flushed in time (stdout piped to a reader that stopped) is abandoned.
func (b *stdioBackend) Close() error {
	if b.g.close() {
		return nil
	}
	if r := b.reader; r != nil {
		r.cancel()
		b.g.wg.Wait()
		r.close()
	}
	drained := b.out.close(drainTimeout)
	b.Restore()
	if b.claimed {
		stdioClaim.Lock()
		stdioClaim.used = false
		stdioClaim.Unlock()
	}
	if err := b.out.firstErr(); err != nil {
		return err
	}
	if !drained {
		return fmt.Errorf("chardev: stdio: output not flushed within %v", drainTimeout)
	}
	return nil
}
