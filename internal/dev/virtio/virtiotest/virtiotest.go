// Package virtiotest provides a fake guest RAM and a minimal virtio-mmio
// driver for testing virtio device models without a CPU.
package virtiotest

import (
	"encoding/binary"
	"fmt"

	"github.com/rewindvm/rewind/internal/bus"
	"github.com/rewindvm/rewind/internal/dev/virtio"
)

// RAM is guest RAM of len(Data) bytes at physical address Base. It
// implements virtio.Memory and virtio.RAMChecker.
type RAM struct {
	Base uint64
	Data []byte
}

// NewRAM returns size bytes of zeroed RAM at base.
func NewRAM(base uint64, size int) *RAM { return &RAM{Base: base, Data: make([]byte, size)} }

// InRAM reports whether [pa, pa+n) lies in RAM.
func (r *RAM) InRAM(pa, n uint64) bool {
	off := pa - r.Base
	return pa >= r.Base && off < uint64(len(r.Data)) && n <= uint64(len(r.Data))-off
}

// ReadBytes implements virtio.Memory.
func (r *RAM) ReadBytes(pa uint64, p []byte) error {
	if !r.InRAM(pa, uint64(len(p))) {
		return fmt.Errorf("read of %d bytes at %#x outside RAM", len(p), pa)
	}
	copy(p, r.Data[pa-r.Base:])
	return nil
}

// WriteBytes implements virtio.Memory.
func (r *RAM) WriteBytes(pa uint64, p []byte) error {
	if !r.InRAM(pa, uint64(len(p))) {
		return fmt.Errorf("write of %d bytes at %#x outside RAM", len(p), pa)
	}
	copy(r.Data[pa-r.Base:], p)
	return nil
}

// Bytes returns the n bytes at pa (panics outside RAM: test helper).
func (r *RAM) Bytes(pa uint64, n int) []byte { return r.Data[pa-r.Base : pa-r.Base+uint64(n)] }

// Put16, Put32 and Put64 store little-endian values at pa.
func (r *RAM) Put16(pa uint64, v uint16) { binary.LittleEndian.PutUint16(r.Bytes(pa, 2), v) }

// Put32 stores a little-endian 32-bit value at pa.
func (r *RAM) Put32(pa uint64, v uint32) { binary.LittleEndian.PutUint32(r.Bytes(pa, 4), v) }

// Put64 stores a little-endian 64-bit value at pa.
func (r *RAM) Put64(pa uint64, v uint64) { binary.LittleEndian.PutUint64(r.Bytes(pa, 8), v) }

// Get16 loads a little-endian 16-bit value from pa.
func (r *RAM) Get16(pa uint64) uint16 { return binary.LittleEndian.Uint16(r.Bytes(pa, 2)) }

// Get32 loads a little-endian 32-bit value from pa.
func (r *RAM) Get32(pa uint64) uint32 { return binary.LittleEndian.Uint32(r.Bytes(pa, 4)) }

// IRQ records the interrupt line level.
type IRQ struct{ High bool }

// SetLevel implements virtio.IRQ.
func (i *IRQ) SetLevel(high bool) { i.High = high }

// Desc is a descriptor to write into a table.
type Desc struct {
	Addr  uint64
	Len   uint32
	Flags uint16
	Next  uint16
}

// Queue is the driver's view of one split virtqueue.
type Queue struct {
	Index              int
	Size               uint16
	Desc, Avail, Used  uint64
	availIdx, lastUsed uint16
}

// Used is one used ring element.
type Used struct {
	ID  uint32
	Len uint32
}

// Driver is a minimal virtio-mmio driver talking to a device through its
// bus.Device interface, with rings and buffers in RAM.
type Driver struct {
	Dev  bus.Device
	RAM  *RAM
	next uint64 // bump allocator
}

// NewDriver returns a driver for dev whose allocations start at the base
// of ram.
func NewDriver(dev bus.Device, ram *RAM) *Driver {
	return &Driver{Dev: dev, RAM: ram, next: ram.Base}
}

// Alloc returns n bytes of zeroed RAM aligned to align (a power of two).
func (d *Driver) Alloc(n int, align uint64) uint64 {
	pa := (d.next + align - 1) &^ (align - 1)
	d.next = pa + uint64(n)
	clear(d.RAM.Bytes(pa, n))
	return pa
}

// Read32 reads a transport register.
func (d *Driver) Read32(off uint64) uint32 { return uint32(d.Dev.Read(off, 4)) }

// Write32 writes a transport register.
func (d *Driver) Write32(off uint64, v uint32) { d.Dev.Write(off, 4, uint64(v)) }

// DeviceFeatures reads the 64 offered feature bits.
func (d *Driver) DeviceFeatures() uint64 {
	d.Write32(virtio.RegDeviceFeaturesSel, 0)
	lo := d.Read32(virtio.RegDeviceFeatures)
	d.Write32(virtio.RegDeviceFeaturesSel, 1)
	hi := d.Read32(virtio.RegDeviceFeatures)
	return uint64(hi)<<32 | uint64(lo)
}

