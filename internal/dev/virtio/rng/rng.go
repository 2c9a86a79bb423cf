// Package rng is the virtio entropy device (virtio 1.2 §5.4, QEMU's
// virtio-rng-device) behind the virtio-mmio transport.
//
// The driver offers device-writable buffers on the single request queue;
// the device fills them with random bytes from the host. Host randomness
// is a nondeterministic input like a keystroke, so the device never
// fetches it itself: a queue notify only marks the device as wanting
// entropy (and asks the machine to end the CPU slice). At the next slice
// boundary the machine asks Want how many bytes the offered buffers take,
// fetches exactly that many host bytes (recording them), and hands them
// to Fill, which writes them into the buffers in ring order and returns
// the buffers to the driver. A replay hands the recorded bytes to Fill at
// the same instruction count, and Fill checks that they fit the buffers
// the guest offered there.
//
// No feature bits, no configuration space (§5.4.3, §5.4.4). Each buffer
// gets at most MaxPerBuffer bytes (a driver may get fewer than it asked
// for, §5.4.6.1), so a guest offering a huge buffer cannot make the host
// read or record an unbounded amount.
package rng

import (
	"fmt"

	"github.com/rewindvm/rewind/internal/dev/virtio"
)

// DeviceID is the virtio device ID of an entropy source (§5.4.1).
const DeviceID = 4

const (
	// QueueSize is the maximum size of the request queue.
	QueueSize = 64
	// MaxPerBuffer bounds the bytes written into one offered buffer.
	MaxPerBuffer = 4096
)

// RNG is a virtio entropy device backend (a virtio.DeviceBackend).
type RNG struct {
	// OnWant, if set, is called when the driver offers buffers: the
	// machine uses it to end the CPU slice so they are filled promptly.
	OnWant func()

	q      *virtio.Queue
	wanted bool
	// Served counts the bytes delivered to the guest.
	served uint64
}

var _ virtio.DeviceBackend = (*RNG)(nil)

// New returns an entropy device.
func New() *RNG { return &RNG{} }

// DeviceID implements virtio.DeviceBackend.
func (d *RNG) DeviceID() uint32 { return DeviceID }

// Features implements virtio.DeviceBackend: none (§5.4.3).
func (d *RNG) Features() uint64 { return 0 }

// NumQueues implements virtio.DeviceBackend: one request queue.
func (d *RNG) NumQueues() int { return 1 }

// QueueMax implements virtio.DeviceBackend.
func (d *RNG) QueueMax(int) uint16 { return QueueSize }

// ReadConfig implements virtio.DeviceBackend: there is no configuration
// space; everything reads 0.
func (d *RNG) ReadConfig(_ uint64, p []byte) { clear(p) }

// WriteConfig implements virtio.DeviceBackend; writes are ignored.
func (d *RNG) WriteConfig(uint64, []byte) {}

// Reset implements virtio.DeviceBackend.
func (d *RNG) Reset() { d.q, d.wanted = nil, false }

// Notify implements virtio.DeviceBackend: the driver offered buffers.
func (d *RNG) Notify(q *virtio.Queue) {
	d.q = q
	if !q.Pending() {
		return // e.g. the notify at DRIVER_OK before any buffer
	}
	d.wanted = true
	if d.OnWant != nil {
		d.OnWant()
	}
}

// Wanted reports whether the driver has offered buffers that have not
// been looked at yet.
func (d *RNG) Wanted() bool { return d.wanted && d.q != nil }

// Served returns the number of bytes delivered to the guest so far.
func (d *RNG) Served() uint64 { return d.served }

// Fill takes the offered buffers one at a time and fills each with up to
// MaxPerBuffer bytes that next supplies. next(n) must return exactly n
// bytes (or an error, which stops the fill; buffers already filled stay
// filled). Fill returns how many bytes it used. A buffer with no writable
// part is returned with nothing written.
func (d *RNG) Fill(next func(n int) ([]byte, error)) (int, error) {
	if !d.Wanted() {
		return 0, nil
	}
	d.wanted = false
	total := 0
	for c := d.q.Pop(); c != nil; c = d.q.Pop() {
		n := int(min(c.WritableLen(), MaxPerBuffer))
		if n == 0 {
			d.q.Push(c, 0)
			continue
		}
		p, err := next(n)
		if err != nil {
			// The chain goes back unfilled, so the guest is not left
			// waiting for a buffer the device holds.
			d.q.Push(c, 0)
			return total, err
		}
		if len(p) != n {
			d.q.Push(c, 0)
			return total, fmt.Errorf("virtio-rng: entropy source gave %d bytes for a %d-byte buffer", len(p), n)
		}
		if err := c.WriteAt(p, 0); err != nil {
			d.q.Fail("write %d random bytes: %v", n, err)
			return total, nil
		}
		d.q.Push(c, uint32(n))
		total += n
		d.served += uint64(n)
	}
	return total, nil
}

// State is the snapshot form of the device's own state (the transport
// saves the queue).
type State struct {
	Wanted bool
	Served uint64
}

// Save returns the device state.
func (d *RNG) Save() State { return State{Wanted: d.wanted, Served: d.served} }

// Load restores the device state. q is the device's request queue (from
// the transport), needed when buffers are waiting.
func (d *RNG) Load(s State, q *virtio.Queue) {
	d.wanted, d.served, d.q = s.Wanted, s.Served, q
}
