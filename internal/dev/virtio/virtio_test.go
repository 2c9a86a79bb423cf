package virtio_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/dev/virtio"
	"github.com/rewindvm/rewind/internal/dev/virtio/virtiotest"
)

const ramBase = 0x8000_0000

// echo is a test device: it copies each chain's readable bytes into its
// writable bytes and returns the chain, or holds chains when hold is set.
type echo struct {
	t        *virtio.MMIO
	config   [16]byte
	resets   int
	hold     bool
	held     []*virtio.Chain
	chains   [][2][]virtio.Segment
	notified int
}

func (e *echo) DeviceID() uint32      { return 42 }
func (e *echo) Features() uint64      { return 1<<3 | 1<<28 /* transport bit: masked */ | 1<<60 }
func (e *echo) NumQueues() int        { return 2 }
func (e *echo) QueueMax(i int) uint16 { return 8 << i }
func (e *echo) Reset()                { e.resets++; e.held = nil }
func (e *echo) ReadConfig(off uint64, p []byte) {
	for i := range p {
		p[i] = 0
		if off+uint64(i) < uint64(len(e.config)) {
			p[i] = e.config[off+uint64(i)]
		}
	}
}
func (e *echo) WriteConfig(off uint64, p []byte) {
	for i := range p {
		if off+uint64(i) < uint64(len(e.config)) {
			e.config[off+uint64(i)] = p[i]
		}
	}
}

func (e *echo) Notify(q *virtio.Queue) {
	e.notified++
	for c := q.Pop(); c != nil; c = q.Pop() {
		e.chains = append(e.chains, [2][]virtio.Segment{c.Readable, c.Writable})
		if e.hold {
			e.held = append(e.held, c)
			continue
		}
		e.complete(c)
	}
}

func (e *echo) complete(c *virtio.Chain) {
	n := min(c.ReadableLen(), c.WritableLen(), 1<<16)
	buf := make([]byte, n)
	if err := c.ReadAt(buf, 0); err != nil {
		c.Queue().Fail("echo read: %v", err)
		return
	}
	if err := c.WriteAt(buf, 0); err != nil {
		c.Queue().Fail("echo write: %v", err)
		return
	}
	c.Queue().Push(c, uint32(n))
}

type rig struct {
	t    *testing.T
	ram  *virtiotest.RAM
	irq  *virtiotest.IRQ
	dev  *echo
	mmio *virtio.MMIO
	drv  *virtiotest.Driver
	logs []string
}

func newRig(t *testing.T, mem virtio.Memory, ram *virtiotest.RAM) *rig {
	r := &rig{t: t, ram: ram, irq: &virtiotest.IRQ{}, dev: &echo{}}
	if mem == nil {
		mem = ram
	}
	r.mmio = virtio.NewMMIO(mem, r.irq, r.dev)
	r.dev.t = r.mmio
	r.mmio.Logf = func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		r.logs = append(r.logs, msg)
		t.Log(msg)
	}
	r.drv = virtiotest.NewDriver(r.mmio, ram)
	return r
}

// live returns a rig with features negotiated, queue 0 (size 8) set up and
// DRIVER_OK set.
func live(t *testing.T, features uint64) (*rig, *virtiotest.Queue) {
	r := newRig(t, nil, virtiotest.NewRAM(ramBase, 1<<20))
	if !r.drv.Negotiate(features) {
		t.Fatal("FEATURES_OK refused")
	}
	q := r.drv.SetupQueue(0, 8)
	r.drv.DriverOK()
	return r, q
}

func (r *rig) needsReset() bool {
	return r.drv.Read32(virtio.RegStatus)&virtio.StatusDeviceNeedsReset != 0
}

