package cpu

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/bus"
)

// Compressed encodings for the pair tests (rd, rs in x8..x15 where the
// form needs it).
func cslli(rd reg, sh uint32) uint16 { return uint16(0x2 | (sh&31)<<2 | rd<<7 | (sh>>5)<<12) }
func csrli(rd reg, sh uint32) uint16 { return uint16(0x8001 | (sh&31)<<2 | (rd-8)<<7 | (sh>>5)<<12) }
func cor(rd, rs reg) uint16          { return uint16(0x8c41 | (rd-8)<<7 | (rs-8)<<2) }
func cadd(rd, rs reg) uint16         { return uint16(0x9002 | rd<<7 | rs<<2) }

// two16 packs two compressed instructions into one word, the first at
// the lower address.
func two16(a, b uint16) uint32 { return uint32(a) | uint32(b)<<16 }

// slotAt returns the decoded slot of the instruction at pc (machine
// mode, no translation), after it has run.
func slotAt(t *testing.T, c *CPU, pc uint64) inst {
	t.Helper()
	cp := c.codePages[(pc-ramBase)>>12]
	if cp == nil {
		t.Fatalf("no decoded code at %#x", pc)
	}
	return cp.chunks[(pc&0xfff)/(2*chunkInsts)][(pc>>1)%chunkInsts]
}

func csd(rs2, rs1 reg, off uint32) uint16 {
	return uint16(0xe000 | (off>>3&7)<<10 | (rs1-8)<<7 | (off>>6&3)<<5 | (rs2-8)<<2)
}

// Where the pair tests keep data, and where a trap goes (to halt).
const (
	fuseData  = ramBase + 0x2000
	fuseTrapV = ramBase + 0x3f00
)

// fuseSetup gives the pairs' source registers values whose results tell
// the operations apart, points s2 and a4 at data (in the TLBs) and s3 at
// no memory, and sends traps to fuseTrapV.
var fuseSetup = prog(
	li(a0, 0x0123_4567_89ab_cdef),
	li(a1, 0x5a5a_5a5a_0f0f_0f0f),
	li(s0, 0x8000_0000_0000_0001),
	li(s1, 0x7f),
	li(s2, fuseData),
	li(a4, fuseData),
	li(s3, 0x1000),
	li(t0, fuseTrapV),
	csrrw(zero, csrMtvec, t0),
	ld(t1, s2, 0), // the pairs' accesses hit the TLBs
	sd(t1, s2, 0),
)

// newFuseCPU is newTestCPU for a pair test, with 16 KiB of RAM: data at
// fuseData (its first doubleword points 64 bytes further on) and halt at
// fuseTrapV.
func newFuseCPU(t *testing.T, code []uint32) *CPU {
	b := bus.New(ramBase, 16<<10)
	for i, w := range code {
		binary.LittleEndian.PutUint32(b.RAM[4*i:], w)
	}
	c := New(b)
	c.SetPC(ramBase)
	for i := uint64(0); i < 256; i += 8 {
		binary.LittleEndian.PutUint64(c.ram[fuseData-ramBase+i:], 0x8877_6655_f433_2211+i*0x0101_0101)
	}
	binary.LittleEndian.PutUint64(c.ram[fuseData-ramBase:], fuseData+64)
	binary.LittleEndian.PutUint32(c.ram[fuseTrapV-ramBase:], halt)
	return c
}