// Negotiate resets the device and runs the initialization sequence of
// virtio 1.2 §3.1.1 up to FEATURES_OK, accepting features. It reports
// whether the device kept FEATURES_OK.
func (d *Driver) Negotiate(features uint64) bool {
	d.Write32(virtio.RegStatus, 0)
	d.Write32(virtio.RegStatus, virtio.StatusAcknowledge)
	d.Write32(virtio.RegStatus, virtio.StatusAcknowledge|virtio.StatusDriver)
	d.Write32(virtio.RegDriverFeaturesSel, 0)
	d.Write32(virtio.RegDriverFeatures, uint32(features))
	d.Write32(virtio.RegDriverFeaturesSel, 1)
	d.Write32(virtio.RegDriverFeatures, uint32(features>>32))
	d.Write32(virtio.RegStatus, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK)
	return d.Read32(virtio.RegStatus)&virtio.StatusFeaturesOK != 0
}

// SetupQueue allocates rings for queue index of the given size, programs
// them and enables the queue.
func (d *Driver) SetupQueue(index int, size uint16) *Queue {
	q := &Queue{Index: index, Size: size}
	q.Desc = d.Alloc(16*int(size), 16)
	q.Avail = d.Alloc(6+2*int(size), 2)
	q.Used = d.Alloc(6+8*int(size), 4)
	d.Write32(virtio.RegQueueSel, uint32(index))
	d.Write32(virtio.RegQueueNum, uint32(size))
	d.Write32(virtio.RegQueueDescLow, uint32(q.Desc))
	d.Write32(virtio.RegQueueDescHigh, uint32(q.Desc>>32))
	d.Write32(virtio.RegQueueDriverLow, uint32(q.Avail))
	d.Write32(virtio.RegQueueDriverHigh, uint32(q.Avail>>32))
	d.Write32(virtio.RegQueueDeviceLow, uint32(q.Used))
	d.Write32(virtio.RegQueueDeviceHigh, uint32(q.Used>>32))
	d.Write32(virtio.RegQueueReady, 1)
	return q
}

// DriverOK sets DRIVER_OK.
func (d *Driver) DriverOK() {
	d.Write32(virtio.RegStatus, d.Read32(virtio.RegStatus)|virtio.StatusDriverOK)
}

// WriteDesc stores descriptor i of the table at table.
func (d *Driver) WriteDesc(table uint64, i int, desc Desc) {
	pa := table + 16*uint64(i)
	d.RAM.Put64(pa, desc.Addr)
	d.RAM.Put32(pa+8, desc.Len)
	d.RAM.Put16(pa+12, desc.Flags)
	d.RAM.Put16(pa+14, desc.Next)
}

// Chain writes descs as a chain in q's descriptor table starting at index
// first (NEXT flags and next fields are filled in) and returns first.
func (d *Driver) Chain(q *Queue, first int, descs ...Desc) uint16 {
	for i, desc := range descs {
		idx := (first + i) % int(q.Size)
		if i < len(descs)-1 {
			desc.Flags |= virtio.DescFlagNext
			desc.Next = uint16((idx + 1) % int(q.Size))
		}
		d.WriteDesc(q.Desc, idx, desc)
	}
	return uint16(first)
}

// Offer puts head into the available ring and publishes it.
func (d *Driver) Offer(q *Queue, head uint16) {
	d.RAM.Put16(q.Avail+4+2*uint64(q.availIdx%q.Size), head)
	q.availIdx++
	d.RAM.Put16(q.Avail+2, q.availIdx)
}

// SetAvailIdx overwrites the published available index (to fake a broken
// driver).
func (d *Driver) SetAvailIdx(q *Queue, idx uint16) {
	q.availIdx = idx
	d.RAM.Put16(q.Avail+2, idx)
}

// Kick notifies the device about q.
func (d *Driver) Kick(q *Queue) { d.Write32(virtio.RegQueueNotify, uint32(q.Index)) }

// Used returns the used elements added since the last call.
func (d *Driver) Used(q *Queue) []Used {
	var out []Used
	idx := d.RAM.Get16(q.Used + 2)
	for ; q.lastUsed != idx; q.lastUsed++ {
		pa := q.Used + 4 + 8*uint64(q.lastUsed%q.Size)
		out = append(out, Used{ID: d.RAM.Get32(pa), Len: d.RAM.Get32(pa + 4)})
	}
	return out
}

// Ack reads InterruptStatus and acknowledges it, returning the bits.
func (d *Driver) Ack() uint32 {
	s := d.Read32(virtio.RegInterruptStatus)
	d.Write32(virtio.RegInterruptACK, s)
	return s
}