func (r *rig) logged(substr string) bool {
	for _, l := range r.logs {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func TestIdentification(t *testing.T) {
	r := newRig(t, nil, virtiotest.NewRAM(ramBase, 4096))
	for _, tc := range []struct {
		off  uint64
		want uint32
	}{
		{virtio.RegMagicValue, 0x74726976},
		{virtio.RegVersion, 2},
		{virtio.RegDeviceID, 42},
		{virtio.RegVendorID, virtio.VendorID},
		{virtio.RegStatus, 0},
		{virtio.RegInterruptStatus, 0},
		{virtio.RegSHMLenLow, 0xffffffff},
		{virtio.RegSHMBaseHigh, 0xffffffff},
	} {
		if got := r.drv.Read32(tc.off); got != tc.want {
			t.Errorf("register %#x = %#x, want %#x", tc.off, got, tc.want)
		}
	}
	want := uint64(1<<3 | 1<<60 | virtio.FeatureVersion1 | virtio.FeatureIndirectDesc)
	if got := r.drv.DeviceFeatures(); got != want {
		t.Errorf("features = %#x, want %#x", got, want)
	}
	r.drv.Write32(virtio.RegDeviceFeaturesSel, 2)
	if got := r.drv.Read32(virtio.RegDeviceFeatures); got != 0 {
		t.Errorf("feature word 2 = %#x", got)
	}
	for i, want := range []uint32{8, 16, 0} {
		r.drv.Write32(virtio.RegQueueSel, uint32(i))
		if got := r.drv.Read32(virtio.RegQueueNumMax); got != want {
			t.Errorf("queue %d QueueNumMax = %d, want %d", i, got, want)
		}
	}
}

func TestNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		features uint64
		ok       bool
	}{
		{"all", 1<<3 | 1<<60 | virtio.FeatureVersion1 | virtio.FeatureIndirectDesc, true},
		{"version only", virtio.FeatureVersion1, true},
		{"legacy", 1 << 3, false},
		{"not offered", virtio.FeatureVersion1 | virtio.FeatureEventIdx, false},
		{"masked transport bit", virtio.FeatureVersion1 | 1<<27, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil, virtiotest.NewRAM(ramBase, 4096))
			if got := r.drv.Negotiate(tc.features); got != tc.ok {
				t.Fatalf("FEATURES_OK = %v, want %v", got, tc.ok)
			}
			if tc.ok && r.mmio.DriverFeatures() != tc.features {
				t.Fatalf("DriverFeatures = %#x", r.mmio.DriverFeatures())
			}
		})
	}
	// Feature writes after FEATURES_OK are ignored.
	r := newRig(t, nil, virtiotest.NewRAM(ramBase, 4096))
	r.drv.Negotiate(virtio.FeatureVersion1)
	r.drv.Write32(virtio.RegDriverFeaturesSel, 1)
	r.drv.Write32(virtio.RegDriverFeatures, 0)
	if r.mmio.DriverFeatures() != virtio.FeatureVersion1 {
		t.Fatal("features changed after FEATURES_OK")
	}
}

func TestQueueSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(d *virtiotest.Driver)
		substr string
	}{
		{"size 0", func(d *virtiotest.Driver) { d.Write32(virtio.RegQueueNum, 0) }, "power of two"},
		{"size 3", func(d *virtiotest.Driver) { d.Write32(virtio.RegQueueNum, 3) }, "power of two"},
		{"size above max", func(d *virtiotest.Driver) { d.Write32(virtio.RegQueueNum, 16) }, "power of two"},
		{"desc misaligned", func(d *virtiotest.Driver) { d.Write32(virtio.RegQueueDescLow, ramBase+8) }, "16-byte aligned"},
		{"avail misaligned", func(d *virtiotest.Driver) { d.Write32(virtio.RegQueueDriverLow, ramBase+1) }, "2-byte aligned"},
		{"used misaligned", func(d *virtiotest.Driver) { d.Write32(virtio.RegQueueDeviceLow, ramBase+2) }, "4-byte aligned"},
		{"desc outside RAM", func(d *virtiotest.Driver) { d.Write32(virtio.RegQueueDescHigh, 1) }, "outside RAM"},
		{"used at end of RAM", func(d *virtiotest.Driver) { d.Write32(virtio.RegQueueDeviceLow, ramBase+4096-8) }, "outside RAM"},
		{"desc wraps", func(d *virtiotest.Driver) {
			d.Write32(virtio.RegQueueDescLow, 0xfffffff0)
			d.Write32(virtio.RegQueueDescHigh, 0xffffffff)
		}, "outside RAM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil, virtiotest.NewRAM(ramBase, 4096))
			r.drv.Negotiate(virtio.FeatureVersion1)
			r.drv.Write32(virtio.RegQueueSel, 0)
			r.drv.Write32(virtio.RegQueueNum, 8)
			r.drv.Write32(virtio.RegQueueDescLow, ramBase)
			r.drv.Write32(virtio.RegQueueDriverLow, ramBase+0x200)
			r.drv.Write32(virtio.RegQueueDeviceLow, ramBase+0x400)
			tc.setup(r.drv)
			r.drv.Write32(virtio.RegQueueReady, 1)
			if r.drv.Read32(virtio.RegQueueReady) != 0 {
				t.Error("queue enabled despite bad layout")
			}
			if !r.needsReset() || !r.logged(tc.substr) {
				t.Errorf("want NEEDS_RESET and a log containing %q", tc.substr)
			}
		})
	}
	// Queue layout writes while ready are ignored.
	r, q := live(t, virtio.FeatureVersion1)
	r.drv.Write32(virtio.RegQueueNum, 3)
	r.drv.Write32(virtio.RegQueueDescLow, 0x1234)
	if got := r.mmio.Queue(0).Size(); got != 8 {
		t.Errorf("QueueNum changed to %d while ready", got)
	}
	_ = q
	// Registers of a nonexistent queue.
	r.drv.Write32(virtio.RegQueueSel, 7)
	r.drv.Write32(virtio.RegQueueNum, 8)
	r.drv.Write32(virtio.RegQueueReady, 1)
	if r.drv.Read32(virtio.RegQueueReady) != 0 || r.drv.Read32(virtio.RegQueueNumMax) != 0 {
		t.Error("nonexistent queue became ready")
	}
	r.drv.Write32(virtio.RegQueueNotify, 7)
	r.drv.Write32(virtio.RegQueueNotify, 0xffffffff)
	if r.needsReset() {
		t.Error("nonexistent queue errors must not break the device")
	}
}

