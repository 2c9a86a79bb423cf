// Package replay connects a machine to a recording: the Recorder logs
// every nondeterministic input as it enters the guest, and the Player
// feeds the same inputs back at the same instruction counts, checking
// periodic state digests to catch a divergence where it starts.
//
// What is logged (and nothing else, since the machine recomputes the
// rest): serial bytes when they enter the UART, block completions when
// they reach the guest, host random bytes when they fill the virtio-rng
// device's buffers, network frames when they enter the virtio-net
// device's receive buffers, idle warps, a host-requested shutdown, and
// state digests. The machine's run loop calls the Player at exactly the points
// where the Recorder's hooks fired, so the same events land between the
// same instructions.
package replay

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// DefaultDigestInterval is the number of instructions between two state
// digests in a recording.
const DefaultDigestInterval = 50_000_000

// Recorder writes a machine's inputs to a recording.
type Recorder struct {
	m        *machine.Machine
	w        *rrlog.Writer
	interval uint64
	embed    bool
	err      error
	digests  int

	// Embedded snapshots (EmbedSnapshots), and the capture of the latest
	// digest (with its snapshot, if one was due) on its way into the log.
	taker     *machine.SnapshotTaker
	snapEvery uint64
	snapNext  uint64
	snapshots int
	snapBytes uint64
	pending   *pendingCapture // on its way into the log (see checkpoint)
	blob      []byte          // reused by every snapshot (see pendingCapture)
	blobMap   []byte          // blob's buffer if it is from hugemem.Map
	enc       *zstd.Encoder   // streams the snapshots (see pendingCapture)
	mu        sync.Mutex      // guards queue and the pending capture's result
	queue     []rrlog.Event   // events waiting behind the pending capture
}

// Record installs the recording hooks on m, whose events go to w. A
// digest is logged every interval instructions (0: DefaultDigestInterval).
// With embedReads, block read completions carry the data read, so the
// recording replays without the disk images.
func Record(m *machine.Machine, w *rrlog.Writer, interval uint64, embedReads bool) *Recorder {
	if interval == 0 {
		interval = DefaultDigestInterval
	}
	r := &Recorder{m: m, w: w, interval: interval, embed: embedReads}
	m.TrackDirty()
	m.OnInputEntered = func(ic uint64, p []byte) { r.append(rrlog.NewSerialInput(ic, 0, p)) }
	m.OnWarp = func(ic, ns uint64) { r.append(rrlog.NewWarp(ic, ns)) }
	m.OnEntropy = func(ic uint64, p []byte) { r.append(rrlog.NewEntropy(ic, 0, p)) }
	m.OnNetFrame = func(ic, dropped uint64, f []byte) { r.append(rrlog.NewNetFrame(ic, 0, dropped, f)) }
	m.OnBlockComplete = func(ic uint64, d machine.BlockDone, data []byte) {
		c := rrlog.BlockComplete{Device: d.Disk, Request: d.ID, Status: d.Status}
		if r.embed {
			c.Data = data
		}
		r.append(rrlog.NewBlockComplete(ic, c))
	}
	m.OnHostStop = func(ic uint64, cause uint8) {
		reason := rrlog.ShutdownReason(cause)
		if reason == 0 {
			reason = rrlog.ShutdownQuitKey
		}
		r.append(rrlog.NewShutdown(ic, reason))
	}
	m.NextCheckpoint = m.ICount() + interval
	m.OnCheckpoint = func() error {
		r.checkpoint()
		return r.err
	}
	return r
}

func (r *Recorder) append(ev rrlog.Event) {
	if r.err != nil {
		return
	}
	if r.queueBehindCapture(ev) {
		return
	}
	r.collectCapture(false)
	r.write(ev)
}

// write appends ev to the recording.
func (r *Recorder) write(ev rrlog.Event) {
	if r.err != nil {
		return
	}
	if err := r.w.Append(ev); err != nil {
		// Keep what is recorded; stop the machine at the next boundary.
		r.err = fmt.Errorf("recording: %w", err)
		r.m.RequestStop()
	}
}

// Err returns the first error writing the recording.
func (r *Recorder) Err() error { return r.err }

// Digests returns how many state digests were logged.
func (r *Recorder) Digests() int { return r.digests }

// Finish logs a final digest (so replay verifies the end state) and
// closes the recording with its end record.
func (r *Recorder) Finish(res machine.Result) error {
	r.collectCapture(true)
	r.releaseCaptureBuffers()
	if r.err == nil {
		sc := r.m.Check()
		if ev, err := rrlog.NewDigest(sc.ICount, toDigest(&sc)); err == nil {
			r.append(ev)
		} else {
			r.err = err
		}
	}
	end := rrlog.EndInfo{ICount: res.ICount, Clean: r.err == nil, Reason: res.Reason.String()}
	if r.err != nil {
		end.Reason = r.err.Error()
	}
	if err := r.w.Close(end); err != nil && r.err == nil {
		r.err = fmt.Errorf("recording: %w", err)
	}
	return r.err
}

func toDigest(sc *machine.StateCheck) rrlog.Digest {
	d := rrlog.Digest{Sum: sc.Sum(), HartState: encodeHart(&sc.Hart)}
	for _, c := range sc.Components {
		d.Components = append(d.Components, rrlog.ComponentDigest{Name: c.Name, Sum: c.Hash})
	}
	for _, p := range sc.Pages {
		d.Pages = append(d.Pages, rrlog.PageHash{Page: p.Page, Hash: p.Hash})
	}
	return d
}
