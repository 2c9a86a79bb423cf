package debugger

import (
	"bytes"
	"fmt"
	"sort"
)

// Snapshots embedded in the recording (replay.EmbedSnapshots) let the
// debugger start anywhere without replaying from the beginning. The
// in-memory snapshot store covers one stretch of the recording, starting
// at its origin: the boot state, or an embedded snapshot it jumped to.
// A seek that is cheaper from an embedded snapshot than from anything in
// the store (in particular any position before the store's origin)
// restores that snapshot's chain and starts a fresh store there.

// DefaultJumpCost is the replay distance, in instructions, that restoring
// an embedded snapshot is taken to cost (decompressing and applying its
// chain); a jump is made only when it saves more than that.
const DefaultJumpCost = 20_000_000

// embedded returns the index of the last embedded snapshot at or before
// icount, or -1.
func (d *Debugger) embedded(icount uint64) int {
	es := d.p.Snapshots()
	return sort.Search(len(es), func(i int) bool { return es[i].ICount > icount }) - 1
}

// origin returns where the in-memory store starts.
func (d *Debugger) origin() uint64 { return d.snaps[0].icount }

// maybeJump moves to the best starting point for reaching icount when
// that is an embedded snapshot or the boot state outside the store.
func (d *Debugger) maybeJump(icount uint64) error {
	e := d.embedded(icount)
	if icount >= d.origin() {
		if e < 0 {
			return nil
		}
		// Cost from the store: from the current position when going
		// forward past it, else from the nearest stored snapshot.
		from := d.snaps[d.nearest(icount)].icount
		if cur := d.m.ICount(); cur <= icount && cur > from {
			from = cur
		}
		if es := d.p.Snapshots()[e]; es.ICount > from && es.ICount-from > d.jumpCost {
			return d.jump(e)
		}
		return nil
	}
	// Before the store's origin: an earlier embedded snapshot, or boot.
	return d.jump(e)
}

// jump restores embedded snapshot e (or, e < 0, the boot state) and
// starts a fresh in-memory store there.
func (d *Debugger) jump(e int) error {
	ram := d.m.Bus.RAM
	// Back to the boot image. Only pages that can be non-zero now are
	// cleared: the store's initial pages, its snapshots' pages and what
	// was written since the last look. Touching all of RAM would fault
	// in every page of it.
	zero := func(pg uint64) { clear(ram[pg*pageSize : (pg+1)*pageSize]) }
	for _, pg := range d.m.TakeDirtyPages() {
		zero(pg)
	}
	for pg := range d.init {
		zero(pg)
	}
	for _, s := range d.snaps {
		for pg := range s.pages {
			zero(pg)
		}
	}
	for pg, data := range d.boot {
		copy(ram[pg*pageSize:], data)
	}
	origin := d.bootSnap
	var init map[uint64][]byte
	if e < 0 {
		if err := d.m.LoadState(d.bootSnap.state); err != nil {
			return err
		}
		d.p.Load(d.bootSnap.player)
	} else {
		es := d.p.Snapshots()
		chain, err := d.p.Chain(e)
		if err != nil {
			return fmt.Errorf("debugger: %w", err)
		}
		if err := d.m.RestoreSnapshots(chain); err != nil {
			return fmt.Errorf("debugger: embedded snapshot %d (icount %d): %w", es[e].Seq, es[e].ICount, err)
		}
		// RAM now is the boot image overlaid with the chain's pages: the
		// store's initial pages, without scanning (and copying) all of RAM.
		// Snapshot page data is never modified once decoded.
		init = map[uint64][]byte{}
		if !chain[0].Full {
			for pg, data := range d.boot {
				init[pg] = data
			}
		}
		for _, s := range chain {
			for _, p := range s.Pages {
				init[p.Page] = p.Data
			}
		}
		d.p.Load(d.p.StateAt(es[e].Pos))
		st, err := d.m.SaveState()
		if err != nil {
			return err
		}
		origin = &snapshot{icount: st.ICount, state: st, player: d.p.Save()}
	}
	d.p.ForgetPages()
	d.m.TakeDirtyPages()
	d.init = d.boot
	if e >= 0 {
		d.init = init
	}
	d.snaps = []*snapshot{{icount: origin.icount, state: origin.state, player: origin.player, pages: map[uint64][]byte{}}}
	d.base, d.used = 0, 0
	d.frontier = max(d.frontier, origin.icount)
	return nil
}

// zeroPage is compared against (bytes.Equal is vectorised; a byte loop
// over hundreds of MiB of RAM is not).
var zeroPage [pageSize]byte

// nonZeroPages copies the pages of ram that are not all zero.
func nonZeroPages(ram []byte) map[uint64][]byte {
	pages := map[uint64][]byte{}
	for off := 0; off < len(ram); off += pageSize {
		pg := ram[off : off+pageSize]
		if !bytes.Equal(pg, zeroPage[:]) {
			pages[uint64(off/pageSize)] = append([]byte(nil), pg...)
		}
	}
	return pages
}

// pagesOf copies those of the given RAM pages that are not all zero.
func pagesOf(ram []byte, pages []uint64) map[uint64][]byte {
	out := make(map[uint64][]byte, len(pages))
	for _, pg := range pages {
		p := ram[pg*pageSize : (pg+1)*pageSize]
		if !bytes.Equal(p, zeroPage[:]) {
			out[pg] = append([]byte(nil), p...)
		}
	}
	return out
}