// The pairs the interpreter fuses, and pairs that look like them but do
// not fuse. Each runs as a whole (fused) and one instruction per Run (a
// pair cannot run at the limit: its first instruction runs alone), and
// the states must agree after every instruction.
func TestFusedPairs(t *testing.T) {
	tests := []struct {
		name string
		pair []uint32 // starts the tail; the rest runs after it
		want op       // the op of the pair's first slot
	}{
		{"lui+addi", prog(lui(a2, 0x12345000), addi(a2, a2, -0x555)), opFuseLI},
		{"lui+addi negative", prog(lui(a2, -0x80000000), addi(a2, a2, 0x7ff)), opFuseLI},
		{"lui+addi largest", prog(lui(a2, 0x7ffff000), addi(a2, a2, 0x7ff)), opFuseLI},
		{"lui+addi overflows 32 bits", prog(lui(a2, -0x80000000), addi(a2, a2, -1)), opLUI},
		{"lui+addiw wraps", prog(lui(a2, -0x80000000), addiw(a2, a2, -1)), opFuseLI},
		{"lui+addi other rd", prog(lui(a2, 0x12345000), addi(a3, a2, 1)), opLUI},
		{"lui x0+addi", prog(lui(zero, 0x12345000), addi(zero, zero, 1)), opLUI},
		{"auipc+addi", prog(auipc(a2, -0x1000), addi(a2, a2, 0x7f0)), opFuseLA},
		{"auipc+jalr call", prog(auipc(ra, 0), jalr(ra, ra, 12), addi(a4, a4, 1000)), opFuseCall},
		{"auipc+jalr jump", prog(auipc(t0, 0x1000), jalr(zero, t0, -0x1000+12), addi(a4, a4, 1000)), opFuseCall},
		{"auipc+jalr other base", prog(auipc(t0, 0), jalr(ra, t1, 12)), opAUIPC},
		{"slli+or rotate", prog(slli(a2, a0, 13), or(a2, a2, a1)), opFuseSLLIOr},
		{"srli+xor", prog(srli(a2, a0, 7), xor(a2, a1, a2)), opFuseSRLIXor},
		{"slli+add index", prog(slli(a2, a1, 3), add(a3, a0, a2)), opFuseSLLIAdd},
		{"slli+add into source", prog(slli(a2, a0, 2), add(a0, a2, a0)), opFuseSLLIAdd},
		{"slli+add same register twice", prog(slli(a2, a0, 60), add(a2, a2, a2)), opFuseSLLIAdd},
		{"slliw+or", prog(slliw(a2, s0, 31), or(a2, a2, a1)), opFuseSLLIWOr},
		{"srliw+xor", prog(srliw(a2, s0, 1), xor(a3, a2, a0)), opFuseSRLIWXor},
		{"srli+add", prog(srli(a2, s0, 63), add(a2, a2, s1)), opFuseSRLIAdd},
		{"slli+or not reading it", prog(slli(a2, a0, 13), or(a3, a1, a0)), opSLLI},
		{"slli+sub", prog(slli(a2, a0, 13), sub(a2, a2, a1)), opSLLI},
		{"c.slli+c.or", prog(two16(cslli(a2, 5), cor(a2, a1))), opFuseSLLIOr},
		{"c.srli+c.add", prog(two16(csrli(s0, 33), cadd(s0, s1))), opFuseSRLIAdd},
		{"slli+c.or", prog(slli(a2, a0, 40), two16(cor(a2, a0), 0x0001)), opFuseSLLIOr},
		{"lw+addi", prog(lw(a2, s2, 12), addi(s2, s2, 4)), opFuseLWAddi},
		{"lw+addi of the loaded value", prog(lw(a2, s2, 12), addi(a3, a2, 1)), opFuseLWAddi},
		{"ld+addi", prog(ld(a2, s2, 8), addi(s2, s2, 8)), opFuseLDAddi},
		{"ld+addi into its base", prog(ld(s2, s2, 0), addi(a3, s2, -8)), opFuseLDAddi},
		{"sw+addi", prog(sw(a0, s2, 20), addi(s2, s2, 4)), opFuseSWAddi},
		{"sd+addi", prog(sd(a0, s2, 24), addi(a3, s2, 24)), opFuseSDAddi},
		{"ld+ld", prog(ld(a2, s2, 8), ld(a3, s2, 16)), opFuseLDLD},
		{"ld+ld through the first", prog(ld(a2, s2, 0), ld(a3, a2, 8)), opFuseLDLD},
		{"ld+ld same register", prog(ld(a2, s2, 8), ld(a2, s2, 16)), opFuseLDLD},
		{"sd+sd", prog(sd(a0, s2, 8), sd(a1, s2, 16)), opFuseSDSD},
		{"sd+sd same address", prog(sd(a0, s2, 8), sd(a1, s2, 8)), opFuseSDSD},
		{"c.sd+c.sd", prog(two16(csd(a0, a4, 8), csd(a1, a4, 16))), opFuseSDSD},
		{"c.sd+c.sd second faults", prog(two16(csd(a0, a4, 8), csd(a1, s1, 0))), opFuseSDSD},
		{"sw+addi faults", prog(sw(a0, s3, 0), addi(s2, s2, 4)), opFuseSWAddi},
		{"ld+ld first faults", prog(ld(a2, s3, 0), ld(a3, s2, 8)), opFuseLDLD},
		{"ld+ld second faults", prog(ld(a2, s2, 8), ld(a3, s3, 0)), opFuseLDLD},
		{"ld+ld second misaligned", prog(ld(a2, s2, 8), ld(a3, s2, 3)), opFuseLDLD},
		{"sd+sd second faults", prog(sd(a0, s2, 8), sd(a1, s3, 0)), opFuseSDSD},
		{"sd+sd first misaligned", prog(sd(a0, s2, 4), sd(a1, s2, 16)), opFuseSDSD},
		{"lw+addi faults", prog(lw(a2, s3, 0), addi(s2, s2, 4)), opFuseLWAddi},
		{"sw+addi misaligned", prog(sw(a0, s2, 2), addi(s2, s2, 4)), opFuseSWAddi},
		{"ld+sd", prog(ld(a2, s2, 8), sd(a2, s2, 16)), opLD},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := prog(fuseSetup, tc.pair, addi(a5, a2, 1), ld(a6, s2, 8), ld(a7, s2, 16), halt)
			pairPC := ramBase + 4*uint64(len(fuseSetup))
			steps := uint64(len(code) + 2)
			stepped := newFuseCPU(t, code)
			states := []State{stepped.Save()}
			for range steps {
				stepped.Run(1)
				states = append(states, stepped.Save())
			}
			for n := range steps + 1 {
				c := newFuseCPU(t, code)
				c.Run(n)
				if diff := cmp.Diff(states[n], c.Save()); diff != "" {
					t.Fatalf("Run(%d) differs from %d single steps (-stepped +whole):\n%s", n, n, diff)
				}
				if !bytes.Equal(c.ram, stepped.ram) && n == steps {
					t.Fatalf("RAM differs after Run(%d) and %d single steps", n, n)
				}
			}
			whole := newFuseCPU(t, code)
			whole.Run(steps)
			if got := slotAt(t, whole, pairPC).op; got != tc.want {
				t.Errorf("slot at the pair has op %d, want %d", got, tc.want)
			}
		})
	}
}

