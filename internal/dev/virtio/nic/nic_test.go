package nic

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/dev/virtio"
	"github.com/rewindvm/rewind/internal/dev/virtio/virtiotest"
)

type rig struct {
	t      *testing.T
	nic    *NIC
	mmio   *virtio.MMIO
	ram    *virtiotest.RAM
	irq    *virtiotest.IRQ
	drv    *virtiotest.Driver
	rx, tx *virtiotest.Queue
	next   map[int]int
	sent   [][]byte
	kicks  int
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, nic: New(DefaultMAC, 0), next: map[int]int{}}
	r.nic.OnTransmit = func(f []byte) { r.sent = append(r.sent, f) }
	r.nic.OnRxBuffers = func() { r.kicks++ }
	r.ram = virtiotest.NewRAM(0x8000_0000, 1<<20)
	r.irq = &virtiotest.IRQ{}
	r.mmio = virtio.NewMMIO(r.ram, r.irq, r.nic)
	r.nic.Bind(r.mmio)
	r.mmio.Logf = t.Logf
	r.drv = virtiotest.NewDriver(r.mmio, r.ram)
	if !r.drv.Negotiate(virtio.FeatureVersion1 | FeatureMAC | FeatureStatus | FeatureMTU) {
		t.Fatal("negotiation failed")
	}
	r.rx = r.drv.SetupQueue(RxQueue, 16)
	r.tx = r.drv.SetupQueue(TxQueue, 16)
	r.drv.DriverOK()
	return r
}

// offer posts one chain on q and kicks.
func (r *rig) offer(q *virtiotest.Queue, descs ...virtiotest.Desc) uint16 {
	head := r.drv.Chain(q, r.next[q.Index], descs...)
	r.next[q.Index] = (r.next[q.Index] + len(descs)) % int(q.Size)
	r.drv.Offer(q, head)
	r.drv.Kick(q)
	return head
}

// sendFrame transmits hdr+frame split over two descriptors.
func (r *rig) sendFrame(frame []byte) uint16 {
	a := r.drv.Alloc(HeaderSize, 8)
	b := r.drv.Alloc(len(frame), 8)
	copy(r.ram.Bytes(b, len(frame)), frame)
	return r.offer(r.tx, virtiotest.Desc{Addr: a, Len: HeaderSize}, virtiotest.Desc{Addr: b, Len: uint32(len(frame))})
}

func (r *rig) needsReset() bool {
	return r.drv.Read32(virtio.RegStatus)&virtio.StatusDeviceNeedsReset != 0
}

// maxFrame is the largest frame at the default MTU.
const maxFrame = DefaultMTU + EtherOverhead

func frameOf(n int, seed byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = seed + byte(i)
	}
	return f
}

func TestConfigAndFeatures(t *testing.T) {
	r := newRig(t)
	if id := r.drv.Read32(virtio.RegDeviceID); id != DeviceID {
		t.Fatalf("device id %d", id)
	}
	want := uint64(virtio.FeatureVersion1 | virtio.FeatureIndirectDesc | FeatureGuestCsum | FeatureMAC | FeatureStatus | FeatureMTU)
	if got := r.drv.DeviceFeatures(); got != want {
		t.Errorf("features %#x, want %#x", got, want)
	}
	var mac [6]byte
	for i := range mac {
		mac[i] = byte(r.mmio.Read(virtio.RegConfig+uint64(i), 1))
	}
	if mac != DefaultMAC {
		t.Errorf("mac % x", mac)
	}
	if s := r.mmio.Read(virtio.RegConfig+6, 2); s != StatusLinkUp {
		t.Errorf("status %d", s)
	}
	if m := r.mmio.Read(virtio.RegConfig+10, 2); m != DefaultMTU {
		t.Errorf("mtu %d", m)
	}
	if v := r.mmio.Read(virtio.RegConfig+12, 4); v != 0 {
		t.Errorf("bytes past the config read %#x", v)
	}
	other := New([6]byte{2, 0, 0, 0, 0, 9}, 9000)
	var p [12]byte
	other.ReadConfig(0, p[:])
	if !bytes.Equal(p[:6], []byte{2, 0, 0, 0, 0, 9}) || binary.LittleEndian.Uint16(p[10:]) != 9000 {
		t.Errorf("configured mac and mtu % x", p)
	}
	if other.MaxFrame() != 9018 {
		t.Errorf("MaxFrame %d", other.MaxFrame())
	}
	for _, bad := range []int{MinMTU - 1, MaxMTU + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MTU %d accepted", bad)
				}
			}()
			New(DefaultMAC, bad)
		}()
	}
}

