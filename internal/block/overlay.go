package block

import (
	"fmt"
	"slices"
)

// OverlayBlockSize is the copy-on-write granularity of an Overlay. 4 KiB
// matches the guest page size and the block size of common guest file
// systems, so most guest writes cover whole overlay blocks and a partial
// write costs at most one 4 KiB read from the base.
const OverlayBlockSize = 4096

// Overlay is a copy-on-write layer over a base device, held in host
// memory. Reads of blocks never written fall through to the base; the
// first write to a block copies it from the base and the block is private
// from then on. The base is never written, so a read-only base image stays
// bit-identical (the replay log records its digest).
//
// The set of written blocks is part of the machine state: Save/Load give
// it in ascending block order, independent of map iteration order.
type Overlay struct {
	base   Device
	size   int64
	blocks map[int64][]byte
}

var _ Device = (*Overlay)(nil)

// NewOverlay returns an empty overlay over base.
func NewOverlay(base Device) *Overlay {
	return &Overlay{base: base, size: base.Size(), blocks: make(map[int64][]byte)}
}

// Base returns the device under the overlay.
func (o *Overlay) Base() Device { return o.base }

// blockLen is the length of block b (the last block may be short when the
// size is not a multiple of OverlayBlockSize).
func (o *Overlay) blockLen(b int64) int {
	return int(min(int64(OverlayBlockSize), o.size-b*OverlayBlockSize))
}

// ReadAt implements Device. Runs of unwritten blocks are read from the
// base in one call.
func (o *Overlay) ReadAt(p []byte, off int64) (int, error) {
	if err := checkRange("read", len(p), off, o.size, "overlay"); err != nil {
		return 0, err
	}
	done := 0
	baseStart, baseLen := int64(0), 0 // pending run to read from the base
	flush := func() error {
		if baseLen == 0 {
			return nil
		}
		dst := p[baseStart-off : baseStart-off+int64(baseLen)]
		if _, err := o.base.ReadAt(dst, baseStart); err != nil {
			return fmt.Errorf("block: overlay read %d bytes at offset %d: %w", len(p), off, err)
		}
		baseLen = 0
		return nil
	}
	for done < len(p) {
		pos := off + int64(done)
		b := pos / OverlayBlockSize
		in := int(pos % OverlayBlockSize)
		n := min(len(p)-done, o.blockLen(b)-in)
		if data, ok := o.blocks[b]; ok {
			if err := flush(); err != nil {
				return 0, err
			}
			copy(p[done:done+n], data[in:])
		} else {
			if baseLen == 0 {
				baseStart = pos
			}
			baseLen += n
		}
		done += n
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteAt implements Device. A block written for the first time is first
// filled from the base unless the write covers it entirely.
func (o *Overlay) WriteAt(p []byte, off int64) (int, error) {
	if err := checkRange("write", len(p), off, o.size, "overlay"); err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		b := pos / OverlayBlockSize
		in := int(pos % OverlayBlockSize)
		blen := o.blockLen(b)
		n := min(len(p)-done, blen-in)
		old, ok := o.blocks[b]
		// Blocks are copy-on-write: a write makes a new buffer, so a
		// buffer handed out by SaveShared never changes.
		data := make([]byte, blen)
		switch {
		case ok:
			copy(data, old)
		case n < blen:
			if _, err := o.base.ReadAt(data, b*OverlayBlockSize); err != nil {
				return done, fmt.Errorf("block: overlay write %d bytes at offset %d: copy block %d from base: %w", len(p), off, b, err)
			}
		}
		o.blocks[b] = data
		copy(data[in:], p[done:done+n])
		done += n
	}
	return len(p), nil
}

// Flush implements Device. The overlay lives in host memory, so there is
// nothing to make durable; the base is never written.
func (o *Overlay) Flush() error { return nil }

// Size implements Device.
func (o *Overlay) Size() int64 { return o.size }

// ReadOnly implements Device: an overlay is always writable, even over a
// read-only base.
func (o *Overlay) ReadOnly() bool { return false }

// Blocks returns the numbers of the written blocks in ascending order
// (block b covers bytes [b*OverlayBlockSize, (b+1)*OverlayBlockSize)).
func (o *Overlay) Blocks() []int64 {
	bs := make([]int64, 0, len(o.blocks))
	for b := range o.blocks {
		bs = append(bs, b)
	}
	slices.Sort(bs)
	return bs
}

// OverlayBlock is one written block of an overlay.
type OverlayBlock struct {
	Index int64
	Data  []byte
}

// OverlayState is the snapshot form of an Overlay: its written blocks in
// ascending Index order. The base is not part of it (the snapshot refers
// to the base image by digest).
type OverlayState struct {
	Blocks []OverlayBlock
}

// Save returns a deep copy of the written blocks, sorted by block number.
func (o *Overlay) Save() OverlayState {
	var s OverlayState
	for _, b := range o.Blocks() {
		s.Blocks = append(s.Blocks, OverlayBlock{Index: b, Data: slices.Clone(o.blocks[b])})
	}
	return s
}

// SaveShared is Save without copying the block data: the overlay never
// modifies a block buffer after it was written (writes replace buffers),
// so the returned state stays valid. The caller must not modify it.
// Snapshots use it so that unchanged blocks cost nothing.
func (o *Overlay) SaveShared() OverlayState {
	var s OverlayState
	for _, b := range o.Blocks() {
		s.Blocks = append(s.Blocks, OverlayBlock{Index: b, Data: o.blocks[b]})
	}
	return s
}

// LoadShared is Load without copying: s must come from SaveShared (its
// buffers are never modified, by the overlay or the caller).
func (o *Overlay) LoadShared(s OverlayState) error {
	if err := o.Load(OverlayState{}); err != nil {
		return err
	}
	nblocks := (o.size + OverlayBlockSize - 1) / OverlayBlockSize
	for i, b := range s.Blocks {
		if b.Index < 0 || b.Index >= nblocks || len(b.Data) != o.blockLen(b.Index) || i > 0 && b.Index <= s.Blocks[i-1].Index {
			return fmt.Errorf("block: overlay load: bad block %d", b.Index)
		}
		o.blocks[b.Index] = b.Data
	}
	return nil
}

// Load replaces the overlay contents with s (deep-copied). Blocks must be
// in strictly ascending order, inside the device, and of the right length.
func (o *Overlay) Load(s OverlayState) error {
	blocks := make(map[int64][]byte, len(s.Blocks))
	nblocks := (o.size + OverlayBlockSize - 1) / OverlayBlockSize
	for i, b := range s.Blocks {
		if b.Index < 0 || b.Index >= nblocks {
			return fmt.Errorf("block: overlay load: block %d outside the %d-block device", b.Index, nblocks)
		}
		if i > 0 && b.Index <= s.Blocks[i-1].Index {
			return fmt.Errorf("block: overlay load: block %d after block %d (want ascending order)", b.Index, s.Blocks[i-1].Index)
		}
		if len(b.Data) != o.blockLen(b.Index) {
			return fmt.Errorf("block: overlay load: block %d has %d bytes, want %d", b.Index, len(b.Data), o.blockLen(b.Index))
		}
		blocks[b.Index] = slices.Clone(b.Data)
	}
	o.blocks = blocks
	return nil
}
