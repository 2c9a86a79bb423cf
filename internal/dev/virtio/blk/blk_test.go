package blk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/dev/virtio"
	"github.com/rewindvm/rewind/internal/dev/virtio/virtiotest"
)

const (
	ramBase  = 0x8000_0000
	ramSize  = 1 << 21
	sectors  = 64
	features = virtio.FeatureVersion1 | virtio.FeatureIndirectDesc | FeatureFlush | FeatureSegMax | FeatureSizeMax | FeatureBlkSize
)

// countingDisk counts flushes and can fail every operation.
type countingDisk struct {
	block.Device
	flushes int
	fail    bool
}

func (c *countingDisk) Flush() error {
	c.flushes++
	if c.fail {
		return errors.New("flush failed")
	}
	return c.Device.Flush()
}

func (c *countingDisk) ReadAt(p []byte, off int64) (int, error) {
	if c.fail {
		return 0, errors.New("medium error")
	}
	return c.Device.ReadAt(p, off)
}

func (c *countingDisk) WriteAt(p []byte, off int64) (int, error) {
	if c.fail {
		return 0, errors.New("medium error")
	}
	return c.Device.WriteAt(p, off)
}

type rig struct {
	t    *testing.T
	data []byte // disk contents
	disk *countingDisk
	blk  *Blk
	mmio *virtio.MMIO
	ram  *virtiotest.RAM
	irq  *virtiotest.IRQ
	drv  *virtiotest.Driver
	q    *virtiotest.Queue
	next int // next free descriptor index
	logs []string
}

func newRig(t *testing.T, readOnly bool) *rig {
	r := &rig{t: t, data: make([]byte, sectors*SectorSize)}
	rand.New(rand.NewSource(1)).Read(r.data)
	mem, err := block.NewMemory(r.data, readOnly)
	if err != nil {
		t.Fatal(err)
	}
	r.disk = &countingDisk{Device: mem}
	r.blk = New(r.disk, "rewind-vda")
	r.ram = virtiotest.NewRAM(ramBase, ramSize)
	r.irq = &virtiotest.IRQ{}
	r.mmio = virtio.NewMMIO(r.ram, r.irq, r.blk)
	logf := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		r.logs = append(r.logs, msg)
		t.Log(msg)
	}
	r.blk.Logf, r.mmio.Logf = logf, logf
	r.drv = virtiotest.NewDriver(r.mmio, r.ram)
	f := uint64(features)
	if readOnly {
		f |= FeatureRO
	}
	if !r.drv.Negotiate(f) {
		t.Fatal("negotiation failed")
	}
	r.q = r.drv.SetupQueue(0, 16)
	r.drv.DriverOK()
	return r
}

func header(typ uint32, sector uint64) []byte {
	h := make([]byte, headerSize)
	binary.LittleEndian.PutUint32(h[0:], typ)
	binary.LittleEndian.PutUint64(h[8:], sector)
	return h
}

// put copies b into freshly allocated RAM and returns its address.
func (r *rig) put(b []byte) uint64 {
	pa := r.drv.Alloc(len(b), 8)
	copy(r.ram.Bytes(pa, len(b)), b)
	return pa
}

// submit offers a chain and kicks; it returns the used element.
func (r *rig) submit(descs ...virtiotest.Desc) (virtiotest.Used, bool) {
	r.t.Helper()
	head := r.drv.Chain(r.q, r.next, descs...)
	r.next = (r.next + len(descs)) % int(r.q.Size)
	r.drv.Offer(r.q, head)
	r.drv.Kick(r.q)
	used := r.drv.Used(r.q)
	if len(used) == 0 {
		return virtiotest.Used{}, false
	}
	if len(used) != 1 || used[0].ID != uint32(head) {
		r.t.Fatalf("used = %+v, want one entry for head %d", used, head)
	}
	return used[0], true
}

// request submits header / data / status in the usual three descriptors
// and returns the status byte, the data buffer address and the used length.
func (r *rig) request(typ uint32, sector uint64, data []byte, dataLen int) (status uint8, buf uint64, usedLen uint32) {
	r.t.Helper()
	descs := []virtiotest.Desc{{Addr: r.put(header(typ, sector)), Len: headerSize}}
	switch {
	case data != nil:
		buf = r.put(data)
		descs = append(descs, virtiotest.Desc{Addr: buf, Len: uint32(len(data))})
	case dataLen > 0:
		buf = r.drv.Alloc(dataLen, 8)
		descs = append(descs, virtiotest.Desc{Addr: buf, Len: uint32(dataLen), Flags: virtio.DescFlagWrite})
	}
	st := r.put([]byte{0xff})
	descs = append(descs, virtiotest.Desc{Addr: st, Len: 1, Flags: virtio.DescFlagWrite})
	u, ok := r.submit(descs...)
	if !ok {
		r.t.Fatal("request not completed")
	}
	return r.ram.Bytes(st, 1)[0], buf, u.Len
}