func TestTransmit(t *testing.T) {
	r := newRig(t)
	f1, f2 := frameOf(60, 1), frameOf(maxFrame, 9)
	h1 := r.sendFrame(f1)
	h2 := r.sendFrame(f2)
	if diff := cmp.Diff([][]byte{f1, f2}, r.sent); diff != "" {
		t.Fatalf("frames handed to the host (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]virtiotest.Used{{ID: uint32(h1)}, {ID: uint32(h2)}}, r.drv.Used(r.tx)); diff != "" {
		t.Errorf("used ring (-want +got):\n%s", diff)
	}
	s := r.nic.Save()
	if s.TxFrames != 2 || s.TxBytes != uint64(len(f1)+len(f2)) {
		t.Errorf("counters %+v", s)
	}
	// The hash depends on every frame and their order.
	other := newRig(t)
	other.sendFrame(f2)
	other.sendFrame(f1)
	if other.nic.Save().TxHash == s.TxHash {
		t.Error("transmit hash does not depend on the order of frames")
	}
	// A runt (shorter than an Ethernet header) is hashed but not sent.
	r.sendFrame(frameOf(5, 0))
	if len(r.sent) != 2 || r.nic.Save().TxFrames != 3 {
		t.Errorf("runt: %d sent, %d counted", len(r.sent), r.nic.Save().TxFrames)
	}
	if r.needsReset() {
		t.Fatal("device needs reset after valid transmissions")
	}
}

func TestTransmitErrorsNeedReset(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(r *rig)
	}{
		{"short-header", func(r *rig) {
			r.offer(r.tx, virtiotest.Desc{Addr: r.drv.Alloc(8, 8), Len: 8})
		}},
		{"over-mtu", func(r *rig) { r.sendFrame(frameOf(maxFrame+1, 0)) }},
		{"outside-ram", func(r *rig) {
			r.offer(r.tx, virtiotest.Desc{Addr: 0x1000, Len: 64})
		}},
		{"loop", func(r *rig) {
			a := r.drv.Alloc(64, 8)
			r.drv.WriteDesc(r.tx.Desc, 0, virtiotest.Desc{Addr: a, Len: 64, Flags: virtio.DescFlagNext, Next: 0})
			r.drv.Offer(r.tx, 0)
			r.drv.Kick(r.tx)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			tc.send(r)
			if !r.needsReset() {
				t.Fatal("device does not need reset")
			}
			if len(r.sent) != 0 {
				t.Errorf("%d frames sent", len(r.sent))
			}
			if !r.irq.High || r.drv.Ack()&virtio.IntConfigChange == 0 {
				t.Error("no configuration change interrupt")
			}
			// The device recovers after a reset.
			r.drv.Negotiate(virtio.FeatureVersion1)
			r.tx = r.drv.SetupQueue(TxQueue, 16)
			r.next[TxQueue] = 0
			r.drv.DriverOK()
			r.sendFrame(frameOf(60, 3))
			if r.needsReset() || len(r.sent) != 1 {
				t.Errorf("after reset: needs reset %v, %d sent", r.needsReset(), len(r.sent))
			}
		})
	}
}

