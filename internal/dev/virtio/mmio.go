package virtio

import (
	"encoding/binary"
	"fmt"

	"github.com/rewindvm/rewind/internal/bus"
)

// MMIO register offsets (§4.2.2, table "MMIO Device Register Layout").
const (
	RegMagicValue        = 0x000
	RegVersion           = 0x004
	RegDeviceID          = 0x008
	RegVendorID          = 0x00c
	RegDeviceFeatures    = 0x010
	RegDeviceFeaturesSel = 0x014
	RegDriverFeatures    = 0x020
	RegDriverFeaturesSel = 0x024
	RegQueueSel          = 0x030
	RegQueueNumMax       = 0x034
	RegQueueNum          = 0x038
	RegQueueReady        = 0x044
	RegQueueNotify       = 0x050
	RegInterruptStatus   = 0x060
	RegInterruptACK      = 0x064
	RegStatus            = 0x070
	RegQueueDescLow      = 0x080
	RegQueueDescHigh     = 0x084
	RegQueueDriverLow    = 0x090
	RegQueueDriverHigh   = 0x094
	RegQueueDeviceLow    = 0x0a0
	RegQueueDeviceHigh   = 0x0a4
	RegSHMSel            = 0x0ac
	RegSHMLenLow         = 0x0b0
	RegSHMLenHigh        = 0x0b4
	RegSHMBaseLow        = 0x0b8
	RegSHMBaseHigh       = 0x0bc
	RegQueueReset        = 0x0c0
	RegConfigGeneration  = 0x0fc
	RegConfig            = 0x100
)

// Identification values.
const (
	// MagicValue is "virt" in little-endian (§4.2.2).
	MagicValue = 0x74726976
	// Version is the non-legacy virtio-mmio version (§4.2.2).
	Version = 2
	// VendorID is Rewind's vendor ID, "RNDW" in little-endian. (QEMU uses
	// 0x554d4551, "QEMU"; Linux ignores the value.)
	VendorID = 0x57444e52
	// Size is the size of one virtio-mmio slot on QEMU virt (slots start
	// at 0x10001000 with IRQs 1..8).
	Size = 0x1000
)

// maxQueues bounds DeviceBackend.NumQueues (a wiring sanity check).
const maxQueues = 1024

// MMIO is the virtio-mmio transport of one device. It is not safe for
// concurrent use; only the machine goroutine touches it.
type MMIO struct {
	// Logf, if set, receives driver errors (what and where) and notes
	// about ignored register accesses.
	Logf func(format string, args ...any)

	mem     Memory
	checker RAMChecker // nil if mem cannot tell
	irq     IRQ
	dev     DeviceBackend
	name    string
	offered uint64

	queues []*Queue

	status           uint32
	deviceFeatureSel uint32
	driverFeatureSel uint32
	driverFeatures   uint64
	queueSel         uint32
	intStatus        uint32
	configGen        uint32
}

var _ bus.Device = (*MMIO)(nil)

// NewMMIO returns the transport for dev, doing DMA through mem and
// signalling through irq. It panics if dev reports an invalid queue
// geometry (a programming error, not a guest error).
func NewMMIO(mem Memory, irq IRQ, dev DeviceBackend) *MMIO {
	t := &MMIO{mem: mem, irq: irq, dev: dev}
	t.checker, _ = mem.(RAMChecker)
	t.name = deviceName(dev.DeviceID())
	t.offered = dev.Features()&^transportFeatureMask | transportFeatures
	n := dev.NumQueues()
	if n < 0 || n > maxQueues {
		panic(fmt.Sprintf("%s: %d queues", t.name, n))
	}
	for i := 0; i < n; i++ {
		m := dev.QueueMax(i)
		if m == 0 || m&(m-1) != 0 || m > MaxQueueSize {
			panic(fmt.Sprintf("%s: queue %d maximum size %d is not a power of two in 1..32768", t.name, i, m))
		}
		t.queues = append(t.queues, &Queue{Index: i, t: t, max: m})
	}
	t.reset()
	return t
}

func deviceName(id uint32) string {
	switch id {
	case 1:
		return "virtio-net"
	case 2:
		return "virtio-blk"
	case 3:
		return "virtio-console"
	case 4:
		return "virtio-rng"
	}
	return fmt.Sprintf("virtio-mmio (device %d)", id)
}

// Backend returns the device type behind the transport.
func (t *MMIO) Backend() DeviceBackend { return t.dev }