func TestConfig(t *testing.T) {
	for _, ro := range []bool{false, true} {
		r := newRig(t, ro)
		for _, tc := range []struct {
			off  uint64
			size int
			want uint64
		}{
			{0, 8, sectors}, {0, 4, sectors}, {4, 4, 0},
			{8, 4, SizeMax}, {12, 4, SegMax}, {16, 4, 0}, {20, 4, 512},
			{32, 1, 0}, {60, 4, 0}, {100, 4, 0}, {^uint64(0) - 0x100, 4, 0},
		} {
			if got := r.mmio.Read(virtio.RegConfig+tc.off, tc.size); got != tc.want {
				t.Errorf("ro=%v: config %d/%d = %d, want %d", ro, tc.off, tc.size, got, tc.want)
			}
		}
		if got := r.drv.DeviceFeatures()&FeatureRO != 0; got != ro {
			t.Errorf("ro=%v: VIRTIO_BLK_F_RO offered = %v", ro, got)
		}
		if r.drv.Read32(virtio.RegDeviceID) != DeviceID {
			t.Error("device ID")
		}
		r.mmio.Write(virtio.RegConfig, 4, 0) // ignored
		if r.mmio.Read(virtio.RegConfig, 8) != sectors {
			t.Error("config write changed capacity")
		}
	}
}

func TestReadWrite(t *testing.T) {
	r := newRig(t, false)
	status, buf, n := r.request(TypeIn, 2, nil, 3*SectorSize)
	if status != StatusOK || n != 3*SectorSize+1 {
		t.Fatalf("read: status %d, used len %d", status, n)
	}
	if !bytes.Equal(r.ram.Bytes(buf, 3*SectorSize), r.data[2*SectorSize:5*SectorSize]) {
		t.Fatal("read returned wrong data")
	}
	if !r.irq.High || r.drv.Ack() != virtio.IntUsedBuffer {
		t.Fatal("no used buffer interrupt")
	}

	payload := bytes.Repeat([]byte("rewind!!"), 2*SectorSize/8)
	status, _, n = r.request(TypeOut, sectors-2, payload, 0)
	if status != StatusOK || n != 1 {
		t.Fatalf("write: status %d, used len %d", status, n)
	}
	if !bytes.Equal(r.data[(sectors-2)*SectorSize:], payload) {
		t.Fatal("write did not reach the disk")
	}
	status, buf, _ = r.request(TypeIn, sectors-2, nil, 2*SectorSize)
	if status != StatusOK || !bytes.Equal(r.ram.Bytes(buf, 2*SectorSize), payload) {
		t.Fatal("read-back differs")
	}
	// Zero-length read is fine.
	if status, _, n := r.request(TypeIn, 0, nil, 0); status != StatusOK || n != 1 {
		t.Fatalf("empty read: status %d, used len %d", status, n)
	}
}

// The device must not assume message framing (§2.7.4): header and data in
// one buffer, data and status in one buffer, data split oddly.
func TestFraming(t *testing.T) {
	r := newRig(t, false)
	payload := bytes.Repeat([]byte{0x5a}, SectorSize)
	out := r.put(append(header(TypeOut, 7), payload...))
	st := r.put([]byte{0xff})
	if _, ok := r.submit(
		virtiotest.Desc{Addr: out, Len: 10},
		virtiotest.Desc{Addr: out + 10, Len: headerSize + SectorSize - 10},
		virtiotest.Desc{Addr: st, Len: 1, Flags: virtio.DescFlagWrite},
	); !ok || r.ram.Bytes(st, 1)[0] != StatusOK {
		t.Fatal("write with split header failed")
	}
	if !bytes.Equal(r.data[7*SectorSize:8*SectorSize], payload) {
		t.Fatal("split-header write wrote wrong data")
	}
	in := r.drv.Alloc(SectorSize+1, 8)
	u, ok := r.submit(
		virtiotest.Desc{Addr: r.put(header(TypeIn, 7)), Len: headerSize},
		virtiotest.Desc{Addr: in, Len: 100, Flags: virtio.DescFlagWrite},
		virtiotest.Desc{Addr: in + 100, Len: SectorSize + 1 - 100, Flags: virtio.DescFlagWrite},
	)
	if !ok || u.Len != SectorSize+1 || r.ram.Bytes(in+SectorSize, 1)[0] != StatusOK {
		t.Fatalf("read with data+status in one buffer: %+v", u)
	}
	if !bytes.Equal(r.ram.Bytes(in, SectorSize), payload) {
		t.Fatal("read returned wrong data")
	}
}

