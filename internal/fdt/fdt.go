// Package fdt builds and parses flattened device trees (DTB blobs) as
// described by the Devicetree Specification v0.4, chapter 5.
//
// The builder is deterministic: nodes and properties are emitted in the
// order they were added, the strings block lists each property name once in
// order of first use, and nothing depends on map iteration or the host. The
// same calls always give the same bytes, which matters because the DTB is
// part of what the guest observes, and everything the guest observes must
// follow from the machine config, the images and the event log.
//
// Parse is a small, strict decoder used by tests and by callers that want to
// inspect a blob; it is fuzzed and never panics on malformed input.
package fdt

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Blob format constants (Devicetree Specification v0.4 §5.2, §5.4.1).
const (
	// Magic is the value of the first header word of every DTB.
	Magic = 0xd00dfeed
	// Version is the format version this package writes.
	Version = 17
	// LastCompVersion is the oldest version a reader must support to read
	// what this package writes.
	LastCompVersion = 16

	headerSize = 40 // ten big-endian uint32 words, version 17

	tokBeginNode = 0x1
	tokEndNode   = 0x2
	tokProp      = 0x3
	tokNop       = 0x4
	tokEnd       = 0x9

	// maxNameLen is the longest node-name (without unit address) and the
	// longest property name the specification allows (§2.2.1, §2.2.4).
	maxNameLen = 31
)

// Property is one named value of a node. Value holds the raw big-endian
// bytes exactly as stored in the blob.
type Property struct {
	Name  string
	Value []byte
}

// Node is a device-tree node. The root node has an empty Name; every other
// node is named "node-name" or "node-name@unit-address".
//
// Builder methods (Child, Prop*) keep insertion order. Nodes returned by
// Parse use the same type, so the read helpers (Find, Prop, U32, ...) work on
// both.
type Node struct {
	Name     string
	Props    []Property
	Children []*Node

	// err is the first invalid value handed to a Prop method (for example
	// a string holding a NUL byte); Builder.Bytes reports it.
	err error
}

// Child returns the child named name, creating it (appended after the
// existing children) if there is none yet.
func (n *Node) Child(name string) *Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	c := &Node{Name: name}
	n.Children = append(n.Children, c)
	return c
}

// PropBytes sets property name to a copy of v. Setting a property that
// already exists replaces its value and keeps its position.
func (n *Node) PropBytes(name string, v []byte) {
	v = append([]byte{}, v...)
	for i := range n.Props {
		if n.Props[i].Name == name {
			n.Props[i].Value = v
			return
		}
	}
	n.Props = append(n.Props, Property{Name: name, Value: v})
}

// PropEmpty sets a property with no value (a boolean property such as
// "interrupt-controller" or "ranges").
func (n *Node) PropEmpty(name string) { n.PropBytes(name, nil) }

// PropU32 sets a one-cell property.
func (n *Node) PropU32(name string, v uint32) { n.PropCells(name, v) }

// PropU64 sets a two-cell property holding v, most significant cell first.
func (n *Node) PropU64(name string, v uint64) {
	n.PropCells(name, uint32(v>>32), uint32(v))
}

// PropCells sets a property to a list of 32-bit cells (a prop-encoded-array,
// §2.2.4.1), for example reg, interrupts or interrupts-extended.
func (n *Node) PropCells(name string, cells ...uint32) {
	v := make([]byte, 4*len(cells))
	for i, c := range cells {
		binary.BigEndian.PutUint32(v[4*i:], c)
	}
	n.PropBytes(name, v)
}

// PropString sets a property to one NUL-terminated string.
func (n *Node) PropString(name, s string) { n.PropStrings(name, s) }

// PropStrings sets a property to a list of NUL-terminated strings (a
// stringlist, such as a compatible list).
func (n *Node) PropStrings(name string, ss ...string) {
	var v []byte
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 && n.err == nil {
			n.err = fmt.Errorf("property %q: string %q contains a NUL byte", name, s)
		}
		v = append(v, s...)
		v = append(v, 0)
	}
	n.PropBytes(name, v)
}

