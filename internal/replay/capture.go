package replay

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"

	"github.com/rewindvm/rewind/internal/hugemem"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// checkpoint logs a state digest at the current icount and, when one is
// due, an embedded snapshot (OnCheckpoint while recording).
//
// The machine goroutine only captures them (machine.CaptureCheck: the
// hart and device state, and which pages to hash or encode); another
// goroutine hashes the pages, encodes and compresses the snapshot, and
// appends them to the log while the guest runs on (see pendingCapture).
// One capture is open at a time: a digest that comes while the previous
// one is still being written is computed here (Check) and waits in the
// queue behind it, and a snapshot waits for it.
func (r *Recorder) checkpoint() {
	icount := r.m.ICount()
	r.digests++
	r.m.NextCheckpoint = icount + r.interval
	snapDue := r.taker != nil && icount >= r.snapNext
	r.collectCapture(snapDue)
	if r.pending != nil {
		sc := r.m.Check()
		ev, err := rrlog.NewDigest(sc.ICount, toDigest(&sc))
		if err != nil {
			r.fail(fmt.Errorf("recording: state digest at icount %d: %w", icount, err))
			return
		}
		r.append(ev)
		return
	}
	var t *machine.SnapshotTaker
	if snapDue {
		t = r.taker
	}
	c, err := r.m.CaptureCheck(t)
	if err != nil {
		r.fail(fmt.Errorf("recording: state digest at icount %d: %w", icount, err))
		return
	}
	if c.HasSnapshot() && r.enc == nil {
		if r.enc, err = newSnapshotEncoder(); err != nil {
			c.Close()
			r.fail(fmt.Errorf("recording: snapshot at icount %d: %w", icount, err))
			return
		}
	}
	p := &pendingCapture{
		done: make(chan struct{}), c: c, icount: icount, seq: uint64(r.snapshots),
		enc: r.enc, blob: r.blob, mapped: r.blobMap, ram: len(r.m.Bus.RAM),
	}
	if c.HasSnapshot() {
		// Not taken while disk requests are in flight: then at the next
		// digest.
		r.snapNext = icount + r.snapEvery
	}
	r.pending = p
	go r.writeCapture(p)
}

// fail records the first error and stops the machine at the next
// boundary; what is recorded so far stays.
func (r *Recorder) fail(err error) {
	if r.err == nil {
		r.err = err
		r.m.RequestStop()
	}
}

// newSnapshotEncoder returns an encoder for embedded snapshots: the
// recorder streams through one of its own; EncodeEmbedded shares zenc.
// A 1 MiB window compresses snapshots as well as the default 4 MiB (guest
// pages repeat little at a distance) and the encoder's history buffer,
// faulted in at the first snapshot, is a quarter the size.
func newSnapshotEncoder() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
}

// pendingCapture is a state digest, and maybe an embedded snapshot, on
// its way into the log. A goroutine of its own reads the captured pages
// (copy-on-write, from guest RAM), hashes the digest's, encodes and
// compresses the snapshot's, appends the digest and the snapshot to the
// log, then the events the recorder queued meanwhile, so the recording
// keeps its order: the digest and the snapshot at their icount, then
// everything after. The machine goroutine never waits for it, except
// when a snapshot is due before it is done, when the queue is full, and
// at Finish.
type pendingCapture struct {
	done   chan struct{} // closed when the goroutine is done
	c      *machine.Capture
	icount uint64
	seq    uint64        // the snapshot's number in the recording
	enc    *zstd.Encoder // the recorder's; used by one capture at a time
	// blob is the compressed snapshot, in the recorder's buffer (back
	// when the capture is collected): every snapshot reuses it, so a
	// recording does not fault in megabytes of fresh memory each time.
	blob   []byte
	mapped []byte // blob's buffer if it is from hugemem.Map
	ram    int    // bytes of guest RAM: what the largest snapshot holds in pages

	// Guarded by the recorder's mu.
	written bool // its events and the queue are in the log: append directly
	err     error
}

// writeCapture finishes the capture and writes it into the recording,
// then the events queued behind it (on its own goroutine).
func (r *Recorder) writeCapture(p *pendingCapture) {
	defer close(p.done)
	err := p.finish(r.w)
	r.mu.Lock()
	defer r.mu.Unlock()
	p.err = err
	// The events that arrived meanwhile follow, even after a failed
	// snapshot: they are the recording; a snapshot is an annotation.
	for _, ev := range r.queue {
		if werr := r.w.Append(ev); werr != nil {
			if p.err == nil {
				p.err = werr
			}
			break
		}
	}
	clear(r.queue)
	r.queue = r.queue[:0]
	p.written = true
}