func TestFlushAndGetID(t *testing.T) {
	r := newRig(t, false)
	if status, _, n := r.request(TypeFlush, 0, nil, 0); status != StatusOK || n != 1 || r.disk.flushes != 1 {
		t.Fatalf("flush: status %d, used %d, flushes %d", status, n, r.disk.flushes)
	}
	status, buf, n := r.request(TypeGetID, 0, nil, IDBytes)
	if status != StatusOK || n != IDBytes+1 {
		t.Fatalf("get-id: status %d, used %d", status, n)
	}
	want := append([]byte("rewind-vda"), make([]byte, 10)...)
	if !bytes.Equal(r.ram.Bytes(buf, IDBytes), want) {
		t.Fatalf("id = %q", r.ram.Bytes(buf, IDBytes))
	}
	long := New(r.disk, strings.Repeat("x", 30))
	if string(long.serial[:]) != strings.Repeat("x", 20) {
		t.Fatal("serial not truncated to 20 bytes")
	}
}

func TestBadRequests(t *testing.T) {
	for _, tc := range []struct {
		name     string
		readOnly bool
		typ      uint32
		sector   uint64
		out      []byte // OUT data
		in       int    // IN buffer size
		status   uint8
	}{
		{name: "discard unsupported", typ: TypeDiscard, out: make([]byte, 16), status: StatusUnsupp},
		{name: "write zeroes unsupported", typ: TypeWriteZeroes, out: make([]byte, 16), status: StatusUnsupp},
		{name: "bogus type", typ: 0xdeadbeef, status: StatusUnsupp},
		{name: "read at capacity", typ: TypeIn, sector: sectors, in: SectorSize, status: StatusIOErr},
		{name: "read across the end", typ: TypeIn, sector: sectors - 1, in: 2 * SectorSize, status: StatusIOErr},
		{name: "read at huge sector", typ: TypeIn, sector: ^uint64(0) - 1, in: SectorSize, status: StatusIOErr},
		{name: "write across the end", typ: TypeOut, sector: sectors - 1, out: make([]byte, 2*SectorSize), status: StatusIOErr},
		{name: "read not sector multiple", typ: TypeIn, in: 100, status: StatusIOErr},
		{name: "write not sector multiple", typ: TypeOut, out: make([]byte, 513), status: StatusIOErr},
		{name: "write to read-only disk", readOnly: true, typ: TypeOut, out: make([]byte, SectorSize), status: StatusIOErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.readOnly)
			before := bytes.Clone(r.data)
			status, _, n := r.request(tc.typ, tc.sector, tc.out, tc.in)
			if status != tc.status {
				t.Fatalf("status = %d, want %d", status, tc.status)
			}
			if (tc.in == 0 && n != 1) || (tc.in > 0 && n != 0) {
				t.Fatalf("used len = %d", n)
			}
			if !bytes.Equal(before, r.data) {
				t.Fatal("failed request changed the disk")
			}
			if r.mmio.Status()&virtio.StatusDeviceNeedsReset != 0 {
				t.Fatal("request error broke the device")
			}
		})
	}
}

func TestHostErrors(t *testing.T) {
	r := newRig(t, false)
	r.disk.fail = true
	for _, typ := range []uint32{TypeIn, TypeOut, TypeFlush} {
		var out []byte
		in := 0
		switch typ {
		case TypeIn:
			in = SectorSize
		case TypeOut:
			out = make([]byte, SectorSize)
		}
		if status, _, _ := r.request(typ, 0, out, in); status != StatusIOErr {
			t.Errorf("type %d with failing disk: status %d", typ, status)
		}
	}
}