// Breakpoints and watchpoints see a fused pair as two instructions: a
// breakpoint on the second stops there, resuming from a breakpoint on
// the first stops at one on the second, and a watched store as the
// second of a pair stops right after it.
func TestFusedPairBreakpoint(t *testing.T) {
	code := prog(fuseSetup, slli(a2, a0, 13), or(a2, a2, a1), addi(a3, a2, 1), halt)
	first := ramBase + 4*uint64(len(fuseSetup))
	for _, bps := range [][]uint64{{first + 4}, {first, first + 4}} {
		c := newFuseCPU(t, code)
		c.Run(uint64(len(fuseSetup)) + 2) // the pair, fused
		if got := slotAt(t, c, first).op; got != opFuseSLLIOr {
			t.Fatalf("slot at the pair has op %d, want the fused op %d", got, opFuseSLLIOr)
		}
		shifted := c.Reg(int(a0)) << 13
		c.SetPC(first)
		c.SetReg(int(a2), 0)
		c.SetBreakpoints(bps)
		if bps[0] == first {
			if r := c.Run(100); r != StopBreakpoint || c.PC() != first {
				t.Fatalf("breakpoints %#x: Run = %v at pc %#x, want a stop at %#x", bps, r, c.PC(), first)
			}
			c.SkipBreakpointOnce(first)
		}
		if r := c.Run(100); r != StopBreakpoint || c.PC() != first+4 {
			t.Fatalf("breakpoints %#x: Run = %v at pc %#x, want a stop at %#x", bps, r, c.PC(), first+4)
		}
		if got := c.Reg(int(a2)); got != shifted {
			t.Fatalf("breakpoints %#x: a2 = %#x at the breakpoint, want %#x (the shift alone)", bps, got, shifted)
		}
	}

	// sd, sd in a loop; the second store is watched once the pair has run
	// fused.
	code = prog(fuseSetup, sd(a0, s2, 8), sd(a1, s2, 16), jal(zero, -8))
	c := newFuseCPU(t, code)
	c.Run(uint64(len(fuseSetup)) + 6)
	if got := slotAt(t, c, first).op; got != opFuseSDSD {
		t.Fatalf("slot at the pair has op %d, want the fused op %d", got, opFuseSDSD)
	}
	c.SetWatchpoints([]Watch{{Addr: fuseData + 16, Len: 8, Kind: WatchWrite}})
	n := c.ICount()
	if r := c.Run(100); r != StopWatchpoint {
		t.Fatalf("Run = %v, want StopWatchpoint", r)
	}
	if hit := c.LastWatchHit(); hit.PC != first+4 || c.PC() != first+8 || c.ICount() != n+2 {
		t.Fatalf("watch hit at pc %#x, stopped at pc %#x after %d instructions; want the second store (%#x) done, 2 instructions",
			hit.PC, c.PC(), c.ICount()-n, first+4)
	}
}

