// Package nic is the virtio network device (virtio 1.2 §5.1, QEMU's
// virtio-net-device) behind the virtio-mmio transport: one receive queue
// and one transmit queue, a MAC address, link status and an MTU.
//
// The device model never touches the host network. Frames the guest
// transmits go to OnTransmit (the machine hands them to a host backend,
// or drops them during replay) and are folded into a running SHA-256
// that is part of the device state, so a state digest catches a replay
// whose guest sends anything different. Frames from the network enter
// only through Receive, which the machine calls at CPU slice boundaries:
// host frames are nondeterministic input, so their arrival is recorded
// and replayed like a keystroke, and the device itself never decides
// when a frame arrives.
//
// Offered features: VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS (the link is
// always up), VIRTIO_NET_F_MTU (1500 by default, as QEMU's user network;
// up to MaxMTU, so the driver cannot raise the MTU past what the backend
// carries) and VIRTIO_NET_F_GUEST_CSUM (received frames are marked
// DATA_VALID: they come from a network stack that checksums what it
// sends). No segmentation offloads, no mergeable receive buffers, no
// control queue: every frame travels in one buffer behind the 12-byte
// virtio_net_hdr of VIRTIO_F_VERSION_1. Linux's virtio_net posts 1530-byte
// receive buffers for an MTU of 1500, and chains of pages ("big packets")
// for a larger one.
//
// Errors: a transmit chain shorter than the header or carrying a frame
// larger than MaxFrame, and a receive chain without a device-writable
// part, are driver errors: the device enters DEVICE_NEEDS_RESET (package
// virtio). A receive buffer too small for the frame is returned empty
// (Linux counts a length error and reposts it) and the frame is counted
// in RxTooSmall.
package nic

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/rewindvm/rewind/internal/dev/virtio"
)

// DeviceID is the virtio device ID of a network card (§5.1.1).
const DeviceID = 1

// Queue indices (§5.1.2).
const (
	RxQueue = 0
	TxQueue = 1
)

// Geometry and limits.
const (
	// QueueSize is the maximum size of each queue.
	QueueSize = 256
	// DefaultMTU is the largest IP packet the link carries unless
	// configured otherwise (QEMU's user network: 1500); the driver reads
	// it from the mtu configuration field.
	DefaultMTU = 1500
	// MinMTU and MaxMTU bound a configured MTU (IPv4's minimum; the
	// largest that keeps a frame in 64 KiB).
	MinMTU = 68
	MaxMTU = 65520
	// EtherOverhead is what a frame adds to an IP packet: the Ethernet
	// header and a VLAN tag.
	EtherOverhead = 14 + 4
	// MinFrame is the smallest frame: an Ethernet header.
	MinFrame = 14
	// HeaderSize is struct virtio_net_hdr with num_buffers (§5.1.6), the
	// header of every frame once VIRTIO_F_VERSION_1 is negotiated.
	HeaderSize = 12
)

// Feature bits (§5.1.3).
const (
	FeatureGuestCsum = 1 << 1
	FeatureMTU       = 1 << 3
	FeatureMAC       = 1 << 5
	FeatureStatus    = 1 << 16
)

// HdrFlagDataValid is VIRTIO_NET_HDR_F_DATA_VALID: the frame's checksums
// have been verified (§5.1.6.4).
const HdrFlagDataValid = 2

// StatusLinkUp is the link-up bit of the status configuration field.
const StatusLinkUp = 1

// DefaultMAC is the address QEMU gives its first network card.
var DefaultMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// NIC is a virtio network device backend (a virtio.DeviceBackend).
type NIC struct {
	// OnTransmit, if set, receives every frame the guest transmits
	// (Ethernet header first, no virtio header). The slice is the
	// callee's to keep. It runs on the machine goroutine and must not
	// block.
	OnTransmit func(frame []byte)
	// OnRxBuffers, if set, is called when the driver notifies the receive
	// queue (it posted buffers): the machine uses it to end the CPU slice
	// when frames are waiting for them.
	OnRxBuffers func()

	mac [6]byte
	mtu uint16
	t   *virtio.MMIO
	st  State
}