func TestMalformed(t *testing.T) {
	const broken = -1 // want DEVICE_NEEDS_RESET
	for _, tc := range []struct {
		name string
		// build returns the chain and the address of its status byte.
		build  func(r *rig) ([]virtiotest.Desc, uint64)
		status int
	}{
		{name: "no status byte", status: broken, build: func(r *rig) ([]virtiotest.Desc, uint64) {
			return []virtiotest.Desc{{Addr: r.put(header(TypeIn, 0)), Len: headerSize}}, 0
		}},
		{name: "zero-length header", status: StatusIOErr, build: func(r *rig) ([]virtiotest.Desc, uint64) {
			st := r.put([]byte{0xff})
			return []virtiotest.Desc{
				{Addr: r.put(header(TypeIn, 0)), Len: 0},
				{Addr: st, Len: 1, Flags: virtio.DescFlagWrite},
			}, st
		}},
		{name: "short header", status: StatusIOErr, build: func(r *rig) ([]virtiotest.Desc, uint64) {
			st := r.put([]byte{0xff})
			return []virtiotest.Desc{
				{Addr: r.put(header(TypeIn, 0)), Len: 8},
				{Addr: st, Len: 1, Flags: virtio.DescFlagWrite},
			}, st
		}},
		{name: "only a status byte", status: StatusIOErr, build: func(r *rig) ([]virtiotest.Desc, uint64) {
			st := r.put([]byte{0xff})
			return []virtiotest.Desc{{Addr: st, Len: 1, Flags: virtio.DescFlagWrite}}, st
		}},
		{name: "status outside RAM", status: broken, build: func(r *rig) ([]virtiotest.Desc, uint64) {
			return []virtiotest.Desc{
				{Addr: r.put(header(TypeIn, 0)), Len: headerSize},
				{Addr: 0x1000, Len: 1, Flags: virtio.DescFlagWrite},
			}, 0
		}},
		{name: "oversized read", status: StatusIOErr, build: func(r *rig) ([]virtiotest.Desc, uint64) {
			// 17 overlapping 1 MiB buffers through an indirect table:
			// 17 MiB > MaxRequestBytes, yet every buffer is in RAM.
			big := r.drv.Alloc(1<<20, 8)
			table := r.drv.Alloc(19*16, 16)
			st := r.put([]byte{0xff})
			r.drv.WriteDesc(table, 0, virtiotest.Desc{Addr: r.put(header(TypeIn, 0)), Len: headerSize, Flags: virtio.DescFlagNext, Next: 1})
			for i := 1; i <= 17; i++ {
				r.drv.WriteDesc(table, i, virtiotest.Desc{Addr: big, Len: 1 << 20, Flags: virtio.DescFlagWrite | virtio.DescFlagNext, Next: uint16(i + 1)})
			}
			r.drv.WriteDesc(table, 18, virtiotest.Desc{Addr: st, Len: 1, Flags: virtio.DescFlagWrite})
			return []virtiotest.Desc{{Addr: table, Len: 19 * 16, Flags: virtio.DescFlagIndirect}}, st
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, false)
			descs, st := tc.build(r)
			u, ok := r.submit(descs...)
			needsReset := r.mmio.Status()&virtio.StatusDeviceNeedsReset != 0
			if tc.status == broken {
				if !needsReset || ok {
					t.Fatalf("want DEVICE_NEEDS_RESET and no completion; needs reset %v, completed %v", needsReset, ok)
				}
				return
			}
			if needsReset || !ok {
				t.Fatalf("needs reset %v, completed %v", needsReset, ok)
			}
			if got := r.ram.Bytes(st, 1)[0]; int(got) != tc.status {
				t.Fatalf("status = %d, want %d", got, tc.status)
			}
			if u.Len > 1 {
				t.Fatalf("used len %d for a failed request", u.Len)
			}
		})
	}
}