// Storing over either instruction of a pair that has run fused makes the
// new instruction run. The store may hit only the upper half of the
// second instruction, 6 bytes after the pair's start (fuseReach).
func TestFusedPairSelfModifying(t *testing.T) {
	const target = 0x400 // the pair: slli a2, a0, 4; or a2, a2, a1; ret
	for _, tc := range []struct {
		name string
		off  int64  // where the store goes, from target
		size uint32 // funct3 of the store: 1 sh, 2 sw
		bits uint32
		want uint64
		op   op // of the pair's slot after the patched call
	}{
		{"first", 0, 2, slli(a2, a0, 8), 0x500 | 0x33, opFuseSLLIOr},
		{"second", 4, 2, xor(a2, a2, a1), 0x50 ^ 0x33, opFuseSLLIXor},
		{"second's upper half", 6, 1, or(a2, a2, a3) >> 16, 0x50 | 0x0c, opFuseSLLIOr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := prog(
				li(a0, 5), li(a1, 0x33), li(a3, 0x0c),
				li(t0, ramBase+target+uint64(tc.off)),
				li(t1, uint64(tc.bits)),
				jal(ra, 0), // patched below: call target
				addi(a4, a2, 0),
				encS(0x23, tc.size, t0, t1, 0),
				jal(ra, 0), // patched below: call target again
				halt,
			)
			c := newTestCPU(t, code)
			callTarget(c, code, target)
			for i, w := range []uint32{slli(a2, a0, 4), or(a2, a2, a1), jalr(zero, ra, 0)} {
				binary.LittleEndian.PutUint32(c.ram[target+4*i:], w)
			}
			c.Run(200)
			if got := slotAt(t, c, ramBase+target).op; got != tc.op {
				t.Errorf("the pair's slot has op %d after the patch, want it fused again (%d)", got, tc.op)
			}
			if got := c.Reg(int(a4)); got != 0x50|0x33 {
				t.Fatalf("a2 = %#x after the first call, want %#x", got, 0x50|0x33)
			}
			if got := c.Reg(int(a2)); got != tc.want {
				t.Fatalf("a2 = %#x after the patched call, want %#x", got, tc.want)
			}
		})
	}
}

// pairRegs is the register pool of random pairs: few, so that the second
// instruction often reads or writes the first's registers. s2 and a4
// point at data.
var pairRegs = []reg{zero, a0, a1, a2, a3, a4, s2}

// randPair returns two instruction words: mostly a pair fusion knows,
// with registers and immediates drawn so that many pairs just miss
// (another register, an immediate that overflows, a misaligned or
// faulting access).
func randPair(r *rand.Rand) (uint32, uint32) {
	rg := func() reg { return pairRegs[r.IntN(len(pairRegs))] }
	imm := func() int64 { return int64(r.IntN(4096)) - 2048 }
	off := func() int64 { // mostly aligned
		if r.IntN(4) == 0 {
			return int64(r.IntN(48)) - 8
		}
		return 8*int64(r.IntN(6)) - 8
	}
	switch r.IntN(8) {
	case 0:
		a := rg()
		return lui(a, int64(r.Uint32())), encI([]uint32{0x13, 0x1b}[r.IntN(2)], 0, a, rg(), imm())
	case 1:
		a := rg()
		return auipc(a, int64(r.Uint32())), addi(a, rg(), imm())
	case 2:
		a := rg()
		return auipc(a, int64(r.IntN(3)-1)<<12), jalr(rg(), a, imm())
	case 3:
		a, sh := rg(), int64(r.IntN(64))
		first := slli(a, rg(), sh)
		switch r.IntN(4) {
		case 1:
			first = srli(a, rg(), sh)
		case 2:
			first = slliw(a, rg(), sh&31)
		case 3:
			first = srliw(a, rg(), sh&31)
		}
		return first, encR(0x33, []uint32{6, 4, 0, 0}[r.IntN(4)], []uint32{0, 0, 0, 0x20}[r.IntN(4)], rg(), a, rg())
	case 4:
		b := []reg{s2, a4, a0}[r.IntN(3)]
		first := []uint32{lw(rg(), b, off()), ld(rg(), b, off()), sw(rg(), b, off()), sd(rg(), b, off())}[r.IntN(4)]
		return first, addi(rg(), []reg{b, b, rg()}[r.IntN(3)], int64(r.IntN(16)))
	case 5:
		b := []reg{s2, a4, a0}[r.IntN(3)]
		return ld(rg(), b, off()), ld(rg(), []reg{b, b, rg()}[r.IntN(3)], off())
	case 6:
		b := []reg{s2, a4, a0}[r.IntN(3)]
		return sd(rg(), b, off()), sd(rg(), []reg{b, b, rg()}[r.IntN(3)], off())
	default: // compressed: c.slli/c.srli + c.or/c.add, or c.sd + c.sd
		rd := reg(10 + r.IntN(5))
		if r.IntN(2) == 0 {
			return two16(csd(rd, a4, uint32(8*r.IntN(4))), csd(reg(10+r.IntN(5)), a4, uint32(8*r.IntN(4)))), halt
		}
		first := cslli(rd, uint32(1+r.IntN(63)))
		if r.IntN(2) == 0 {
			first = csrli(rd, uint32(1+r.IntN(63)))
		}
		second := cor(rd, reg(10+r.IntN(5)))
		if r.IntN(2) == 0 {
			second = cadd(rd, reg(10+r.IntN(5)))
		}
		return two16(first, second), halt
	}
}

