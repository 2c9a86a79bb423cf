package cpu

import (
	"encoding/binary"
	"testing"
)

func csrrs(rd reg, csr uint32, rs1 reg) uint32 {
	return csr<<20 | rs1<<15 | 2<<12 | rd<<7 | 0x73
}

// runCSR runs code at privilege priv with an M-mode trap handler that
// halts, and returns the hart.
func runCSR(t *testing.T, priv uint8, code []uint32) *CPU {
	t.Helper()
	const handler = ramBase + 0x1000
	c := newTestCPU(t, append(code, halt))
	binary.LittleEndian.PutUint32(c.ram[handler-ramBase:], halt)
	c.mtvec = handler
	c.priv = priv
	c.updateCtx()
	c.mcause = 0xdead
	c.Run(uint64(len(code)) + 4)
	return c
}

// The trigger module CSRs exist in M-mode and describe a hart with no
// triggers: tselect is WARL and holds only 0, tdata1 reads type 0 (no
// trigger) with all fields zero, tdata2/3 read 0, tinfo reads 1 (the
// selected trigger does not exist); writes are ignored. From S and U
// they are illegal instructions, as are the debug-mode CSRs and the
// optional tcontrol and mcontext.
func TestTriggerCSRs(t *testing.T) {
	const ones = ^uint64(0)
	for _, tc := range []struct {
		csr  uint32
		name string
		want uint64
	}{
		{csrTselect, "tselect", 0},
		{csrTdata1, "tdata1", 0},
		{csrTdata2, "tdata2", 0},
		{csrTdata3, "tdata3", 0},
		{csrTinfo, "tinfo", 1},
	} {
		for _, v := range []uint64{0, 1, 5, 2<<60 | 1<<6 | 1<<2, ones} {
			// csrrw a0 (old), then csrrs a1 (read back), csrrs with
			// every bit set, read again into a2.
			c := runCSR(t, PrivM, prog(
				li(t0, v),
				csrrw(a0, tc.csr, t0),
				csrrs(a1, tc.csr, zero),
				li(t1, ones),
				csrrs(zero, tc.csr, t1),
				csrrs(a2, tc.csr, zero),
			))
			if c.mcause != 0xdead {
				t.Errorf("%s in M: trap, mcause %d", tc.name, c.mcause)
				continue
			}
			for _, r := range []reg{a0, a1, a2} {
				if got := c.Reg(int(r)); got != tc.want {
					t.Errorf("%s after writing %#x: x%d = %#x, want %#x", tc.name, v, r, got, tc.want)
				}
			}
		}
		for _, priv := range []uint8{PrivS, PrivU} {
			for _, in := range []uint32{csrrs(a0, tc.csr, zero), csrrw(zero, tc.csr, zero)} {
				c := runCSR(t, priv, []uint32{in})
				if c.mcause != CauseIllegalInstruction || c.mtval != uint64(in) || c.mepc != ramBase {
					t.Errorf("%s from privilege %d (%#08x): mcause %d mtval %#x mepc %#x, want an illegal instruction",
						tc.name, priv, in, c.mcause, c.mtval, c.mepc)
				}
			}
		}
	}
	// tcontrol, mcontext and mscontext are optional and absent; 0x7b0-0x7bf
	// are for debug mode only.
	for _, csr := range []uint32{0x7a5, 0x7a8, 0x7aa, 0x7b0, 0x7b1, 0x7b2, 0x7b3} {
		in := csrrs(a0, csr, zero)
		if c := runCSR(t, PrivM, []uint32{in}); c.mcause != CauseIllegalInstruction || c.mtval != uint64(in) {
			t.Errorf("csr %#x in M: mcause %d, want an illegal instruction", csr, c.mcause)
		}
	}
	// gdb reads them through the debug view too.
	c := runCSR(t, PrivU, nil)
	for n, want := range map[uint16]uint64{csrTselect: 0, csrTdata1: 0, csrTinfo: 1} {
		if v, ok := c.ReadCSR(n); !ok || v != want {
			t.Errorf("ReadCSR(%#x) = %#x, %v", n, v, ok)
		}
	}
	if _, ok := c.ReadCSR(0x7b0); ok {
		t.Error("ReadCSR(dcsr) succeeded")
	}
}
