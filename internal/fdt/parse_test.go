package fdt

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustBytes(t testing.TB, b *Builder) []byte {
	t.Helper()
	blob, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

// patch returns a copy of blob with the big-endian word at off set to v.
func patch(blob []byte, off int, v uint32) []byte {
	out := append([]byte{}, blob...)
	binary.BigEndian.PutUint32(out[off:], v)
	return out
}

func TestParseErrors(t *testing.T) {
	good := mustBytes(t, sample())
	hdr := func(i int) uint32 { return binary.BigEndian.Uint32(good[4*i:]) }
	offStruct := int(hdr(2))
	// The first property token follows the root's FDT_BEGIN_NODE and its
	// empty, padded name.
	firstProp := offStruct + 8
	tests := []struct {
		name string
		blob []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"short header", good[:39], "shorter than"},
		{"bad magic", patch(good, 0, 0xfeedd00d), "bad magic"},
		{"old version", patch(good, 20, 16), "unsupported version"},
		{"future incompatible", patch(good, 24, 18), "unsupported version"},
		{"totalsize too big", patch(good, 4, uint32(len(good)+1)), "totalsize"},
		{"truncated blob", good[:len(good)-1], "totalsize"},
		{"rsv misaligned", patch(good, 16, 44), "reservation"},
		{"struct outside", patch(good, 36, uint32(len(good))), "structure block"},
		{"struct misaligned", patch(good, 8, hdr(2)+1), "structure block"},
		{"strings outside", patch(good, 12, uint32(len(good))), "strings block"},
		{"first token", patch(good, offStruct, tokProp), "want FDT_BEGIN_NODE"},
		{"unknown token", patch(good, firstProp, 0x77), "unexpected token"},
		{"prop too long", patch(good, firstProp+4, 0x10000), "overruns"},
		{"name offset", patch(good, firstProp+8, 0x10000), "outside the strings block"},
		{"no end", patch(good, offStruct+int(hdr(9))-4, tokNop), "truncated"},
		{"junk after root", patch(good, offStruct+int(hdr(9))-4, tokEndNode), "after the root node"},
		{"named root", patch(good, offStruct+4, 0x61000000), "root node named"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.blob)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParsePropAfterChild(t *testing.T) {
	// Hand-built structure block: root { child {}; prop } is invalid.
	var s []byte
	w := func(v uint32) { s = binary.BigEndian.AppendUint32(s, v) }
	w(tokBeginNode)
	w(0)
	w(tokBeginNode)
	s = append(s, 'c', 0, 0, 0)
	w(tokEndNode)
	w(tokProp)
	w(0)
	w(0)
	w(tokEndNode)
	w(tokEnd)
	blob := rawBlob(s, []byte("p\x00"))
	if _, err := Parse(blob); err == nil || !strings.Contains(err.Error(), "property after a child") {
		t.Errorf("Parse error = %v", err)
	}
}

// rawBlob wraps a structure and strings block in a valid header.
func rawBlob(structs, strs []byte) []byte {
	offStruct := uint32(headerSize + 16)
	offStrings := offStruct + uint32(len(structs))
	total := offStrings + uint32(len(strs))
	var out []byte
	for _, v := range []uint32{Magic, total, offStruct, offStrings, headerSize, 17, 16, 0,
		uint32(len(strs)), uint32(len(structs))} {
		out = binary.BigEndian.AppendUint32(out, v)
	}
	out = append(out, make([]byte, 16)...)
	out = append(out, structs...)
	return append(out, strs...)
}

func TestParseNops(t *testing.T) {
	// NOP tokens (left behind by in-place editors such as libfdt) are
	// skipped anywhere a token may appear.
	var s []byte
	w := func(v uint32) { s = binary.BigEndian.AppendUint32(s, v) }
	w(tokNop)
	w(tokBeginNode)
	w(0)
	w(tokNop)
	w(tokProp)
	w(4)
	w(0)
	w(42)
	w(tokNop)
	w(tokEndNode)
	w(tokNop)
	w(tokEnd)
	got, err := Parse(rawBlob(s, []byte("answer\x00")))
	if err != nil {
		t.Fatal(err)
	}
	want := &Node{Props: []Property{{"answer", []byte{0, 0, 0, 42}}}}
	if diff := cmp.Diff(want, got, ignoreErr); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(mustBytes(f, sample()))
	virt, err := Virt(DefaultVirtConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(virt)
	f.Add([]byte{})
	f.Add(rawBlob(nil, nil))
	f.Fuzz(func(t *testing.T, blob []byte) {
		root, err := Parse(blob)
		if err != nil {
			return
		}
		// Whatever parses and passes validation must re-encode to a blob
		// that parses to the same tree.
		again, err := encode(root, nil, 0)
		if err != nil {
			return
		}
		root2, err := Parse(again)
		if err != nil {
			t.Fatalf("re-encoded blob does not parse: %v", err)
		}
		if diff := cmp.Diff(root, root2, ignoreErr); diff != "" {
			t.Fatalf("round trip changed the tree:\n%s", diff)
		}
		again2, err := encode(root2, nil, 0)
		if err != nil || !bytes.Equal(again, again2) {
			t.Fatalf("encoding is not stable: %v", err)
		}
	})
}
