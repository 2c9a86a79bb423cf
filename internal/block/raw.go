package block

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Raw is a disk backed by a raw image file (the guest sees the file's bytes
// as its sectors, no header).
type Raw struct {
	f    *os.File
	name string
	size int64
	ro   bool
}

var _ Device = (*Raw)(nil)

// OpenRaw opens the image at path. With readOnly the file is opened
// O_RDONLY and WriteAt fails with ErrReadOnly. The file size must be a
// multiple of SectorSize.
func OpenRaw(path string, readOnly bool) (*Raw, error) {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("block: open raw image: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("block: stat %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("block: %s is not a regular file", path)
	}
	if st.Size()%SectorSize != 0 {
		f.Close()
		return nil, fmt.Errorf("block: %s is %d bytes, not a multiple of the %d-byte sector size (pad or truncate the image)", path, st.Size(), SectorSize)
	}
	return &Raw{f: f, name: path, size: st.Size(), ro: readOnly}, nil
}

// Name returns the path the image was opened with.
func (r *Raw) Name() string { return r.name }

// ReadAt implements Device.
func (r *Raw) ReadAt(p []byte, off int64) (int, error) {
	if err := checkRange("read", len(p), off, r.size, r.name); err != nil {
		return 0, err
	}
	n, err := r.f.ReadAt(p, off)
	if n == len(p) {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		// The file shrank under us.
		err = io.ErrUnexpectedEOF
	}
	return n, fmt.Errorf("block: read %d bytes at offset %d of %s: %w", len(p), off, r.name, err)
}

// WriteAt implements Device.
func (r *Raw) WriteAt(p []byte, off int64) (int, error) {
	if r.ro {
		return 0, fmt.Errorf("block: write %d bytes at offset %d of %s: %w", len(p), off, r.name, ErrReadOnly)
	}
	if err := checkRange("write", len(p), off, r.size, r.name); err != nil {
		return 0, err
	}
	n, err := r.f.WriteAt(p, off)
	if err != nil {
		return n, fmt.Errorf("block: write %d bytes at offset %d of %s: %w", len(p), off, r.name, err)
	}
	return n, nil
}

// Flush implements Device: fsync for a writable image, nothing for a
// read-only one.
func (r *Raw) Flush() error {
	if r.ro {
		return nil
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("block: flush %s: %w", r.name, err)
	}
	return nil
}

// Size implements Device.
func (r *Raw) Size() int64 { return r.size }

// ReadOnly implements Device.
func (r *Raw) ReadOnly() bool { return r.ro }

// Close closes the image file.
func (r *Raw) Close() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("block: close %s: %w", r.name, err)
	}
	return nil
}
