package machine

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
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

// appendHead appends the encoding up to the page contents: the magic,
// the version, the state and the page list.
func (s *Snapshot) appendHead(dst []byte) ([]byte, error) {
	pages := make([]uint64, len(s.Pages))
	for i, p := range s.Pages {
		if len(p.Data) != pageSize {
			return nil, fmt.Errorf("machine: encode snapshot: page %#x holds %d bytes", p.Page, len(p.Data))
		}
		pages[i] = p.Page
	}
	return appendHead(dst, s.Full, &s.State, s.Disks, pages)
}

// appendHead appends the head of a snapshot's encoding with these fields
// and page numbers (ascending).
func appendHead(dst []byte, full bool, st *State, disks [][]block.OverlayBlock, pages []uint64) ([]byte, error) {
	var meta bytes.Buffer
	rest := struct {
		Full  bool
		State State
		Disks [][]block.OverlayBlock
	}{full, *st, disks}
	if err := gob.NewEncoder(&meta).Encode(&rest); err != nil {
		return nil, fmt.Errorf("machine: encode snapshot: %w", err)
	}
	out := dst
	out = append(out, snapshotMagic...)
	out = append(out, snapshotVersion)
	out = binary.AppendUvarint(out, uint64(meta.Len()))
	out = append(out, meta.Bytes()...)
	out = binary.AppendUvarint(out, uint64(len(pages)))
	prev := uint64(0)
	for i, p := range pages {
		if i > 0 && p <= prev {
			return nil, fmt.Errorf("machine: encode snapshot: bad page %#x", p)
		}
		out = binary.AppendUvarint(out, p-prev)
		prev = p
	}
	return out, nil
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
	s, dirty, err := t.next()
	if err != nil {
		return nil, err
	}
	ram := t.m.Bus.RAM
	if s.Full {
		for off := 0; off < len(ram); off += pageSize {
			pg := ram[off : off+pageSize]
			if slices.ContainsFunc(pg, func(b byte) bool { return b != 0 }) {
				s.Pages = append(s.Pages, SnapshotPage{uint64(off / pageSize), slices.Clone(pg)})
			}
		}
		return s, nil
	}
	// One buffer for all the pages (see package hugemem).
	buf := hugemem.Alloc(len(dirty) * pageSize)
	s.Pages = make([]SnapshotPage, 0, len(dirty))
	for i, p := range dirty {
		pg := buf[i*pageSize : (i+1)*pageSize : (i+1)*pageSize]
		copy(pg, ram[p*pageSize:(p+1)*pageSize])
		s.Pages = append(s.Pages, SnapshotPage{p, pg})
	}
	return s, nil
}

// next moves the chain on: the state, disk blocks and dirty pages of its
// next snapshot (s without pages).
func (t *SnapshotTaker) next() (s *Snapshot, dirty []uint64, err error) {
	m := t.m
	if m.capture != nil {
		return nil, nil, errors.New("machine: snapshot: the previous captured snapshot is still open")
	}
	st, err := m.SaveState()
	if err != nil {
		return nil, nil, err
	}
	st.Disks = nil
	s = &Snapshot{Full: t.full, State: st}
	dirty = m.TakeDirtyPages()
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
	return s, dirty, nil
}

// A Capture is taken at one instruction count: a state check whose page
// hashes are still to be computed, the next snapshot of a chain whose
// pages are still to be encoded, or both. Its RAM pages stay in guest
// RAM, copy-on-write (see pageCapture), while another goroutine finishes
// it (Finish) and the guest runs on; Close ends it on the
// machine goroutine. While it is open the machine opens no other capture
// and restores no state.
type Capture struct {
	m     *Machine
	pc    *pageCapture
	check *StateCheck // nil: none; its Pages are Finish's to fill
	hash  []uint64    // the check's pages, ascending
	snap  *Snapshot   // nil: none; without pages
	pages []uint64    // the snapshot's pages, ascending
	head  []byte      // the snapshot encoding's head, once made
}

