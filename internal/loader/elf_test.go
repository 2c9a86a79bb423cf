package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeRAM is guest RAM for tests. It counts writes and can hide its
// InRAM method (plainMem) to exercise both LoadELF paths.
type fakeRAM struct {
	base   uint64
	b      []byte
	writes int
}

func newFakeRAM(base, size uint64, fill byte) *fakeRAM {
	m := &fakeRAM{base: base, b: make([]byte, size)}
	for i := range m.b {
		m.b[i] = fill
	}
	return m
}

func (m *fakeRAM) InRAM(pa, n uint64) bool {
	return RAM{m.base, uint64(len(m.b))}.Contains(pa, n)
}

func (m *fakeRAM) WriteBytes(pa uint64, p []byte) error {
	if !m.InRAM(pa, uint64(len(p))) {
		return fmt.Errorf("fake RAM: write of %d bytes at %#x outside RAM", len(p), pa)
	}
	m.writes++
	copy(m.b[pa-m.base:], p)
	return nil
}

func (m *fakeRAM) at(pa, n uint64) []byte { return m.b[pa-m.base : pa-m.base+n] }

// plainMem is a Memory without the InRAM ability.
type plainMem struct{ m *fakeRAM }

func (p plainMem) WriteBytes(pa uint64, b []byte) error { return p.m.WriteBytes(pa, b) }

type testSeg struct {
	typ          uint32 // 0 means PT_LOAD
	paddr, vaddr uint64
	data         []byte
	memsz        uint64 // 0 means len(data)
	flags        uint32
}

type testSym struct {
	name  string
	value uint64
	info  byte // bind<<4 | type
	shndx uint16
}

// buildELF assembles a little-endian ELF64 RISC-V executable: header,
// program headers, segment bytes, then .symtab, .strtab, .shstrtab and the
// section headers.
func buildELF(entry uint64, segs []testSeg, syms []testSym) []byte {
	le := binary.LittleEndian
	out := make([]byte, ehdrSize+phdrSize*len(segs))
	copy(out, elfMagic)
	out[4], out[5], out[6] = elfClass64, elfData2LSB, evCurrent
	le.PutUint16(out[16:], etExec)
	le.PutUint16(out[18:], emRISCV)
	le.PutUint32(out[20:], evCurrent)
	le.PutUint64(out[24:], entry)
	le.PutUint64(out[32:], ehdrSize)
	le.PutUint16(out[52:], ehdrSize)
	le.PutUint16(out[54:], phdrSize)
	le.PutUint16(out[56:], uint16(len(segs)))
	for i, s := range segs {
		for len(out)%8 != 0 {
			out = append(out, 0)
		}
		off := uint64(len(out))
		out = append(out, s.data...)
		ph := out[ehdrSize+i*phdrSize:]
		typ := s.typ
		if typ == 0 {
			typ = ptLoad
		}
		memsz := s.memsz
		if memsz == 0 {
			memsz = uint64(len(s.data))
		}
		le.PutUint32(ph, typ)
		le.PutUint32(ph[4:], s.flags)
		le.PutUint64(ph[8:], off)
		le.PutUint64(ph[16:], s.vaddr)
		le.PutUint64(ph[24:], s.paddr)
		le.PutUint64(ph[32:], uint64(len(s.data)))
		le.PutUint64(ph[40:], memsz)
		le.PutUint64(ph[48:], 8)
	}
	if syms == nil {
		return out
	}
	strtab := []byte{0}
	symtab := make([]byte, symSize) // entry 0 is the null symbol
	for _, s := range syms {
		sym := make([]byte, symSize)
		le.PutUint32(sym, uint32(len(strtab)))
		sym[4] = s.info
		le.PutUint16(sym[6:], s.shndx)
		le.PutUint64(sym[8:], s.value)
		symtab = append(symtab, sym...)
		strtab = append(strtab, s.name...)
		strtab = append(strtab, 0)
	}
	shstrtab := []byte("\x00.symtab\x00.strtab\x00.shstrtab\x00")
	type sec struct {
		name, typ, link uint32
		off, size, ent  uint64
	}
	var secs []sec
	add := func(name, typ, link uint32, body []byte, ent uint64) {
		for len(out)%8 != 0 {
			out = append(out, 0)
		}
		secs = append(secs, sec{name, typ, link, uint64(len(out)), uint64(len(body)), ent})
		out = append(out, body...)
	}
	secs = append(secs, sec{}) // SHN_UNDEF
	add(1, shtSymtab, 2, symtab, symSize)
	add(9, shtStrtab, 0, strtab, 0)
	add(17, shtStrtab, 0, shstrtab, 0)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	le.PutUint64(out[40:], uint64(len(out)))
	le.PutUint16(out[58:], shdrSize)
	le.PutUint16(out[60:], uint16(len(secs)))
	le.PutUint16(out[62:], 3)
	for _, s := range secs {
		sh := make([]byte, shdrSize)
		le.PutUint32(sh, s.name)
		le.PutUint32(sh[4:], s.typ)
		le.PutUint64(sh[24:], s.off)
		le.PutUint64(sh[32:], s.size)
		le.PutUint32(sh[40:], s.link)
		le.PutUint64(sh[56:], s.ent)
		out = append(out, sh...)
	}
	return out
}

