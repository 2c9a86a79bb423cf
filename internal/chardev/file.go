package chardev

import (
	"fmt"
	"os"
)

// fileBackend writes output to a file and has no input ("file:PATH").
// Output is never dropped.
type fileBackend struct {
	g   startGuard
	f   *os.File
	out *outQueue
}

var _ Backend = (*fileBackend)(nil)

// openFile creates or truncates the file, as QEMU's file backend does.
func openFile(s Spec, opts Options) (*fileBackend, error) {
	f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, fmt.Errorf("chardev: %w", err)
	}
	b := &fileBackend{f: f}
	b.out = newOutQueue(opts.BufferSize, func(p []byte) error {
		if _, err := f.Write(p); err != nil {
			return fmt.Errorf("chardev: %w", err)
		}
		return nil
	})
	return b, nil
}

// Write queues p for the file.
func (b *fileBackend) Write(p []byte) (int, error) { return b.out.Write(p) }

// Start returns at once; deliver is never called.
func (b *fileBackend) Start(func([]byte)) error { return b.g.start(nil) }

// Close flushes queued output and closes the file.
func (b *fileBackend) Close() error {
	if b.g.close() {
		return nil
	}
	drained := b.out.close(drainTimeout)
	// If the writer is stuck (a FIFO nobody reads), closing the file makes
	// its pending write fail.
	cerr := b.f.Close()
	if !drained {
		b.out.wait()
	}
	err := b.out.firstErr()
	if err == nil && cerr != nil {
		err = fmt.Errorf("chardev: %w", cerr)
	}
	return err
}
