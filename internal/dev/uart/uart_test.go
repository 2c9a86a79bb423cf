package uart

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type fakeIRQ struct{ high bool }

func (f *fakeIRQ) SetLevel(high bool) { f.high = high }

func newUART(t *testing.T) (*UART, *bytes.Buffer, *fakeIRQ) {
	var out bytes.Buffer
	irq := &fakeIRQ{}
	u := New(&out, irq)
	u.Logf = t.Logf
	return u, &out, irq
}

func rd(u *UART, off uint64) uint8    { return uint8(u.Read(off, 1)) }
func wr(u *UART, off uint64, v uint8) { u.Write(off, 1, uint64(v)) }

func TestResetState(t *testing.T) {
	u, _, irq := newUART(t)
	for _, tc := range []struct {
		off  uint64
		want uint8
	}{
		{RegIER, 0}, {RegIIR, IIRNoInt}, {RegLCR, 0}, {RegMCR, 0},
		{RegLSR, LSRTHRE | LSRTEMT}, {RegMSR, MSRCTS | MSRDSR | MSRDCD}, {RegSCR, 0},
		{8, 0}, {0xff, 0},
	} {
		if got := rd(u, tc.off); got != tc.want {
			t.Errorf("reg %d = %#x, want %#x", tc.off, got, tc.want)
		}
	}
	if irq.high {
		t.Error("IRQ high at reset")
	}
	if got := u.RxSpace(); got != 1 {
		t.Errorf("RxSpace = %d, want 1", got)
	}
}

func TestTransmitAndDivisor(t *testing.T) {
	u, out, _ := newUART(t)
	for _, b := range []byte("hi\n") {
		wr(u, RegRBR, b)
	}
	wr(u, RegLCR, LCRDLAB|0x03)
	wr(u, RegRBR, 0x01) // DLL, not transmitted
	wr(u, RegIER, 0x00) // DLM
	if rd(u, RegRBR) != 0x01 || rd(u, RegIER) != 0 {
		t.Error("divisor latch did not read back")
	}
	wr(u, RegLCR, 0x03)
	wr(u, RegRBR, '!')
	wr(u, RegSCR, 0x5a)
	if got := out.String(); got != "hi\n!" {
		t.Errorf("output = %q", got)
	}
	if rd(u, RegSCR) != 0x5a || rd(u, RegLCR) != 0x03 {
		t.Error("SCR/LCR did not read back")
	}
}

// The sequence of Linux's serial8250_do_startup UART_BUG_THRE probe and
// the start/stop_tx dance.
func TestTHREInterrupt(t *testing.T) {
	u, _, irq := newUART(t)
	wr(u, RegIER, IERTHRI)
	if !irq.high {
		t.Fatal("no IRQ after enabling THRI with THR empty")
	}
	if got := rd(u, RegIIR); got != IIRTHRI {
		t.Fatalf("IIR = %#x, want THRI", got)
	}
	if irq.high || rd(u, RegIIR) != IIRNoInt {
		t.Fatal("reading IIR did not clear the THRE interrupt")
	}
	wr(u, RegIER, 0)
	wr(u, RegIER, IERTHRI)
	if got := rd(u, RegIIR); got != IIRTHRI {
		t.Fatalf("THRE not re-asserted on re-enable: IIR = %#x", got)
	}
	// Rewriting IER with THRI still set is not a rising edge.
	wr(u, RegIER, IERTHRI|IERRDI)
	if irq.high {
		t.Fatal("IER rewrite without THRI edge raised THRE")
	}
	// A THR write re-arms the condition (the byte leaves at once).
	wr(u, RegRBR, 'x')
	if !irq.high || rd(u, RegIIR) != IIRTHRI {
		t.Fatal("THR write did not re-arm THRE")
	}
	// Disabling THRI drops the line.
	wr(u, RegRBR, 'y')
	wr(u, RegIER, IERRDI)
	if irq.high {
		t.Fatal("IRQ high after disabling THRI")
	}
}