func TestEcho(t *testing.T) {
	r, q := live(t, virtio.FeatureVersion1)
	in := r.drv.Alloc(300, 1)
	copy(r.ram.Bytes(in, 300), strings.Repeat("0123456789", 30))
	out := r.drv.Alloc(300, 1)
	head := r.drv.Chain(q, 6, // wraps around the 8-entry table
		virtiotest.Desc{Addr: in, Len: 100},
		virtiotest.Desc{Addr: in + 100, Len: 200},
		virtiotest.Desc{Addr: out, Len: 10, Flags: virtio.DescFlagWrite},
		virtiotest.Desc{Addr: out + 10, Len: 290, Flags: virtio.DescFlagWrite},
	)
	r.drv.Offer(q, head)
	r.drv.Kick(q)
	if diff := cmp.Diff([]virtiotest.Used{{ID: 6, Len: 300}}, r.drv.Used(q)); diff != "" {
		t.Fatalf("used (-want +got):\n%s", diff)
	}
	if got := string(r.ram.Bytes(out, 300)); got != strings.Repeat("0123456789", 30) {
		t.Fatalf("echoed %q", got)
	}
	if !r.irq.High || r.drv.Ack() != virtio.IntUsedBuffer || r.irq.High {
		t.Fatal("used buffer interrupt not raised and acknowledged")
	}
	want := [2][]virtio.Segment{
		{{Addr: in, Len: 100}, {Addr: in + 100, Len: 200}},
		{{Addr: out, Len: 10}, {Addr: out + 10, Len: 290}},
	}
	if diff := cmp.Diff(want, r.dev.chains[0]); diff != "" {
		t.Fatalf("parsed chain (-want +got):\n%s", diff)
	}

	// Several chains in one kick, including a zero-length buffer.
	for i := 0; i < 3; i++ {
		r.drv.Offer(q, r.drv.Chain(q, 2*i,
			virtiotest.Desc{Addr: in, Len: 0},
			virtiotest.Desc{Addr: out, Len: uint32(i), Flags: virtio.DescFlagWrite}))
	}
	r.drv.Kick(q)
	if diff := cmp.Diff([]virtiotest.Used{{ID: 0}, {ID: 2}, {ID: 4}}, r.drv.Used(q)); diff != "" {
		t.Fatalf("used (-want +got):\n%s", diff)
	}
	if r.needsReset() {
		t.Fatal("device broken")
	}
}

func TestNoInterruptFlag(t *testing.T) {
	r, q := live(t, virtio.FeatureVersion1)
	r.ram.Put16(q.Avail, virtio.AvailFlagNoInterrupt)
	buf := r.drv.Alloc(8, 1)
	r.drv.Offer(q, r.drv.Chain(q, 0, virtiotest.Desc{Addr: buf, Len: 8, Flags: virtio.DescFlagWrite}))
	r.drv.Kick(q)
	if len(r.drv.Used(q)) != 1 {
		t.Fatal("chain not used")
	}
	if r.irq.High {
		t.Fatal("interrupt despite VIRTQ_AVAIL_F_NO_INTERRUPT")
	}
}

