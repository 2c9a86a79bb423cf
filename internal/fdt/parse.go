package fdt

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Parse decodes a DTB blob (format version 17, or any later version that
// stays compatible with 16/17) and returns its root node.
//
// It is strict: the header, every block offset and size, every token, name
// and string offset is checked, and anything out of place is an error
// (never a panic). Properties must precede child nodes, as §5.4.2 requires.
// The memory reservation block is validated but not returned.
func Parse(blob []byte) (*Node, error) {
	root, _, _, err := parse(blob)
	return root, err
}

// header is the decoded DTB header (§5.2).
type header struct {
	magic, totalSize, offStruct, offStrings, offRsv     uint32
	version, lastComp, bootCPU, sizeStrings, sizeStruct uint32
}

func parse(blob []byte) (*Node, []Reservation, uint32, error) {
	h, err := parseHeader(blob)
	if err != nil {
		return nil, nil, 0, err
	}
	blob = blob[:h.totalSize]
	rsv, err := parseRsv(blob, h)
	if err != nil {
		return nil, nil, 0, err
	}
	p := structParser{
		s:    blob[h.offStruct : h.offStruct+h.sizeStruct],
		strs: blob[h.offStrings : h.offStrings+h.sizeStrings],
	}
	root, err := p.tree()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("fdt: structure block offset %#x: %w", p.off, err)
	}
	return root, rsv, h.bootCPU, nil
}

func parseHeader(blob []byte) (header, error) {
	var h header
	if len(blob) < headerSize {
		return h, fmt.Errorf("fdt: blob of %d bytes is shorter than the %d-byte header", len(blob), headerSize)
	}
	w := func(i int) uint32 { return binary.BigEndian.Uint32(blob[4*i:]) }
	h = header{w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7), w(8), w(9)}
	switch {
	case h.magic != Magic:
		return h, fmt.Errorf("fdt: bad magic %#x, want %#x", h.magic, Magic)
	case h.version < Version || h.lastComp > Version:
		return h, fmt.Errorf("fdt: unsupported version %d (last compatible %d); this reader handles %d",
			h.version, h.lastComp, Version)
	case uint64(h.totalSize) > uint64(len(blob)) || h.totalSize < headerSize:
		return h, fmt.Errorf("fdt: totalsize %d does not fit the %d-byte blob", h.totalSize, len(blob))
	case h.offRsv%8 != 0 || h.offRsv < headerSize || h.offRsv >= h.totalSize:
		return h, fmt.Errorf("fdt: bad memory reservation block offset %#x", h.offRsv)
	case h.offStruct%4 != 0 || !within(h.offStruct, h.sizeStruct, h.totalSize) || h.offStruct < headerSize:
		return h, fmt.Errorf("fdt: structure block %#x+%#x outside the blob", h.offStruct, h.sizeStruct)
	case !within(h.offStrings, h.sizeStrings, h.totalSize) || h.offStrings < headerSize:
		return h, fmt.Errorf("fdt: strings block %#x+%#x outside the blob", h.offStrings, h.sizeStrings)
	}
	return h, nil
}

// within reports whether [off, off+size) lies inside [0, total).
func within(off, size, total uint32) bool {
	return uint64(off)+uint64(size) <= uint64(total)
}

func parseRsv(blob []byte, h header) ([]Reservation, error) {
	var rsv []Reservation
	for off := uint64(h.offRsv); ; off += 16 {
		if off+16 > uint64(len(blob)) {
			return nil, fmt.Errorf("fdt: memory reservation block at %#x has no terminating entry", h.offRsv)
		}
		r := Reservation{
			Address: binary.BigEndian.Uint64(blob[off:]),
			Size:    binary.BigEndian.Uint64(blob[off+8:]),
		}
		if r == (Reservation{}) {
			return rsv, nil
		}
		rsv = append(rsv, r)
	}
}

// structParser walks the structure block token by token.
type structParser struct {
	s, strs []byte
	off     int
}

func (p *structParser) token() (uint32, error) {
	for {
		if p.off+4 > len(p.s) {
			return 0, fmt.Errorf("truncated (no FDT_END token)")
		}
		t := binary.BigEndian.Uint32(p.s[p.off:])
		p.off += 4
		if t != tokNop {
			return t, nil
		}
	}
}

// cstring reads a NUL-terminated string at p.off and skips the padding.
func (p *structParser) cstring() (string, error) {
	n := bytes.IndexByte(p.s[p.off:], 0)
	if n < 0 {
		return "", fmt.Errorf("unterminated node name")
	}
	s := string(p.s[p.off : p.off+n])
	p.off = min(align4(p.off+n+1), len(p.s))
	return s, nil
}

func align4(n int) int { return (n + 3) &^ 3 }

func (p *structParser) tree() (*Node, error) {
	t, err := p.token()
	if err != nil {
		return nil, err
	}
	if t != tokBeginNode {
		return nil, fmt.Errorf("first token %#x, want FDT_BEGIN_NODE", t)
	}
	name, err := p.cstring()
	if err != nil {
		return nil, err
	}
	if name != "" {
		return nil, fmt.Errorf("root node named %q, want empty", name)
	}
	root := &Node{}
	// Iterative walk: a hostile blob can nest deeply without growing the
	// goroutine stack.
	stack := []*Node{root}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		switch t {
		case tokBeginNode:
			name, err := p.cstring()
			if err != nil {
				return nil, err
			}
			if name == "" {
				return nil, fmt.Errorf("node without a name")
			}
			c := &Node{Name: name}
			cur.Children = append(cur.Children, c)
			stack = append(stack, c)
		case tokEndNode:
			stack = stack[:len(stack)-1]
		case tokProp:
			if len(cur.Children) > 0 {
				return nil, fmt.Errorf("node %q: property after a child node", cur.Name)
			}
			prop, err := p.prop()
			if err != nil {
				return nil, fmt.Errorf("node %q: %w", cur.Name, err)
			}
			cur.Props = append(cur.Props, prop)
		default:
			return nil, fmt.Errorf("unexpected token %#x", t)
		}
	}
	t, err = p.token()
	if err != nil {
		return nil, err
	}
	if t != tokEnd {
		return nil, fmt.Errorf("token %#x after the root node, want FDT_END", t)
	}
	return root, nil
}

func (p *structParser) prop() (Property, error) {
	if p.off+8 > len(p.s) {
		return Property{}, fmt.Errorf("truncated property header")
	}
	n := binary.BigEndian.Uint32(p.s[p.off:])
	nameOff := binary.BigEndian.Uint32(p.s[p.off+4:])
	p.off += 8
	if uint64(n) > uint64(len(p.s)-p.off) {
		return Property{}, fmt.Errorf("property value of %d bytes overruns the structure block", n)
	}
	if uint64(nameOff) >= uint64(len(p.strs)) {
		return Property{}, fmt.Errorf("property name offset %#x outside the strings block", nameOff)
	}
	end := bytes.IndexByte(p.strs[nameOff:], 0)
	if end < 0 {
		return Property{}, fmt.Errorf("unterminated property name at strings offset %#x", nameOff)
	}
	prop := Property{
		Name:  string(p.strs[nameOff : int(nameOff)+end]),
		Value: append([]byte{}, p.s[p.off:p.off+int(n)]...),
	}
	p.off = min(align4(p.off+int(n)), len(p.s))
	return prop, nil
}