// Find returns the node at path ("/", "/soc/serial@10000000"), or nil. Path
// components must match node names exactly, unit address included.
func (n *Node) Find(path string) *Node {
	cur := n
	for _, part := range strings.Split(path, "/") {
		if part == "" {
			continue
		}
		var next *Node
		for _, c := range cur.Children {
			if c.Name == part {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// Prop returns the raw value of property name.
func (n *Node) Prop(name string) ([]byte, bool) {
	for _, p := range n.Props {
		if p.Name == name {
			return p.Value, true
		}
	}
	return nil, false
}

// Cells returns property name decoded as 32-bit cells; ok is false when the
// property is missing or its length is not a multiple of 4.
func (n *Node) Cells(name string) (cells []uint32, ok bool) {
	v, ok := n.Prop(name)
	if !ok || len(v)%4 != 0 {
		return nil, false
	}
	cells = make([]uint32, len(v)/4)
	for i := range cells {
		cells[i] = binary.BigEndian.Uint32(v[4*i:])
	}
	return cells, true
}

// U32 returns a one-cell property.
func (n *Node) U32(name string) (uint32, bool) {
	c, ok := n.Cells(name)
	if !ok || len(c) != 1 {
		return 0, false
	}
	return c[0], true
}

// U64 returns a property of one or two cells as a number (the form
// linux,initrd-start may take).
func (n *Node) U64(name string) (uint64, bool) {
	c, ok := n.Cells(name)
	switch {
	case !ok:
		return 0, false
	case len(c) == 1:
		return uint64(c[0]), true
	case len(c) == 2:
		return uint64(c[0])<<32 | uint64(c[1]), true
	}
	return 0, false
}

// Strings returns a stringlist property; ok is false when the property is
// missing or not NUL-terminated.
func (n *Node) Strings(name string) ([]string, bool) {
	v, ok := n.Prop(name)
	if !ok || len(v) == 0 || v[len(v)-1] != 0 {
		return nil, false
	}
	return strings.Split(string(v[:len(v)-1]), "\x00"), true
}

// Phandle returns the node's phandle property, or 0 when it has none.
func (n *Node) Phandle() uint32 {
	p, _ := n.U32("phandle")
	return p
}

// Reservation is one entry of the memory reservation block (§5.3): a range
// of physical memory the client program must not use.
type Reservation struct {
	Address, Size uint64
}

// Builder assembles a device tree and encodes it as a DTB blob.
type Builder struct {
	root    *Node
	rsv     []Reservation
	bootCPU uint32
	lastPh  uint32
}

// New returns a builder holding an empty root node.
func New() *Builder { return &Builder{root: &Node{}} }

// Root returns the root node ("/").
func (b *Builder) Root() *Node { return b.root }

// Reserve adds an entry to the memory reservation block.
func (b *Builder) Reserve(addr, size uint64) {
	b.rsv = append(b.rsv, Reservation{addr, size})
}

// SetBootCPU sets the header's boot_cpuid_phys field (default 0).
func (b *Builder) SetBootCPU(id uint32) { b.bootCPU = id }

// NewPhandle returns a fresh phandle: 1, 2, 3... in call order. The caller
// stores it with n.PropU32("phandle", p) where it wants the property to
// appear, and refers to it from other nodes.
func (b *Builder) NewPhandle() uint32 {
	b.lastPh++
	return b.lastPh
}

// Bytes validates the tree and encodes it as a version 17 DTB: header,
// memory reservation block, structure block, strings block, in that order,
// without padding at the end.
func (b *Builder) Bytes() ([]byte, error) {
	return encode(b.root, b.rsv, b.bootCPU)
}

// encode is Builder.Bytes for any tree (also a parsed one).
func encode(root *Node, rsv []Reservation, bootCPU uint32) ([]byte, error) {
	if err := validate(root); err != nil {
		return nil, err
	}
	e := encoder{strOff: map[string]uint32{}}
	e.node(root)
	e.u32(tokEnd)

	rsvOff := uint32(headerSize)
	structOff := rsvOff + uint32(16*(len(rsv)+1))
	stringsOff := structOff + uint32(len(e.structs))
	total := stringsOff + uint32(len(e.strs))

	out := make([]byte, 0, total)
	for _, w := range []uint32{
		Magic, total, structOff, stringsOff, rsvOff,
		Version, LastCompVersion, bootCPU,
		uint32(len(e.strs)), uint32(len(e.structs)),
	} {
		out = binary.BigEndian.AppendUint32(out, w)
	}
	for _, r := range rsv {
		out = binary.BigEndian.AppendUint64(out, r.Address)
		out = binary.BigEndian.AppendUint64(out, r.Size)
	}
	out = append(out, make([]byte, 16)...) // terminating {0, 0} entry
	out = append(out, e.structs...)
	out = append(out, e.strs...)
	return out, nil
}

type encoder struct {
	structs []byte
	strs    []byte
	strOff  map[string]uint32 // lookup only; never iterated
}

func (e *encoder) u32(v uint32) { e.structs = binary.BigEndian.AppendUint32(e.structs, v) }

func (e *encoder) pad() {
	for len(e.structs)%4 != 0 {
		e.structs = append(e.structs, 0)
	}
}

func (e *encoder) node(n *Node) {
	e.u32(tokBeginNode)
	e.structs = append(e.structs, n.Name...)
	e.structs = append(e.structs, 0)
	e.pad()
	for _, p := range n.Props {
		e.u32(tokProp)
		e.u32(uint32(len(p.Value)))
		e.u32(e.str(p.Name))
		e.structs = append(e.structs, p.Value...)
		e.pad()
	}
	for _, c := range n.Children {
		e.node(c)
	}
	e.u32(tokEndNode)
}

// str returns the strings-block offset of s, appending it on first use.
func (e *encoder) str(s string) uint32 {
	if off, ok := e.strOff[s]; ok {
		return off
	}
	off := uint32(len(e.strs))
	e.strs = append(e.strs, s...)
	e.strs = append(e.strs, 0)
	e.strOff[s] = off
	return off
}

// validate checks names, uniqueness and phandles before encoding, so a
// broken tree is a host error here rather than a confused guest later.
func validate(root *Node) error {
	if root.Name != "" {
		return fmt.Errorf("fdt: root node has name %q, want empty", root.Name)
	}
	phandles := map[uint32]string{}
	var walk func(n *Node, path string) error
	walk = func(n *Node, path string) error {
		if n.err != nil {
			return fmt.Errorf("fdt: node %s: %w", path, n.err)
		}
		for i, p := range n.Props {
			if err := checkPropName(p.Name); err != nil {
				return fmt.Errorf("fdt: node %s: %w", path, err)
			}
			for _, q := range n.Props[:i] {
				if q.Name == p.Name {
					return fmt.Errorf("fdt: node %s: duplicate property %q", path, p.Name)
				}
			}
			if p.Name == "phandle" {
				if len(p.Value) != 4 {
					return fmt.Errorf("fdt: node %s: phandle is %d bytes, want 4", path, len(p.Value))
				}
				ph := binary.BigEndian.Uint32(p.Value)
				if ph == 0 || ph == 0xffffffff {
					return fmt.Errorf("fdt: node %s: invalid phandle %#x", path, ph)
				}
				if other, dup := phandles[ph]; dup {
					return fmt.Errorf("fdt: node %s: phandle %#x already used by %s", path, ph, other)
				}
				phandles[ph] = path
			}
		}
		for i, c := range n.Children {
			cpath := path + "/" + c.Name
			if path == "/" {
				cpath = "/" + c.Name
			}
			if err := checkNodeName(c.Name); err != nil {
				return fmt.Errorf("fdt: node %s: %w", cpath, err)
			}
			for _, d := range n.Children[:i] {
				if d.Name == c.Name {
					return fmt.Errorf("fdt: node %s: duplicate node name", cpath)
				}
			}
			if err := walk(c, cpath); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, "/")
}

// checkNodeName enforces §2.2.1: node-name[@unit-address], node-name 1 to 31
// characters from [0-9a-zA-Z,._+-] starting with a letter, unit address
// from the same set.
func checkNodeName(name string) error {
	base, unit, hasUnit := strings.Cut(name, "@")
	switch {
	case base == "":
		return fmt.Errorf("empty node name")
	case len(base) > maxNameLen:
		return fmt.Errorf("node name %q longer than %d characters", base, maxNameLen)
	case !isLetter(base[0]):
		return fmt.Errorf("node name %q does not start with a letter", name)
	case hasUnit && unit == "":
		return fmt.Errorf("node name %q has an empty unit address", name)
	}
	for _, s := range []string{base, unit} {
		for i := 0; i < len(s); i++ {
			if !isNameChar(s[i]) {
				return fmt.Errorf("node name %q: invalid character %q", name, s[i])
			}
		}
	}
	return nil
}

// checkPropName enforces §2.2.4.1: 1 to 31 characters from
// [0-9a-zA-Z,._+?#-].
func checkPropName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("property name %q: length must be 1 to %d", name, maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isNameChar(c) && c != '?' && c != '#' {
			return fmt.Errorf("property name %q: invalid character %q", name, c)
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isNameChar(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || strings.IndexByte(",._+-", c) >= 0
}