const (
	stbGlobal = 1
	stbWeak   = 2
	sttFunc   = 2
	sttObject = 1
)

// sampleELF is a two-segment program: code at 0x80000000 and data with a
// 100 KiB bss (more than one zeroing chunk) at 0x80001000.
func sampleELF() []byte {
	code := []byte{0x13, 0x05, 0xa0, 0x02, 0x73, 0x00, 0x10, 0x00} // li a0,42; ebreak
	data := []byte("DATA1234")
	return buildELF(0x80000000, []testSeg{
		{paddr: 0x80000000, vaddr: 0x80000000, data: code, flags: PFRead | PFExec},
		{typ: 4, data: []byte("note")}, // PT_NOTE: ignored
		{paddr: 0x80001000, vaddr: 0x80001000, data: data, memsz: 8 + 100<<10, flags: PFRead | PFWrite},
	}, []testSym{
		{"_start", 0x80000000, stbGlobal<<4 | sttFunc, 1},
		{"tohost", 0x80001000, stbGlobal<<4 | sttObject, 2},
		{"fromhost", 0x80001040, stbGlobal<<4 | sttObject, 2},
		{"dup", 1, stbLocal<<4 | sttObject, 2},
		{"dup", 2, stbGlobal<<4 | sttObject, 2},
		{"dup", 3, stbWeak<<4 | sttObject, 2},
		{"first", 10, stbLocal<<4 | sttObject, 2},
		{"first", 11, stbLocal<<4 | sttObject, 2},
		{".text", 0x80000000, stbLocal<<4 | sttSection, 1},
		{"file.c", 0, stbLocal<<4 | sttFile, 0xfff1},
		{"undefined", 0, stbGlobal<<4 | sttFunc, shnUndef},
		{"abs", 0x1234, stbGlobal<<4 | sttObject, 0xfff1},
	})
}

func TestLoadELF(t *testing.T) {
	elf := sampleELF()
	for _, tt := range []struct {
		name string
		mem  func(m *fakeRAM) Memory
	}{
		{"with InRAM", func(m *fakeRAM) Memory { return m }},
		{"plain Memory", func(m *fakeRAM) Memory { return plainMem{m} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ram := newFakeRAM(0x80000000, 1<<20, 0xaa)
			entry, segs, err := LoadELF(tt.mem(ram), elf)
			if err != nil {
				t.Fatal(err)
			}
			if entry != 0x80000000 {
				t.Errorf("entry = %#x", entry)
			}
			want := []Segment{
				{Paddr: 0x80000000, Vaddr: 0x80000000, FileSize: 8, MemSize: 8, Flags: PFRead | PFExec},
				{Paddr: 0x80001000, Vaddr: 0x80001000, FileSize: 8, MemSize: 8 + 100<<10, Flags: PFRead | PFWrite},
			}
			if diff := cmp.Diff(want, segs); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
			if got := ram.at(0x80000000, 8); !bytes.Equal(got, []byte{0x13, 0x05, 0xa0, 0x02, 0x73, 0x00, 0x10, 0x00}) {
				t.Errorf("code = %x", got)
			}
			if got := ram.at(0x80001000, 8); string(got) != "DATA1234" {
				t.Errorf("data = %q", got)
			}
			if got := ram.at(0x80001008, 100<<10); !bytes.Equal(got, make([]byte, 100<<10)) {
				t.Errorf("bss not zeroed")
			}
			if got := ram.at(0x80000008, 8); !bytes.Equal(got, bytes.Repeat([]byte{0xaa}, 8)) {
				t.Errorf("bytes between segments changed: %x", got)
			}
			if got := ram.at(0x80001008+100<<10, 1); got[0] != 0xaa {
				t.Errorf("byte after bss changed")
			}
		})
	}
}

