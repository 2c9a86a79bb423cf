package block

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pattern returns n deterministic pseudo-random bytes.
func pattern(n int, seed int64) []byte {
	p := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(p)
	return p
}

// impl builds a fresh device holding init; check (optional) runs after
// the test, e.g. to verify that an overlay's base was never written.
type impl struct {
	name     string
	readOnly bool
	make     func(t *testing.T, init []byte) (dev Device, check func())
}

func tempImage(t *testing.T, init []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, init, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func openRaw(t *testing.T, path string, ro bool) *Raw {
	t.Helper()
	r, err := OpenRaw(path, ro)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

var impls = []impl{
	{name: "raw", make: func(t *testing.T, init []byte) (Device, func()) {
		return openRaw(t, tempImage(t, init), false), nil
	}},
	{name: "raw-readonly", readOnly: true, make: func(t *testing.T, init []byte) (Device, func()) {
		return openRaw(t, tempImage(t, init), true), nil
	}},
	{name: "memory", make: func(t *testing.T, init []byte) (Device, func()) {
		m, err := NewMemory(bytes.Clone(init), false)
		if err != nil {
			t.Fatal(err)
		}
		return m, nil
	}},
	{name: "overlay-over-raw", make: func(t *testing.T, init []byte) (Device, func()) {
		path := tempImage(t, init)
		o := NewOverlay(openRaw(t, path, true))
		return o, func() {
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, init) {
				t.Errorf("overlay wrote to its base image")
			}
		}
	}},
	{name: "overlay-over-memory", make: func(t *testing.T, init []byte) (Device, func()) {
		base := bytes.Clone(init)
		m, err := NewMemory(base, false)
		if err != nil {
			t.Fatal(err)
		}
		return NewOverlay(m), func() {
			if !bytes.Equal(base, init) {
				t.Errorf("overlay wrote to its base")
			}
		}
	}},
}

// Sizes: whole overlay blocks, and a size with a short last overlay block.
var sizes = []int{4 * OverlayBlockSize, 3*OverlayBlockSize + 3*SectorSize}

func TestConformance(t *testing.T) {
	for _, im := range impls {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", im.name, size), func(t *testing.T) {
				conformance(t, im, size)
			})
		}
	}
}

func conformance(t *testing.T, im impl, size int) {
	init := pattern(size, int64(size))
	dev, check := im.make(t, init)
	if check != nil {
		defer check()
	}
	if got := dev.Size(); got != int64(size) {
		t.Fatalf("Size = %d, want %d", got, size)
	}
	if got := dev.ReadOnly(); got != im.readOnly {
		t.Fatalf("ReadOnly = %v, want %v", got, im.readOnly)
	}
	model := bytes.Clone(init)

	read := func(off, n int) {
		t.Helper()
		p := make([]byte, n)
		got, err := dev.ReadAt(p, int64(off))
		if err != nil || got != n {
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v", n, off, got, err)
		}
		if !bytes.Equal(p, model[off:off+n]) {
			t.Fatalf("ReadAt(%d bytes, %d): data differs from model", n, off)
		}
	}

	// Reads of the initial contents.
	for _, r := range []struct{ off, n int }{
		{0, size}, {0, SectorSize}, {size - SectorSize, SectorSize},
		{OverlayBlockSize - 3, 10}, {1, 0}, {size, 0}, {size - 1, 1},
	} {
		read(r.off, r.n)
	}

	// Out of range accesses fail with ErrOutOfRange and transfer nothing.
	for _, r := range []struct{ off, n int }{
		{-1, 1}, {size, 1}, {size - 1, 2}, {0, size + 1},
	} {
		p := make([]byte, r.n)
		if _, err := dev.ReadAt(p, int64(r.off)); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("ReadAt(%d bytes, %d) err = %v, want ErrOutOfRange", r.n, r.off, err)
		}
		if !im.readOnly {
			if _, err := dev.WriteAt(p, int64(r.off)); !errors.Is(err, ErrOutOfRange) {
				t.Errorf("WriteAt(%d bytes, %d) err = %v, want ErrOutOfRange", r.n, r.off, err)
			}
		}
	}
	if err := dev.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}

	if im.readOnly {
		_, err := dev.WriteAt([]byte{1, 2, 3}, 0)
		if !errors.Is(err, ErrReadOnly) {
			t.Fatalf("WriteAt on read-only device: err = %v, want ErrReadOnly", err)
		}
		read(0, size)
		return
	}

	// Random writes and reads against a model.
	rng := rand.New(rand.NewSource(42))
	for i := 0; i < 300; i++ {
		off := rng.Intn(size)
		n := rng.Intn(min(size-off, 3*OverlayBlockSize) + 1)
		if i%3 == 0 {
			off = off / SectorSize * SectorSize
			n = min(n/SectorSize*SectorSize, size-off)
		}
		if rng.Intn(2) == 0 {
			p := pattern(n, int64(i))
			got, err := dev.WriteAt(p, int64(off))
			if err != nil || got != n {
				t.Fatalf("WriteAt(%d bytes, %d) = %d, %v", n, off, got, err)
			}
			copy(model[off:], p)
		} else {
			read(off, n)
		}
	}
	if err := dev.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	read(0, size)
}