func TestReceive(t *testing.T) {
	r := newRig(t)
	if r.nic.CanReceive() || r.nic.Receive(frameOf(60, 0)) {
		t.Fatal("receive without buffers")
	}
	bufs := []uint64{r.drv.Alloc(1526, 8), r.drv.Alloc(1526, 8)}
	h0 := r.offer(r.rx, virtiotest.Desc{Addr: bufs[0], Len: 1526, Flags: virtio.DescFlagWrite})
	// The second buffer is split: the header and the start of the frame
	// in one descriptor, the rest in another.
	h1 := r.offer(r.rx, virtiotest.Desc{Addr: bufs[1], Len: 20, Flags: virtio.DescFlagWrite}, virtiotest.Desc{Addr: bufs[1] + 20, Len: 1506, Flags: virtio.DescFlagWrite})
	if r.kicks != 2 {
		t.Errorf("OnRxBuffers called %d times", r.kicks)
	}
	f0, f1 := frameOf(60, 7), frameOf(maxFrame-4, 1)
	for _, f := range [][]byte{f0, f1} {
		if !r.nic.CanReceive() || !r.nic.Receive(f) {
			t.Fatal("receive failed")
		}
	}
	if r.nic.CanReceive() {
		t.Error("CanReceive with every buffer used")
	}
	want := []virtiotest.Used{{ID: uint32(h0), Len: uint32(HeaderSize + len(f0))}, {ID: uint32(h1), Len: uint32(HeaderSize + len(f1))}}
	if diff := cmp.Diff(want, r.drv.Used(r.rx)); diff != "" {
		t.Errorf("used ring (-want +got):\n%s", diff)
	}
	for i, f := range [][]byte{f0, f1} {
		hdr := r.ram.Bytes(bufs[i], HeaderSize)
		if nb := binary.LittleEndian.Uint16(hdr[10:]); nb != 1 || !bytes.Equal(hdr[:10], make([]byte, 10)) {
			t.Errorf("frame %d: header % x", i, hdr)
		}
		if got := r.ram.Bytes(bufs[i]+HeaderSize, len(f)); !bytes.Equal(got, f) {
			t.Errorf("frame %d: contents differ", i)
		}
	}
	if !r.irq.High {
		t.Error("no interrupt")
	}
	if s := r.nic.Save(); s.RxFrames != 2 || s.RxBytes != uint64(len(f0)+len(f1)) {
		t.Errorf("counters %+v", s)
	}
}

func TestReceiveBufferTooSmall(t *testing.T) {
	r := newRig(t)
	h := r.offer(r.rx, virtiotest.Desc{Addr: r.drv.Alloc(64, 8), Len: 64, Flags: virtio.DescFlagWrite})
	if !r.nic.Receive(frameOf(100, 0)) {
		t.Fatal("buffer not taken")
	}
	if diff := cmp.Diff([]virtiotest.Used{{ID: uint32(h), Len: 0}}, r.drv.Used(r.rx)); diff != "" {
		t.Errorf("used (-want +got):\n%s", diff)
	}
	if s := r.nic.Save(); s.RxTooSmall != 1 || s.RxFrames != 0 {
		t.Errorf("counters %+v", s)
	}
	if r.needsReset() {
		t.Error("a small buffer is not a driver error")
	}
}

func TestReceiveErrorsNeedReset(t *testing.T) {
	r := newRig(t)
	// A receive chain the device cannot write into.
	r.offer(r.rx, virtiotest.Desc{Addr: r.drv.Alloc(1526, 8), Len: 1526})
	if !r.nic.Receive(frameOf(60, 0)) || !r.needsReset() {
		t.Fatal("read-only receive buffer accepted")
	}
	if r.nic.CanReceive() || r.nic.Receive(frameOf(60, 0)) {
		t.Error("receives while the device needs reset")
	}
	// An avail index far ahead of the device's.
	r2 := newRig(t)
	r2.drv.SetAvailIdx(r2.rx, 100)
	if r2.nic.Receive(frameOf(60, 0)) || !r2.needsReset() {
		t.Error("bad avail index accepted")
	}
}

