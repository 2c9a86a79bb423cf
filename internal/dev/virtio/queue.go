package virtio

import (
	"encoding/binary"
	"fmt"
)

// Segment is one guest buffer of a descriptor chain.
type Segment struct {
	Addr uint64
	Len  uint32
}

// Chain is a parsed descriptor chain (§2.7.5, §2.7.13): the
// device-readable buffers followed by the device-writable ones. A Chain is
// only valid for the queue generation it was popped in; pushing a chain
// after the queue or device was reset does nothing.
type Chain struct {
	// Head is the descriptor index that identifies the chain in the used
	// ring.
	Head uint16
	// Readable and Writable are the device-readable and device-writable
	// buffers in chain order.
	Readable, Writable []Segment

	readLen, writeLen uint64
	q                 *Queue
	gen               uint64
}

// Queue returns the queue the chain was popped from.
func (c *Chain) Queue() *Queue { return c.q }

// ReadableLen returns the total length of the device-readable buffers.
func (c *Chain) ReadableLen() uint64 { return c.readLen }

// WritableLen returns the total length of the device-writable buffers.
func (c *Chain) WritableLen() uint64 { return c.writeLen }

// ReadAt copies len(p) bytes starting at byte off of the device-readable
// part of the chain (the buffers seen as one byte stream; §2.7.4 "Message
// Framing": the device must not assume a particular buffer layout) into p.
func (c *Chain) ReadAt(p []byte, off uint64) error {
	if off > c.readLen || uint64(len(p)) > c.readLen-off {
		return fmt.Errorf("read of %d bytes at offset %d of a %d-byte readable chain", len(p), off, c.readLen)
	}
	return walk(c.Readable, p, off, c.q.t.mem.ReadBytes)
}

// WriteAt copies p into the device-writable part of the chain starting at
// byte off.
func (c *Chain) WriteAt(p []byte, off uint64) error {
	if off > c.writeLen || uint64(len(p)) > c.writeLen-off {
		return fmt.Errorf("write of %d bytes at offset %d of a %d-byte writable chain", len(p), off, c.writeLen)
	}
	return walk(c.Writable, p, off, c.q.t.mem.WriteBytes)
}

// walk applies op to the pieces of segs covering [off, off+len(p)).
func walk(segs []Segment, p []byte, off uint64, op func(uint64, []byte) error) error {
	for _, s := range segs {
		if len(p) == 0 {
			return nil
		}
		if off >= uint64(s.Len) {
			off -= uint64(s.Len)
			continue
		}
		n := min(uint64(len(p)), uint64(s.Len)-off)
		if err := op(s.Addr+off, p[:n]); err != nil {
			return err
		}
		p, off = p[n:], 0
	}
	return nil
}

// Queue is one split virtqueue (§2.7) of an MMIO device.
type Queue struct {
	// Index is the queue number (QueueSel value).
	Index int

	t   *MMIO
	max uint16

	num    uint32 // QueueNum as written; valid (power of two <= max) while ready
	ready  bool
	desc   uint64 // Descriptor Area
	driver uint64 // Driver Area (available ring)
	device uint64 // Device Area (used ring)

	lastAvail uint16 // next available ring index to consume
	usedIdx   uint16 // next used ring index to fill
	gen       uint64 // bumped on enable, disable and reset
}

// Size returns the queue size the driver configured.
func (q *Queue) Size() uint32 { return q.num }

// Ready reports whether the driver has enabled the queue.
func (q *Queue) Ready() bool { return q.ready }

// Max returns the maximum queue size offered to the driver.
func (q *Queue) Max() uint16 { return q.max }

func (q *Queue) reset() {
	q.num = uint32(q.max)
	q.ready = false
	q.desc, q.driver, q.device = 0, 0, 0
	q.lastAvail, q.usedIdx = 0, 0
	q.gen++
}

// Fail puts the device into DEVICE_NEEDS_RESET because of a driver error
// found while processing this queue. The message is logged with the queue
// number.
func (q *Queue) Fail(format string, args ...any) {
	q.t.fail("queue %d: %s", q.Index, fmt.Sprintf(format, args...))
}

// live reports whether the device may touch the queue's rings.
func (q *Queue) live() bool {
	return q.ready && q.t.status&StatusDeviceNeedsReset == 0
}