var _ virtio.DeviceBackend = (*NIC)(nil)

// New returns a network device with the given MAC address and MTU (0:
// DefaultMTU; it must be in MinMTU..MaxMTU).
func New(mac [6]byte, mtu int) *NIC {
	if mtu == 0 {
		mtu = DefaultMTU
	}
	if mtu < MinMTU || mtu > MaxMTU {
		panic(fmt.Sprintf("virtio-net: MTU %d outside %d..%d", mtu, MinMTU, MaxMTU))
	}
	return &NIC{mac: mac, mtu: uint16(mtu)}
}

// Bind connects the device to its transport, whose queues Receive uses.
// It must be called once, right after virtio.NewMMIO.
func (d *NIC) Bind(t *virtio.MMIO) { d.t = t }

// MAC returns the device's MAC address.
func (d *NIC) MAC() [6]byte { return d.mac }

// MTU returns the device's MTU.
func (d *NIC) MTU() int { return int(d.mtu) }

// MaxFrame returns the largest Ethernet frame the device carries, without
// the virtio header: MTU plus EtherOverhead.
func (d *NIC) MaxFrame() int { return int(d.mtu) + EtherOverhead }

// DeviceID implements virtio.DeviceBackend.
func (d *NIC) DeviceID() uint32 { return DeviceID }

// Features implements virtio.DeviceBackend.
func (d *NIC) Features() uint64 {
	return FeatureGuestCsum | FeatureMTU | FeatureMAC | FeatureStatus
}

// NumQueues implements virtio.DeviceBackend: receiveq1 and transmitq1.
func (d *NIC) NumQueues() int { return 2 }

// QueueMax implements virtio.DeviceBackend.
func (d *NIC) QueueMax(int) uint16 { return QueueSize }

// ReadConfig implements virtio.DeviceBackend: struct virtio_net_config
// (§5.1.4) up to mtu: mac, status, max_virtqueue_pairs (1), mtu.
func (d *NIC) ReadConfig(off uint64, p []byte) {
	var cfg [12]byte
	copy(cfg[0:6], d.mac[:])
	binary.LittleEndian.PutUint16(cfg[6:], StatusLinkUp)
	binary.LittleEndian.PutUint16(cfg[8:], 1)
	binary.LittleEndian.PutUint16(cfg[10:], d.mtu)
	clear(p)
	if off < uint64(len(cfg)) {
		copy(p, cfg[off:])
	}
}

// WriteConfig implements virtio.DeviceBackend. The configuration is
// read-only for a VERSION_1 driver (§5.1.4.2); writes are ignored.
func (d *NIC) WriteConfig(uint64, []byte) {}

// Reset implements virtio.DeviceBackend. The counters and the transmit
// hash describe the device's whole life and survive a driver reset.
func (d *NIC) Reset() {}

// Notify implements virtio.DeviceBackend: transmit what the driver
// queued, or note that receive buffers were posted.
func (d *NIC) Notify(q *virtio.Queue) {
	switch q.Index {
	case TxQueue:
		d.transmit(q)
	case RxQueue:
		if d.OnRxBuffers != nil && q.Pending() {
			d.OnRxBuffers()
		}
	}
}