func TestBadQueueSizes(t *testing.T) {
	for _, size := range []uint32{0, 3, 512} {
		r := &rig{t: t, nic: New(DefaultMAC, 0)}
		r.ram = virtiotest.NewRAM(0x8000_0000, 1<<20)
		r.irq = &virtiotest.IRQ{}
		r.mmio = virtio.NewMMIO(r.ram, r.irq, r.nic)
		r.nic.Bind(r.mmio)
		r.drv = virtiotest.NewDriver(r.mmio, r.ram)
		r.drv.Negotiate(virtio.FeatureVersion1)
		r.drv.Write32(virtio.RegQueueSel, RxQueue)
		r.drv.Write32(virtio.RegQueueNum, size)
		r.drv.Write32(virtio.RegQueueDescLow, uint32(r.drv.Alloc(16*16, 16)))
		r.drv.Write32(virtio.RegQueueDriverLow, uint32(r.drv.Alloc(64, 2)))
		r.drv.Write32(virtio.RegQueueDeviceLow, uint32(r.drv.Alloc(256, 4)))
		r.drv.Write32(virtio.RegQueueReady, 1)
		if !r.needsReset() || r.drv.Read32(virtio.RegQueueReady) != 0 {
			t.Errorf("queue size %d: accepted", size)
		}
		if r.nic.CanReceive() || r.nic.Receive(frameOf(60, 0)) {
			t.Errorf("queue size %d: receives", size)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	r := newRig(t)
	r.sendFrame(frameOf(60, 1))
	s := r.nic.Save()
	n := New(DefaultMAC, 0)
	n.Load(s)
	if n.Save() != s {
		t.Errorf("loaded %+v, saved %+v", n.Save(), s)
	}
	if got := s.String(); got != "0 frames received (0 bytes), 1 sent (60 bytes)" {
		t.Errorf("String() = %q", got)
	}
}

func TestUnboundDevice(t *testing.T) {
	n := New(DefaultMAC, 0)
	if n.CanReceive() || n.Receive(frameOf(60, 0)) {
		t.Error("an unbound device receives")
	}
}

// With VIRTIO_NET_F_GUEST_CSUM the header says DATA_VALID; at a large
// MTU a frame spans a chain of page-sized buffers.
func TestReceiveDataValidAndBigMTU(t *testing.T) {
	r := &rig{t: t, nic: New(DefaultMAC, MaxMTU), next: map[int]int{}}
	r.ram = virtiotest.NewRAM(0x8000_0000, 1<<20)
	r.irq = &virtiotest.IRQ{}
	r.mmio = virtio.NewMMIO(r.ram, r.irq, r.nic)
	r.nic.Bind(r.mmio)
	r.drv = virtiotest.NewDriver(r.mmio, r.ram)
	if !r.drv.Negotiate(virtio.FeatureVersion1 | FeatureGuestCsum | FeatureMTU) {
		t.Fatal("negotiation failed")
	}
	r.rx = r.drv.SetupQueue(RxQueue, 32)
	r.tx = r.drv.SetupQueue(TxQueue, 32)
	r.drv.DriverOK()
	var descs []virtiotest.Desc
	base := r.drv.Alloc(17*4096, 4096)
	for i := range 17 {
		descs = append(descs, virtiotest.Desc{Addr: base + uint64(i)*4096, Len: 4096, Flags: virtio.DescFlagWrite})
	}
	r.offer(r.rx, descs...)
	f := frameOf(r.nic.MaxFrame(), 3)
	if !r.nic.Receive(f) {
		t.Fatal("not received")
	}
	used := r.drv.Used(r.rx)
	if len(used) != 1 || used[0].Len != uint32(HeaderSize+len(f)) {
		t.Fatalf("used %+v", used)
	}
	if flags := r.ram.Bytes(base, 1)[0]; flags != HdrFlagDataValid {
		t.Errorf("header flags %#x", flags)
	}
	if got := r.ram.Bytes(base+HeaderSize, len(f)); !bytes.Equal(got, f) {
		t.Error("frame contents differ")
	}
	// A transmitted frame may be as large too, not larger.
	r.sendFrame(frameOf(r.nic.MaxFrame(), 0))
	if r.needsReset() || r.nic.Save().TxFrames != 1 {
		t.Fatal("a frame of the MTU was refused")
	}
	r.sendFrame(frameOf(r.nic.MaxFrame()+1, 0))
	if !r.needsReset() {
		t.Error("a frame over the MTU was accepted")
	}
}