// finish hashes the digest's pages and streams the snapshot's encoding
// through the encoder into p.blob, then appends both to the log.
func (p *pendingCapture) finish(w *rrlog.Writer) error {
	var out *appender
	var dst *zstd.Encoder
	if p.c.HasSnapshot() {
		size, err := p.c.EncodedSize()
		if err != nil {
			return err
		}
		p.reserve(int(size) + int(size)/128 + 1024)
		out = &appender{p.blob[:0]}
		dst = p.enc
		dst.ResetContentSize(out, size)
	}
	var sc machine.StateCheck
	var err error
	if dst != nil {
		sc, err = p.c.Finish(dst)
		if err == nil {
			err = dst.Close()
		}
		p.blob = out.b
	} else {
		sc, err = p.c.Finish(nil)
	}
	if err != nil {
		return err
	}
	ev, err := rrlog.NewDigest(sc.ICount, toDigest(&sc))
	if err != nil {
		return err
	}
	if err := w.Append(ev); err != nil {
		return err
	}
	if dst == nil {
		return nil
	}
	if err := w.AppendSnapshot(p.icount, p.seq, p.blob); err != nil {
		return &snapshotError{err}
	}
	return nil
}

// reserve makes p.blob hold at least n bytes: room for the worst case
// (incompressible pages), so the blob never grows while it is written.
// A new buffer has room for as many pages as guest RAM holds, so that
// later snapshots fit too, in address space of which only what the
// encoder writes is faulted in. Nothing refers to the previous buffer
// any more.
func (p *pendingCapture) reserve(n int) {
	if cap(p.blob) >= n {
		return
	}
	hugemem.Unmap(p.mapped)
	p.mapped = nil
	if b, err := hugemem.Map(max(n, p.ram+p.ram/128+1<<20)); err == nil {
		p.blob, p.mapped = b, b
	} else {
		p.blob = hugemem.Alloc(n + n/4)
	}
}

// snapshotError is a failure to write a snapshot, after its digest.
type snapshotError struct{ err error }

func (e *snapshotError) Error() string { return e.err.Error() }
func (e *snapshotError) Unwrap() error { return e.err }

// appender is an io.Writer that appends to a byte slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// maxQueued bounds the events waiting behind a pending capture.
const maxQueued = 4096

// queueBehindCapture queues ev behind the pending capture if its events
// are not in the log yet, and reports whether it did. When the queue is
// full it waits for the capture instead.
func (r *Recorder) queueBehindCapture(ev rrlog.Event) bool {
	p := r.pending
	if p == nil {
		return false
	}
	r.mu.Lock()
	written := p.written
	if !written && len(r.queue) < maxQueued {
		r.queue = append(r.queue, ev)
		r.mu.Unlock()
		return true
	}
	r.mu.Unlock()
	// Written: ev goes straight to the log. Queue full: wait for the
	// capture to be written.
	r.collectCapture(!written)
	return false
}

// collectCapture closes the pending capture, takes back its buffers and
// counts its snapshot (or reports its error) once its goroutine is done
// (wait: wait for that).
func (r *Recorder) collectCapture(wait bool) {
	p := r.pending
	if p == nil {
		return
	}
	if wait {
		<-p.done
	} else {
		select {
		case <-p.done:
		default:
			return
		}
	}
	r.pending = nil
	p.c.Close()
	r.blob, r.blobMap = p.blob, p.mapped
	if p.err != nil {
		what := "state digest"
		if se := (*snapshotError)(nil); errors.As(p.err, &se) {
			what = fmt.Sprintf("snapshot %d", p.seq)
		}
		r.fail(fmt.Errorf("recording: %s at icount %d: %w", what, p.icount, p.err))
		return
	}
	if p.c.HasSnapshot() {
		r.snapshots++
		r.snapBytes += uint64(len(p.blob))
	}
}

// releaseCaptureBuffers gives back the buffers the snapshots reused,
// once the last capture is collected.
func (r *Recorder) releaseCaptureBuffers() {
	hugemem.Unmap(r.blobMap)
	r.blob, r.blobMap = nil, nil
}
