// Package blk is the virtio block device (virtio 1.2 §5.2) behind the
// virtio-mmio transport. Guest sectors are read from and written to a
// block.Device (raw image, copy-on-write overlay, ...).
//
// Offered features: VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_SEG_MAX,
// VIRTIO_BLK_F_BLK_SIZE (512), VIRTIO_BLK_F_FLUSH, and VIRTIO_BLK_F_RO when
// the backing device is read-only. One request queue of QueueSize entries.
// Request types IN, OUT, FLUSH and GET_ID are supported; any other type
// completes with VIRTIO_BLK_S_UNSUPP.
//
// A request goes through three steps:
//
//	parse    (machine goroutine, at queue notify) checks the chain and the
//	         header and, for OUT, copies the data out of guest memory;
//	execute  runs it against the block.Device (host I/O only, no guest
//	         memory access);
//	complete (machine goroutine) copies IN / GET_ID data into guest
//	         memory, writes the status byte, puts the chain on the used
//	         ring and raises the interrupt.
//
// Today all three run back to back inside the notify. Because execute
// touches no guest state and complete needs only the request, a
// record/replay layer can later run execute on a host worker and call
// complete at a recorded instruction count; guest memory then changes only
// at deterministic points (parse and complete).
//
// Error handling: a request the driver got wrong but that still has a
// status byte (short header, data not a multiple of 512 bytes, sectors
// beyond the capacity, writes to a read-only disk, oversized requests)
// completes with VIRTIO_BLK_S_IOERR; host I/O errors do too. A chain
// without a device-writable status byte, or buffers the device cannot
// access, is a transport-level driver error: the device enters
// DEVICE_NEEDS_RESET (see package virtio).
package blk

import (
	"encoding/binary"
	"fmt"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/dev/virtio"
)

// DeviceID is the virtio device ID of a block device (§5.2.1).
const DeviceID = 2

// Geometry of the device.
const (
	// QueueSize is the maximum (and usual) size of the request queue.
	QueueSize = 256
	// SegMax is the number of data segments per request advertised in
	// seg_max: the queue size minus the header and status descriptors.
	SegMax = QueueSize - 2
	// SizeMax is the largest data segment advertised in size_max.
	SizeMax = 64 << 10
	// MaxRequestBytes bounds the data of one request (SegMax*SizeMax, 16
	// MiB); larger requests, which a driver honouring seg_max and
	// size_max never sends, fail with IOERR instead of allocating
	// guest-chosen amounts of host memory.
	MaxRequestBytes = SegMax * SizeMax
	// SectorSize is the unit of the sector field and of capacity (§5.2.4).
	SectorSize = 512
	// IDBytes is the length of the GET_ID serial string (§5.2.6).
	IDBytes = 20
)

// Feature bits (§5.2.3).
const (
	FeatureSizeMax = 1 << 1
	FeatureSegMax  = 1 << 2
	FeatureRO      = 1 << 5
	FeatureBlkSize = 1 << 6
	FeatureFlush   = 1 << 9
)

// Request types (§5.2.6).
const (
	TypeIn          = 0
	TypeOut         = 1
	TypeFlush       = 4
	TypeGetID       = 8
	TypeGetLifetime = 10
	TypeDiscard     = 11
	TypeWriteZeroes = 13
	TypeSecureErase = 14
)

// Request status values (§5.2.6).
const (
	StatusOK     = 0
	StatusIOErr  = 1
	StatusUnsupp = 2
)

// headerSize is the size of struct virtio_blk_req's header: le32 type,
// le32 reserved, le64 sector (§5.2.6).
const headerSize = 16

// Configuration space offsets (struct virtio_blk_config, §5.2.4).
const (
	cfgCapacity = 0
	cfgSizeMax  = 8
	cfgSegMax   = 12
	cfgBlkSize  = 20
	cfgSize     = 64 // through secure_erase_sector_alignment; all later fields read 0
)

// Blk is a virtio block device backend (a virtio.DeviceBackend).
type Blk struct {
	// Logf, if set, receives request errors (I/O errors, bad requests).
	Logf func(format string, args ...any)

	// Async, if set, takes host I/O off the machine goroutine: each
	// request that needs the disk gets the next request id and is handed
	// to Async together with a function that performs its I/O (it touches
	// only the disk and the request's own buffer, never guest memory). The
	// machine later calls Complete with that id and the status run
	// returned, at an instruction count of its choosing (record/replay
	// decides it). With Async nil, requests complete inside the notify.
	Async func(id uint64, write bool, run func() uint8)

	disk     block.Device
	ro       bool
	serial   [IDBytes]byte
	config   [cfgSize]byte
	nextID   uint64
	inflight []*request // submitted to Async, in id order
}

var _ virtio.DeviceBackend = (*Blk)(nil)

