package machine

import (
	"fmt"

	"github.com/rewindvm/rewind/internal/dev/virtio/nic"
)

// Networking. Frames from the host network are input like keystrokes: a
// host backend (the CLI's user-mode network) sends them into NetInput, a
// channel the run loop drains at slice boundaries (and an idle hart
// waits on). They then wait in a bounded queue owned by the machine until
// the guest has posted a receive buffer; the moment one is written into
// a buffer (feedNet, at a slice boundary) is when it enters the guest,
// and OnNetFrame reports it with the instruction count (record mode logs
// it there). A frame that finds the queue full is dropped, as a real NIC
// drops what it has no room for; drops happen before anything enters the
// guest, so they change nothing the guest computes and are only counted
// (reported through OnNetFrame too, so a recording knows them).
//
// Frames the guest transmits go to OnNetTransmit, on the machine
// goroutine; the backend must take them without blocking. A replay has no
// backend: it feeds the recorded frames through ReplayNetFrame, and the
// device's transmit hash (in every state digest) checks that the guest
// sent the same frames.

// NetQueueFrames bounds the host frames waiting for guest receive
// buffers; more are dropped.
const NetQueueFrames = 1024

// netInboxFrames is the capacity of the NetInput channel: a backend that
// is further ahead blocks (back-pressure to the host network stack).
const netInboxFrames = 256

// netRecentSlices is how many slices stay short (quantumIO) after a frame
// went either way, so answers from the host reach the guest promptly.
const netRecentSlices = 64

// netHost is the host side of the network card: the queue of frames not
// yet in the guest and the drop counters. None of it is guest state.
type netHost struct {
	in           chan []byte
	queue        [][]byte
	pendingDrops uint64 // dropped since the last OnNetFrame
	drops        uint64 // dropped in total (live), or as the recording says (replay)
	recent       int
}

// newNIC builds the virtio-net device and its host side.
func (m *Machine) newNIC() *nic.NIC {
	mac := m.cfg.MAC
	if mac == ([6]byte{}) {
		mac = nic.DefaultMAC
	}
	d := nic.New(mac, m.cfg.NetMTU)
	m.net.in = make(chan []byte, netInboxFrames)
	d.OnTransmit = func(f []byte) {
		m.net.recent = netRecentSlices
		if m.OnNetTransmit != nil {
			m.OnNetTransmit(f)
		}
	}
	d.OnRxBuffers = func() {
		if len(m.net.queue) > 0 {
			m.requestExit() // frames are waiting: deliver them now
		}
	}
	return d
}

// NetInput returns the channel through which a host backend hands frames
// (Ethernet header first, no virtio header) to the guest; nil without a
// network card. Sends block while the machine is far behind. The frames
// are the machine's to keep.
func (m *Machine) NetInput() chan<- []byte { return m.net.in }

// queueFrame takes a host frame into the bounded queue, or drops it.
func (m *Machine) queueFrame(f []byte) {
	if len(f) < nic.MinFrame || len(f) > m.Net.MaxFrame() || len(m.net.queue) >= NetQueueFrames {
		m.net.pendingDrops++
		m.net.drops++
		return
	}
	m.net.queue = append(m.net.queue, f)
}

// feedNet writes waiting host frames into the receive buffers the guest
// has posted. This is the moment frames enter the guest.
func (m *Machine) feedNet() {
	if m.Net == nil {
		return
	}
	for len(m.net.queue) > 0 && m.Net.CanReceive() {
		f := m.net.queue[0]
		m.net.queue[0] = nil
		m.net.queue = m.net.queue[1:]
		m.Net.Receive(f)
		m.net.recent = netRecentSlices
		m.reportFrame(f)
	}
	if len(m.net.queue) == 0 {
		m.net.queue = nil
	}
	if m.net.pendingDrops > 0 {
		m.reportFrame(nil)
	}
}

func (m *Machine) reportFrame(f []byte) {
	if m.OnNetFrame != nil {
		m.OnNetFrame(m.ICount(), m.net.pendingDrops, f)
	}
	m.net.pendingDrops = 0
}

// netBusy reports whether slices should stay short for the network:
// frames are waiting, or went either way a moment ago.
func (m *Machine) netBusy() bool {
	if m.Net == nil {
		return false
	}
	if m.net.recent > 0 {
		m.net.recent--
		return true
	}
	return len(m.net.queue) > 0
}

// ReplayNetFrame applies a recorded network event (replay): dropped host
// frames are counted, and frame, if not empty, enters the guest's next
// receive buffer, which the guest must have posted here as it had when
// recording.
func (m *Machine) ReplayNetFrame(dropped uint64, frame []byte) error {
	if m.Net == nil {
		return fmt.Errorf("recorded network frame (%d bytes), but the machine has no virtio-net device", len(frame))
	}
	m.net.drops += dropped
	if len(frame) == 0 {
		return nil
	}
	if len(frame) < nic.MinFrame || len(frame) > m.Net.MaxFrame() {
		return fmt.Errorf("recorded network frame of %d bytes: a frame has %d to %d", len(frame), nic.MinFrame, m.Net.MaxFrame())
	}
	if !m.Net.CanReceive() {
		return fmt.Errorf("recorded network frame (%d bytes), but the guest has posted no receive buffer here", len(frame))
	}
	m.Net.Receive(frame)
	return nil
}

// NetStats is what went through the network card.
type NetStats struct {
	nic.State
	// Dropped counts host frames dropped because the queue was full.
	Dropped uint64
	// Queued counts host frames waiting for receive buffers now.
	Queued int
}

// NetStats returns the network card's counters; false without one.
func (m *Machine) NetStats() (NetStats, bool) {
	if m.Net == nil {
		return NetStats{}, false
	}
	return NetStats{State: m.Net.Save(), Dropped: m.net.drops, Queued: len(m.net.queue)}, true
}

// String summarizes the counters (for --stats).
func (s NetStats) String() string {
	return fmt.Sprintf("%s, %d dropped", s.State, s.Dropped)
}
