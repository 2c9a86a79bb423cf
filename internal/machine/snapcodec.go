package machine

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"slices"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/hugemem"
)

// A Snapshot is a machine state that can leave the process: written into a
// recording (embedded snapshots), read back by another process, and
// restored there. It is incremental: it carries the RAM pages and disk
// overlay blocks changed since the previous snapshot of the same chain,
// or, when Full is set, every non-zero page and every written block.
// Restoring a chain — a full snapshot or the machine's freshly loaded
// boot state, then each increment in order — gives the machine exactly
// the state it had when the last snapshot was taken.
type Snapshot struct {
	// Full: Pages holds every non-zero RAM page and Disks every written
	// overlay block; the chain starts here, not at the boot state.
	Full bool
	// State is everything but RAM; its Disks field is left empty (the
	// overlay blocks travel in Disks below).
	State State
	// Pages are RAM pages (numbered from RAMBase) with their contents.
	Pages []SnapshotPage
	// Disks holds, per disk, the overlay blocks written since the previous
	// snapshot (all of them when Full), ascending.
	Disks [][]block.OverlayBlock

	// frame, when Take left room for the encoding's head before the
	// pages: room bytes, then the Pages' data back to back (EncodeInPlace).
	frame []byte
	room  int
}

// SnapshotPage is one 4 KiB RAM page of a snapshot.
type SnapshotPage struct {
	Page uint64
	Data []byte
}

// snapshotMagic starts every encoded snapshot; the byte after it is the
// encoding version.
const (
	snapshotMagic   = "RWSNAP"
	snapshotVersion = 2
)

// Encode serialises s: the magic, a version byte, the length of the rest
// of the state as a uvarint, that state (Full, State and Disks) in Go's
// gob encoding, then the pages: a uvarint count, the page numbers as
// uvarint deltas, and the page contents back to back. The bytes are
// opaque to the recording format (which compresses and checksums them);
// a reader refuses another version.
func (s *Snapshot) Encode() ([]byte, error) { return s.AppendEncoding(nil) }

// AppendEncoding appends the encoding Encode returns to dst (which it
// reuses when it has room; a new buffer otherwise).
func (s *Snapshot) AppendEncoding(dst []byte) ([]byte, error) {
	head, err := s.appendHead(nil)
	if err != nil {
		return nil, err
	}
	size := len(head) + pageSize*len(s.Pages)
	out := dst
	if cap(out)-len(out) < size {
		out = append(hugemem.Alloc(len(dst) + size)[:0], dst...)
	}
	out = append(out, head...)
	for _, p := range s.Pages {
		out = append(out, p.Data...)
	}
	return out, nil
}

// EncodeInPlace returns the encoding Encode returns. When Take left room
// for its head before the pages (a taker with Reuse), it writes the head
// there and returns the encoding in that buffer, so no page is copied
// again; the result is then valid as long as the snapshot. Otherwise it
// appends the encoding to dst, as AppendEncoding.
func (s *Snapshot) EncodeInPlace(dst []byte) ([]byte, error) {
	head, err := s.appendHead(nil)
	if err != nil {
		return nil, err
	}
	if len(head) > s.room || len(s.frame) != s.room+pageSize*len(s.Pages) {
		return s.AppendEncoding(dst)
	}
	for i, p := range s.Pages {
		if &p.Data[0] != &s.frame[s.room+i*pageSize] {
			return s.AppendEncoding(dst) // the pages were replaced
		}
	}
	start := s.room - len(head)
	copy(s.frame[start:], head)
	return s.frame[start:], nil
}

// appendHead appends the encoding up to the page contents: the magic,
// the version, the state and the page list.
func (s *Snapshot) appendHead(dst []byte) ([]byte, error) {
	var meta bytes.Buffer
	rest := struct {
		Full  bool
		State State
		Disks [][]block.OverlayBlock
	}{s.Full, s.State, s.Disks}
	if err := gob.NewEncoder(&meta).Encode(&rest); err != nil {
		return nil, fmt.Errorf("machine: encode snapshot: %w", err)
	}
	out := dst
	out = append(out, snapshotMagic...)
	out = append(out, snapshotVersion)
	out = binary.AppendUvarint(out, uint64(meta.Len()))
	out = append(out, meta.Bytes()...)
	out = binary.AppendUvarint(out, uint64(len(s.Pages)))
	prev := uint64(0)
	for i, p := range s.Pages {
		if len(p.Data) != pageSize || i > 0 && p.Page <= prev {
			return nil, fmt.Errorf("machine: encode snapshot: bad page %#x", p.Page)
		}
		out = binary.AppendUvarint(out, p.Page-prev)
		prev = p.Page
	}
	return out, nil
}

// headRoom is the room Take leaves for the head of an encoding of n
// pages (EncodeInPlace): the page list and an allowance for the state (a
// few KiB, plus the TLBs: up to about 70 KiB per hart). A larger head
// (many harts with full TLBs) makes EncodeInPlace copy instead.
func headRoom(n int) int {
	return 512<<10 + binary.MaxVarintLen64*(n+2)
}