// New returns a block device over disk. serial is the GET_ID string (e.g.
// "rewind-vda"; truncated to 20 bytes). The capacity is disk.Size()/512
// (block.Device sizes are multiples of 512).
func New(disk block.Device, serial string) *Blk {
	d := &Blk{disk: disk, ro: disk.ReadOnly()}
	copy(d.serial[:], serial)
	binary.LittleEndian.PutUint64(d.config[cfgCapacity:], uint64(disk.Size())/SectorSize)
	binary.LittleEndian.PutUint32(d.config[cfgSizeMax:], SizeMax)
	binary.LittleEndian.PutUint32(d.config[cfgSegMax:], SegMax)
	binary.LittleEndian.PutUint32(d.config[cfgBlkSize:], SectorSize)
	return d
}

// DeviceID implements virtio.DeviceBackend.
func (d *Blk) DeviceID() uint32 { return DeviceID }

// Features implements virtio.DeviceBackend.
func (d *Blk) Features() uint64 {
	f := uint64(FeatureSizeMax | FeatureSegMax | FeatureBlkSize | FeatureFlush)
	if d.ro {
		f |= FeatureRO
	}
	return f
}

// NumQueues implements virtio.DeviceBackend: one request queue.
func (d *Blk) NumQueues() int { return 1 }

// QueueMax implements virtio.DeviceBackend.
func (d *Blk) QueueMax(int) uint16 { return QueueSize }

// ReadConfig implements virtio.DeviceBackend.
func (d *Blk) ReadConfig(off uint64, p []byte) {
	for i := range p {
		p[i] = 0
		if o := off + uint64(i); o >= off && o < cfgSize {
			p[i] = d.config[o]
		}
	}
}

// WriteConfig implements virtio.DeviceBackend. No field is writable
// (VIRTIO_BLK_F_CONFIG_WCE is not offered); writes are ignored.
func (d *Blk) WriteConfig(off uint64, p []byte) {
	d.logf("virtio-blk: ignored %d-byte config write at offset %#x", len(p), off)
}

// Reset implements virtio.DeviceBackend. Requests still in flight on the
// host are forgotten: their completions, when they come, are dropped (the
// driver has reset the queue they belonged to).
func (d *Blk) Reset() { d.inflight = nil }

// Notify implements virtio.DeviceBackend: it processes every available
// request.
func (d *Blk) Notify(q *virtio.Queue) {
	for c := q.Pop(); c != nil; c = q.Pop() {
		r := d.parse(c)
		if r == nil {
			continue
		}
		if r.done {
			d.complete(r, r.status)
			continue
		}
		if d.Async == nil || r.typ == TypeGetID {
			d.complete(r, d.execute(r))
			continue
		}
		r.id = d.nextID
		d.nextID++
		d.inflight = append(d.inflight, r)
		d.Async(r.id, r.typ == TypeOut, func() uint8 { return d.execute(r) })
	}
}

// InFlight returns the ids of requests handed to Async and not yet
// completed, in submission order.
func (d *Blk) InFlight() []uint64 {
	ids := make([]uint64, len(d.inflight))
	for i, r := range d.inflight {
		ids[i] = r.id
	}
	return ids
}

// ReadData returns the data buffer of in-flight read request id (what its
// I/O function filled), so a recorder can embed it, or a replayer can
// supply it without host I/O. It is nil for other requests.
func (d *Blk) ReadData(id uint64) []byte {
	for _, r := range d.inflight {
		if r.id == id && r.typ == TypeIn {
			return r.data
		}
	}
	return nil
}

// Complete finishes in-flight request id with status: it copies read data
// to the guest, writes the status byte, puts the chain on the used ring
// and raises the interrupt. It returns false if no such request is in
// flight (it was dropped by a reset, or the id is wrong).
func (d *Blk) Complete(id uint64, status uint8) bool {
	for i, r := range d.inflight {
		if r.id == id {
			d.inflight = append(d.inflight[:i], d.inflight[i+1:]...)
			d.complete(r, status)
			return true
		}
	}
	return false
}

// request is one parsed virtio-blk request.
type request struct {
	id     uint64 // Async request id
	chain  *virtio.Chain
	typ    uint32
	sector uint64
	// data is the payload: OUT data copied from the guest at parse time,
	// or the IN / GET_ID buffer execute fills and complete copies to the
	// guest.
	data []byte
	// done means parse already decided the status (a rejected request).
	done   bool
	status uint8
}

func (r *request) reject(status uint8) *request {
	r.done, r.status = true, status
	return r
}