func TestIsELF(t *testing.T) {
	for _, tt := range []struct {
		data []byte
		want bool
	}{
		{sampleELF(), true},
		{[]byte("\x7fELF"), true},
		{[]byte("\x7fEL"), false},
		{[]byte("RISCV"), false},
		{nil, false},
	} {
		if got := IsELF(tt.data); got != tt.want {
			t.Errorf("IsELF(%q) = %v", tt.data[:min(len(tt.data), 8)], got)
		}
	}
}

func TestLoadELFEntryTranslation(t *testing.T) {
	// A kernel-style ELF: linked high (vaddr), loaded low (paddr).
	elf := buildELF(0xffffffff80000010, []testSeg{
		{paddr: 0x80200000, vaddr: 0xffffffff80000000, data: make([]byte, 64), flags: PFRead | PFExec},
	}, nil)
	ram := newFakeRAM(0x80000000, 4<<20, 0)
	entry, _, err := LoadELF(ram, elf)
	if err != nil {
		t.Fatal(err)
	}
	if entry != 0x80200010 {
		t.Errorf("entry = %#x, want 0x80200010", entry)
	}
}

func TestSymbols(t *testing.T) {
	syms, err := Symbols(sampleELF())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		"_start": 0x80000000, "tohost": 0x80001000, "fromhost": 0x80001040,
		"dup": 2, "first": 10, "abs": 0x1234,
	}
	if diff := cmp.Diff(want, syms); diff != "" {
		t.Errorf("symbols (-want +got):\n%s", diff)
	}
	// No section headers at all (stripped to the bone): empty, no error.
	bare := buildELF(0x80000000, []testSeg{{paddr: 0x80000000, vaddr: 0x80000000, data: []byte{1}}}, nil)
	syms, err = Symbols(bare)
	if err != nil || len(syms) != 0 {
		t.Errorf("Symbols(no sections) = %v, %v", syms, err)
	}
}