// transmit sends every chain the driver made available on the transmit
// queue. Transmission completes at once: the host side never makes the
// guest wait, so nothing about it depends on the host.
func (d *NIC) transmit(q *virtio.Queue) {
	for c := q.Pop(); c != nil; c = q.Pop() {
		n := c.ReadableLen()
		if n < HeaderSize {
			q.Fail("transmit chain of %d readable bytes is shorter than the %d-byte virtio-net header", n, HeaderSize)
			return
		}
		if n-HeaderSize > uint64(d.MaxFrame()) {
			q.Fail("transmit frame of %d bytes exceeds the %d-byte maximum (MTU %d)", n-HeaderSize, d.MaxFrame(), d.mtu)
			return
		}
		buf := make([]byte, n)
		if err := c.ReadAt(buf, 0); err != nil {
			q.Fail("read transmit chain: %v", err)
			return
		}
		frame := buf[HeaderSize:]
		h := sha256.New()
		h.Write(d.st.TxHash[:])
		h.Write(buf)
		h.Sum(d.st.TxHash[:0])
		d.st.TxFrames++
		d.st.TxBytes += uint64(len(frame))
		q.Push(c, 0)
		if d.OnTransmit != nil && len(frame) >= MinFrame {
			d.OnTransmit(frame)
		}
	}
}

func (d *NIC) rxQueue() *virtio.Queue {
	if d.t == nil {
		return nil
	}
	return d.t.Queue(RxQueue)
}

// CanReceive reports whether the driver has posted a receive buffer that
// Receive would use now.
func (d *NIC) CanReceive() bool {
	q := d.rxQueue()
	return q != nil && q.Pending()
}

// Receive hands frame (Ethernet header first, at most MaxFrame bytes) to
// the guest: it takes the next posted receive buffer, writes the virtio
// header and the frame into it, returns it through the used ring and
// raises the interrupt. It reports whether a buffer was taken; false
// means there was none (CanReceive was false) or the receive queue is
// broken (the device then needs reset). A buffer too small for the
// frame is returned empty and the frame is lost (RxTooSmall).
func (d *NIC) Receive(frame []byte) bool {
	q := d.rxQueue()
	if q == nil {
		return false
	}
	c := q.Pop()
	if c == nil {
		return false
	}
	if c.WritableLen() == 0 {
		q.Fail("receive chain (head %d) has no device-writable buffer", c.Head)
		return true
	}
	need := uint64(HeaderSize + len(frame))
	if c.WritableLen() < need {
		d.st.RxTooSmall++
		q.Push(c, 0)
		return true
	}
	var hdr [HeaderSize]byte
	// gso_type VIRTIO_NET_HDR_GSO_NONE; num_buffers is 1 without
	// VIRTIO_NET_F_MRG_RXBUF (§5.1.6.4). Frames come from a network stack
	// that checksums what it sends (and replay feeds the same frames), so
	// with VIRTIO_NET_F_GUEST_CSUM the guest is told not to check again.
	if d.t.DriverFeatures()&FeatureGuestCsum != 0 {
		hdr[0] = HdrFlagDataValid
	}
	binary.LittleEndian.PutUint16(hdr[10:], 1)
	if err := c.WriteAt(hdr[:], 0); err != nil {
		q.Fail("write receive header: %v", err)
		return true
	}
	if err := c.WriteAt(frame, HeaderSize); err != nil {
		q.Fail("write received frame: %v", err)
		return true
	}
	d.st.RxFrames++
	d.st.RxBytes += uint64(len(frame))
	q.Push(c, uint32(need))
	return true
}

// State is the snapshot form of the device's own state (the transport
// saves the queues): what went through it.
type State struct {
	RxFrames, RxBytes uint64
	// RxTooSmall counts frames lost because the posted buffer was too
	// small for them.
	RxTooSmall        uint64
	TxFrames, TxBytes uint64
	// TxHash is a running SHA-256 over every transmitted chain (header
	// and frame): TxHash = SHA-256(TxHash || chain).
	TxHash [32]byte
}

// Save returns the device state.
func (d *NIC) Save() State { return d.st }

// Load restores the device state.
func (d *NIC) Load(s State) { d.st = s }

// String summarizes the counters (for --stats).
func (s State) String() string {
	return fmt.Sprintf("%d frames received (%d bytes), %d sent (%d bytes)", s.RxFrames, s.RxBytes, s.TxFrames, s.TxBytes)
}
