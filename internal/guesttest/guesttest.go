// Package guesttest helps tests find their way in the guest programs of
// testdata/ (bare-metal ELF files built by the cross toolchain).
package guesttest

import (
	"debug/elf"
	"encoding/binary"
	"testing"
)

// InstAddr returns the address of the first 32-bit instruction word in
// function fn of the ELF file at path, failing the test if there is
// none. Tests use it to set a breakpoint on an instruction they know the
// program runs.
func InstAddr(t testing.TB, path, fn string, word uint32) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	if text == nil {
		t.Fatalf("%s has no .text", path)
	}
	code, err := text.Data()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name != fn || s.Value < text.Addr {
			continue
		}
		for a := s.Value; a+4 <= s.Value+s.Size && a+4 <= text.Addr+uint64(len(code)); a += 2 {
			if binary.LittleEndian.Uint32(code[a-text.Addr:]) == word {
				return a
			}
		}
	}
	t.Fatalf("%s: no instruction %#08x in %s", path, word, fn)
	return 0
}
