package chardev

// nullBackend discards output and has no input ("null").
type nullBackend struct {
	g startGuard
}

var _ Backend = (*nullBackend)(nil)

// Write discards p.
func (b *nullBackend) Write(p []byte) (int, error) {
	if b.g.isClosed() {
		return 0, ErrClosed
	}
	return len(p), nil
}

// Start returns at once; deliver is never called.
func (b *nullBackend) Start(func([]byte)) error { return b.g.start(nil) }

// Close marks the backend closed.
func (b *nullBackend) Close() error {
	b.g.close()
	return nil
}
