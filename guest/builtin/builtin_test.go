package builtin

import (
	"bytes"
	"debug/elf"
	"testing"
)

func TestELFShape(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(ELF))
	if err != nil {
		t.Fatalf("embedded builtin.elf does not parse: %v", err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_RISCV || f.Data != elf.ELFDATA2LSB {
		t.Fatalf("want a little-endian 64-bit RISC-V ELF, got %v %v %v", f.Class, f.Data, f.Machine)
	}
	if f.Entry != 0x80000000 {
		t.Errorf("entry = %#x, want 0x80000000", f.Entry)
	}
	loads := 0
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		loads++
		if p.Paddr < 0x80000000 || p.Paddr+p.Memsz > 0x80000000+(1<<20) {
			t.Errorf("segment %#x+%#x outside the first MiB of RAM", p.Paddr, p.Memsz)
		}
	}
	if loads == 0 {
		t.Fatal("no PT_LOAD segments")
	}
}