// Queue returns queue i (nil if there is none).
func (t *MMIO) Queue(i int) *Queue {
	if i < 0 || i >= len(t.queues) {
		return nil
	}
	return t.queues[i]
}

// Status returns the device status register.
func (t *MMIO) Status() uint32 { return t.status }

// DriverFeatures returns the feature bits the driver accepted.
func (t *MMIO) DriverFeatures() uint64 { return t.driverFeatures }

// ConfigChanged tells the driver that the device configuration space
// changed: it bumps ConfigGeneration and raises a configuration change
// notification (§2.5, §4.2.2).
func (t *MMIO) ConfigChanged() {
	t.configGen++
	if t.status&StatusDriverOK != 0 {
		t.interrupt(IntConfigChange)
	}
}

func (t *MMIO) inRAM(pa, n uint64) bool {
	return t.checker == nil || t.checker.InRAM(pa, n)
}

func (t *MMIO) interrupt(bits uint32) {
	t.intStatus |= bits
	t.irq.SetLevel(t.intStatus != 0)
}

// fail enters DEVICE_NEEDS_RESET (§2.1.2: "The device SHOULD set
// DEVICE_NEEDS_RESET when it enters an error state that a reset is needed.
// If DRIVER_OK is set, after it sets DEVICE_NEEDS_RESET, the device MUST
// send a device configuration change notification to the driver").
func (t *MMIO) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if t.status&StatusDeviceNeedsReset != 0 {
		t.logf("%s: (already needs reset) %s", t.name, msg)
		return
	}
	t.logf("%s: driver error, device needs reset: %s", t.name, msg)
	t.status |= StatusDeviceNeedsReset
	if t.status&StatusDriverOK != 0 {
		t.interrupt(IntConfigChange)
	}
}

func (t *MMIO) logf(format string, args ...any) {
	if t.Logf != nil {
		t.Logf(format, args...)
	}
}

// reset is the device reset of §2.4 / §4.2.2: status, features,
// interrupts and all queues return to their initial state.
func (t *MMIO) reset() {
	t.status = 0
	t.deviceFeatureSel, t.driverFeatureSel = 0, 0
	t.driverFeatures = 0
	t.queueSel = 0
	t.intStatus = 0
	t.irq.SetLevel(false)
	for _, q := range t.queues {
		q.reset()
	}
	t.dev.Reset()
}

func (t *MMIO) selected() *Queue { return t.Queue(int(t.queueSel)) }

// Read implements bus.Device. Control registers must be read with aligned
// 32-bit accesses (§4.2.2 driver requirements); other accesses read 0.
// Configuration space (0x100 and up) takes 1, 2, 4 and 8-byte reads.
func (t *MMIO) Read(off uint64, size int) uint64 {
	if off >= RegConfig {
		return t.readConfig(off-RegConfig, size)
	}
	if size != 4 || off%4 != 0 {
		t.logf("%s: ignored %d-byte read at offset %#x", t.name, size, off)
		return 0
	}
	q := t.selected()
	switch off {
	case RegMagicValue:
		return MagicValue
	case RegVersion:
		return Version
	case RegDeviceID:
		return uint64(t.dev.DeviceID())
	case RegVendorID:
		return VendorID
	case RegDeviceFeatures:
		switch t.deviceFeatureSel {
		case 0:
			return t.offered & 0xffffffff
		case 1:
			return t.offered >> 32
		}
		return 0
	case RegQueueNumMax:
		if q == nil {
			return 0
		}
		return uint64(q.max)
	case RegQueueReady:
		if q == nil || !q.ready {
			return 0
		}
		return 1
	case RegInterruptStatus:
		return uint64(t.intStatus)
	case RegStatus:
		return uint64(t.status)
	case RegSHMLenLow, RegSHMLenHigh, RegSHMBaseLow, RegSHMBaseHigh:
		// No shared memory regions: length -1, base all-ones (§4.2.2).
		return 0xffffffff
	case RegQueueReset:
		return 0
	case RegConfigGeneration:
		return uint64(t.configGen)
	}
	t.logf("%s: read of write-only or reserved register %#x", t.name, off)
	return 0
}