// mutate returns a copy of elf with the little-endian value v of size bytes
// written at off.
func mutate(elf []byte, off int, size int, v uint64) []byte {
	out := append([]byte{}, elf...)
	switch size {
	case 1:
		out[off] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(out[off:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(out[off:], uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(out[off:], v)
	}
	return out
}

func TestLoadELFErrors(t *testing.T) {
	good := sampleELF()
	ph0 := ehdrSize              // first program header (code)
	ph2 := ehdrSize + 2*phdrSize // data segment
	overlapping := buildELF(0x80000000, []testSeg{
		{paddr: 0x80000000, vaddr: 0x80000000, data: make([]byte, 16)},
		{paddr: 0x80000008, vaddr: 0x90000000, data: make([]byte, 16)},
	}, nil)
	tests := []struct {
		name string
		elf  []byte
		want string
	}{
		{"empty", nil, "shorter than its header"},
		{"short", good[:63], "shorter than its header"},
		{"magic", mutate(good, 0, 1, 0x7e), "not an ELF file"},
		{"class32", mutate(good, 4, 1, 1), "ELFCLASS64"},
		{"big endian", mutate(good, 5, 1, 2), "little-endian"},
		{"ident version", mutate(good, 6, 1, 0), "ident version"},
		{"machine", mutate(good, 18, 2, 62), "want RISC-V (243)"},
		{"version", mutate(good, 20, 4, 2), "ELF version 2"},
		{"relocatable", mutate(good, 16, 2, 1), "not an executable"},
		{"phentsize", mutate(good, 54, 2, 32), "entry size 32"},
		{"phoff past end", mutate(good, 32, 8, uint64(len(good))), "runs past the end"},
		{"phoff huge", mutate(good, 32, 8, ^uint64(0)-8), "runs past the end"},
		{"phnum xnum", mutate(good, 56, 2, pnXNum), "extended program header"},
		{"phnum too many", mutate(good, 56, 2, 1000), "runs past the end"},
		{"segment offset", mutate(good, ph0+8, 8, uint64(len(good))), "file range"},
		{"segment offset wraps", mutate(good, ph0+8, 8, ^uint64(0)), "file range"},
		{"segment filesz", mutate(good, ph0+32, 8, 1<<40), "file range"},
		{"filesz > memsz", mutate(good, ph0+40, 8, 4), "p_filesz"},
		{"paddr wraps", mutate(good, ph2+24, 8, ^uint64(0)-16), "wraps"},
		{"overlap", overlapping, "overlap"},
		{"entry outside", mutate(good, 24, 8, 0x90000000), "entry point 0x90000000"},
		{"outside RAM", mutate(good, ph2+24, 8, 0x70000000), "outside RAM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ram := newFakeRAM(0x80000000, 1<<20, 0)
			_, _, err := LoadELF(ram, tt.elf)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadELF error = %v, want it to contain %q", err, tt.want)
			}
			if ram.writes != 0 {
				t.Errorf("%d writes before the error", ram.writes)
			}
		})
	}
}

func TestLoadELFWriteError(t *testing.T) {
	// Without InRAM the loader only learns from the write itself.
	elf := buildELF(0x80000000, []testSeg{{paddr: 0x80000000, vaddr: 0x80000000, data: []byte{1, 2}, memsz: 2 << 20}}, nil)
	_, _, err := LoadELF(plainMem{newFakeRAM(0x80000000, 1<<20, 0)}, elf)
	if err == nil || !strings.Contains(err.Error(), "bss at") {
		t.Errorf("LoadELF error = %v", err)
	}
}

func TestSymbolsErrors(t *testing.T) {
	good := sampleELF()
	shoff := int(binary.LittleEndian.Uint64(good[40:]))
	sh1 := shoff + shdrSize // .symtab
	tests := []struct {
		name string
		elf  []byte
		want string
	}{
		{"not ELF", []byte("hello"), "shorter"},
		{"shentsize", mutate(good, 58, 2, 40), "entry size 40"},
		{"shoff past end", mutate(good, 40, 8, uint64(len(good))), "runs past the end"},
		{"shnum zero", mutate(good, 60, 2, 0), "extended section numbering"},
		{"section range", mutate(good, sh1+32, 8, 1<<40), "runs past the end"},
		{"symtab entsize", mutate(good, sh1+56, 8, 16), "entry size 16"},
		{"symtab link", mutate(good, sh1+40, 4, 99), "links to section 99"},
		{"symtab link type", mutate(good, sh1+40, 4, 1), "want a string table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Symbols(tt.elf)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Symbols error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

const gccProgram = `
	.section .text.init, "ax", @progbits
	.globl _start
_start:
	la	t0, tohost
	li	t1, 1
	sd	t1, 0(t0)
1:	j	1b

	.data
msg:	.asciz "hello from the data segment"

	.bss
	.globl buf
buf:	.zero 8192

	.section .tohost, "aw", @progbits
	.align 6
	.globl tohost
tohost:	.dword 0
	.align 6
	.globl fromhost
fromhost: .dword 0
`

// gccLinkScript lays the program out like riscv-tests: code at the RAM base,
// then the HTIF words, data and bss.
const gccLinkScript = `
ENTRY(_start)
SECTIONS {
	. = 0x80000000;
	.text : { *(.text.init) *(.text*) }
	. = ALIGN(0x1000);
	.tohost : { *(.tohost) }
	.data : { *(.data*) *(.sdata*) }
	.bss : { *(.sbss*) *(.bss*) }
}
`

// TestLoadELFGCC cross-checks LoadELF and Symbols against binutils on a
// program built by the RISC-V toolchain, when it is installed.
func TestLoadELFGCC(t *testing.T) {
	gcc, err := exec.LookPath("riscv64-unknown-elf-gcc")
	if err != nil {
		t.Skip("riscv64-unknown-elf-gcc not installed; the hand-built ELF tests still ran")
	}
	tool := func(name string) string { return strings.TrimSuffix(gcc, "gcc") + name }
	dir := t.TempDir()
	src, ldPath := filepath.Join(dir, "p.S"), filepath.Join(dir, "p.ld")
	elfPath, binPath := filepath.Join(dir, "p.elf"), filepath.Join(dir, "p.bin")
	if err := os.WriteFile(src, []byte(gccProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if err := os.WriteFile(ldPath, []byte(gccLinkScript), 0o644); err != nil {
		t.Fatal(err)
	}
	run(gcc, "-march=rv64gc", "-mabi=lp64d", "-nostdlib", "-nostartfiles", "-static",
		"-T", ldPath, "-Wl,--build-id=none", "-o", elfPath, src)
	run(tool("objcopy"), "-O", "binary", elfPath, binPath)

	elf, err := os.ReadFile(elfPath)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	nm := map[string]uint64{}
	for _, line := range strings.Split(run(tool("nm"), elfPath), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 {
			v, err := strconv.ParseUint(f[0], 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			nm[f[2]] = v
		}
	}

	ram := newFakeRAM(0x80000000, 1<<20, 0xaa)
	entry, segs, err := LoadELF(ram, elf)
	if err != nil {
		t.Fatal(err)
	}
	if entry != nm["_start"] || entry != 0x80000000 {
		t.Errorf("entry = %#x, nm says _start = %#x", entry, nm["_start"])
	}
	low := segs[0].Paddr
	for _, s := range segs {
		low = min(low, s.Paddr)
	}
	for _, s := range segs {
		if s.FileSize == 0 {
			continue
		}
		want := flat[s.Paddr-low : s.Paddr-low+s.FileSize]
		if !bytes.Equal(ram.at(s.Paddr, s.FileSize), want) {
			t.Errorf("segment at %#x differs from objcopy -O binary", s.Paddr)
		}
	}
	if got := ram.at(nm["buf"], 8192); !bytes.Equal(got, make([]byte, 8192)) {
		t.Errorf("bss buf at %#x not zeroed", nm["buf"])
	}

	syms, err := Symbols(elf)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"_start", "tohost", "fromhost", "buf", "msg"} {
		if syms[name] != nm[name] || syms[name] == 0 {
			t.Errorf("Symbols()[%q] = %#x, nm says %#x", name, syms[name], nm[name])
		}
	}
}

func FuzzLoadELF(f *testing.F) {
	f.Add(sampleELF())
	f.Add(buildELF(0x80000000, []testSeg{{paddr: 0x80000000, vaddr: 0x80000000, data: []byte{1}}}, nil))
	f.Add(buildELF(0xffffffff80000010, []testSeg{
		{paddr: 0x80200000, vaddr: 0xffffffff80000000, data: make([]byte, 64)},
	}, []testSym{{"tohost", 1, stbGlobal << 4, 1}}))
	f.Add([]byte(elfMagic))
	ram := newFakeRAM(0x80000000, 256<<10, 0) // reused: contents do not matter
	f.Fuzz(func(t *testing.T, data []byte) {
		entry, segs, err := LoadELF(ram, data)
		if err == nil {
			inSeg := false
			for _, s := range segs {
				if !ram.InRAM(s.Paddr, s.MemSize) || s.FileSize > s.MemSize {
					t.Fatalf("accepted bad segment %+v", s)
				}
				inSeg = inSeg || entry >= s.Paddr && entry-s.Paddr < s.MemSize
			}
			if !inSeg {
				t.Fatalf("entry %#x outside the loaded segments", entry)
			}
		}
		_, _ = Symbols(data)
		_, _ = Plan(Config{RAM: RAM{0x80000000, 256 << 10}, Firmware: data, MaxDTBSize: 4096})
	})
}