func TestNotifyBeforeDriverOK(t *testing.T) {
	r := newRig(t, nil, virtiotest.NewRAM(ramBase, 1<<16))
	r.drv.Negotiate(virtio.FeatureVersion1)
	q := r.drv.SetupQueue(0, 8)
	buf := r.drv.Alloc(8, 1)
	r.drv.Offer(q, r.drv.Chain(q, 0, virtiotest.Desc{Addr: buf, Len: 8, Flags: virtio.DescFlagWrite}))
	r.drv.Kick(q)
	if len(r.drv.Used(q)) != 0 {
		t.Fatal("buffer consumed before DRIVER_OK")
	}
	r.drv.DriverOK()
	if len(r.drv.Used(q)) != 1 {
		t.Fatal("buffer not consumed after DRIVER_OK")
	}
}

func TestIndirect(t *testing.T) {
	features := uint64(virtio.FeatureVersion1 | virtio.FeatureIndirectDesc)
	r, q := live(t, features)
	in := r.drv.Alloc(64, 1)
	copy(r.ram.Bytes(in, 64), strings.Repeat("abcdefgh", 8))
	out := r.drv.Alloc(64, 1)
	table := r.drv.Alloc(4*16+8, 16) + 8 // tables need no 16-byte alignment
	// The walk starts at table index 0; entries chain out of index order:
	// 0 -> 2 -> 3 -> 1.
	r.drv.WriteDesc(table, 0, virtiotest.Desc{Addr: in, Len: 32, Flags: virtio.DescFlagNext, Next: 2})
	r.drv.WriteDesc(table, 2, virtiotest.Desc{Addr: in + 32, Len: 32, Flags: virtio.DescFlagNext, Next: 3})
	r.drv.WriteDesc(table, 3, virtiotest.Desc{Addr: out, Len: 40, Flags: virtio.DescFlagWrite | virtio.DescFlagNext, Next: 1})
	r.drv.WriteDesc(table, 1, virtiotest.Desc{Addr: out + 40, Len: 24, Flags: virtio.DescFlagWrite})
	// A direct descriptor followed by the indirect one (§2.7.5.3.2).
	head := r.drv.Chain(q, 3,
		virtiotest.Desc{Addr: in, Len: 0}, // zero-length direct prefix
		virtiotest.Desc{Addr: table, Len: 64, Flags: virtio.DescFlagIndirect | virtio.DescFlagWrite /* ignored */},
	)
	r.drv.Offer(q, head)
	r.drv.Kick(q)
	if diff := cmp.Diff([]virtiotest.Used{{ID: 3, Len: 64}}, r.drv.Used(q)); diff != "" {
		t.Fatalf("used (-want +got):\n%s", diff)
	}
	if got := string(r.ram.Bytes(out, 64)); got != strings.Repeat("abcdefgh", 8) {
		t.Fatalf("echoed %q", got)
	}
	want := [2][]virtio.Segment{
		{{Addr: in, Len: 0}, {Addr: in, Len: 32}, {Addr: in + 32, Len: 32}},
		{{Addr: out, Len: 40}, {Addr: out + 40, Len: 24}},
	}
	if diff := cmp.Diff(want, r.dev.chains[0]); diff != "" {
		t.Fatalf("parsed chain (-want +got):\n%s", diff)
	}
}

// noCheck hides the RAMChecker ability, so errors surface at access time.
type noCheck = noCheckMem

