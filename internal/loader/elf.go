package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// ELF64 constants (System V ABI, ELF-64 Object File Format; RISC-V ELF psABI).
const (
	elfMagic    = "\x7fELF"
	elfClass64  = 2
	elfData2LSB = 1
	evCurrent   = 1
	etExec      = 2
	etDyn       = 3
	emRISCV     = 243
	ptLoad      = 1
	pnXNum      = 0xffff
	shtSymtab   = 2
	shtStrtab   = 3
	shnUndef    = 0
	sttSection  = 3
	sttFile     = 4
	stbLocal    = 0

	ehdrSize = 64
	phdrSize = 56
	shdrSize = 64
	symSize  = 24

	zeroChunk = 64 << 10
)

// Segment flags (p_flags).
const (
	PFExec  = 1
	PFWrite = 2
	PFRead  = 4
)

// Segment is one PT_LOAD segment: FileSize bytes from the file at Paddr,
// then MemSize-FileSize zero bytes (bss).
type Segment struct {
	Paddr, Vaddr      uint64
	FileSize, MemSize uint64
	Flags             uint32
}

// elfFile is a validated ELF image: every segment's file bytes are in data.
type elfFile struct {
	entry uint64 // physical
	segs  []Segment
	data  [][]byte // file bytes of segs[i]
}

// LoadELF loads a little-endian ELF64 RISC-V executable (ET_EXEC, or ET_DYN
// loaded where it was linked, without relocation): each PT_LOAD
// segment goes to its physical address (p_paddr) and its bss part
// (p_memsz > p_filesz) is zeroed. The returned entry point is physical: the
// ELF entry translated through the segment whose virtual range holds it (the
// same number for firmware and bare-metal programs, where p_vaddr ==
// p_paddr).
//
// The whole file is validated before anything is written: a malformed ELF
// is an error, never a panic or a partial load. When mem can report its RAM
// range (an InRAM(pa, n uint64) bool method, as *bus.Bus has), every segment
// is also checked against it first.
func LoadELF(mem Memory, data []byte) (entry uint64, segs []Segment, err error) {
	f, err := parseELF(data)
	if err != nil {
		return 0, nil, fmt.Errorf("loader: %w", err)
	}
	if err := f.load(mem); err != nil {
		return 0, nil, fmt.Errorf("loader: %w", err)
	}
	return f.entry, append([]Segment{}, f.segs...), nil
}

func (f *elfFile) load(mem Memory) error {
	if rc, ok := mem.(rangeChecker); ok {
		for _, s := range f.segs {
			if !rc.InRAM(s.Paddr, s.MemSize) {
				return fmt.Errorf("ELF segment at %#x (%d bytes in memory) is outside RAM", s.Paddr, s.MemSize)
			}
		}
	}
	var zeros []byte
	for i, s := range f.segs {
		if err := mem.WriteBytes(s.Paddr, f.data[i]); err != nil {
			return fmt.Errorf("ELF segment at %#x: %w", s.Paddr, err)
		}
		for pa, left := s.Paddr+s.FileSize, s.MemSize-s.FileSize; left > 0; {
			n := min(left, zeroChunk)
			if zeros == nil {
				zeros = make([]byte, zeroChunk)
			}
			if err := mem.WriteBytes(pa, zeros[:n]); err != nil {
				return fmt.Errorf("ELF segment bss at %#x: %w", pa, err)
			}
			pa += n
			left -= n
		}
	}
	return nil
}

// elfHeader holds the ELF header fields the loader uses.
type elfHeader struct {
	typ, machine        uint16
	entry, phoff, shoff uint64
	phentsize, phnum    uint16
	shentsize, shnum    uint16
}

