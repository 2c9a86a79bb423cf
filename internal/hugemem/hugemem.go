// Package hugemem allocates large byte buffers that the host backs with
// transparent huge pages where it allows them only on request (Linux's
// THP "madvise" mode, the default on many distributions).
//
// Rewind touches a lot of fresh memory when it opens a recording: the
// decompressed chunks, the decoded embedded snapshots, guest RAM rebuilt
// from them. On a virtual machine each first touch of a 4 KiB page is a
// costly fault (measured at about 3 ms per MiB on the benchmark machine);
// a 2 MiB page is faulted in at once, which makes the same work 10–20×
// cheaper. The buffers are ordinary Go slices: the advice is a hint, and
// a host without huge pages simply ignores it. REWIND_NOHUGE=1 in the
// environment turns the advice off, to measure what it does.
package hugemem

import "unsafe"

// MinSize is the smallest buffer worth advising (and aligning, which
// costs up to two huge pages of address space).
const MinSize = 4 << 20

// Alloc returns a zeroed buffer of n bytes (length n), advised for huge
// pages when it is at least MinSize.
//
// A large buffer starts on a huge-page boundary: it is carved from an
// allocation of whole huge pages plus one, to align it. All of it can then
// be backed by huge pages, not only the ones that happen to fit inside
// it; Go aligns a large allocation only to 8 KiB, so the ends of a
// buffer were faulted in 4 KiB at a time.
func Alloc(n int) []byte {
	if n < MinSize {
		return make([]byte, n)
	}
	// Whole huge pages from an aligned start: the last one may hold
	// bytes past n, which are faulted in with it.
	whole := (n + HugePage - 1) &^ (HugePage - 1)
	full := make([]byte, whole+HugePage)
	advise(full)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(full))) & (HugePage - 1))
	return full[off : off+n : off+n]
}

// HugePage is the size of a huge page on the hosts Rewind advises: 2 MiB.
const HugePage = 2 << 20

// MaxSlab is the size of the largest slabs a Slab carves buffers from.
const MaxSlab = 16 << 20

// Slab hands out buffers carved from slabs, for many medium-sized
// buffers that live as long as each other (the chunks of a recording a
// player keeps). Slabs double in size from 1 MiB up to MaxSlab, so a
// small recording costs little, and the large ones are advised for huge
// pages. A slab is freed when nothing refers to any buffer carved from
// it. It is not safe for concurrent use.
type Slab struct {
	cur  []byte // free part of the current slab (length 0)
	next int    // size of the next slab
}

// Take returns a buffer of length 0 and capacity n. Its memory is zero
// and was never written (a caller may rely on that and leave it
// untouched until it needs it).
func (s *Slab) Take(n int) []byte {
	if n > MaxSlab/4 {
		return Alloc(n)[:0]
	}
	if cap(s.cur) < n {
		s.next = min(max(2*s.next, 1<<20), MaxSlab)
		for s.next < n {
			s.next *= 2
		}
		s.cur = Alloc(s.next)[:0]
	}
	b := s.cur[:0:n]
	s.cur = s.cur[n:n]
	return b
}
