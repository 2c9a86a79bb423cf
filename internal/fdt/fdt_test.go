package fdt

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreErr = cmpopts.IgnoreUnexported(Node{})

// sample builds a small tree that uses every Prop method.
func sample() *Builder {
	b := New()
	r := b.Root()
	r.PropU32("#address-cells", 2)
	r.PropU32("#size-cells", 2)
	r.PropString("compatible", "test,board")
	cpus := r.Child("cpus")
	cpus.PropU32("#address-cells", 1)
	ph := b.NewPhandle()
	cpu := cpus.Child("cpu@0")
	cpu.PropU32("phandle", ph)
	cpu.PropEmpty("interrupt-controller")
	cpu.PropU64("big", 0x0123456789abcdef)
	dev := r.Child("dev@1000")
	dev.PropCells("reg", 0, 0x1000, 0, 0x100)
	dev.PropStrings("compatible", "a,b", "c")
	dev.PropBytes("odd", []byte{1, 2, 3})
	dev.PropU32("interrupt-parent", ph)
	return b
}

func TestBytesHeader(t *testing.T) {
	b := sample()
	b.Reserve(0x80000000, 0x1000)
	b.SetBootCPU(3)
	blob, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	w := func(i int) uint32 { return binary.BigEndian.Uint32(blob[4*i:]) }
	if w(0) != Magic || int(w(1)) != len(blob) || w(5) != 17 || w(6) != 16 || w(7) != 3 {
		t.Errorf("header = %x", blob[:headerSize])
	}
	offStruct, offStrings, offRsv := w(2), w(3), w(4)
	if offRsv != 40 || offStruct != 40+2*16 || offStrings != offStruct+w(9) || offStrings+w(8) != w(1) {
		t.Errorf("block offsets rsv=%d struct=%d strings=%d sizes %d/%d", offRsv, offStruct, offStrings, w(9), w(8))
	}
	if offStruct%4 != 0 || len(blob)%4 != 0 && offStrings%4 != 0 {
		t.Errorf("misaligned blocks")
	}
	// Strings are deduplicated: "compatible" and "#address-cells" appear
	// twice in the tree and once in the strings block.
	strs := string(blob[offStrings:])
	for _, s := range []string{"compatible\x00", "#address-cells\x00", "phandle\x00"} {
		if n := strings.Count(strs, s); n != 1 {
			t.Errorf("strings block holds %q %d times, want 1", s, n)
		}
	}
	root, rsv, boot, err := parse(blob)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Reservation{{0x80000000, 0x1000}}, rsv); diff != "" {
		t.Errorf("reservations (-want +got):\n%s", diff)
	}
	if boot != 3 {
		t.Errorf("boot cpu = %d", boot)
	}
	if root.Find("/cpus/cpu@0") == nil {
		t.Errorf("cpu node missing")
	}
}

func TestRoundTrip(t *testing.T) {
	b := sample()
	blob, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(blob)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.Root(), got, ignoreErr); diff != "" {
		t.Errorf("Parse(Bytes()) (-built +parsed):\n%s", diff)
	}
	again, err := encode(got, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blob, again) {
		t.Errorf("re-encoding the parsed tree changed the blob")
	}
}

func TestDeterministic(t *testing.T) {
	first, err := sample().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		blob, err := sample().Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, blob) {
			t.Fatalf("build %d differs", i)
		}
	}
}

func TestInsertionOrder(t *testing.T) {
	b := New()
	r := b.Root()
	for _, name := range []string{"zeta", "alpha", "mid@10", "mid@2"} {
		r.Child(name).PropString("x", name)
	}
	r.PropU32("z", 1)
	r.PropU32("a", 2)
	r.PropU32("z", 3) // replaces in place
	if r.Child("alpha") != r.Children[1] {
		t.Errorf("Child did not return the existing node")
	}
	blob, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(blob)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got.Children {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"zeta", "alpha", "mid@10", "mid@2"}, names); diff != "" {
		t.Errorf("child order (-want +got):\n%s", diff)
	}
	want := []Property{{"z", []byte{0, 0, 0, 3}}, {"a", []byte{0, 0, 0, 2}}}
	if diff := cmp.Diff(want, got.Props); diff != "" {
		t.Errorf("props (-want +got):\n%s", diff)
	}
}

