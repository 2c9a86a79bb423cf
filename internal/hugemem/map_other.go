//go:build !(linux || darwin || freebsd)

package hugemem

// Map returns a zeroed buffer of n bytes (see the Unix version: without
// mmap it is an ordinary Go allocation).
func Map(n int) ([]byte, error) { return Alloc(n), nil }

// Unmap gives a buffer from Map back (here: to the garbage collector).
func Unmap([]byte) {}