func TestReceiveNoFIFO(t *testing.T) {
	u, _, irq := newUART(t)
	wr(u, RegIER, IERRDI)
	if n := u.Receive([]byte("ab")); n != 1 {
		t.Fatalf("Receive took %d bytes, want 1", n)
	}
	if u.RxSpace() != 0 || u.Receive([]byte("b")) != 0 {
		t.Fatal("receiver accepted a second byte without FIFO")
	}
	if !irq.high || rd(u, RegIIR) != IIRRDI {
		t.Fatal("no RDA interrupt")
	}
	if rd(u, RegLSR)&LSRDR == 0 {
		t.Fatal("LSR.DR clear with data")
	}
	if got := rd(u, RegRBR); got != 'a' {
		t.Fatalf("RBR = %q", got)
	}
	if irq.high || rd(u, RegLSR)&LSRDR != 0 || rd(u, RegIIR) != IIRNoInt {
		t.Fatal("interrupt or DR still set after reading RBR")
	}
	if u.RxSpace() != 1 {
		t.Fatal("RxSpace not back to 1")
	}
	if rd(u, RegRBR) != 0 {
		t.Fatal("empty RBR read nonzero")
	}
}

func TestFIFO(t *testing.T) {
	u, _, irq := newUART(t)
	wr(u, RegIIR, FCREnable|FCRClearRx|FCRClearTx|0xc0) // trigger 14
	wr(u, RegIER, IERRDI)
	if got := rd(u, RegIIR); got != IIRFIFOBits|IIRNoInt {
		t.Fatalf("IIR = %#x, want FIFO bits and no interrupt", got)
	}
	if got := u.RxSpace(); got != FIFOSize {
		t.Fatalf("RxSpace = %d", got)
	}
	input := []byte("0123456789abcdefXYZ")
	if n := u.Receive(input[:5]); n != 5 {
		t.Fatalf("Receive = %d", n)
	}
	if got := rd(u, RegIIR); got != IIRFIFOBits|IIRTimeout {
		t.Fatalf("below trigger: IIR = %#x, want timeout", got)
	}
	if n := u.Receive(input[5:]); n != 11 {
		t.Fatalf("Receive took %d, want 11 (FIFO full)", n)
	}
	if got := rd(u, RegIIR); got != IIRFIFOBits|IIRRDI {
		t.Fatalf("at trigger: IIR = %#x, want RDA", got)
	}
	var got []byte
	for i := 0; i < 3; i++ {
		got = append(got, rd(u, RegRBR))
	}
	if iir := rd(u, RegIIR); iir != IIRFIFOBits|IIRTimeout {
		t.Fatalf("13 bytes left: IIR = %#x, want timeout", iir)
	}
	for rd(u, RegLSR)&LSRDR != 0 {
		got = append(got, rd(u, RegRBR))
	}
	if string(got) != string(input[:16]) {
		t.Fatalf("read %q", got)
	}
	if irq.high {
		t.Fatal("IRQ high with empty FIFO")
	}

	for _, tc := range []struct {
		fcr  uint8
		trig int
	}{{0x01, 1}, {0x41, 4}, {0x81, 8}, {0xc1, 14}} {
		wr(u, RegIIR, tc.fcr|FCRClearRx)
		u.Receive(input[:tc.trig-1])
		if tc.trig > 1 && rd(u, RegIIR) != IIRFIFOBits|IIRTimeout {
			t.Errorf("FCR %#x: %d bytes not reported as timeout", tc.fcr, tc.trig-1)
		}
		u.Receive(input[:1])
		if rd(u, RegIIR) != IIRFIFOBits|IIRRDI {
			t.Errorf("FCR %#x: %d bytes not reported as RDA", tc.fcr, tc.trig)
		}
	}

	// FCR clear RX; FCR without the enable bit disables and clears.
	wr(u, RegIIR, FCREnable|FCRClearRx)
	if rd(u, RegLSR)&LSRDR != 0 {
		t.Fatal("FCR clear did not empty the FIFO")
	}
	u.Receive([]byte("ab"))
	wr(u, RegIIR, 0xc0) // enable bit clear: FIFOs off, other bits ignored
	if rd(u, RegLSR)&LSRDR != 0 || rd(u, RegIIR) != IIRNoInt || u.RxSpace() != 1 {
		t.Fatal("disabling FIFOs did not clear them")
	}
}