func TestMalformedChains(t *testing.T) {
	const size = 8
	type env struct {
		r     *rig
		q     *virtiotest.Queue
		buf   uint64
		table uint64
	}
	w := uint16(virtio.DescFlagWrite)
	n := uint16(virtio.DescFlagNext)
	ind := uint16(virtio.DescFlagIndirect)
	for _, tc := range []struct {
		name    string
		noIndir bool // do not negotiate VIRTIO_F_INDIRECT_DESC
		noCheck bool // memory without RAMChecker
		build   func(e env)
		substr  string
	}{
		{name: "head out of range", build: func(e env) {
			e.r.drv.Offer(e.q, 8)
		}, substr: "head index 8 >= queue size 8"},
		{name: "next out of range", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.buf, Len: 1, Flags: n, Next: 9})
			e.r.drv.Offer(e.q, 0)
		}, substr: "next index 9 >= table size 8"},
		{name: "loop", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.buf, Len: 1, Flags: n, Next: 1})
			e.r.drv.WriteDesc(e.q.Desc, 1, virtiotest.Desc{Addr: e.buf, Len: 1, Flags: n, Next: 0})
			e.r.drv.Offer(e.q, 0)
		}, substr: "loop"},
		{name: "self loop", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 5, virtiotest.Desc{Addr: e.buf, Len: 1, Flags: n | w, Next: 5})
			e.r.drv.Offer(e.q, 5)
		}, substr: "loop"},
		{name: "buffer outside RAM", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: 0x1000, Len: 16})
			e.r.drv.Offer(e.q, 0)
		}, substr: "outside RAM"},
		{name: "buffer straddles end of RAM", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: ramBase + 1<<20 - 8, Len: 16, Flags: w})
			e.r.drv.Offer(e.q, 0)
		}, substr: "outside RAM"},
		{name: "buffer address wraps", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: ^uint64(0) - 4, Len: 16})
			e.r.drv.Offer(e.q, 0)
		}, substr: "outside RAM"},
		{name: "readable after writable", build: func(e env) {
			e.r.drv.Offer(e.q, e.r.drv.Chain(e.q, 0,
				virtiotest.Desc{Addr: e.buf, Len: 4, Flags: w},
				virtiotest.Desc{Addr: e.buf, Len: 4}))
		}, substr: "readable buffer"},
		{name: "indirect not negotiated", noIndir: true, build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.table, Len: 16, Flags: ind})
			e.r.drv.Offer(e.q, 0)
		}, substr: "not negotiated"},
		{name: "indirect with next", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.table, Len: 16, Flags: ind | n, Next: 1})
			e.r.drv.Offer(e.q, 0)
		}, substr: "both INDIRECT and NEXT"},
		{name: "indirect zero length", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.table, Len: 0, Flags: ind})
			e.r.drv.Offer(e.q, 0)
		}, substr: "not a non-zero multiple of 16"},
		{name: "indirect odd length", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.table, Len: 24, Flags: ind})
			e.r.drv.Offer(e.q, 0)
		}, substr: "not a non-zero multiple of 16"},
		{name: "indirect table too long", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.table, Len: 16 * (size + 1), Flags: ind})
			e.r.drv.Offer(e.q, 0)
		}, substr: "exceeds the queue maximum"},
		{name: "indirect table outside RAM", build: func(e env) {
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: 0x10, Len: 32, Flags: ind})
			e.r.drv.Offer(e.q, 0)
		}, substr: "outside RAM"},
		{name: "nested indirect", build: func(e env) {
			e.r.drv.WriteDesc(e.table, 0, virtiotest.Desc{Addr: e.table, Len: 16, Flags: ind})
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.table, Len: 16, Flags: ind})
			e.r.drv.Offer(e.q, 0)
		}, substr: "inside an indirect table"},
		{name: "indirect next out of range", build: func(e env) {
			e.r.drv.WriteDesc(e.table, 0, virtiotest.Desc{Addr: e.buf, Len: 4, Flags: n, Next: 2})
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.table, Len: 32, Flags: ind})
			e.r.drv.Offer(e.q, 0)
		}, substr: "next index 2 >= table size 2"},
		{name: "indirect loop", build: func(e env) {
			e.r.drv.WriteDesc(e.table, 0, virtiotest.Desc{Addr: e.buf, Len: 4, Flags: n, Next: 1})
			e.r.drv.WriteDesc(e.table, 1, virtiotest.Desc{Addr: e.buf, Len: 4, Flags: n, Next: 0})
			e.r.drv.WriteDesc(e.q.Desc, 0, virtiotest.Desc{Addr: e.table, Len: 32, Flags: ind})
			e.r.drv.Offer(e.q, 0)
		}, substr: "loop"},
		{name: "avail idx jumps", build: func(e env) {
			e.r.drv.SetAvailIdx(e.q, 9)
		}, substr: "ahead"},
		{name: "avail idx goes back", build: func(e env) {
			e.r.drv.SetAvailIdx(e.q, 0xffff)
		}, substr: "ahead"},
		{name: "chain over 4 GiB", noCheck: true, build: func(e env) {
			e.r.drv.Offer(e.q, e.r.drv.Chain(e.q, 0,
				virtiotest.Desc{Addr: e.buf, Len: 0xffffffff},
				virtiotest.Desc{Addr: e.buf, Len: 0xffffffff}))
		}, substr: "2^32"},
		{name: "buffer outside RAM found at access", noCheck: true, build: func(e env) {
			e.r.drv.Offer(e.q, e.r.drv.Chain(e.q, 0,
				virtiotest.Desc{Addr: 0x1000, Len: 4},
				virtiotest.Desc{Addr: e.buf, Len: 4, Flags: w}))
		}, substr: "echo read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ram := virtiotest.NewRAM(ramBase, 1<<20)
			var mem virtio.Memory
			if tc.noCheck {
				mem = noCheck{ram}
			}
			r := newRig(t, mem, ram)
			features := uint64(virtio.FeatureVersion1 | virtio.FeatureIndirectDesc)
			if tc.noIndir {
				features = virtio.FeatureVersion1
			}
			if !r.drv.Negotiate(features) {
				t.Fatal("negotiation failed")
			}
			q := r.drv.SetupQueue(0, size)
			r.drv.DriverOK()
			e := env{r: r, q: q, buf: r.drv.Alloc(64, 16), table: r.drv.Alloc(16*16, 16)}
			tc.build(e)
			r.drv.Kick(q)
			if !r.needsReset() {
				t.Fatal("device does not need reset")
			}
			if !r.logged(tc.substr) {
				t.Fatalf("no log message containing %q", tc.substr)
			}
			if !r.irq.High || r.drv.Read32(virtio.RegInterruptStatus)&virtio.IntConfigChange == 0 {
				t.Fatal("no configuration change interrupt")
			}
			if len(r.drv.Used(q)) != 0 {
				t.Fatal("malformed chain was used")
			}
			// The device stays quiet until reset...
			r.drv.Ack()
			r.drv.Kick(q)
			if r.irq.High {
				t.Fatal("broken device raised an interrupt after ack")
			}
			// ... and works again after a reset.
			resets := r.dev.resets
			if !r.drv.Negotiate(features) {
				t.Fatal("renegotiation failed")
			}
			if r.dev.resets != resets+1 || r.needsReset() {
				t.Fatal("reset did not reset")
			}
			q = r.drv.SetupQueue(0, size)
			r.drv.DriverOK()
			r.drv.Offer(q, r.drv.Chain(q, 0, virtiotest.Desc{Addr: e.buf, Len: 4, Flags: w}))
			r.drv.Kick(q)
			if len(r.drv.Used(q)) != 1 {
				t.Fatal("device does not work after reset")
			}
		})
	}
}

