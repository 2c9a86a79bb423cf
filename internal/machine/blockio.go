package machine

import (
	"fmt"
	"slices"

	"github.com/rewindvm/rewind/internal/dev/virtio/blk"
)

// Asynchronous block I/O. With Config.AsyncBlock each disk gets one host
// worker goroutine that runs that disk's requests in submission order (so
// the disk's contents after any sequence of requests are deterministic),
// and completions come back through a channel that the run loop drains
// at slice boundaries, like host input: they enter the guest at an
// instruction count that depends on host timing, which is why record mode
// logs it and replay mode takes it from the log.

// BlockDone is a finished host block request.
type BlockDone struct {
	Disk   int
	ID     uint64
	Status uint8
}

type blockJob struct {
	id  uint64
	run func() uint8
}

type blockWorker struct {
	jobs chan blockJob
}

// startBlockWorkers wires every virtio-blk device to a host worker.
func (m *Machine) startBlockWorkers() {
	m.blockDone = make(chan BlockDone, 1024)
	for i, d := range m.Blk {
		w := &blockWorker{jobs: make(chan blockJob, blk.QueueSize+1)}
		disk := i
		go func() {
			for j := range w.jobs {
				m.blockDone <- BlockDone{Disk: disk, ID: j.id, Status: j.run()}
				m.jobsPending.Add(-1)
			}
		}()
		m.workers = append(m.workers, w)
		d.Async = func(id uint64, write bool, run func() uint8) {
			m.jobsPending.Add(1)
			w.jobs <- blockJob{id: id, run: run}
			if m.Player == nil {
				// Shorter slices while the host works, so the completion
				// reaches the guest soon after it is ready.
				m.requestExit()
			}
		}
	}
}

// Close stops the block workers after they finish what they were given,
// so nothing touches the disks once it returns. The machine must not run
// afterwards.
func (m *Machine) Close() {
	for _, w := range m.workers {
		close(w.jobs)
	}
	m.workers = nil
	m.quiesceBlock()
}

// deliverBlock completes a finished request in the guest and reports it.
func (m *Machine) deliverBlock(d BlockDone) error {
	if d.Disk < 0 || d.Disk >= len(m.Blk) {
		return fmt.Errorf("machine: block completion for disk %d, which does not exist", d.Disk)
	}
	b := m.Blk[d.Disk]
	var data []byte
	if m.OnBlockComplete != nil {
		data = b.ReadData(d.ID)
	}
	if !b.Complete(d.ID, d.Status) {
		// The guest reset the device while the request ran: nothing to
		// deliver, nothing the guest can see.
		return nil
	}
	if m.OnBlockComplete != nil {
		m.OnBlockComplete(m.ICount(), d, data)
	}
	return nil
}

// CompleteBlock delivers a block completion now (replay). data, if not
// nil, replaces what the host read (self-contained recordings).
func (m *Machine) CompleteBlock(d BlockDone, data []byte) error {
	if d.Disk < 0 || d.Disk >= len(m.Blk) {
		return fmt.Errorf("block completion for disk %d, which does not exist", d.Disk)
	}
	b := m.Blk[d.Disk]
	if data != nil {
		buf := b.ReadData(d.ID)
		if len(buf) != len(data) {
			return fmt.Errorf("block completion for disk %d request %d carries %d bytes, the request reads %d", d.Disk, d.ID, len(data), len(buf))
		}
		copy(buf, data)
	}
	if !b.Complete(d.ID, d.Status) {
		return fmt.Errorf("block completion for disk %d request %d, which is not in flight (in flight: %v)", d.Disk, d.ID, b.InFlight())
	}
	return nil
}

// WaitBlock blocks until the host worker has finished request id of disk
// (replay: the recording says it completes now; if the host is slower
// than it was when recording, the machine waits). Completions of other
// requests that arrive first are kept for later.
func (m *Machine) WaitBlock(disk int, id uint64) (BlockDone, error) {
	for i, d := range m.blockEarly {
		if d.Disk == disk && d.ID == id {
			m.blockEarly = append(m.blockEarly[:i], m.blockEarly[i+1:]...)
			return d, nil
		}
	}
	if m.blockDone == nil {
		return BlockDone{}, fmt.Errorf("block request %d of disk %d: no host I/O worker", id, disk)
	}
	if disk < 0 || disk >= len(m.Blk) || !slices.Contains(m.Blk[disk].InFlight(), id) {
		return BlockDone{}, fmt.Errorf("block request %d of disk %d is not in flight", id, disk)
	}
	for {
		d := <-m.blockDone
		if d.Disk == disk && d.ID == id {
			return d, nil
		}
		m.blockEarly = append(m.blockEarly, d)
	}
}

func (m *Machine) blockInFlight() int {
	n := 0
	for _, b := range m.Blk {
		n += len(b.InFlight())
	}
	return n
}