// validate checks the layout the driver configured before the queue goes
// live (§2.7 alignment table, §4.2.2 QueueNum).
func (q *Queue) validate() error {
	n := uint64(q.num)
	switch {
	case q.num == 0 || q.num&(q.num-1) != 0 || q.num > uint32(q.max):
		return fmt.Errorf("queue size %d is not a power of two in 1..%d", q.num, q.max)
	case q.desc%16 != 0:
		return fmt.Errorf("descriptor area %#x is not 16-byte aligned", q.desc)
	case q.driver%2 != 0:
		return fmt.Errorf("driver area %#x is not 2-byte aligned", q.driver)
	case q.device%4 != 0:
		return fmt.Errorf("device area %#x is not 4-byte aligned", q.device)
	}
	for _, r := range []struct {
		name       string
		addr, size uint64
	}{
		{"descriptor area", q.desc, descSize * n},
		{"driver area", q.driver, 6 + 2*n},
		{"device area", q.device, 6 + 8*n},
	} {
		if r.addr+r.size < r.addr || !q.t.inRAM(r.addr, r.size) {
			return fmt.Errorf("%s %#x+%#x is outside RAM", r.name, r.addr, r.size)
		}
	}
	return nil
}

func (q *Queue) read16(pa uint64) (uint16, error) {
	var b [2]byte
	if err := q.t.mem.ReadBytes(pa, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b[:]), nil
}

func (q *Queue) write16(pa uint64, v uint16) error {
	var b [2]byte
	binary.LittleEndian.PutUint16(b[:], v)
	return q.t.mem.WriteBytes(pa, b[:])
}

// Pending reports whether the driver has made chains available that Pop
// has not taken yet. A ring that cannot be read counts as empty (Pop
// reports the error when it is called).
func (q *Queue) Pending() bool {
	if !q.live() {
		return false
	}
	availIdx, err := q.read16(q.driver + 2)
	return err == nil && availIdx != q.lastAvail
}

// Pop returns the next chain the driver has made available, or nil if
// there is none, the queue is not ready, or the device needs reset. A
// malformed chain puts the device into DEVICE_NEEDS_RESET and returns nil.
func (q *Queue) Pop() *Chain {
	if !q.live() {
		return nil
	}
	availIdx, err := q.read16(q.driver + 2)
	if err != nil {
		q.Fail("read avail idx at %#x: %v", q.driver+2, err)
		return nil
	}
	ahead := uint32(availIdx - q.lastAvail)
	if ahead == 0 {
		return nil
	}
	if ahead > q.num {
		q.Fail("avail idx %d is %d entries ahead of the device's %d, more than the queue size %d", availIdx, ahead, q.lastAvail, q.num)
		return nil
	}
	slot := q.driver + 4 + 2*uint64(uint32(q.lastAvail)%q.num)
	head, err := q.read16(slot)
	if err != nil {
		q.Fail("read avail ring entry at %#x: %v", slot, err)
		return nil
	}
	c, err := q.parse(head)
	if err != nil {
		q.Fail("avail entry %d (head %d): %v", q.lastAvail, head, err)
		return nil
	}
	q.lastAvail++
	return c
}

// desc is struct virtq_desc.
type desc struct {
	addr  uint64
	len   uint32
	flags uint16
	next  uint16
}

func (q *Queue) readDesc(table uint64, i uint32) (desc, error) {
	var b [descSize]byte
	pa := table + descSize*uint64(i)
	if err := q.t.mem.ReadBytes(pa, b[:]); err != nil {
		return desc{}, fmt.Errorf("read descriptor %d at %#x: %w", i, pa, err)
	}
	return desc{
		addr:  binary.LittleEndian.Uint64(b[0:]),
		len:   binary.LittleEndian.Uint32(b[8:]),
		flags: binary.LittleEndian.Uint16(b[12:]),
		next:  binary.LittleEndian.Uint16(b[14:]),
	}, nil
}

// parse walks the chain starting at head (§2.7.5, §2.7.5.3).
//
// The chain may consist of direct descriptors, optionally ending in one
// descriptor that points to an indirect table (§2.7.5.3.2: the device must
// handle "zero or more normal chained descriptors followed by a single
// descriptor with VIRTQ_DESC_F_INDIRECT"). At most Max() buffer
// descriptors are accepted in total. Drivers are asked to stay within the
// queue size (§2.7.5.3.1); accepting up to QueueNumMax keeps drivers that
// size indirect tables from seg_max working with a smaller queue, and the
// bound makes loops an error instead of a hang.
func (q *Queue) parse(head uint16) (*Chain, error) {
	c := &Chain{Head: head, q: q, gen: q.gen}
	table, tableLen := q.desc, q.num
	where := "descriptor table"
	i := uint32(head)
	if i >= tableLen {
		return nil, fmt.Errorf("head index %d >= queue size %d", i, tableLen)
	}
	indirect := false
	budget := int(q.max)
	for {
		if budget == 0 {
			return nil, fmt.Errorf("chain longer than %d descriptors (loop?) at %s index %d", q.max, where, i)
		}
		budget--
		d, err := q.readDesc(table, i)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if d.flags&DescFlagIndirect != 0 {
			budget++ // the table pointer itself is not a buffer
			switch {
			case indirect:
				return nil, fmt.Errorf("indirect descriptor inside an indirect table (index %d)", i)
			case q.t.driverFeatures&FeatureIndirectDesc == 0:
				return nil, fmt.Errorf("indirect descriptor %d but VIRTIO_F_INDIRECT_DESC not negotiated", i)
			case d.flags&DescFlagNext != 0:
				return nil, fmt.Errorf("descriptor %d has both INDIRECT and NEXT", i)
			case d.len == 0 || d.len%descSize != 0:
				return nil, fmt.Errorf("indirect table length %d at descriptor %d is not a non-zero multiple of %d", d.len, i, descSize)
			case d.len/descSize > uint32(q.max):
				return nil, fmt.Errorf("indirect table of %d descriptors exceeds the queue maximum %d", d.len/descSize, q.max)
			case d.addr+uint64(d.len) < d.addr || !q.t.inRAM(d.addr, uint64(d.len)):
				return nil, fmt.Errorf("indirect table %#x+%#x is outside RAM", d.addr, d.len)
			}
			table, tableLen, i, indirect = d.addr, d.len/descSize, 0, true
			where = fmt.Sprintf("indirect table %#x", d.addr)
			continue
		}
		if err := c.add(d); err != nil {
			return nil, fmt.Errorf("%s index %d: %w", where, i, err)
		}
		if d.flags&DescFlagNext == 0 {
			return c, nil
		}
		i = uint32(d.next)
		if i >= tableLen {
			return nil, fmt.Errorf("%s: next index %d >= table size %d", where, i, tableLen)
		}
	}
}