// DecodeSnapshot parses bytes made by Snapshot.Encode and checks their
// shape (page numbers, sizes, order); it never panics on bad input. The
// pages share one buffer.
func DecodeSnapshot(b []byte) (*Snapshot, error) {
	if len(b) < len(snapshotMagic)+1 || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return nil, errors.New("machine: not an encoded snapshot")
	}
	if v := b[len(snapshotMagic)]; v != snapshotVersion {
		return nil, fmt.Errorf("machine: snapshot encoding version %d, this rewind reads %d", v, snapshotVersion)
	}
	b = b[len(snapshotMagic)+1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, errors.New("machine: decode snapshot: bad state length")
	}
	var rest struct {
		Full  bool
		State State
		Disks [][]block.OverlayBlock
	}
	if err := gob.NewDecoder(bytes.NewReader(b[k : k+int(n)])).Decode(&rest); err != nil {
		return nil, fmt.Errorf("machine: decode snapshot: %w", err)
	}
	s := &Snapshot{Full: rest.Full, State: rest.State, Disks: rest.Disks}
	b = b[k+int(n):]
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b))/pageSize {
		return nil, errors.New("machine: decode snapshot: bad page count")
	}
	b = b[k:]
	idx := make([]uint64, count)
	prev := uint64(0)
	for i := range idx {
		d, k := binary.Uvarint(b)
		if k <= 0 || (i > 0 && d == 0) || prev+d < prev {
			return nil, fmt.Errorf("machine: decode snapshot: page list bad at entry %d", i)
		}
		prev += d
		idx[i] = prev
		b = b[k:]
	}
	if uint64(len(b)) != count*pageSize {
		return nil, fmt.Errorf("machine: decode snapshot: %d bytes of page data for %d pages", len(b), count)
	}
	s.Pages = make([]SnapshotPage, count)
	for i := range s.Pages {
		s.Pages[i] = SnapshotPage{Page: idx[i], Data: b[i*pageSize : (i+1)*pageSize : (i+1)*pageSize]}
	}
	return s, nil
}

const pageSize = 4096

// SnapshotTaker takes the snapshots of one chain from a running machine:
// the first one relative to the boot state (or full), later ones relative
// to the previous. It owns the machine's dirty-page accumulator for
// snapshots (KeepDirty / TakeDirtyPages), so it cannot be used together
// with a debugger's snapshot store on the same machine.
type SnapshotTaker struct {
	m     *Machine
	disks []block.OverlayState // shared overlay state at the previous snapshot
	full  bool
	// Reuse lets Take put the pages of every incremental snapshot into
	// the same buffer: a snapshot it returns is then valid only until the
	// next Take (a recorder encodes each one at once). That spares a
	// recording tens of megabytes of fresh memory per snapshot.
	Reuse   bool
	scratch []byte
}

// Reserve makes the page buffer that Take reuses (with Reuse) hold at
// least n pages, its memory faulted in now, so that Take's copy does not
// fault it in on the machine goroutine: a recorder calls it on a
// goroutine of its own between snapshots. It must not run concurrently
// with Take, and the pages of the previous snapshot must not be in use
// any more (the buffer may be replaced).
func (t *SnapshotTaker) Reserve(n int) {
	size := headRoom(n) + n*pageSize
	if !t.Reuse || cap(t.scratch) >= size {
		return
	}
	buf := hugemem.Alloc(size)
	hugemem.Prefault(buf)
	t.scratch = buf
}

// NewSnapshotTaker starts a chain on m. With full, the first snapshot is
// full; otherwise it is relative to the state m has now, which must be its
// boot state (nothing has run yet).
func (m *Machine) NewSnapshotTaker(full bool) *SnapshotTaker {
	m.KeepDirty()
	t := &SnapshotTaker{m: m, full: full}
	if !full {
		m.TakeDirtyPages() // the loader's writes are part of the boot state
		t.disks = m.sharedDisks()
	}
	return t
}

// sharedDisks returns every disk's overlay state, sharing block buffers.
func (m *Machine) sharedDisks() []block.OverlayState {
	out := make([]block.OverlayState, len(m.cfg.Disks))
	for i, d := range m.cfg.Disks {
		if ov, ok := d.(*block.Overlay); ok {
			out[i] = ov.SaveShared()
		}
	}
	return out
}