func TestReadHelpers(t *testing.T) {
	root := sample().Root()
	dev := root.Find("/dev@1000")
	if dev == nil {
		t.Fatal("Find(/dev@1000) = nil")
	}
	if root.Find("/") != root || root.Find("/nope") != nil || root.Find("/cpus/cpu@1") != nil {
		t.Errorf("Find edge cases")
	}
	if c, ok := dev.Cells("reg"); !ok || !cmp.Equal(c, []uint32{0, 0x1000, 0, 0x100}) {
		t.Errorf("Cells(reg) = %v %v", c, ok)
	}
	if _, ok := dev.Cells("odd"); ok {
		t.Errorf("Cells accepted a 3-byte value")
	}
	if s, ok := dev.Strings("compatible"); !ok || !cmp.Equal(s, []string{"a,b", "c"}) {
		t.Errorf("Strings = %q %v", s, ok)
	}
	if _, ok := dev.U32("reg"); ok {
		t.Errorf("U32 accepted 4 cells")
	}
	cpu := root.Find("/cpus/cpu@0")
	if v, ok := cpu.U64("big"); !ok || v != 0x0123456789abcdef {
		t.Errorf("U64(big) = %#x %v", v, ok)
	}
	if cpu.Phandle() != 1 || dev.Phandle() != 0 {
		t.Errorf("phandles %d %d", cpu.Phandle(), dev.Phandle())
	}
	if _, ok := cpu.Strings("interrupt-controller"); ok {
		t.Errorf("Strings accepted an empty value")
	}
}

func TestBytesErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *Builder)
		want  string
	}{
		{"empty node name", func(b *Builder) { b.Root().Child("") }, "empty node name"},
		{"slash in name", func(b *Builder) { b.Root().Child("a/b") }, "invalid character"},
		{"long name", func(b *Builder) { b.Root().Child(strings.Repeat("a", 32)) }, "longer than 31"},
		{"digit first", func(b *Builder) { b.Root().Child("1abc") }, "start with a letter"},
		{"empty unit", func(b *Builder) { b.Root().Child("abc@") }, "empty unit address"},
		{"bad prop name", func(b *Builder) { b.Root().PropU32("a b", 1) }, "invalid character"},
		{"empty prop name", func(b *Builder) { b.Root().PropU32("", 1) }, "length must be"},
		{"NUL in string", func(b *Builder) { b.Root().Child("x").PropString("s", "a\x00b") }, "/x: property \"s\""},
		{"zero phandle", func(b *Builder) { b.Root().Child("x").PropU32("phandle", 0) }, "invalid phandle"},
		{"short phandle", func(b *Builder) { b.Root().PropBytes("phandle", []byte{1}) }, "phandle is 1 bytes"},
		{"duplicate phandle", func(b *Builder) {
			b.Root().Child("x").PropU32("phandle", 5)
			b.Root().Child("y").Child("z").PropU32("phandle", 5)
		}, "/y/z: phandle 0x5 already used by /x"},
		{"duplicate child", func(b *Builder) {
			r := b.Root()
			r.Children = append(r.Children, &Node{Name: "d"}, &Node{Name: "d"})
		}, "duplicate node name"},
		{"duplicate prop", func(b *Builder) {
			r := b.Root()
			r.Props = append(r.Props, Property{Name: "p"}, Property{Name: "p"})
		}, "duplicate property"},
		{"named root", func(b *Builder) { b.Root().Name = "root" }, "root node has name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New()
			tt.build(b)
			_, err := b.Bytes()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Bytes() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidNames(t *testing.T) {
	b := New()
	r := b.Root()
	for _, n := range []string{"virtio_mmio@10008000", "cpu-map", "A,b.c+d-e@1,2", "interrupt-controller"} {
		r.Child(n).PropEmpty("#interrupt-cells?")
	}
	if _, err := b.Bytes(); err != nil {
		t.Fatal(err)
	}
}
