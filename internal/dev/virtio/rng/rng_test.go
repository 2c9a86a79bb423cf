package rng

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/dev/virtio"
	"github.com/rewindvm/rewind/internal/dev/virtio/virtiotest"
)

type rig struct {
	t    *testing.T
	rng  *RNG
	mmio *virtio.MMIO
	ram  *virtiotest.RAM
	irq  *virtiotest.IRQ
	drv  *virtiotest.Driver
	q    *virtiotest.Queue
	next int
	want int
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, rng: New()}
	r.rng.OnWant = func() { r.want++ }
	r.ram = virtiotest.NewRAM(0x8000_0000, 1<<20)
	r.irq = &virtiotest.IRQ{}
	r.mmio = virtio.NewMMIO(r.ram, r.irq, r.rng)
	r.mmio.Logf = t.Logf
	r.drv = virtiotest.NewDriver(r.mmio, r.ram)
	if !r.drv.Negotiate(virtio.FeatureVersion1) {
		t.Fatal("negotiation failed")
	}
	r.q = r.drv.SetupQueue(0, 8)
	r.drv.DriverOK()
	return r
}

// offer posts one chain of the given descriptors and kicks.
func (r *rig) offer(descs ...virtiotest.Desc) uint16 {
	head := r.drv.Chain(r.q, r.next, descs...)
	r.next = (r.next + len(descs)) % int(r.q.Size)
	r.drv.Offer(r.q, head)
	r.drv.Kick(r.q)
	return head
}

// counter supplies bytes 0, 1, 2, ... and records the sizes asked for.
type counter struct {
	n     byte
	sizes []int
}

func (c *counter) next(n int) ([]byte, error) {
	c.sizes = append(c.sizes, n)
	p := make([]byte, n)
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return p, nil
}

func TestFillWritesOfferedBuffersInOrder(t *testing.T) {
	r := newRig(t)
	if r.mmio.Read(virtio.RegDeviceID, 4) != DeviceID {
		t.Fatalf("device id %d", r.mmio.Read(virtio.RegDeviceID, 4))
	}
	a := r.drv.Alloc(16, 8)
	b := r.drv.Alloc(8192, 8)
	c1, c2 := r.drv.Alloc(3, 1), r.drv.Alloc(5, 1)
	h1 := r.offer(virtiotest.Desc{Addr: a, Len: 16, Flags: virtio.DescFlagWrite})
	h2 := r.offer(virtiotest.Desc{Addr: b, Len: 8192, Flags: virtio.DescFlagWrite})
	h3 := r.offer(virtiotest.Desc{Addr: c1, Len: 3, Flags: virtio.DescFlagWrite}, virtiotest.Desc{Addr: c2, Len: 5, Flags: virtio.DescFlagWrite})
	if r.want != 3 || !r.rng.Wanted() {
		t.Fatalf("want calls %d, wanted %v", r.want, r.rng.Wanted())
	}
	if used := r.drv.Used(r.q); len(used) != 0 {
		t.Fatalf("buffers used before Fill: %+v", used)
	}
	var src counter
	n, err := r.rng.Fill(src.next)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{16, MaxPerBuffer, 8}, src.sizes); diff != "" {
		t.Errorf("sizes asked (-want +got):\n%s", diff)
	}
	if n != 16+MaxPerBuffer+8 || r.rng.Served() != uint64(n) {
		t.Errorf("filled %d, served %d", n, r.rng.Served())
	}
	used := r.drv.Used(r.q)
	want := []virtiotest.Used{{ID: uint32(h1), Len: 16}, {ID: uint32(h2), Len: MaxPerBuffer}, {ID: uint32(h3), Len: 8}}
	if diff := cmp.Diff(want, used); diff != "" {
		t.Errorf("used ring (-want +got):\n%s", diff)
	}
	if got := r.ram.Bytes(a, 4); !bytes.Equal(got, []byte{0, 1, 2, 3}) {
		t.Errorf("first buffer starts % x", got)
	}
	if got := r.ram.Bytes(b+MaxPerBuffer, 4); !bytes.Equal(got, make([]byte, 4)) {
		t.Errorf("bytes past MaxPerBuffer written: % x", got)
	}
	// The 8-byte chain spans two descriptors.
	split := append(r.ram.Bytes(c1, 3), r.ram.Bytes(c2, 5)...)
	first := byte((16 + MaxPerBuffer) % 256)
	for i, v := range split {
		if v != first+byte(i) {
			t.Fatalf("split chain = % x", split)
		}
	}
	if !r.irq.High {
		t.Error("no interrupt after filling")
	}
	if r.rng.Wanted() {
		t.Error("still wanted after fill")
	}
	if n, _ := r.rng.Fill(src.next); n != 0 {
		t.Errorf("second fill used %d bytes with nothing offered", n)
	}
}

func TestFillReadOnlyBufferGetsNothing(t *testing.T) {
	r := newRig(t)
	h := r.offer(virtiotest.Desc{Addr: r.drv.Alloc(8, 8), Len: 8})
	var src counter
	n, err := r.rng.Fill(src.next)
	if err != nil || n != 0 || len(src.sizes) != 0 {
		t.Fatalf("fill = %d, %v; sizes %v", n, err, src.sizes)
	}
	if diff := cmp.Diff([]virtiotest.Used{{ID: uint32(h), Len: 0}}, r.drv.Used(r.q)); diff != "" {
		t.Errorf("used (-want +got):\n%s", diff)
	}
}

func TestFillSourceErrorReturnsBuffer(t *testing.T) {
	r := newRig(t)
	h := r.offer(virtiotest.Desc{Addr: r.drv.Alloc(8, 8), Len: 8, Flags: virtio.DescFlagWrite})
	boom := errors.New("no entropy")
	_, err := r.rng.Fill(func(int) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if diff := cmp.Diff([]virtiotest.Used{{ID: uint32(h), Len: 0}}, r.drv.Used(r.q)); diff != "" {
		t.Errorf("used (-want +got):\n%s", diff)
	}
	// A source that returns the wrong length is an error too.
	r.offer(virtiotest.Desc{Addr: r.drv.Alloc(8, 8), Len: 8, Flags: virtio.DescFlagWrite})
	if _, err := r.rng.Fill(func(int) ([]byte, error) { return []byte{1}, nil }); err == nil {
		t.Error("short source accepted")
	}
}

func TestBadChainNeedsReset(t *testing.T) {
	r := newRig(t)
	// A buffer outside RAM.
	r.offer(virtiotest.Desc{Addr: 0x1000, Len: 8, Flags: virtio.DescFlagWrite})
	var src counter
	if n, err := r.rng.Fill(src.next); n != 0 || err != nil {
		t.Fatalf("fill = %d, %v", n, err)
	}
	if r.mmio.Status()&virtio.StatusDeviceNeedsReset == 0 {
		t.Error("device does not need reset after a buffer outside RAM")
	}
}

func TestSaveLoad(t *testing.T) {
	r := newRig(t)
	r.offer(virtiotest.Desc{Addr: r.drv.Alloc(8, 8), Len: 8, Flags: virtio.DescFlagWrite})
	s := r.rng.Save()
	fresh := New()
	fresh.Load(s, r.mmio.Queue(0))
	if !fresh.Wanted() {
		t.Fatal("restored device lost the offered buffers")
	}
	var src counter
	if n, err := fresh.Fill(src.next); n != 8 || err != nil {
		t.Fatalf("fill after load = %d, %v", n, err)
	}
}
