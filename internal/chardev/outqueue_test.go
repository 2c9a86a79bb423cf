package chardev

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

// gateSink is a sink that blocks until released and records what it got.
type gateSink struct {
	mu   sync.Mutex
	got  bytes.Buffer
	gate chan struct{}
	err  error
}

func (s *gateSink) sink(p []byte) error {
	<-s.gate
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got.Write(p)
	return s.err
}

func (s *gateSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got.String()
}

// fullQueue returns a 4-byte queue whose writer has taken "abcd" and
// blocks in the sink until s.gate is closed, and whose queue "efgh"
// fills.
func fullQueue(t *testing.T) (*outQueue, *gateSink) {
	t.Helper()
	s := &gateSink{gate: make(chan struct{})}
	q := newOutQueue(4, s.sink)
	if _, err := q.Write([]byte("abcd")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "writer to take the first batch", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.pending) == 0
	})
	if _, err := q.Write([]byte("efgh")); err != nil {
		t.Fatal(err)
	}
	return q, s
}

func TestOutQueueBlocksWhenFullAndKeepsEverything(t *testing.T) {
	q, s := fullQueue(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Write([]byte("ij"))
	}()
	select {
	case <-done:
		t.Fatal("Write returned while the queue was full")
	case <-time.After(20 * time.Millisecond):
	}
	close(s.gate) // release the sink
	<-done
	if !q.close(testTimeout) {
		t.Fatal("close did not drain")
	}
	if got := s.String(); got != "abcdefghij" {
		t.Errorf("sink got %q, want %q", got, "abcdefghij")
	}
	if _, err := q.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after close = %v, want ErrClosed", err)
	}
}

func TestOutQueueLargeWrite(t *testing.T) {
	s := &gateSink{gate: make(chan struct{})}
	close(s.gate)
	q := newOutQueue(3, s.sink)
	in := bytes.Repeat([]byte("0123456789"), 100)
	if n, err := q.Write(in); n != len(in) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	q.close(testTimeout)
	if got := s.String(); got != string(in) {
		t.Errorf("sink got %d bytes, want %d in order", len(got), len(in))
	}
}

func TestOutQueueStickyError(t *testing.T) {
	boom := errors.New("boom")
	s := &gateSink{gate: make(chan struct{}), err: boom}
	close(s.gate)
	q := newOutQueue(16, s.sink)
	q.Write([]byte("a"))
	eventually(t, "sink error", func() bool { return q.firstErr() != nil })
	for i := 0; i < 2; i++ {
		if _, err := q.Write([]byte("b")); !errors.Is(err, boom) {
			t.Errorf("Write after sink error = %v, want %v", err, boom)
		}
	}
	q.close(testTimeout)
	if got := s.String(); got != "a" {
		t.Errorf("sink got %q after its error, want only %q", got, "a")
	}
}

func TestOutQueueCloseTimeout(t *testing.T) {
	s := &gateSink{gate: make(chan struct{})}
	q := newOutQueue(16, s.sink)
	q.Write([]byte("stuck"))
	if q.close(10 * time.Millisecond) {
		t.Fatal("close reported drained while the sink was blocked")
	}
	close(s.gate)
	q.wait()
}

// A Write blocked on a full queue when the output is discarded (a socket
// backend's client changed) drops the rest of its bytes with the queue:
// they must not reach the sink afterwards.
func TestOutQueueDiscardDropsBlockedWrite(t *testing.T) {
	q, s := fullQueue(t)
	wrote := make(chan int)
	go func() {
		n, _ := q.Write([]byte("ijkl"))
		wrote <- n
	}()
	select {
	case <-wrote:
		t.Fatal("Write returned while the queue was full")
	case <-time.After(20 * time.Millisecond):
	}
	discarded := make(chan struct{})
	go func() {
		defer close(discarded)
		q.discard()
	}()
	if n := <-wrote; n != 4 {
		t.Errorf("blocked Write returned %d, want 4 (dropped, counted as written)", n)
	}
	close(s.gate) // the sink finishes "abcd"; discard returns
	<-discarded
	if _, err := q.Write([]byte("mn")); err != nil {
		t.Fatal(err)
	}
	if !q.close(testTimeout) {
		t.Fatal("close did not drain")
	}
	if got := s.String(); got != "abcdmn" {
		t.Errorf("sink got %q, want %q", got, "abcdmn")
	}
}