// Write implements bus.Device.
func (t *MMIO) Write(off uint64, size int, val uint64) {
	if off >= RegConfig {
		t.writeConfig(off-RegConfig, size, val)
		return
	}
	if size != 4 || off%4 != 0 {
		t.logf("%s: ignored %d-byte write of %#x at offset %#x", t.name, size, val, off)
		return
	}
	v := uint32(val)
	switch off {
	case RegDeviceFeaturesSel:
		t.deviceFeatureSel = v
	case RegDriverFeatures:
		t.writeDriverFeatures(v)
	case RegDriverFeaturesSel:
		t.driverFeatureSel = v
	case RegQueueSel:
		t.queueSel = v
	case RegQueueNum, RegQueueDescLow, RegQueueDescHigh, RegQueueDriverLow,
		RegQueueDriverHigh, RegQueueDeviceLow, RegQueueDeviceHigh:
		t.writeQueueConfig(off, v)
	case RegQueueReady:
		t.writeQueueReady(v)
	case RegQueueNotify:
		t.notify(v)
	case RegInterruptACK:
		t.intStatus &^= v
		t.irq.SetLevel(t.intStatus != 0)
	case RegStatus:
		t.writeStatus(v)
	case RegSHMSel, RegQueueReset:
		// No shared memory; VIRTIO_F_RING_RESET not offered.
	default:
		t.logf("%s: write of %#x to read-only or reserved register %#x", t.name, v, off)
	}
}

func (t *MMIO) writeDriverFeatures(v uint32) {
	if t.status&StatusFeaturesOK != 0 {
		t.logf("%s: driver features written after FEATURES_OK; ignored", t.name)
		return
	}
	switch t.driverFeatureSel {
	case 0:
		t.driverFeatures = t.driverFeatures&^0xffffffff | uint64(v)
	case 1:
		t.driverFeatures = t.driverFeatures&0xffffffff | uint64(v)<<32
	default:
		if v != 0 {
			t.logf("%s: driver accepts features %#x in word %d, none offered", t.name, v, t.driverFeatureSel)
		}
	}
}

// writeQueueConfig handles QueueNum and the ring addresses. §4.2.2: "When
// QueueReady is not zero, the driver MUST NOT access QueueNum, QueueDesc*,
// QueueDriver*, QueueDevice*"; such writes are ignored (a live queue's
// layout was validated when it was enabled).
func (t *MMIO) writeQueueConfig(off uint64, v uint32) {
	q := t.selected()
	if q == nil {
		t.logf("%s: write to register %#x of nonexistent queue %d", t.name, off, t.queueSel)
		return
	}
	if q.ready {
		t.logf("%s: queue %d: write to register %#x while ready; ignored", t.name, q.Index, off)
		return
	}
	lo := func(r *uint64) { *r = *r&^0xffffffff | uint64(v) }
	hi := func(r *uint64) { *r = *r&0xffffffff | uint64(v)<<32 }
	switch off {
	case RegQueueNum:
		q.num = v
	case RegQueueDescLow:
		lo(&q.desc)
	case RegQueueDescHigh:
		hi(&q.desc)
	case RegQueueDriverLow:
		lo(&q.driver)
	case RegQueueDriverHigh:
		hi(&q.driver)
	case RegQueueDeviceLow:
		lo(&q.device)
	case RegQueueDeviceHigh:
		hi(&q.device)
	}
}

// writeQueueReady enables (1) or disables (0) the selected queue. Enabling
// validates the layout; an invalid one puts the device into
// DEVICE_NEEDS_RESET and leaves the queue disabled.
func (t *MMIO) writeQueueReady(v uint32) {
	q := t.selected()
	if q == nil {
		t.logf("%s: QueueReady for nonexistent queue %d", t.name, t.queueSel)
		return
	}
	want := v&1 != 0
	if want == q.ready {
		return
	}
	if want {
		if err := q.validate(); err != nil {
			q.Fail("enable: %v", err)
			return
		}
		q.lastAvail, q.usedIdx = 0, 0
	}
	q.ready = want
	q.gen++
}

func (t *MMIO) live() bool {
	return t.status&StatusDriverOK != 0 && t.status&StatusDeviceNeedsReset == 0
}

// notify handles a QueueNotify write: the value is the queue index
// (VIRTIO_F_NOTIFICATION_DATA is not offered). §2.1.2/§3.1.1: buffers are
// not consumed before DRIVER_OK.
func (t *MMIO) notify(v uint32) {
	if v >= uint32(len(t.queues)) {
		t.logf("%s: notify for nonexistent queue %d", t.name, v)
		return
	}
	q := t.queues[v]
	if !t.live() || !q.ready {
		t.logf("%s: notify for queue %d ignored (status %#x, ready %v)", t.name, v, t.status, q.ready)
		return
	}
	t.dev.Notify(q)
}