func TestPriorityAndLoopback(t *testing.T) {
	u, out, irq := newUART(t)
	wr(u, RegIIR, FCREnable)
	wr(u, RegMCR, MCRLoop)
	if u.RxSpace() != 0 || u.Receive([]byte("x")) != 0 {
		t.Fatal("host input accepted in loopback mode")
	}
	// MSR follows MCR: all inputs dropped when entering loopback.
	if got := rd(u, RegMSR); got != MSRDCTS|MSRDDSR|MSRDDCD {
		t.Fatalf("MSR = %#x", got)
	}
	if got := rd(u, RegMSR); got != 0 {
		t.Fatalf("MSR deltas not cleared by read: %#x", got)
	}
	wr(u, RegIER, IERRDI|IERTHRI|IERRLSI|IERMSI)
	wr(u, RegMCR, MCRLoop|MCRRTS|MCROUT1) // CTS and RI up: DCTS
	for i := 0; i < FIFOSize+1; i++ {     // 17th byte overruns
		wr(u, RegRBR, byte('a'+i))
	}
	if out.Len() != 0 {
		t.Fatalf("loopback bytes reached the output: %q", out.String())
	}
	want := []uint8{IIRRLSI, IIRRDI, IIRTHRI, IIRMSI, IIRNoInt}
	var got []uint8
	for _, step := range []func(){
		func() {
			if rd(u, RegLSR)&LSROE == 0 {
				t.Error("LSR.OE not set")
			}
		},
		func() {
			for rd(u, RegLSR)&LSRDR != 0 {
				rd(u, RegRBR)
			}
		},
		func() {}, // the IIR read itself clears THRE
		func() { rd(u, RegMSR) },
	} {
		got = append(got, rd(u, RegIIR)&0x0f)
		step()
	}
	got = append(got, rd(u, RegIIR)&0x0f)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("IIR sequence (-want +got):\n%s", diff)
	}
	if irq.high {
		t.Fatal("IRQ still high")
	}
	// RI trailing edge sets TERI.
	wr(u, RegMCR, MCRLoop|MCRRTS)
	if got := rd(u, RegMSR); got != MSRCTS|MSRTERI {
		t.Fatalf("MSR = %#x, want CTS|TERI", got)
	}
	wr(u, RegMCR, 0)
	if got := rd(u, RegMSR); got != MSRCTS|MSRDSR|MSRDCD|MSRDDSR|MSRDDCD {
		t.Fatalf("MSR after leaving loopback = %#x", got)
	}
	if u.RxSpace() != FIFOSize {
		t.Fatal("RxSpace not restored after loopback")
	}
}

func TestOddAccesses(t *testing.T) {
	u, _, _ := newUART(t)
	for off := uint64(0); off < 0x110; off++ {
		for _, size := range []int{1, 2, 4, 8} {
			u.Write(off, size, ^uint64(0))
			u.Read(off, size)
		}
	}
	u.Write(^uint64(0), 1, 0)
	u.Read(^uint64(0), 1)
}

func TestSaveLoad(t *testing.T) {
	u, _, irq := newUART(t)
	wr(u, RegIIR, FCREnable|0x80)
	u.Receive([]byte("0123456789"))
	for i := 0; i < 7; i++ {
		rd(u, RegRBR)
	}
	u.Receive([]byte("abcdefghij")) // wraps around the ring
	wr(u, RegIER, IERRDI|IERTHRI)
	wr(u, RegLCR, 0x1b)
	wr(u, RegSCR, 0x42)
	wr(u, RegMCR, MCRDTR|MCRRTS|MCROUT2)
	saved := u.Save()
	if string(saved.RX) != "789abcdefghij" {
		t.Fatalf("saved RX = %q", saved.RX)
	}
	level := irq.high

	wr(u, RegIIR, 0)
	wr(u, RegIER, 0)
	wr(u, RegSCR, 0)
	if err := u.Load(saved); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, u.Save()); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	if irq.high != level {
		t.Fatal("IRQ level not restored")
	}
	if got := rd(u, RegRBR); got != '7' {
		t.Fatalf("first byte after Load = %q", got)
	}

	for _, bad := range []State{
		{RX: []byte("ab")}, // 2 bytes without FIFO
		{FCR: FCREnable, RX: make([]byte, 17)},
		{IER: 0x10},
		{FCR: 0x40},
		{LSRErr: LSRPE},
	} {
		if u.Load(bad) == nil {
			t.Errorf("Load(%+v) succeeded", bad)
		}
	}
}