// parse turns a chain into a request. It returns nil after putting the
// device into DEVICE_NEEDS_RESET when the chain cannot even carry a status.
func (d *Blk) parse(c *virtio.Chain) *request {
	q := c.Queue()
	if c.WritableLen() == 0 {
		q.Fail("virtio-blk request (head %d) has no device-writable status byte", c.Head)
		return nil
	}
	r := &request{chain: c}
	if c.ReadableLen() < headerSize {
		d.logf("virtio-blk: request (head %d): %d-byte header, want %d", c.Head, c.ReadableLen(), headerSize)
		return r.reject(StatusIOErr)
	}
	var h [headerSize]byte
	if err := c.ReadAt(h[:], 0); err != nil {
		q.Fail("virtio-blk request (head %d): read header: %v", c.Head, err)
		return nil
	}
	r.typ = binary.LittleEndian.Uint32(h[0:])
	r.sector = binary.LittleEndian.Uint64(h[8:])
	in := c.WritableLen() - 1           // bytes before the status byte
	out := c.ReadableLen() - headerSize // bytes after the header

	switch r.typ {
	case TypeIn:
		if !d.checkData(r, in) {
			return r.reject(StatusIOErr)
		}
		r.data = make([]byte, in)
	case TypeOut:
		if d.ro {
			d.logf("virtio-blk: write to read-only disk at sector %d", r.sector)
			return r.reject(StatusIOErr)
		}
		if !d.checkData(r, out) {
			return r.reject(StatusIOErr)
		}
		r.data = make([]byte, out)
		if err := c.ReadAt(r.data, headerSize); err != nil {
			q.Fail("virtio-blk write at sector %d: read %d data bytes: %v", r.sector, out, err)
			return nil
		}
	case TypeFlush:
	case TypeGetID:
		if in > MaxRequestBytes {
			return r.reject(StatusIOErr)
		}
		// The driver supplies 20 bytes (§5.2.6.1); fill whatever it gave
		// (zero-padded serial) so the written length covers it all.
		r.data = make([]byte, in)
	default:
		d.logf("virtio-blk: unsupported request type %d", r.typ)
		return r.reject(StatusUnsupp)
	}
	return r
}

// checkData validates the data length and sector range of an IN or OUT
// request (§5.2.6.1: a multiple of 512 bytes, not beyond capacity).
func (d *Blk) checkData(r *request, n uint64) bool {
	op := "read"
	if r.typ == TypeOut {
		op = "write"
	}
	capacity := uint64(d.disk.Size()) / SectorSize
	switch {
	case n%SectorSize != 0:
		d.logf("virtio-blk: %s at sector %d: %d data bytes is not a multiple of %d", op, r.sector, n, SectorSize)
	case n > MaxRequestBytes:
		d.logf("virtio-blk: %s at sector %d: %d data bytes exceeds %d", op, r.sector, n, MaxRequestBytes)
	case r.sector > capacity || n/SectorSize > capacity-r.sector:
		d.logf("virtio-blk: %s of %d sectors at sector %d is beyond the capacity of %d sectors", op, n/SectorSize, r.sector, capacity)
	default:
		return true
	}
	return false
}

// execute performs the host I/O of r and returns its status. It does not
// touch guest memory or device state.
func (d *Blk) execute(r *request) uint8 {
	var err error
	switch r.typ {
	case TypeIn:
		_, err = d.disk.ReadAt(r.data, int64(r.sector*SectorSize))
	case TypeOut:
		_, err = d.disk.WriteAt(r.data, int64(r.sector*SectorSize))
	case TypeFlush:
		err = d.disk.Flush()
	case TypeGetID:
		copy(r.data, d.serial[:])
	}
	if err != nil {
		d.logf("virtio-blk: %v", fmt.Errorf("request at sector %d: %w", r.sector, err))
		return StatusIOErr
	}
	return StatusOK
}

// complete finishes r with status: it copies IN / GET_ID data to the
// guest, writes the status byte, and returns the chain to the driver.
func (d *Blk) complete(r *request, status uint8) {
	c := r.chain
	q := c.Queue()
	in := c.WritableLen() - 1
	written := uint64(0)
	if status == StatusOK && (r.typ == TypeIn || r.typ == TypeGetID) {
		if err := c.WriteAt(r.data, 0); err != nil {
			q.Fail("virtio-blk request at sector %d: write %d data bytes: %v", r.sector, len(r.data), err)
			return
		}
		written = uint64(len(r.data))
	}
	if err := c.WriteAt([]byte{status}, in); err != nil {
		q.Fail("virtio-blk request (head %d): write status: %v", c.Head, err)
		return
	}
	// The used length counts bytes written from the start of the writable
	// part (§2.7.8.2). If the data area was left untouched (an error, or
	// no data) only an empty area can be reported together with the status.
	if written == in {
		written++
	} else {
		written = 0
	}
	q.Push(c, uint32(written))
}

func (d *Blk) logf(format string, args ...any) {
	if d.Logf != nil {
		d.Logf(format, args...)
	}
}

// State is the snapshot form of the block device: the next request id
// handed to Async (ids are part of a recording). Requests in flight are
// not state: snapshots are taken only when none are (the transport state
// is in virtio.MMIO's State, disk contents in the block layer's).
type State struct {
	NextID uint64
}

// Save returns the device state.
func (d *Blk) Save() State { return State{NextID: d.nextID} }

// Load restores the device state and forgets requests in flight.
func (d *Blk) Load(s State) error {
	d.nextID = s.NextID
	d.inflight = nil
	return nil
}
