//go:build linux || darwin || freebsd

package hugemem

import (
	"syscall"
	"unsafe"
)

// Map returns a zeroed buffer of n bytes mapped outside the Go heap: it
// is address space until written, and only the pages written are backed
// by memory. A Go allocation does not promise that: the runtime zeroes a
// large allocation that reuses memory it freed before, touching all of
// it. Use Map for a buffer sized for the worst case (all of guest RAM)
// of which a run usually writes a fraction, and give it back with Unmap.
// The mapping does not count against the host's commit limit.
func Map(n int) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, err
	}
	if n >= MinSize {
		advise(b)
	}
	return b, nil
}

// Unmap gives a buffer from Map back to the host: b starts where Map's
// buffer started (its length may have changed). Nothing may use b, or
// any slice of it, afterwards: the memory is gone, and touching it
// crashes the process.
func Unmap(b []byte) {
	if cap(b) == 0 {
		return
	}
	_ = syscall.Munmap(unsafe.Slice(unsafe.SliceData(b), cap(b)))
}
