//go:build linux && amd64

package cpu

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"golang.org/x/arch/x86/x86asm"
)

// JITDump writes the compiled engine's code cache to w, for debugging
// the compiler: the shared stubs, then every live compiled block in
// order of guest address, each with its guest instruction words and its
// host code disassembled (Intel syntax). A guest word can be compared
// with the guest binary's own disassembly (riscv64 objdump, or gdb's x/i
// on the recording). It writes nothing but a header if the engine is
// off.
func (c *CPU) JITDump(w io.Writer) error {
	bw := bufio.NewWriter(w)
	j := c.jit
	if j == nil {
		fmt.Fprintf(bw, "# hart %d: the compiled engine is off\n", c.HartID)
		return bw.Flush()
	}
	var bs []*jitBlock
	for _, b := range j.blocks {
		if b.entry != 0 && !b.dead {
			bs = append(bs, b)
		}
	}
	slices.SortFunc(bs, func(x, y *jitBlock) int {
		return cmp.Or(cmp.Compare(x.vpc, y.vpc), cmp.Compare(x.add, y.add))
	})
	s := c.JITStats()
	fmt.Fprintf(bw, "# hart %d: %d compiled blocks live, %d code bytes in use of %d; %+v\n",
		c.HartID, len(bs), j.cur, j.codeSize, s)
	fmt.Fprintf(bw, "\nstubs (exit, exit to the interpreter, dispatch) at %#x:\n", j.codeBase())
	disasmX86(bw, j.code(0, j.stubsLen), uint64(j.codeBase()))
	for _, b := range bs {
		off := int(b.entry - j.codeBase())
		fmt.Fprintf(bw, "\nblock %#x (RAM page %#x), %d instructions, %d code bytes at %#x\n",
			b.vpc, b.page, b.n, b.size, b.entry)
		base := b.page << 12
		if b.hi2 > 0 {
			lo := binary.LittleEndian.Uint16(c.ram[base+uint64(b.lo):])
			hi := binary.LittleEndian.Uint16(c.ram[b.page2<<12:])
			fmt.Fprintf(bw, "  guest %#x: %08x (its upper half from RAM page %#x)\n", b.vpc, uint32(lo)|uint32(hi)<<16, b.page2)
		}
		for o := uint64(b.lo); o < uint64(b.hi) && b.hi2 == 0; {
			lo := binary.LittleEndian.Uint16(c.ram[base+o:])
			va := b.vpc + o - uint64(b.lo)
			if lo&3 != 3 {
				fmt.Fprintf(bw, "  guest %#x: %04x\n", va, lo)
				o += 2
				continue
			}
			fmt.Fprintf(bw, "  guest %#x: %08x\n", va, binary.LittleEndian.Uint32(c.ram[base+o:]))
			o += 4
		}
		disasmX86(bw, j.code(off, off+int(b.size)), uint64(b.entry))
	}
	return bw.Flush()
}

// code returns the code part's bytes [lo, hi) (offsets into it).
func (j *jitState) code(lo, hi int) []byte {
	if j.rw != nil {
		return j.rw[lo:hi]
	}
	return j.mem[j.dataSize+lo : j.dataSize+hi]
}

// disasmX86 writes code (at address pc) one instruction per line.
func disasmX86(w io.Writer, code []byte, pc uint64) {
	for len(code) > 0 {
		in, err := x86asm.Decode(code, 64)
		if err != nil || in.Len == 0 {
			fmt.Fprintf(w, "  %#x  %02x  (bad)\n", pc, code[0])
			code, pc = code[1:], pc+1
			continue
		}
		fmt.Fprintf(w, "  %#x  %-22x  %s\n", pc, code[:in.Len], x86asm.IntelSyntax(in, pc, nil))
		code, pc = code[in.Len:], pc+uint64(in.Len)
	}
}