// add appends a buffer descriptor to the chain.
func (c *Chain) add(d desc) error {
	write := d.flags&DescFlagWrite != 0
	if !write && len(c.Writable) > 0 {
		// §2.7.4.2: device-writable elements come after device-readable ones.
		return fmt.Errorf("device-readable buffer %#x+%#x after a device-writable one", d.addr, d.len)
	}
	if d.len > 0 && (d.addr+uint64(d.len) < d.addr || !c.q.t.inRAM(d.addr, uint64(d.len))) {
		return fmt.Errorf("buffer %#x+%#x is outside RAM", d.addr, d.len)
	}
	if c.readLen+c.writeLen+uint64(d.len) > MaxChainBytes {
		return fmt.Errorf("chain longer than 2^32 bytes")
	}
	s := Segment{Addr: d.addr, Len: d.len}
	if write {
		c.Writable = append(c.Writable, s)
		c.writeLen += uint64(d.len)
	} else {
		c.Readable = append(c.Readable, s)
		c.readLen += uint64(d.len)
	}
	return nil
}

// Push returns chain c to the driver through the used ring with the number
// of bytes the device wrote into its writable buffers (clamped to
// WritableLen; §2.7.8.2 allows an underestimate, never more), then sends a
// used buffer notification unless the driver suppressed it with
// VIRTQ_AVAIL_F_NO_INTERRUPT (§2.7.7.2). Chains from before a reset of the
// queue or device, or pushed while the device needs reset, are dropped.
func (q *Queue) Push(c *Chain, written uint32) {
	if c == nil || c.q != q || c.gen != q.gen || !q.live() {
		return
	}
	written = uint32(min(uint64(written), c.writeLen))
	var elem [8]byte
	binary.LittleEndian.PutUint32(elem[0:], uint32(c.Head))
	binary.LittleEndian.PutUint32(elem[4:], written)
	slot := q.device + 4 + 8*uint64(uint32(q.usedIdx)%q.num)
	if err := q.t.mem.WriteBytes(slot, elem[:]); err != nil {
		q.Fail("write used ring entry at %#x: %v", slot, err)
		return
	}
	q.usedIdx++
	// §2.7.8.2: len is set before used idx is updated.
	if err := q.write16(q.device+2, q.usedIdx); err != nil {
		q.Fail("write used idx at %#x: %v", q.device+2, err)
		return
	}
	flags, err := q.read16(q.driver)
	if err != nil {
		q.Fail("read avail flags at %#x: %v", q.driver, err)
		return
	}
	if flags&AvailFlagNoInterrupt == 0 {
		q.t.interrupt(IntUsedBuffer)
	}
}

// QueueState is the snapshot form of a Queue.
type QueueState struct {
	Num                  uint32
	Ready                bool
	Desc, Driver, Device uint64
	LastAvail, UsedIdx   uint16
}

func (q *Queue) save() QueueState {
	return QueueState{
		Num: q.num, Ready: q.ready, Desc: q.desc, Driver: q.driver, Device: q.device,
		LastAvail: q.lastAvail, UsedIdx: q.usedIdx,
	}
}

func (q *Queue) load(s QueueState) error {
	q.num, q.ready = s.Num, s.Ready
	q.desc, q.driver, q.device = s.Desc, s.Driver, s.Device
	q.lastAvail, q.usedIdx = s.LastAvail, s.UsedIdx
	q.gen++
	if q.ready {
		if err := q.validate(); err != nil {
			return fmt.Errorf("queue %d: %w", q.Index, err)
		}
	}
	return nil
}
