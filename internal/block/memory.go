package block

import "fmt"

// Memory is a disk held in a byte slice (tests, small scratch disks, and
// the self-contained replay mode later).
type Memory struct {
	data []byte
	ro   bool
	name string
}

var _ Device = (*Memory)(nil)

// NewMemory returns a disk over data (not copied: the caller may keep
// inspecting it). len(data) must be a multiple of SectorSize.
func NewMemory(data []byte, readOnly bool) (*Memory, error) {
	if len(data)%SectorSize != 0 {
		return nil, fmt.Errorf("block: memory disk of %d bytes is not a multiple of the %d-byte sector size", len(data), SectorSize)
	}
	return &Memory{data: data, ro: readOnly, name: "memory disk"}, nil
}

// ReadAt implements Device.
func (m *Memory) ReadAt(p []byte, off int64) (int, error) {
	if err := checkRange("read", len(p), off, int64(len(m.data)), m.name); err != nil {
		return 0, err
	}
	return copy(p, m.data[off:]), nil
}

// WriteAt implements Device.
func (m *Memory) WriteAt(p []byte, off int64) (int, error) {
	if m.ro {
		return 0, fmt.Errorf("block: write %d bytes at offset %d of %s: %w", len(p), off, m.name, ErrReadOnly)
	}
	if err := checkRange("write", len(p), off, int64(len(m.data)), m.name); err != nil {
		return 0, err
	}
	return copy(m.data[off:], p), nil
}

// Flush implements Device (nothing to do).
func (m *Memory) Flush() error { return nil }

// Size implements Device.
func (m *Memory) Size() int64 { return int64(len(m.data)) }

// ReadOnly implements Device.
func (m *Memory) ReadOnly() bool { return m.ro }