func TestDeferredCompletion(t *testing.T) {
	r, q := live(t, virtio.FeatureVersion1)
	r.dev.hold = true
	buf := r.drv.Alloc(8, 1)
	for i := 0; i < 3; i++ {
		r.drv.Offer(q, r.drv.Chain(q, i, virtiotest.Desc{Addr: buf, Len: 8, Flags: virtio.DescFlagWrite}))
	}
	r.drv.Kick(q)
	if len(r.drv.Used(q)) != 0 || len(r.dev.held) != 3 {
		t.Fatal("chains not held")
	}
	// Complete out of order.
	for _, i := range []int{2, 0, 1} {
		r.dev.complete(r.dev.held[i])
	}
	if diff := cmp.Diff([]virtiotest.Used{{ID: 2}, {ID: 0}, {ID: 1}}, r.drv.Used(q)); diff != "" {
		t.Fatalf("used (-want +got):\n%s", diff)
	}
	// A chain held across a reset is dropped.
	r.drv.Offer(q, r.drv.Chain(q, 3, virtiotest.Desc{Addr: buf, Len: 8, Flags: virtio.DescFlagWrite}))
	r.drv.Kick(q)
	stale := r.dev.held[3]
	r.drv.Write32(virtio.RegStatus, 0)
	r.drv.Negotiate(virtio.FeatureVersion1)
	q = r.drv.SetupQueue(0, 8)
	r.drv.DriverOK()
	r.dev.complete(stale)
	if len(r.drv.Used(q)) != 0 || r.ram.Get16(q.Used+2) != 0 {
		t.Fatal("stale chain was pushed after reset")
	}
	// Pushing a chain to another queue does nothing either.
	r.mmio.Queue(1).Push(stale, 0)
}

