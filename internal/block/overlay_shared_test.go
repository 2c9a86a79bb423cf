package block

import (
	"bytes"
	"testing"
)

// A state saved with SaveShared keeps its contents when the overlay is
// written afterwards, and LoadShared brings them back.
func TestOverlaySharedStateIsImmutable(t *testing.T) {
	base, err := NewMemory(make([]byte, 4*OverlayBlockSize), false)
	if err != nil {
		t.Fatal(err)
	}
	o := NewOverlay(base)
	if _, err := o.WriteAt([]byte("first"), 10); err != nil {
		t.Fatal(err)
	}
	saved := o.SaveShared()
	if _, err := o.WriteAt([]byte("SECOND"), 10); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved.Blocks[0].Data[10:15], []byte("first")) {
		t.Fatalf("saved block changed: %q", saved.Blocks[0].Data[10:16])
	}
	if err := o.LoadShared(saved); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := o.ReadAt(got, 10); err != nil || string(got) != "first" {
		t.Fatalf("after LoadShared read %q, %v", got, err)
	}
	if err := o.LoadShared(OverlayState{Blocks: []OverlayBlock{{Index: 99, Data: make([]byte, OverlayBlockSize)}}}); err == nil {
		t.Fatal("LoadShared accepted a block outside the device")
	}
}
