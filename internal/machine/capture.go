package machine

import (
	"runtime"
	"slices"
	"sync/atomic"
)

// A pageCapture is a set of RAM pages frozen at one instruction count
// and read by another goroutine while the guest runs on: copy-on-write at
// the emulator's level. The reader hashes each page, or copies it into a
// snapshot's encoding, straight from guest RAM; only a page that the
// machine is about to write before the reader got to it is copied aside
// first, on the machine goroutine. So a state digest or a snapshot costs
// the machine goroutine next to nothing, however many pages it covers,
// and no buffer of fresh memory the size of a snapshot is filled.
//
// Every write to RAM that can happen while a capture is open runs the
// guard first: the harts' slow store paths (a hart's fast path cannot
// reach a captured page: capturing starts a new dirty epoch, which sends
// every page's first write through the slow path), AMOs and SC, the
// page-table walker's A/D updates, and the bus (DMA, debugger writes,
// HTIF).
type pageCapture struct {
	ram   []byte
	pages []uint64        // ascending
	state []atomic.Uint32 // per page: capFresh … capDone
	side  [][]byte        // the pages the machine copied aside
	slab  []byte          // free room for side copies (machine goroutine)
	guard []uint64        // bitmap of pages not saved yet (machine goroutine)
}

// The states of a captured page. The reader claims a fresh page
// (capFresh → capReading) while it copies it out of RAM; the machine
// claims it (capFresh → capSaving) to copy it aside before a write, and
// waits while the reader has it.
const (
	capFresh   = iota // RAM holds the captured contents
	capReading        // the reader has it in RAM (acquire … release)
	capSaving         // the machine copies it aside
	capSaved          // the captured contents are in side
	capDone           // the reader has it
)

// beginCapture opens a capture of pages (ascending; written since the
// harts' last TakeDirty) and installs the write guards.
func (m *Machine) beginCapture(pages []uint64) *pageCapture {
	ram := m.Bus.RAM
	pc := &pageCapture{
		ram:   ram,
		pages: pages,
		state: make([]atomic.Uint32, len(pages)),
		side:  make([][]byte, len(pages)),
		guard: make([]uint64, (len(ram)/pageSize+63)/64),
	}
	for _, p := range pages {
		pc.guard[p>>6] |= 1 << (p & 63)
	}
	m.capture = pc
	for _, h := range m.Harts {
		h.SetWriteGuard(pc.guard, pc.save)
	}
	m.Bus.Guard(m.guardRAM)
	return pc
}

// endCapture removes the write guards of the open capture. The reader
// must be done with it.
func (m *Machine) endCapture() {
	if m.capture == nil {
		return
	}
	for _, h := range m.Harts {
		h.SetWriteGuard(nil, nil)
	}
	m.Bus.Guard(nil)
	m.capture = nil
}

// guardRAM runs the open capture's guard for physical bytes [pa, pa+n)
// of RAM before they are written.
func (m *Machine) guardRAM(pa, n uint64) {
	pc := m.capture
	if pc == nil || n == 0 || !m.Bus.InRAM(pa, n) {
		return
	}
	off := pa - m.Bus.RAMBase
	for p := off / pageSize; p <= (off+n-1)/pageSize; p++ {
		if pc.guard[p>>6]&(1<<(p&63)) != 0 {
			pc.save(p)
		}
	}
}

// save copies page p aside if the reader has not read it yet, and clears
// its guard bit (machine goroutine, before the page is written).
func (pc *pageCapture) save(p uint64) {
	pc.guard[p>>6] &^= 1 << (p & 63)
	i, ok := slices.BinarySearch(pc.pages, p)
	if !ok {
		return
	}
	st := &pc.state[i]
	for {
		switch st.Load() {
		case capFresh:
			if !st.CompareAndSwap(capFresh, capSaving) {
				continue // the reader claimed it meanwhile
			}
			if len(pc.slab) < pageSize {
				pc.slab = make([]byte, 64*pageSize)
			}
			buf := pc.slab[:pageSize:pageSize]
			pc.slab = pc.slab[pageSize:]
			copy(buf, pc.ram[p*pageSize:(p+1)*pageSize])
			pc.side[i] = buf
			st.Store(capSaved)
			return
		case capReading:
			// The reader hashes or copies the 4 KiB: a moment.
			runtime.Gosched()
		default:
			return
		}
	}
}

// acquire returns the captured contents of page i (the reader's
// goroutine): the page in guest RAM, which the machine then does not
// write until release, or the copy it made aside.
func (pc *pageCapture) acquire(i int) []byte {
	st := &pc.state[i]
	if st.CompareAndSwap(capFresh, capReading) {
		p := pc.pages[i]
		return pc.ram[p*pageSize : (p+1)*pageSize]
	}
	for st.Load() != capSaved {
		runtime.Gosched() // the machine copies it aside
	}
	return pc.side[i]
}

// release ends the reader's use of page i.
func (pc *pageCapture) release(i int) { pc.state[i].Store(capDone) }
