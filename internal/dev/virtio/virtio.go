// Package virtio implements the virtio-mmio transport (virtio 1.2 §4.2,
// version 2 "modern" register layout only) and split virtqueues (§2.7) for
// device models such as virtio-blk (package blk).
//
// A device type plugs in as a DeviceBackend; MMIO owns the registers,
// feature negotiation, device status and the interrupt line, and hands the
// backend Queues. The backend pops descriptor Chains from a queue, works on
// them and pushes them back with the number of bytes written:
//
//	for c := q.Pop(); c != nil; c = q.Pop() {
//		... c.ReadAt / c.WriteAt ...
//		q.Push(c, written)
//	}
//
// Pushing may happen later than popping (a chain stays valid until the
// queue or device is reset), which is what lets a record/replay layer hold
// completions until a recorded instruction count.
//
// Everything in guest memory is untrusted. Every index, length and address
// the guest controls is checked: avail index jumps larger than the queue,
// descriptor indices outside their table, chains longer than the queue can
// hold (loops), nested or malformed indirect tables, device-readable
// buffers after device-writable ones, buffers outside RAM, chains over
// 2^32 bytes. A violation never panics: the device sets
// DEVICE_NEEDS_RESET in its status (§2.1.1), raises a configuration change
// interrupt if the driver is running (§2.1.2), logs what and where through
// MMIO.Logf, and stops processing queues until the driver resets it.
//
// Offered transport features: VIRTIO_F_VERSION_1 and
// VIRTIO_F_INDIRECT_DESC (§6). Not offered: VIRTIO_F_EVENT_IDX (used buffer
// notifications follow VIRTQ_AVAIL_F_NO_INTERRUPT, §2.7.7; with requests
// completed at notify time the saving would be small), packed rings,
// VIRTIO_F_NOTIFICATION_DATA, VIRTIO_F_RING_RESET, shared memory regions.
package virtio

// Memory is guest physical memory as seen by a DMA-capable device.
// *bus.Bus satisfies it.
type Memory interface {
	ReadBytes(pa uint64, p []byte) error
	WriteBytes(pa uint64, p []byte) error
}

// RAMChecker is an optional ability of a Memory (*bus.Bus has it): when
// present, rings and buffers are checked to lie in RAM when a queue is
// enabled or a chain is parsed, so a bad address is reported where it
// appears rather than when the buffer is used.
type RAMChecker interface {
	InRAM(pa, n uint64) bool
}

// IRQ is the device's interrupt line into the PLIC (level-triggered: high
// while InterruptStatus is non-zero).
type IRQ interface{ SetLevel(high bool) }

// DeviceBackend is a virtio device type behind the MMIO transport. All
// methods run on the machine goroutine.
type DeviceBackend interface {
	// DeviceID is the virtio device ID (§5: 1 net, 2 block, 3 console).
	DeviceID() uint32
	// Features returns the device-type feature bits the device offers
	// (bits 0-23 and 50 and up; the transport adds its own bits 24-49).
	Features() uint64
	// NumQueues is the number of virtqueues (fixed for the device).
	NumQueues() int
	// QueueMax returns the maximum size of queue i: a power of two in
	// 1..32768.
	QueueMax(i int) uint16
	// ReadConfig fills p with device configuration space bytes starting
	// at off (§4.2.2 "Config", offset 0x100 of the window). Bytes beyond
	// the configuration structure read as 0.
	ReadConfig(off uint64, p []byte)
	// WriteConfig stores driver writes to configuration space.
	WriteConfig(off uint64, p []byte)
	// Notify is called when the driver notifies queue q (it has offered
	// buffers) and the device is live (DRIVER_OK set, not needing reset,
	// queue ready). It is also called for every ready queue when the
	// driver sets DRIVER_OK, so buffers offered before that are seen.
	Notify(q *Queue)
	// Reset returns the device type's own state to its initial values; the
	// transport has already reset queues, status and features.
	Reset()
}

// Device status bits (§2.1).
const (
	StatusAcknowledge      = 1
	StatusDriver           = 2
	StatusDriverOK         = 4
	StatusFeaturesOK       = 8
	StatusDeviceNeedsReset = 64
	StatusFailed           = 128
)

// Reserved (transport) feature bits (§6).
const (
	FeatureIndirectDesc   = 1 << 28
	FeatureEventIdx       = 1 << 29
	FeatureVersion1       = 1 << 32
	FeatureAccessPlatform = 1 << 33
	FeatureRingPacked     = 1 << 34
	FeatureRingReset      = 1 << 40

	// transportFeatureMask covers the feature bits reserved for the
	// transport and queue layout (24 to 49).
	transportFeatureMask = (1<<50 - 1) &^ (1<<24 - 1)
	// transportFeatures are the transport features this package offers.
	transportFeatures = FeatureVersion1 | FeatureIndirectDesc
)

// InterruptStatus bits (§4.2.2).
const (
	IntUsedBuffer   = 1
	IntConfigChange = 2
)

// Descriptor flags (§2.7.5).
const (
	DescFlagNext     = 1
	DescFlagWrite    = 2
	DescFlagIndirect = 4
)

// Ring flags (§2.7.6, §2.7.8).
const (
	AvailFlagNoInterrupt = 1
	UsedFlagNoNotify     = 1
)

// MaxQueueSize is the largest split queue size (§2.7).
const MaxQueueSize = 32768

// descSize is the size of struct virtq_desc (§2.7.5).
const descSize = 16

// MaxChainBytes bounds the total length of a descriptor chain: "Drivers
// MUST NOT add a descriptor chain longer than 2^32 bytes in total"
// (§2.7.5.2).
const MaxChainBytes = 1 << 32