// Take returns the next snapshot of the chain. It fails with ErrBusy while
// disk requests are in flight (try again at a later slice boundary).
func (t *SnapshotTaker) Take() (*Snapshot, error) {
	m := t.m
	st, err := m.SaveState()
	if err != nil {
		return nil, err
	}
	st.Disks = nil
	s := &Snapshot{Full: t.full, State: st}
	dirty := m.TakeDirtyPages()
	ram := m.Bus.RAM
	if t.full {
		for off := 0; off < len(ram); off += pageSize {
			pg := ram[off : off+pageSize]
			if slices.ContainsFunc(pg, func(b byte) bool { return b != 0 }) {
				s.Pages = append(s.Pages, SnapshotPage{uint64(off / pageSize), slices.Clone(pg)})
			}
		}
	} else {
		// One buffer for all the pages (see package hugemem).
		var buf []byte
		if n := len(dirty) * pageSize; t.Reuse {
			// Room for the encoding's head before the pages
			// (EncodeInPlace).
			room := headRoom(len(dirty))
			if cap(t.scratch) < room+n {
				// Headroom: the next snapshot may be a little larger.
				t.scratch = hugemem.Alloc(room + n + n/4)
			}
			s.frame, s.room = t.scratch[:room+n], room
			buf = s.frame[room:]
		} else {
			buf = hugemem.Alloc(n)
		}
		s.Pages = make([]SnapshotPage, 0, len(dirty))
		for i, p := range dirty {
			pg := buf[i*pageSize : (i+1)*pageSize : (i+1)*pageSize]
			copy(pg, ram[p*pageSize:(p+1)*pageSize])
			s.Pages = append(s.Pages, SnapshotPage{p, pg})
		}
	}
	now := m.sharedDisks()
	s.Disks = make([][]block.OverlayBlock, len(now))
	for i, cur := range now {
		var prev []block.OverlayBlock
		if !t.full && i < len(t.disks) {
			prev = t.disks[i].Blocks
		}
		s.Disks[i] = changedBlocks(prev, cur.Blocks)
	}
	t.disks, t.full = now, false
	return s, nil
}

// changedBlocks returns the blocks of cur that are not in prev with the
// same buffer (overlay buffers are never modified once written, so a
// rewritten block has a new buffer), copied.
func changedBlocks(prev, cur []block.OverlayBlock) []block.OverlayBlock {
	var out []block.OverlayBlock
	j := 0
	for _, b := range cur {
		for j < len(prev) && prev[j].Index < b.Index {
			j++
		}
		if j < len(prev) && prev[j].Index == b.Index && len(prev[j].Data) > 0 && len(b.Data) > 0 && &prev[j].Data[0] == &b.Data[0] {
			continue
		}
		out = append(out, block.OverlayBlock{Index: b.Index, Data: slices.Clone(b.Data)})
	}
	return out
}

// RestoreSnapshots puts m into the state of the last snapshot of chain.
// m must be freshly built from the recording's configuration (boot state)
// unless chain starts with a full snapshot. Disk overlays are rebuilt
// from the blocks of the chain.
func (m *Machine) RestoreSnapshots(chain []*Snapshot) error {
	if len(chain) == 0 {
		return errors.New("machine: restore: empty snapshot chain")
	}
	ram := m.Bus.RAM
	npages := uint64(len(ram) / pageSize)
	disks := make([]map[int64][]byte, len(m.cfg.Disks))
	for i := range disks {
		disks[i] = map[int64][]byte{}
	}
	for k, s := range chain {
		if s.Full {
			if k != 0 {
				return fmt.Errorf("machine: restore: full snapshot at position %d of the chain", k)
			}
			clear(ram)
			clear(m.written)
		}
		if len(s.Disks) != len(m.cfg.Disks) {
			return fmt.Errorf("machine: restore: snapshot has %d disks, the machine %d", len(s.Disks), len(m.cfg.Disks))
		}
		for _, p := range s.Pages {
			if p.Page >= npages {
				return fmt.Errorf("machine: restore: page %#x beyond RAM (%d pages)", p.Page, npages)
			}
			copy(ram[p.Page*pageSize:], p.Data)
			m.written[p.Page>>6] |= 1 << (p.Page & 63)
		}
		for i, blocks := range s.Disks {
			for _, b := range blocks {
				disks[i][b.Index] = b.Data
			}
		}
	}
	st := chain[len(chain)-1].State
	st.Disks = make([]block.OverlayState, len(m.cfg.Disks))
	for i, blocks := range disks {
		idx := make([]int64, 0, len(blocks))
		for b := range blocks {
			idx = append(idx, b)
		}
		slices.Sort(idx)
		for _, b := range idx {
			st.Disks[i].Blocks = append(st.Disks[i].Blocks, block.OverlayBlock{Index: b, Data: blocks[b]})
		}
	}
	// LoadState drops the hart's decoded code and TLBs (CPU.Load), so
	// nothing cached from the old RAM survives.
	return m.LoadState(st)
}

// ReadDisk reads disk i as the guest sees it now (through its overlay).
func (m *Machine) ReadDisk(i int, p []byte, off int64) error {
	if i < 0 || i >= len(m.cfg.Disks) {
		return fmt.Errorf("machine: no disk %d", i)
	}
	_, err := m.cfg.Disks[i].ReadAt(p, off)
	return err
}
