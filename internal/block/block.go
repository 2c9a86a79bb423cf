// Package block is the host side of guest disks: the Device interface every
// storage layer implements, a raw image file (Raw), a copy-on-write overlay
// (Overlay) and an in-memory disk (Memory).
//
// This package may touch files; device models (internal/dev/virtio/blk)
// only see the Device interface. Every layer implements the same interface
// so one conformance suite (block_test.go) runs against each of them.
//
// Unlike io.ReaderAt/io.WriterAt, a Device rejects any access that is not
// entirely inside [0, Size()) with ErrOutOfRange and transfers nothing: a
// guest disk has no "end of file", only valid and invalid sectors.
package block

import (
	"errors"
	"fmt"
)

// SectorSize is the unit every disk size is a multiple of (virtio-blk
// sectors are 512 bytes; virtio 1.2 §5.2.4).
const SectorSize = 512

// Device is a random-access disk. Methods are called from one goroutine at
// a time (the machine goroutine, or later one host I/O worker).
type Device interface {
	// ReadAt reads len(p) bytes at byte offset off. It returns
	// len(p), nil or an error; a short read is always an error.
	ReadAt(p []byte, off int64) (int, error)
	// WriteAt writes len(p) bytes at byte offset off. It returns
	// len(p), nil or an error (ErrReadOnly on read-only devices).
	WriteAt(p []byte, off int64) (int, error)
	// Flush makes every completed write durable (virtio-blk FLUSH).
	Flush() error
	// Size returns the disk size in bytes, a multiple of SectorSize.
	Size() int64
	// ReadOnly reports whether WriteAt always fails.
	ReadOnly() bool
}

var (
	// ErrOutOfRange is returned (wrapped) for an access that is not
	// entirely inside the device.
	ErrOutOfRange = errors.New("access outside the device")
	// ErrReadOnly is returned (wrapped) by WriteAt on a read-only device.
	ErrReadOnly = errors.New("device is read-only")
)

// checkRange validates [off, off+n) against size. The error wraps
// ErrOutOfRange and names the operation and the device.
func checkRange(op string, n int, off, size int64, name string) error {
	if off < 0 || int64(n) > size || off > size-int64(n) {
		return fmt.Errorf("block: %s %d bytes at offset %d of %s (size %d): %w", op, n, off, name, size, ErrOutOfRange)
	}
	return nil
}
