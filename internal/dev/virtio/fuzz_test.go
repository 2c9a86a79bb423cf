package virtio_test

import (
	"math/rand"
	"testing"

	"github.com/rewindvm/rewind/internal/dev/virtio"
	"github.com/rewindvm/rewind/internal/dev/virtio/virtiotest"
)

// FuzzVirtqueue fills guest RAM (rings, descriptor tables and buffers)
// with random bytes, publishes a random avail index and kicks the queue.
// The device must never panic, and must either be in DEVICE_NEEDS_RESET or
// have produced a consistent used ring. RAM starts at physical address 0
// so that random descriptor addresses with zero high bytes land in it.
func FuzzVirtqueue(f *testing.F) {
	f.Add([]byte{}, uint16(1), false)
	f.Add([]byte("\x00\x00\x01\x00\x00\x00"), uint16(1), true)
	// A valid one-descriptor chain: desc 0 = {ramBase+0x800, 16, WRITE}.
	seed := make([]byte, 0x200)
	seed[0], seed[1], seed[2], seed[3] = 0x00, 0x08, 0x00, 0x80 // addr
	seed[8] = 16                                                // len
	seed[12] = virtio.DescFlagWrite
	f.Add(seed, uint16(1), true)
	// An indirect descriptor pointing at the descriptor table itself.
	ind := make([]byte, 0x200)
	ind[3] = 0x80
	ind[8] = 64
	ind[12] = virtio.DescFlagIndirect
	f.Add(ind, uint16(3), true)

	f.Fuzz(func(t *testing.T, data []byte, availIdx uint16, noCheck bool) {
		const size = 16
		ram := virtiotest.NewRAM(0, 1<<16)
		var mem virtio.Memory = ram
		if noCheck {
			mem = noCheckMem{ram}
		}
		irq := &virtiotest.IRQ{}
		dev := &echo{}
		m := virtio.NewMMIO(mem, irq, dev)
		drv := virtiotest.NewDriver(m, ram)
		if !drv.Negotiate(virtio.FeatureVersion1 | virtio.FeatureIndirectDesc) {
			t.Fatal("negotiation failed")
		}
		q := drv.SetupQueue(0, size) // rings at the start of RAM
		drv.DriverOK()
		copy(ram.Data, data)
		drv.SetAvailIdx(q, availIdx)
		drv.Kick(q)
		drv.Kick(q)

		if m.Status()&virtio.StatusDeviceNeedsReset != 0 {
			return
		}
		used := ram.Get16(q.Used + 2)
		if used > availIdx && availIdx < size {
			t.Fatalf("used idx %d beyond avail idx %d", used, availIdx)
		}
		for i := uint16(0); i < min(used, size); i++ {
			if id := ram.Get32(q.Used + 4 + 8*uint64(i)); id >= size {
				t.Fatalf("used element %d has id %d", i, id)
			}
		}
	})
}

// noCheckMem hides the RAMChecker ability of a Memory.
type noCheckMem struct{ virtio.Memory }

// TestRandomChains throws structured garbage at the parser: descriptor
// tables whose addresses mostly point into RAM, random flags, lengths and
// next indices, random indirect tables and avail rings. Deterministic, so
// it runs as a normal test; FuzzVirtqueue covers unstructured input.
func TestRandomChains(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	const ramSize = 1 << 14
	var broken, ok int
	for iter := 0; iter < 10000; iter++ {
		ram := virtiotest.NewRAM(0x1000, ramSize)
		var mem virtio.Memory = ram
		if iter%4 == 0 {
			mem = noCheckMem{ram}
		}
		m := virtio.NewMMIO(mem, &virtiotest.IRQ{}, &echo{})
		drv := virtiotest.NewDriver(m, ram)
		features := uint64(virtio.FeatureVersion1)
		if iter%3 != 0 {
			features |= virtio.FeatureIndirectDesc
		}
		drv.Negotiate(features)
		size := uint16(1 << rng.Intn(4))
		q := drv.SetupQueue(0, size)
		drv.DriverOK()
		addr := func() uint64 {
			switch rng.Intn(10) {
			case 0:
				return rng.Uint64()
			case 1:
				return 0x1000 + ramSize - uint64(rng.Intn(64))
			}
			return 0x1000 + uint64(rng.Intn(ramSize))
		}
		flags := func() uint16 {
			f := uint16(rng.Intn(8))
			if rng.Intn(20) == 0 {
				f = uint16(rng.Uint32())
			}
			return f
		}
		length := func() uint32 {
			switch rng.Intn(8) {
			case 0:
				return rng.Uint32()
			case 1:
				return 16 * uint32(rng.Intn(20))
			}
			return uint32(rng.Intn(512))
		}
		// Random tables: the queue's and a few candidate indirect tables.
		tables := []uint64{q.Desc}
		for i := 0; i < 3; i++ {
			tables = append(tables, drv.Alloc(16*32, 8))
		}
		for ti, tab := range tables {
			n := int(size)
			if ti > 0 {
				n = 32
			}
			for i := 0; i < n; i++ {
				d := virtiotest.Desc{Addr: addr(), Len: length(), Flags: flags(), Next: uint16(rng.Intn(int(size) + 2))}
				if d.Flags&virtio.DescFlagIndirect != 0 && rng.Intn(2) == 0 {
					d.Addr = tables[rng.Intn(len(tables))]
				}
				drv.WriteDesc(tab, i, d)
			}
		}
		avail := uint16(rng.Intn(int(size) + 2))
		for i := uint16(0); i < avail; i++ {
			drv.Offer(q, uint16(rng.Intn(int(size)+1)))
		}
		if rng.Intn(10) == 0 {
			drv.SetAvailIdx(q, uint16(rng.Uint32()))
		}
		drv.Kick(q)
		if m.Status()&virtio.StatusDeviceNeedsReset != 0 {
			broken++
			continue
		}
		ok++
		for _, u := range drv.Used(q) {
			if u.ID >= uint32(size) {
				t.Fatalf("iteration %d: used id %d >= size %d", iter, u.ID, size)
			}
		}
	}
	t.Logf("%d broken, %d accepted", broken, ok)
	if broken == 0 || ok == 0 {
		t.Fatalf("generator too one-sided: %d broken, %d accepted", broken, ok)
	}
}