// writeStatus handles a Status write (§2.1, §3.1.1, §4.2.3.1). Zero resets
// the device. Setting FEATURES_OK succeeds only if the driver accepted a
// subset of the offered features including VIRTIO_F_VERSION_1; otherwise
// the bit stays clear, which is how the device refuses (§3.1.1 step 6).
// DEVICE_NEEDS_RESET, once set by the device, survives until reset.
func (t *MMIO) writeStatus(v uint32) {
	if v == 0 {
		t.reset()
		return
	}
	old := t.status
	// Only the device sets or clears DEVICE_NEEDS_RESET (reset clears it).
	v = v&0xff&^StatusDeviceNeedsReset | old&StatusDeviceNeedsReset
	if v&StatusFeaturesOK != 0 && old&StatusFeaturesOK == 0 {
		if extra := t.driverFeatures &^ t.offered; extra != 0 {
			t.logf("%s: driver accepted features %#x that were not offered; FEATURES_OK refused", t.name, extra)
			v &^= StatusFeaturesOK
		} else if t.driverFeatures&FeatureVersion1 == 0 {
			t.logf("%s: driver did not accept VIRTIO_F_VERSION_1 (legacy driver?); FEATURES_OK refused", t.name)
			v &^= StatusFeaturesOK
		}
	}
	t.status = v
	if v&StatusDriverOK != 0 && old&StatusDriverOK == 0 && t.live() {
		for _, q := range t.queues {
			if q.ready {
				t.dev.Notify(q)
			}
		}
	}
}

func configSize(size int) bool { return size == 1 || size == 2 || size == 4 || size == 8 }

func (t *MMIO) readConfig(off uint64, size int) uint64 {
	if !configSize(size) {
		return 0
	}
	var b [8]byte
	t.dev.ReadConfig(off, b[:size])
	return binary.LittleEndian.Uint64(b[:])
}

func (t *MMIO) writeConfig(off uint64, size int, val uint64) {
	if !configSize(size) {
		return
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], val)
	t.dev.WriteConfig(off, b[:size])
}

// State is the snapshot form of the transport (the device type's own state
// is saved by the backend). It is only meaningful when no popped chain is
// outstanding: Load drops chains popped before it.
type State struct {
	Status            uint32
	DeviceFeaturesSel uint32
	DriverFeaturesSel uint32
	DriverFeatures    uint64
	QueueSel          uint32
	InterruptStatus   uint32
	ConfigGeneration  uint32
	Queues            []QueueState
}

// Save returns the transport state.
func (t *MMIO) Save() State {
	s := State{
		Status:            t.status,
		DeviceFeaturesSel: t.deviceFeatureSel,
		DriverFeaturesSel: t.driverFeatureSel,
		DriverFeatures:    t.driverFeatures,
		QueueSel:          t.queueSel,
		InterruptStatus:   t.intStatus,
		ConfigGeneration:  t.configGen,
	}
	for _, q := range t.queues {
		s.Queues = append(s.Queues, q.save())
	}
	return s
}

// Load restores s and re-drives the interrupt line. It does not call the
// backend.
func (t *MMIO) Load(s State) error {
	if len(s.Queues) != len(t.queues) {
		return fmt.Errorf("%s: load: %d queues in state, device has %d", t.name, len(s.Queues), len(t.queues))
	}
	if s.Status > 0xff || s.InterruptStatus&^(IntUsedBuffer|IntConfigChange) != 0 {
		return fmt.Errorf("%s: load: bad status %#x or interrupt status %#x", t.name, s.Status, s.InterruptStatus)
	}
	if extra := s.DriverFeatures &^ t.offered; extra != 0 && s.Status&StatusFeaturesOK != 0 {
		return fmt.Errorf("%s: load: negotiated features %#x were not offered", t.name, extra)
	}
	// Validate queues against the new features before committing.
	saved := t.Save()
	t.status, t.driverFeatures = s.Status, s.DriverFeatures
	for i, qs := range s.Queues {
		if err := t.queues[i].load(qs); err != nil {
			t.status, t.driverFeatures = saved.Status, saved.DriverFeatures
			for j := range t.queues {
				t.queues[j].load(saved.Queues[j])
			}
			return fmt.Errorf("%s: load: %w", t.name, err)
		}
	}
	t.deviceFeatureSel, t.driverFeatureSel = s.DeviceFeaturesSel, s.DriverFeaturesSel
	t.queueSel, t.intStatus, t.configGen = s.QueueSel, s.InterruptStatus, s.ConfigGeneration
	t.irq.SetLevel(t.intStatus != 0)
	return nil
}
