package chardev

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// testTimeout bounds every wait in these tests; they normally take
// milliseconds.
const testTimeout = 5 * time.Second

// collector is a deliver function that records what it is given.
type collector struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	cond chan struct{} // closed and replaced on every delivery
}

func newCollector() *collector { return &collector{cond: make(chan struct{})} }

func (c *collector) deliver(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	close(c.cond)
	c.cond = make(chan struct{})
}

func (c *collector) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// waitFor waits until the collected input equals want.
func (c *collector) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		c.mu.Lock()
		got, ch := c.buf.String(), c.cond
		c.mu.Unlock()
		if got == want {
			return
		}
		if len(got) >= len(want) {
			t.Fatalf("input = %q, want %q", got, want)
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out: input = %q, want %q", got, want)
		}
	}
}

// syncBuffer is an io.Writer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond until it holds or the test times out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