func parseHeader(data []byte) (elfHeader, error) {
	var h elfHeader
	if len(data) < ehdrSize {
		return h, fmt.Errorf("ELF file of %d bytes is shorter than its header", len(data))
	}
	switch {
	case string(data[:4]) != elfMagic:
		return h, fmt.Errorf("not an ELF file (magic %q)", data[:4])
	case data[4] != elfClass64:
		return h, fmt.Errorf("ELF class %d, want ELFCLASS64", data[4])
	case data[5] != elfData2LSB:
		return h, fmt.Errorf("ELF data encoding %d, want little-endian", data[5])
	case data[6] != evCurrent:
		return h, fmt.Errorf("ELF ident version %d, want 1", data[6])
	}
	le := binary.LittleEndian
	h = elfHeader{
		typ:       le.Uint16(data[16:]),
		machine:   le.Uint16(data[18:]),
		entry:     le.Uint64(data[24:]),
		phoff:     le.Uint64(data[32:]),
		shoff:     le.Uint64(data[40:]),
		phentsize: le.Uint16(data[54:]),
		phnum:     le.Uint16(data[56:]),
		shentsize: le.Uint16(data[58:]),
		shnum:     le.Uint16(data[60:]),
	}
	switch {
	case h.machine != emRISCV:
		return h, fmt.Errorf("ELF machine %d, want RISC-V (%d)", h.machine, emRISCV)
	case le.Uint32(data[20:]) != evCurrent:
		return h, fmt.Errorf("ELF version %d, want 1", le.Uint32(data[20:]))
	}
	return h, nil
}

// table checks that count entries of entsize bytes at off lie in the file.
func table(data []byte, what string, off uint64, count, entsize, want uint16) error {
	if count == 0 {
		return nil
	}
	if entsize != want {
		return fmt.Errorf("ELF %s entry size %d, want %d", what, entsize, want)
	}
	if off > uint64(len(data)) || uint64(count)*uint64(want) > uint64(len(data))-off {
		return fmt.Errorf("ELF %s table (%d entries at %#x) runs past the end of the %d-byte file",
			what, count, off, len(data))
	}
	return nil
}