// checkPair runs w1, w2 (at the start of a page, traps going to halt)
// from register state drawn from seed, twice over: as a whole (fused
// where the two form a pair) and one instruction per Run. The second
// time round the slot is decoded and the TLBs are warm, so a pair runs
// fused. The states and RAM must agree after each time. It reports
// whether the pair's slot was fused.
func checkPair(t *testing.T, w1, w2 uint32, seed uint64) bool {
	const at = ramBase + 0x1000
	code := make([]uint32, (at-ramBase)/4, (at-ramBase)/4+3)
	code = append(code, w1, w2, halt)
	r := rand.New(rand.NewPCG(seed, 7))
	var regs [32]uint64
	for i := 1; i < 32; i++ {
		switch r.IntN(4) {
		case 0:
			regs[i] = fuseData + uint64(8*r.IntN(8)+r.IntN(2))
		case 1:
			regs[i] = uint64(r.IntN(64))
		default:
			regs[i] = r.Uint64()
		}
	}
	regs[s2], regs[a4] = fuseData, fuseData+8
	var cs [2]*CPU
	for i := range cs {
		cs[i] = newFuseCPU(t, code)
		cs[i].mtvec = fuseTrapV
	}
	for round := range 2 {
		for _, c := range cs {
			for i := 1; i < 32; i++ {
				c.SetReg(i, regs[i])
			}
			c.SetPC(at)
		}
		cs[0].Run(2)
		cs[1].Run(1)
		cs[1].Run(1)
		if diff := cmp.Diff(cs[1].Save(), cs[0].Save()); diff != "" {
			t.Fatalf("%#08x, %#08x (seed %d), round %d: Run(2) differs from two Run(1) (-single +whole):\n%s", w1, w2, seed, round, diff)
		}
		if !bytes.Equal(cs[0].ram, cs[1].ram) {
			t.Fatalf("%#08x, %#08x (seed %d), round %d: RAM differs after Run(2) and two Run(1)", w1, w2, seed, round)
		}
	}
	cp := cs[0].codePages[(at-ramBase)>>12]
	return cp != nil && cp.chunks[0][0].gen == cp.gen && cp.chunks[0][0].op >= opFuseLI
}

// TestFusedPairsRandom runs a fixed set of random pairs through checkPair.
func TestFusedPairsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fused := 0
	const n = 1500
	for i := range n {
		w1, w2 := randPair(r)
		if checkPair(t, w1, w2, uint64(i)) {
			fused++
		}
	}
	t.Logf("%d of %d random pairs ran fused", fused, n)
	if fused < n/3 {
		t.Fatalf("only %d of %d random pairs ran fused: the generator misses the pairs", fused, n)
	}
}

// FuzzFusedPair is checkPair on fuzzed instruction words.
func FuzzFusedPair(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 16 {
		w1, w2 := randPair(r)
		f.Add(w1, w2, uint64(i))
	}
	f.Fuzz(func(t *testing.T, w1, w2 uint32, seed uint64) {
		checkPair(t, w1, w2, seed)
	})
}
