package cpu

import (
	"encoding/binary"
	"testing"
)

// newSv39Workload returns a hart running a fixed CPU-bound loop in S-mode
// with Sv39 translation on (one 1 GiB identity superpage): loads, stores,
// multiplies, shifts and a branch per 9 instructions, over 64 KiB.
func newSv39Workload(t testing.TB) *CPU {
	const root = ramBase + 0x300000
	loop := prog(
		li(s0, ramBase+0x100000), // restart:
		li(s1, 8192),
		li(a5, 0x9e3779b97f4a7c15),
		ld(a0, s0, 0), // loop:
		add(a0, a0, s1),
		mul(a1, a0, a5),
		srli(a2, a1, 7),
		xor(a0, a1, a2),
		sd(a0, s0, 0),
		addi(s0, s0, 8),
		addi(s1, s1, -1),
		bne(s1, zero, -32),
	)
	loop = append(loop, jal(zero, -int64(4*len(loop))))
	const sentry = ramBase + 0x10000
	boot := prog(
		li(t0, 8<<60|root>>12), csrrw(zero, csrSatp, t0),
		li(t0, 1<<11), csrrw(zero, csrMstatus, t0),
		li(t0, sentry), csrrw(zero, csrMepc, t0),
		mret,
	)
	c := newTestCPU(t, boot)
	for i, w := range loop {
		binary.LittleEndian.PutUint32(c.ram[sentry-ramBase+uint64(4*i):], w)
	}
	// VPN[2] = 2 maps 0x80000000..0xbfffffff to itself, RWX, A and D set.
	binary.LittleEndian.PutUint64(c.ram[root-ramBase+2*8:], (ramBase>>12)<<10|0xcf)
	c.Run(uint64(len(boot)))
	if c.Priv() != PrivS {
		t.Fatalf("workload did not reach S-mode")
	}
	return c
}

// BenchmarkInterpreterSv39 measures interpreter speed on a CPU-bound loop
// with Sv39 on; the MIPS metric is the headline number in BENCHMARKS.md.
func BenchmarkInterpreterSv39(b *testing.B) {
	c := newSv39Workload(b)
	const slice = 1 << 20
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Run(slice)
	}
	b.ReportMetric(float64(slice)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MIPS")
}

// BenchmarkInterpreterSv39Breakpoint is BenchmarkInterpreterSv39 with a
// breakpoint set where the loop never goes: the interpreter's speed
// while a debugger waits for a breakpoint.
func BenchmarkInterpreterSv39Breakpoint(b *testing.B) {
	c := newSv39Workload(b)
	c.SetBreakpoints([]uint64{0x1000})
	const slice = 1 << 20
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.Run(slice); r != StopBudget {
			b.Fatalf("Run = %v", r)
		}
	}
	b.ReportMetric(float64(slice)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MIPS")
}

func TestWorkloadNoAllocs(t *testing.T) {
	c := newSv39Workload(t)
	c.Run(1 << 16) // warm the decode cache and TLB
	if n := testing.AllocsPerRun(5, func() { c.Run(1 << 16) }); n != 0 {
		t.Fatalf("%v allocations per slice in the hot loop", n)
	}
}

// BenchmarkJITSv39 is BenchmarkInterpreterSv39 on the compiled engine.
func BenchmarkJITSv39(b *testing.B) {
	c := newSv39Workload(b)
	if c.EnableJIT(0) != nil {
		b.Skip("no compiled engine on this host")
	}
	const slice = 1 << 20
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Run(slice)
	}
	b.ReportMetric(float64(slice)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MIPS")
}
