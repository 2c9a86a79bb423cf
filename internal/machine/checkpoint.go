package machine

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"

	"github.com/rewindvm/rewind/internal/cpu"
)

// StateCheck is a compact fingerprint of the machine at one instruction
// count, for divergence detection: the hart's full architectural state
// (so a mismatch can name the register), a hash per device model, and a
// hash of every RAM page written since the previous StateCheck.
type StateCheck struct {
	ICount uint64
	Hart   cpu.State
	// Components maps a component name ("clint", "plic", "uart", "rtc",
	// "virtio0".., "clock") to its SHA-256, in a fixed order.
	Components []Component
	// Pages are the RAM pages written since the previous check, in
	// ascending order, each with a 64-bit hash of its contents (pageHash).
	Pages []PageHash
}

// Component is one named state hash.
type Component struct {
	Name string
	Hash [32]byte
}

// PageHash is the hash of one 4 KiB RAM page (Page counts from RAMBase).
type PageHash struct {
	Page uint64
	Hash uint64
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// pageHash is a 64-bit content hash of a RAM page: CRC-32C and CRC-32
// (IEEE) side by side, both hardware-accelerated, so hashing the pages a
// digest covers costs little next to running the guest.
func pageHash(p []byte) uint64 {
	return uint64(crc32.Checksum(p, castagnoli)) | uint64(crc32.ChecksumIEEE(p))<<32
}

type componentState struct {
	name string
	text []byte
}

// componentStates serialises every part of the machine's state but the
// hart and RAM, in a fixed order: virtual time and each device model.
// State digests hash each one; Digest hashes them all.
func (m *Machine) componentStates() []componentState {
	var cs []componentState
	add := func(name string, v any) {
		cs = append(cs, componentState{name, fmt.Appendf(nil, "%#v", v)})
	}
	var warp [8]byte
	binary.LittleEndian.PutUint64(warp[:], m.Clock.WarpTotal())
	cs = append(cs, componentState{"clock", warp[:]})
	if m.multi() {
		// Hart 0 is the StateCheck's Hart; the others and the scheduler
		// are components (a single-hart machine has none of these, so its
		// digests are what they always were).
		for i, h := range m.Harts[1:] {
			add(fmt.Sprintf("hart%d", i+1), h.Save())
		}
		add("sched", m.saveSched())
	}
	add("clint", m.CLINT.Save())
	add("plic", m.PLIC.Save())
	add("uart", m.UART.Save())
	add("rtc", m.RTC.Save())
	for i, v := range m.Virtio {
		add(fmt.Sprintf("virtio%d", i), v.Save())
	}
	for i, b := range m.Blk {
		add(fmt.Sprintf("blk%d", i), struct {
			State    any
			InFlight []uint64
		}{b.Save(), b.InFlight()})
	}
	if m.RNG != nil {
		add("rng", m.RNG.Save())
	}
	if m.Net != nil {
		add("net", m.Net.Save())
	}
	return cs
}

// TrackDirty starts tracking which RAM pages are written, for StateCheck.
func (m *Machine) TrackDirty() {
	for _, h := range m.Harts {
		h.TrackDirty()
	}
}

// Check computes the state fingerprint now and starts a new dirty-page
// epoch.
func (m *Machine) Check() StateCheck {
	sc, pages := m.checkStart()
	ram := m.Bus.RAM
	sc.Pages = make([]PageHash, len(pages))
	for i, p := range pages {
		sc.Pages[i] = PageHash{p, pageHash(ram[p*pageSize : (p+1)*pageSize])}
	}
	return sc
}

// checkStart computes a state check but for the page hashes, returns the
// pages written since the previous check (ascending) to be hashed, and
// starts a new dirty-page epoch.
func (m *Machine) checkStart() (StateCheck, []uint64) {
	sc := StateCheck{ICount: m.ICount(), Hart: m.Harts[0].Save()}
	for _, c := range m.componentStates() {
		sc.Components = append(sc.Components, Component{c.name, sha256.Sum256(c.text)})
	}
	// Pages written since the previous check: the hart's dirty bits, plus
	// those a snapshot store took from it meanwhile (checkAcc).
	if m.checkAcc == nil {
		m.checkAcc = make([]uint64, (len(m.Bus.RAM)/pageSize+63)/64)
	}
	m.takeHartDirty(func(page uint64) {
		if m.dirtyAcc != nil {
			m.dirtyAcc[page>>6] |= 1 << (page & 63)
		}
		m.checkAcc[page>>6] |= 1 << (page & 63)
	})
	var pages []uint64
	takeBits(m.checkAcc, func(page uint64) { pages = append(pages, page) })
	return sc, pages
}

// takeBits calls fn for every set bit of a page bitmap, in ascending
// order, and clears the bitmap.
func takeBits(bitmap []uint64, fn func(page uint64)) {
	for w, word := range bitmap {
		for word != 0 {
			b := word & -word
			fn(uint64(w)*64 + uint64(bits.TrailingZeros64(b)))
			word &^= b
		}
		bitmap[w] = 0
	}
}

// Sum returns one SHA-256 over the whole check.
func (sc *StateCheck) Sum() [32]byte {
	h := sha256.New()
	if err := binary.Write(h, binary.LittleEndian, &sc.Hart); err != nil {
		panic(err) // fixed-size struct
	}
	for _, c := range sc.Components {
		h.Write([]byte(c.Name))
		h.Write(c.Hash[:])
	}
	var b [16]byte
	for _, p := range sc.Pages {
		binary.LittleEndian.PutUint64(b[:], p.Page)
		binary.LittleEndian.PutUint64(b[8:], p.Hash)
		h.Write(b[:])
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}