func TestRawPersistsWrites(t *testing.T) {
	init := pattern(2*SectorSize, 1)
	path := tempImage(t, init)
	r := openRaw(t, path, false)
	if _, err := r.WriteAt([]byte("hello"), 100); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	copy(init[100:], "hello")
	if !bytes.Equal(got, init) {
		t.Fatal("write did not reach the file")
	}
}

func TestOpenRawErrors(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "odd.img")
	os.WriteFile(odd, make([]byte, 1000), 0o644)
	_, err := OpenRaw(odd, true)
	if err == nil || !strings.Contains(err.Error(), "not a multiple of the 512-byte sector size") {
		t.Errorf("OpenRaw(1000-byte file) err = %v", err)
	}
	if _, err := OpenRaw(filepath.Join(dir, "missing.img"), true); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenRaw(missing) err = %v, want ErrNotExist", err)
	}
	if _, err := OpenRaw(dir, true); err == nil {
		t.Errorf("OpenRaw(directory) succeeded")
	}
	if _, err := NewMemory(make([]byte, 100), false); err == nil {
		t.Errorf("NewMemory(100 bytes) succeeded")
	}
}

func TestErrorContext(t *testing.T) {
	path := tempImage(t, make([]byte, 4*SectorSize))
	r := openRaw(t, path, true)
	_, err := r.ReadAt(make([]byte, 4096), 81920)
	want := "block: read 4096 bytes at offset 81920 of " + path
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want prefix %q", err, want)
	}
	_, err = r.WriteAt(make([]byte, 512), 0)
	want = "block: write 512 bytes at offset 0 of " + path
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want prefix %q", err, want)
	}
}

func TestOverlayBlockMap(t *testing.T) {
	size := 3*OverlayBlockSize + SectorSize // short last block
	base, _ := NewMemory(pattern(size, 7), true)
	o := NewOverlay(base)
	if got := o.Blocks(); len(got) != 0 {
		t.Fatalf("fresh overlay Blocks = %v", got)
	}
	// Write out of order; one write spans blocks 0 and 1.
	o.WriteAt([]byte{1}, 3*OverlayBlockSize+5)
	o.WriteAt([]byte{2, 3}, OverlayBlockSize-1)
	if diff := cmp.Diff([]int64{0, 1, 3}, o.Blocks()); diff != "" {
		t.Fatalf("Blocks (-want +got):\n%s", diff)
	}

	s := o.Save()
	if len(s.Blocks) != 3 || len(s.Blocks[2].Data) != SectorSize || len(s.Blocks[0].Data) != OverlayBlockSize {
		t.Fatalf("Save: unexpected shape %v blocks", len(s.Blocks))
	}
	before := make([]byte, size)
	o.ReadAt(before, 0)

	// Mutate, then restore.
	o.WriteAt(bytes.Repeat([]byte{9}, OverlayBlockSize), 2*OverlayBlockSize)
	s.Blocks[0].Data[0] ^= 0xff // Save must have deep-copied
	s.Blocks[0].Data[0] ^= 0xff
	if err := o.Load(s); err != nil {
		t.Fatal(err)
	}
	after := make([]byte, size)
	o.ReadAt(after, 0)
	if !bytes.Equal(before, after) {
		t.Fatal("contents differ after Save/mutate/Load")
	}
	if diff := cmp.Diff(s, o.Save()); diff != "" {
		t.Fatalf("Save after Load (-want +got):\n%s", diff)
	}

	for _, bad := range []OverlayState{
		{Blocks: []OverlayBlock{{Index: 4, Data: make([]byte, OverlayBlockSize)}}},
		{Blocks: []OverlayBlock{{Index: -1, Data: make([]byte, OverlayBlockSize)}}},
		{Blocks: []OverlayBlock{{Index: 3, Data: make([]byte, OverlayBlockSize)}}},
		{Blocks: []OverlayBlock{{Index: 1, Data: make([]byte, OverlayBlockSize)}, {Index: 0, Data: make([]byte, OverlayBlockSize)}}},
	} {
		if err := o.Load(bad); err == nil {
			t.Errorf("Load(%v) succeeded", bad.Blocks[0].Index)
		}
	}
}

// failing is a base whose reads fail, to check error wrapping.
type failing struct{ Memory }

func (f *failing) ReadAt(p []byte, off int64) (int, error) { return 0, errors.New("disk on fire") }

func TestOverlayBaseErrors(t *testing.T) {
	o := NewOverlay(&failing{Memory{data: make([]byte, 2*OverlayBlockSize)}})
	if _, err := o.ReadAt(make([]byte, 10), 0); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("read err = %v", err)
	}
	if _, err := o.WriteAt(make([]byte, 10), 0); err == nil || !strings.Contains(err.Error(), "copy block 0 from base") {
		t.Errorf("partial write err = %v", err)
	}
	// A full-block write needs no base read.
	if _, err := o.WriteAt(make([]byte, OverlayBlockSize), OverlayBlockSize); err != nil {
		t.Errorf("full-block write err = %v", err)
	}
}