// CaptureCheck starts a state check like Check and, with t, takes the
// next snapshot of t's chain like Take, without hashing or copying their
// pages: they stay in guest RAM until Finish reads them. The chain must
// have begun (its first snapshot is not full). The snapshot is left out
// (and the chain untouched) while disk requests are in flight:
// HasSnapshot tells.
func (m *Machine) CaptureCheck(t *SnapshotTaker) (*Capture, error) {
	if m.capture != nil {
		return nil, errors.New("machine: state check: a capture is still open")
	}
	if t != nil && t.full {
		return nil, errors.New("machine: capture: the first snapshot of a full chain is taken, not captured")
	}
	sc, hash := m.checkStart()
	c := &Capture{m: m, check: &sc, hash: hash}
	union := hash
	if t != nil {
		s, pages, err := t.next()
		switch {
		case err == nil:
			c.snap, c.pages = s, pages
			union = mergePages(hash, pages)
		case !errors.Is(err, ErrBusy):
			return nil, err
		}
	}
	c.pc = m.beginCapture(union)
	return c, nil
}

// mergePages returns the union of two ascending page lists.
func mergePages(a, b []uint64) []uint64 {
	out := make([]uint64, 0, max(len(a), len(b)))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0] < b[0]:
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0 || b[0] < a[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return out
}

// HasSnapshot reports whether the capture holds a snapshot.
func (c *Capture) HasSnapshot() bool { return c.snap != nil }

// Pages returns the number of RAM pages the snapshot holds.
func (c *Capture) Pages() int { return len(c.pages) }

// EncodedSize returns the length of the snapshot's encoding, the same
// bytes as its Encode (on the goroutine that finishes the capture).
func (c *Capture) EncodedSize() (int64, error) {
	if c.snap == nil {
		return 0, errors.New("machine: the capture holds no snapshot")
	}
	if c.head == nil {
		h, err := appendHead(nil, c.snap.Full, &c.snap.State, c.snap.Disks, c.pages)
		if err != nil {
			return 0, err
		}
		c.head = h
	}
	return int64(len(c.head)) + int64(len(c.pages))*pageSize, nil
}

// Finish reads every captured page once, on any goroutine while the
// machine runs on: it hashes the state check's pages and returns the
// check (zero without one), and writes the snapshot's encoding to w
// (without a snapshot, w is not used). Call it once.
func (c *Capture) Finish(w io.Writer) (StateCheck, error) {
	var buf []byte
	if c.snap != nil {
		if _, err := c.EncodedSize(); err != nil {
			return StateCheck{}, err
		}
		if _, err := w.Write(c.head); err != nil {
			return StateCheck{}, err
		}
		// Pages go out in batches of 64 KiB: the reader holds a page of
		// RAM only while it copies (and hashes) it, never while w works.
		buf = make([]byte, 0, 16*pageSize)
	}
	var sc StateCheck
	if c.check != nil {
		sc = *c.check
		sc.Pages = make([]PageHash, 0, len(c.hash))
	}
	hash, pages := c.hash, c.pages
	for i, p := range c.pc.pages {
		hashIt := len(hash) > 0 && hash[0] == p
		snapIt := len(pages) > 0 && pages[0] == p
		b := c.pc.acquire(i)
		if hashIt {
			sc.Pages = append(sc.Pages, PageHash{p, pageHash(b)})
			hash = hash[1:]
		}
		if snapIt {
			buf = append(buf, b...)
			pages = pages[1:]
		}
		c.pc.release(i)
		if c.snap != nil && len(buf) == cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return StateCheck{}, err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return StateCheck{}, err
		}
	}
	return sc, nil
}

// Close ends the capture (machine goroutine). Finish must have
// returned, or never be called.
func (c *Capture) Close() {
	if c.m.capture == c.pc {
		c.m.endCapture()
	}
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
	if m.capture != nil {
		return errors.New("machine: restore: a captured snapshot is still being written")
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
