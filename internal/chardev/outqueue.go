package chardev

import (
	"sync"
	"time"
)

// outQueue decouples the machine goroutine from a host sink. Write copies
// into a bounded buffer and returns; a writer goroutine hands batches to the
// sink. Write blocks only while max bytes are pending. At most 2*max bytes
// are held: the pending buffer and the batch being written.
type outQueue struct {
	sink func([]byte) error // called only by the writer goroutine
	max  int
	done chan struct{} // closed when the writer goroutine exits

	mu        sync.Mutex
	dataReady sync.Cond // signalled when pending becomes non-empty or closed is set
	spaceFree sync.Cond // broadcast when the writer takes pending or closed is set
	idle      sync.Cond // broadcast when the writer finishes a batch
	busy      bool      // guarded by mu; the writer is handing a batch to the sink
	pending   []byte    // guarded by mu
	spare     []byte    // guarded by mu; the buffer the writer gave back
	closed    bool      // guarded by mu
	err       error     // guarded by mu; first sink error, sticky
	discards  uint64    // guarded by mu; calls to discard so far
}

// newOutQueue starts the writer goroutine. sink must consume the whole slice
// (or fail); it must not keep the slice after returning.
func newOutQueue(max int, sink func([]byte) error) *outQueue {
	q := &outQueue{sink: sink, max: max, done: make(chan struct{})}
	q.dataReady.L = &q.mu
	q.spaceFree.L = &q.mu
	q.idle.L = &q.mu
	go q.run()
	return q
}

// Write queues p, blocking while the queue is full. If the queued output
// is discarded while it waits, the rest of p is dropped with it (and
// counted as written): it was output for the same recipient.
func (q *outQueue) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	discards := q.discards
	for len(p) > 0 {
		if q.closed {
			return n, ErrClosed
		}
		if q.err != nil {
			return n, q.err
		}
		if q.discards != discards {
			return n + len(p), nil
		}
		free := q.max - len(q.pending)
		if free <= 0 {
			q.spaceFree.Wait()
			continue
		}
		k := min(free, len(p))
		if len(q.pending) == 0 {
			q.dataReady.Signal() // the writer waits only on an empty queue
		}
		q.pending = append(q.pending, p[:k]...)
		p = p[k:]
		n += k
	}
	return n, nil
}

// run is the writer goroutine: it empties the queue into the sink until the
// queue is closed and drained.
func (q *outQueue) run() {
	defer close(q.done)
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for len(q.pending) == 0 && !q.closed {
			q.dataReady.Wait()
		}
		if len(q.pending) == 0 {
			return // closed and drained
		}
		batch := q.pending
		q.pending, q.spare = q.spare[:0], nil
		q.spaceFree.Broadcast()
		failed := q.err != nil
		q.busy = true
		q.mu.Unlock()
		var err error
		if !failed {
			err = q.sink(batch)
		}
		q.mu.Lock()
		q.busy = false
		q.idle.Broadcast()
		q.spare = batch[:0]
		if err != nil && q.err == nil {
			q.err = err
			q.spaceFree.Broadcast() // blocked writers return the error
		}
	}
}

// discard drops the queued output, and the rest of any Write blocked on
// a full queue, and waits until the writer is not handing an earlier
// batch to the sink: nothing written before the call reaches the sink
// after it returns.
func (q *outQueue) discard() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.discards++
	q.pending = q.pending[:0]
	q.spaceFree.Broadcast()
	for q.busy {
		q.idle.Wait()
	}
}

// close stops accepting output and waits up to timeout for the queued output
// to reach the sink. It reports whether the writer finished in time; if not,
// the caller may force the sink to fail and then call wait.
func (q *outQueue) close(timeout time.Duration) bool {
	q.mu.Lock()
	q.closed = true
	q.dataReady.Signal()
	q.spaceFree.Broadcast()
	q.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-q.done:
		return true
	case <-t.C:
		return false
	}
}

// wait blocks until the writer goroutine has exited.
func (q *outQueue) wait() { <-q.done }

// firstErr returns the first sink error, if any.
func (q *outQueue) firstErr() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}