func TestConfigSpace(t *testing.T) {
	r := newRig(t, nil, virtiotest.NewRAM(ramBase, 4096))
	r.mmio.Write(virtio.RegConfig, 8, 0x0807060504030201)
	r.mmio.Write(virtio.RegConfig+8, 1, 0xaa)
	r.mmio.Write(virtio.RegConfig+10, 2, 0xccbb)
	for _, tc := range []struct {
		off  uint64
		size int
		want uint64
	}{
		{0, 1, 0x01}, {1, 2, 0x0302}, {4, 4, 0x08070605}, {0, 8, 0x0807060504030201},
		{8, 4, 0xccbb00aa}, {14, 4, 0}, {0x100, 4, 0}, {0, 3, 0},
	} {
		if got := r.mmio.Read(virtio.RegConfig+tc.off, tc.size); got != tc.want {
			t.Errorf("config %d/%d = %#x, want %#x", tc.off, tc.size, got, tc.want)
		}
	}
	gen := r.drv.Read32(virtio.RegConfigGeneration)
	r.drv.Negotiate(virtio.FeatureVersion1)
	r.drv.DriverOK()
	r.mmio.ConfigChanged()
	if r.drv.Read32(virtio.RegConfigGeneration) != gen+1 {
		t.Error("ConfigGeneration not bumped")
	}
	if !r.irq.High || r.drv.Ack() != virtio.IntConfigChange {
		t.Error("no configuration change interrupt")
	}
}

func TestOddAccesses(t *testing.T) {
	r, _ := live(t, virtio.FeatureVersion1)
	for off := uint64(0); off < 0x110; off++ {
		for _, size := range []int{1, 2, 3, 4, 8} {
			r.mmio.Read(off, size)
			if off == virtio.RegStatus || off == virtio.RegQueueReady {
				continue // would legitimately reset or disable
			}
			r.mmio.Write(off, size, 0xffffffff_ffffffff)
		}
	}
	r.mmio.Read(^uint64(0)-3, 4)
	r.mmio.Write(^uint64(0)-3, 4, 1)
	r.mmio.Write(virtio.RegStatus, 4, 0xffffffff) // driver may not set NEEDS_RESET
	if r.mmio.Status()&virtio.StatusDeviceNeedsReset != 0 && !r.logged("needs reset") {
		t.Error("driver could set DEVICE_NEEDS_RESET")
	}
}

func TestSaveLoad(t *testing.T) {
	features := uint64(virtio.FeatureVersion1 | virtio.FeatureIndirectDesc)
	r, q := live(t, features)
	buf := r.drv.Alloc(8, 1)
	for i := 0; i < 5; i++ {
		r.drv.Offer(q, r.drv.Chain(q, i%8, virtiotest.Desc{Addr: buf, Len: 8, Flags: virtio.DescFlagWrite}))
	}
	r.drv.Kick(q)
	r.drv.Used(q)
	r.drv.Write32(virtio.RegQueueSel, 1)
	saved := r.mmio.Save()
	ram := append([]byte(nil), r.ram.Data...)

	r.drv.Write32(virtio.RegStatus, 0) // reset everything
	if diff := cmp.Diff(saved, r.mmio.Save()); diff == "" {
		t.Fatal("reset changed nothing")
	}
	if err := r.mmio.Load(saved); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, r.mmio.Save()); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	if !r.irq.High {
		t.Fatal("interrupt line not restored")
	}
	copy(r.ram.Data, ram)
	// The restored queue continues where it was.
	r.drv.Offer(q, r.drv.Chain(q, 5, virtiotest.Desc{Addr: buf, Len: 8, Flags: virtio.DescFlagWrite}))
	r.drv.Kick(q)
	if diff := cmp.Diff([]virtiotest.Used{{ID: 5, Len: 0}}, r.drv.Used(q)); diff != "" {
		t.Fatalf("used after Load (-want +got):\n%s", diff)
	}

	bad := r.mmio.Save()
	bad.Queues = bad.Queues[:1]
	if r.mmio.Load(bad) == nil {
		t.Error("Load accepted a missing queue")
	}
	bad = r.mmio.Save()
	bad.Queues[0].Num = 6
	if r.mmio.Load(bad) == nil {
		t.Error("Load accepted a ready queue of size 6")
	}
	if diff := cmp.Diff(r.mmio.Save().Queues[0].Num, uint32(8)); diff != "" {
		t.Error("failed Load changed the state")
	}
}