func parseELF(data []byte) (*elfFile, error) {
	h, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	if h.typ != etExec && h.typ != etDyn {
		return nil, fmt.Errorf("ELF type %d is not an executable", h.typ)
	}
	if h.phnum == pnXNum {
		return nil, fmt.Errorf("ELF uses extended program header numbering (unsupported)")
	}
	if err := table(data, "program header", h.phoff, h.phnum, h.phentsize, phdrSize); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	f := &elfFile{}
	for i := 0; i < int(h.phnum); i++ {
		ph := data[h.phoff+uint64(i)*phdrSize:]
		if le.Uint32(ph) != ptLoad {
			continue
		}
		s := Segment{
			Flags:    le.Uint32(ph[4:]),
			Vaddr:    le.Uint64(ph[16:]),
			Paddr:    le.Uint64(ph[24:]),
			FileSize: le.Uint64(ph[32:]),
			MemSize:  le.Uint64(ph[40:]),
		}
		off := le.Uint64(ph[8:])
		switch {
		case off > uint64(len(data)) || s.FileSize > uint64(len(data))-off:
			return nil, fmt.Errorf("ELF segment %d: file range %#x+%#x runs past the end of the %d-byte file",
				i, off, s.FileSize, len(data))
		case s.FileSize > s.MemSize:
			return nil, fmt.Errorf("ELF segment %d: p_filesz %#x > p_memsz %#x", i, s.FileSize, s.MemSize)
		case s.Paddr+s.MemSize < s.Paddr || s.Vaddr+s.MemSize < s.Vaddr:
			return nil, fmt.Errorf("ELF segment %d: %#x+%#x wraps around the address space", i, s.Paddr, s.MemSize)
		case s.MemSize == 0:
			continue
		}
		f.segs = append(f.segs, s)
		f.data = append(f.data, data[off:off+s.FileSize])
	}
	if err := checkOverlap(f.segs); err != nil {
		return nil, err
	}
	f.entry, err = physEntry(h.entry, f.segs)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// checkOverlap rejects segments that share physical bytes.
func checkOverlap(segs []Segment) error {
	idx := make([]int, len(segs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return segs[idx[a]].Paddr < segs[idx[b]].Paddr })
	for k := 1; k < len(idx); k++ {
		p, s := segs[idx[k-1]], segs[idx[k]]
		if p.Paddr+p.MemSize > s.Paddr {
			return fmt.Errorf("ELF segments at %#x+%#x and %#x+%#x overlap", p.Paddr, p.MemSize, s.Paddr, s.MemSize)
		}
	}
	return nil
}

// physEntry translates the ELF entry point (a virtual address) to the
// physical address it is loaded at.
func physEntry(entry uint64, segs []Segment) (uint64, error) {
	for _, s := range segs {
		if entry >= s.Vaddr && entry-s.Vaddr < s.MemSize {
			return s.Paddr + (entry - s.Vaddr), nil
		}
	}
	return 0, fmt.Errorf("ELF entry point %#x is outside every loadable segment", entry)
}

// Symbols returns the defined symbols of an ELF64 RISC-V file's symbol
// tables (SHT_SYMTAB): name -> st_value, for example "tohost" and
// "fromhost" for the HTIF convention of riscv-tests. Section and file
// symbols and undefined symbols are skipped; when a name occurs more than
// once a global or weak definition wins over a local one, otherwise the
// first one wins. A stripped file gives an empty map.
func Symbols(data []byte) (map[string]uint64, error) {
	h, err := parseHeader(data)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	syms := map[string]uint64{}
	if h.shoff == 0 {
		return syms, nil
	}
	if h.shnum == 0 {
		return nil, fmt.Errorf("loader: ELF uses extended section numbering (unsupported)")
	}
	if err := table(data, "section header", h.shoff, h.shnum, h.shentsize, shdrSize); err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	le := binary.LittleEndian
	shdr := func(i uint32) sectionHeader {
		sh := data[h.shoff+uint64(i)*shdrSize:]
		return sectionHeader{
			index: i, typ: le.Uint32(sh[4:]), link: le.Uint32(sh[40:]),
			off: le.Uint64(sh[24:]), size: le.Uint64(sh[32:]), entsize: le.Uint64(sh[56:]),
		}
	}
	global := map[string]bool{}
	for i := uint32(0); i < uint32(h.shnum); i++ {
		sh := shdr(i)
		if sh.typ != shtSymtab {
			continue
		}
		body, err := sh.body(data)
		if err != nil {
			return nil, fmt.Errorf("loader: %w", err)
		}
		if sh.entsize != symSize || len(body)%symSize != 0 {
			return nil, fmt.Errorf("loader: ELF symbol table %d: entry size %d, size %d", i, sh.entsize, len(body))
		}
		if sh.link >= uint32(h.shnum) {
			return nil, fmt.Errorf("loader: ELF symbol table %d links to section %d of %d", i, sh.link, h.shnum)
		}
		strSh := shdr(sh.link)
		if strSh.typ != shtStrtab {
			return nil, fmt.Errorf("loader: ELF symbol table %d links to section %d of type %d, want a string table",
				i, sh.link, strSh.typ)
		}
		strs, err := strSh.body(data)
		if err != nil {
			return nil, fmt.Errorf("loader: %w", err)
		}
		for off := 0; off+symSize <= len(body); off += symSize {
			sym := body[off:]
			nameOff, info, shndx, value := le.Uint32(sym), sym[4], le.Uint16(sym[6:]), le.Uint64(sym[8:])
			if t := info & 0xf; t == sttSection || t == sttFile || shndx == shnUndef {
				continue
			}
			if uint64(nameOff) >= uint64(len(strs)) {
				return nil, fmt.Errorf("loader: ELF symbol name offset %#x outside its string table", nameOff)
			}
			n := bytes.IndexByte(strs[nameOff:], 0)
			if n < 0 {
				return nil, fmt.Errorf("loader: ELF symbol name at %#x is not terminated", nameOff)
			}
			if n == 0 {
				continue
			}
			name := string(strs[int(nameOff) : int(nameOff)+n])
			isGlobal := info>>4 != stbLocal
			if _, seen := syms[name]; !seen || isGlobal && !global[name] {
				syms[name] = value
				global[name] = isGlobal
			}
		}
	}
	return syms, nil
}

// sectionHeader holds the section header fields Symbols uses.
type sectionHeader struct {
	index, typ, link   uint32
	off, size, entsize uint64
}

// body returns the section's bytes. Only sections that are read get this
// check: SHT_NOBITS (.bss) sections describe sizes that are not in the file.
func (sh sectionHeader) body(data []byte) ([]byte, error) {
	if sh.off > uint64(len(data)) || sh.size > uint64(len(data))-sh.off {
		return nil, fmt.Errorf("ELF section %d (%#x+%#x) runs past the end of the file", sh.index, sh.off, sh.size)
	}
	return data[sh.off : sh.off+sh.size], nil
}