func TestIndirectRequest(t *testing.T) {
	r := newRig(t, false)
	table := r.drv.Alloc(4*16, 16)
	buf := r.drv.Alloc(2*SectorSize, 8)
	st := r.put([]byte{0xff})
	r.drv.WriteDesc(table, 0, virtiotest.Desc{Addr: r.put(header(TypeIn, 10)), Len: headerSize, Flags: virtio.DescFlagNext, Next: 1})
	r.drv.WriteDesc(table, 1, virtiotest.Desc{Addr: buf + SectorSize, Len: SectorSize, Flags: virtio.DescFlagWrite | virtio.DescFlagNext, Next: 2})
	r.drv.WriteDesc(table, 2, virtiotest.Desc{Addr: buf, Len: SectorSize, Flags: virtio.DescFlagWrite | virtio.DescFlagNext, Next: 3})
	r.drv.WriteDesc(table, 3, virtiotest.Desc{Addr: st, Len: 1, Flags: virtio.DescFlagWrite})
	u, ok := r.submit(virtiotest.Desc{Addr: table, Len: 4 * 16, Flags: virtio.DescFlagIndirect})
	if !ok || u.Len != 2*SectorSize+1 || r.ram.Bytes(st, 1)[0] != StatusOK {
		t.Fatalf("indirect read: %+v status %d", u, r.ram.Bytes(st, 1)[0])
	}
	// Scatter order: sector 10 went to the second half of buf.
	if !bytes.Equal(r.ram.Bytes(buf+SectorSize, SectorSize), r.data[10*SectorSize:11*SectorSize]) ||
		!bytes.Equal(r.ram.Bytes(buf, SectorSize), r.data[11*SectorSize:12*SectorSize]) {
		t.Fatal("scatter list not followed")
	}
}

func TestManyRequestsWrapRing(t *testing.T) {
	r := newRig(t, false)
	for i := 0; i < 100; i++ {
		sector := uint64(i % sectors)
		status, buf, _ := r.request(TypeIn, sector, nil, SectorSize)
		if status != StatusOK || !bytes.Equal(r.ram.Bytes(buf, SectorSize), r.data[sector*SectorSize:(sector+1)*SectorSize]) {
			t.Fatalf("request %d failed", i)
		}
		r.drv.Ack()
	}
	if r.irq.High {
		t.Fatal("interrupt still pending")
	}
}

func TestSaveLoad(t *testing.T) {
	r := newRig(t, false)
	if err := r.blk.Load(r.blk.Save()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(State{}, r.blk.Save()); diff != "" {
		t.Fatal(diff)
	}
}

// FuzzRequest builds one request from fuzzed header fields and buffer
// lengths. It must never panic; the request either completes with a valid
// status or puts the device into DEVICE_NEEDS_RESET.
func FuzzRequest(f *testing.F) {
	f.Add(uint32(TypeIn), uint64(3), uint16(16), uint16(512), uint16(1), false)
	f.Add(uint32(TypeOut), uint64(63), uint16(16), uint16(512), uint16(1), true)
	f.Add(uint32(TypeGetID), uint64(0), uint16(16), uint16(20), uint16(1), false)
	f.Add(uint32(TypeFlush), uint64(0), uint16(15), uint16(0), uint16(0), false)
	f.Fuzz(func(t *testing.T, typ uint32, sector uint64, hdrLen, dataLen, statusLen uint16, dataReadable bool) {
		r := &rig{t: t, data: make([]byte, sectors*SectorSize)}
		mem, _ := block.NewMemory(r.data, false)
		r.disk = &countingDisk{Device: mem}
		r.blk = New(r.disk, "fuzz")
		r.ram = virtiotest.NewRAM(ramBase, 1<<18)
		r.irq = &virtiotest.IRQ{}
		r.mmio = virtio.NewMMIO(r.ram, r.irq, r.blk)
		r.drv = virtiotest.NewDriver(r.mmio, r.ram)
		r.drv.Negotiate(features)
		r.q = r.drv.SetupQueue(0, 16)
		r.drv.DriverOK()
		hdr := append(header(typ, sector), make([]byte, int(hdrLen))...)
		descs := []virtiotest.Desc{{Addr: r.put(hdr), Len: uint32(hdrLen)}}
		if dataLen > 0 {
			flags := uint16(virtio.DescFlagWrite)
			if dataReadable {
				flags = 0
			}
			descs = append(descs, virtiotest.Desc{Addr: r.drv.Alloc(int(dataLen), 8), Len: uint32(dataLen), Flags: flags})
		}
		if statusLen > 0 {
			descs = append(descs, virtiotest.Desc{Addr: r.drv.Alloc(int(statusLen), 8), Len: uint32(statusLen), Flags: virtio.DescFlagWrite})
		}
		u, ok := r.submit(descs...)
		if r.mmio.Status()&virtio.StatusDeviceNeedsReset != 0 {
			return
		}
		if !ok {
			t.Fatal("request neither completed nor broke the device")
		}
		last := descs[len(descs)-1]
		if last.Flags&virtio.DescFlagWrite == 0 {
			t.Fatal("completed without a writable byte")
		}
		if st := r.ram.Bytes(last.Addr+uint64(last.Len)-1, 1)[0]; st > StatusUnsupp {
			t.Fatalf("status %d", st)
		}
		_ = u
	})
}
