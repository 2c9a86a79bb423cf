// Package uart models the NS16550A serial port of QEMU's virt board
// (base 0x10000000, IRQ 10, reg-shift 0, 1-byte registers).
//
// Register semantics follow the National Semiconductor PC16550D datasheet
// (sections "Registers", "FIFO Interrupt Mode Operation" and Table IV
// "Interrupt Control Functions"):
//
//	off DLAB=0 read  DLAB=0 write  DLAB=1
//	0   RBR          THR           DLL
//	1   IER          IER           DLM
//	2   IIR          FCR
//	3   LCR          LCR
//	4   MCR          MCR
//	5   LSR          (ignored)
//	6   MSR          (ignored)
//	7   SCR          SCR
//
// Interrupt sources in priority order (IIR[3:0]): receiver line status
// (0x6: overrun, cleared by reading LSR), received data available (0x4) or
// character timeout (0xC) (cleared by reading RBR), transmitter holding
// register empty (0x2), modem status (0x0, cleared by reading MSR).
//
// Simplifications, all deterministic:
//   - The transmitter is infinitely fast: a byte written to THR goes to the
//     output writer at once, so LSR.THRE and LSR.TEMT are always 1 and the
//     THRE interrupt condition is re-armed by every THR write. Baud rate,
//     word length, parity and break (LCR) are stored but have no effect.
//   - There is no character-time clock. In FIFO mode, when the RX FIFO
//     holds fewer bytes than the trigger level, the interrupt is reported
//     as a character timeout (IIR 0xC) immediately, as if four character
//     times had passed; at or above the trigger level it is "received data
//     available" (IIR 0x4). So an RX interrupt is pending whenever the FIFO
//     is non-empty and IER.ERBFI is set.
//   - Host input never overruns: the machine asks RxSpace before calling
//     Receive. Parity, framing and break errors never occur. The only
//     overrun possible is a guest looping back more bytes than fit.
//   - Loopback (MCR.LOOP) is modelled: transmitted bytes go to the
//     receiver instead of the output, MSR reflects MCR (CTS=RTS, DSR=DTR,
//     RI=OUT1, DCD=OUT2) and host input is held back (RxSpace is 0).
//     Outside loopback the modem inputs read as CTS, DSR and DCD asserted.
//   - The IRQ line is not gated by MCR.OUT2 (as on QEMU's virt board).
package uart

import (
	"fmt"
	"io"

	"github.com/rewindvm/rewind/internal/bus"
)

// IRQ is the interrupt line into the PLIC (level-triggered).
type IRQ interface{ SetLevel(high bool) }

// Size is the MMIO window size on QEMU virt.
const Size = 0x100

// FIFOSize is the depth of the 16550A receive FIFO.
const FIFOSize = 16

// Register offsets (reg-shift 0).
const (
	RegRBR = 0 // receive buffer (read), THR (write), DLL (DLAB=1)
	RegIER = 1 // interrupt enable, DLM (DLAB=1)
	RegIIR = 2 // interrupt identification (read), FCR (write)
	RegLCR = 3
	RegMCR = 4
	RegLSR = 5
	RegMSR = 6
	RegSCR = 7
)

// IER bits.
const (
	IERRDI  = 0x01 // received data available (and timeout)
	IERTHRI = 0x02 // THR empty
	IERRLSI = 0x04 // receiver line status
	IERMSI  = 0x08 // modem status
)

// IIR values (bits 3:0) and the FIFO-enabled bits 7:6.
const (
	IIRNoInt    = 0x01
	IIRMSI      = 0x00
	IIRTHRI     = 0x02
	IIRRDI      = 0x04
	IIRRLSI     = 0x06
	IIRTimeout  = 0x0c
	IIRFIFOBits = 0xc0
)

// FCR bits.
const (
	FCREnable   = 0x01
	FCRClearRx  = 0x02
	FCRClearTx  = 0x04
	FCRTrigMask = 0xc0
)

// LCR and MCR bits.
const (
	LCRDLAB = 0x80
	MCRDTR  = 0x01
	MCRRTS  = 0x02
	MCROUT1 = 0x04
	MCROUT2 = 0x08
	MCRLoop = 0x10
)

// LSR bits.
const (
	LSRDR   = 0x01 // data ready
	LSROE   = 0x02 // overrun error
	LSRPE   = 0x04 // parity error
	LSRFE   = 0x08 // framing error
	LSRBI   = 0x10 // break interrupt
	LSRTHRE = 0x20 // THR empty
	LSRTEMT = 0x40 // transmitter empty
	LSRFIFO = 0x80 // error in RX FIFO
)

// MSR bits.
const (
	MSRDCTS = 0x01
	MSRDDSR = 0x02
	MSRTERI = 0x04
	MSRDDCD = 0x08
	MSRCTS  = 0x10
	MSRDSR  = 0x20
	MSRRI   = 0x40
	MSRDCD  = 0x80
)

// triggerLevels maps FCR[7:6] to the RX FIFO trigger level.
var triggerLevels = [4]int{1, 4, 8, 14}

// UART is one NS16550A. It is not safe for concurrent use; only the
// machine goroutine touches it.
type UART struct {
	// Logf, if set, receives messages about unusual guest accesses.
	Logf func(format string, args ...any)
	// OnRxDiscard, if set, receives unread input bytes that the guest
	// throws away by clearing the receive FIFO. The machine queues them
	// again, so host input typed ahead of a driver reset is not lost (a
	// real 16550 would drop it; a piped session would then lose the
	// first line).
	OnRxDiscard func(p []byte)
	// OnRxRead, if set, is called when the guest takes a byte from the
	// receiver: there is room again, so the machine can feed waiting
	// host input without waiting for the end of its CPU slice.
	OnRxRead func()

	out io.Writer
	irq IRQ

	rx     [FIFOSize]byte
	rxHead int // index of the oldest byte
	rxLen  int // bytes in the FIFO (at most 1 when FIFOs are disabled)

	ier, lcr, mcr, scr uint8
	dll, dlm           uint8
	fcr                uint8 // FCREnable and FCRTrigMask bits as last programmed
	lsrErr             uint8 // sticky LSR error bits (OE)
	msr                uint8
	thrPending         bool // THRE interrupt condition not yet cleared by an IIR read

	txbuf [1]byte
}

var _ bus.Device = (*UART)(nil)

// New returns a UART in its reset state that writes transmitted bytes to
// out and drives irq. out must never block (buffering is the console
// sink's job); write errors are reported through Logf and otherwise
// ignored, as a real UART cannot tell that nobody listens.
func New(out io.Writer, irq IRQ) *UART {
	u := &UART{out: out, irq: irq}
	u.reset()
	return u
}

func (u *UART) reset() {
	u.rxHead, u.rxLen = 0, 0
	u.ier, u.lcr, u.mcr, u.scr = 0, 0, 0, 0
	u.dll, u.dlm, u.fcr, u.lsrErr = 0, 0, 0, 0
	u.msr = MSRCTS | MSRDSR | MSRDCD
	u.thrPending = false
	u.update()
}

func (u *UART) fifoEnabled() bool { return u.fcr&FCREnable != 0 }
func (u *UART) loopback() bool    { return u.mcr&MCRLoop != 0 }

func (u *UART) capacity() int {
	if u.fifoEnabled() {
		return FIFOSize
	}
	return 1
}

// RxSpace returns how many bytes Receive accepts now: the free space of
// the 16-byte FIFO, or 1 if FIFOs are disabled and RBR is empty. It is 0
// in loopback mode, where the serial input is disconnected.
func (u *UART) RxSpace() int {
	if u.loopback() {
		return 0
	}
	return u.capacity() - u.rxLen
}

// Receive puts host input bytes into the receiver, at most RxSpace() of
// them, and returns how many it took. The caller keeps the rest for later,
// so input is never dropped.
func (u *UART) Receive(p []byte) int {
	n := min(len(p), u.RxSpace())
	for _, b := range p[:n] {
		u.push(b)
	}
	if n > 0 {
		u.update()
	}
	return n
}

func (u *UART) push(b byte) {
	u.rx[(u.rxHead+u.rxLen)%FIFOSize] = b
	u.rxLen++
}

func (u *UART) pop() byte {
	if u.rxLen == 0 {
		return 0
	}
	b := u.rx[u.rxHead]
	u.rxHead = (u.rxHead + 1) % FIFOSize
	u.rxLen--
	return b
}

// pendingIIR returns the highest-priority pending interrupt as IIR[3:0]
// (PC16550D Table IV).
func (u *UART) pendingIIR() uint8 {
	switch {
	case u.ier&IERRLSI != 0 && u.lsrErr != 0:
		return IIRRLSI
	case u.ier&IERRDI != 0 && u.rxLen > 0:
		if u.fifoEnabled() && u.rxLen < triggerLevels[u.fcr>>6] {
			return IIRTimeout
		}
		return IIRRDI
	case u.ier&IERTHRI != 0 && u.thrPending:
		return IIRTHRI
	case u.ier&IERMSI != 0 && u.msr&(MSRDCTS|MSRDDSR|MSRTERI|MSRDDCD) != 0:
		return IIRMSI
	}
	return IIRNoInt
}

// update drives the IRQ line from the interrupt state.
func (u *UART) update() {
	u.irq.SetLevel(u.pendingIIR() != IIRNoInt)
}

// Read implements bus.Device. Accesses wider than one byte read the
// register at off (zero-extended); offsets 8 and up read 0.
func (u *UART) Read(off uint64, size int) uint64 {
	switch off {
	case RegRBR:
		if u.lcr&LCRDLAB != 0 {
			return uint64(u.dll)
		}
		had := u.rxLen > 0
		b := u.pop()
		u.update()
		if had && u.OnRxRead != nil {
			u.OnRxRead()
		}
		return uint64(b)
	case RegIER:
		if u.lcr&LCRDLAB != 0 {
			return uint64(u.dlm)
		}
		return uint64(u.ier)
	case RegIIR:
		iir := u.pendingIIR()
		if iir == IIRTHRI {
			// Reading IIR while it reports THRE clears that condition
			// until the next THR write or THRI enable.
			u.thrPending = false
			u.update()
		}
		if u.fifoEnabled() {
			iir |= IIRFIFOBits
		}
		return uint64(iir)
	case RegLCR:
		return uint64(u.lcr)
	case RegMCR:
		return uint64(u.mcr)
	case RegLSR:
		lsr := u.lsrErr | LSRTHRE | LSRTEMT
		if u.rxLen > 0 {
			lsr |= LSRDR
		}
		if u.lsrErr != 0 {
			u.lsrErr = 0
			u.update()
		}
		return uint64(lsr)
	case RegMSR:
		msr := u.msr
		if msr&0x0f != 0 {
			u.msr &^= 0x0f
			u.update()
		}
		return uint64(msr)
	case RegSCR:
		return uint64(u.scr)
	}
	return 0
}

// Write implements bus.Device. Only the low byte of val is used.
func (u *UART) Write(off uint64, size int, val uint64) {
	v := uint8(val)
	switch off {
	case RegRBR:
		if u.lcr&LCRDLAB != 0 {
			u.dll = v
			return
		}
		u.transmit(v)
	case RegIER:
		if u.lcr&LCRDLAB != 0 {
			u.dlm = v
			return
		}
		u.writeIER(v)
	case RegIIR:
		u.writeFCR(v)
	case RegLCR:
		u.lcr = v
	case RegMCR:
		u.writeMCR(v)
	case RegSCR:
		u.scr = v
	default:
		u.logf("uart: ignored write of %#x at offset %#x", val, off)
	}
}

// transmit sends one THR byte. Writing THR clears the THRE interrupt;
// the byte leaves at once, so THR is empty again and the condition is set
// again.
func (u *UART) transmit(b byte) {
	if u.loopback() {
		if u.rxLen < u.capacity() {
			u.push(b)
		} else {
			u.lsrErr |= LSROE
		}
	} else {
		u.txbuf[0] = b
		if _, err := u.out.Write(u.txbuf[:]); err != nil {
			u.logf("uart: output: %v", err)
		}
	}
	u.thrPending = true
	u.update()
}

// writeIER sets the interrupt enables (bits 7:4 are 0 on a 16550A).
// Enabling THRI while THR is empty (always, here) raises the THRE
// interrupt even if an earlier IIR read had cleared it: Linux's 8250
// driver relies on this in its UART_BUG_THRE probe and in start_tx.
func (u *UART) writeIER(v uint8) {
	v &= 0x0f
	rising := v&IERTHRI != 0 && u.ier&IERTHRI == 0
	u.ier = v
	if rising {
		u.thrPending = true
	} else if v&IERTHRI == 0 {
		u.thrPending = false
	}
	u.update()
}

// writeFCR programs the FIFOs. Per the datasheet, FCR[0] must be 1 for
// the other bits to be written; changing FCR[0] clears both FIFOs.
func (u *UART) writeFCR(v uint8) {
	if (v^u.fcr)&FCREnable != 0 {
		u.discardRx()
	}
	if v&FCREnable == 0 {
		u.fcr = 0
		u.update()
		return
	}
	u.fcr = v & (FCREnable | FCRTrigMask)
	if v&FCRClearRx != 0 {
		u.discardRx()
	}
	// FCRClearTx: the TX FIFO is always empty.
	u.update()
}

// discardRx empties the receive FIFO, handing the bytes to OnRxDiscard.
func (u *UART) discardRx() {
	if u.rxLen > 0 && u.OnRxDiscard != nil {
		p := make([]byte, 0, u.rxLen)
		for u.rxLen > 0 {
			p = append(p, u.pop())
		}
		u.OnRxDiscard(p)
	}
	u.rxHead, u.rxLen = 0, 0
}

func (u *UART) writeMCR(v uint8) {
	u.mcr = v & 0x1f
	var in uint8 = MSRCTS | MSRDSR | MSRDCD
	if u.loopback() {
		in = 0
		if v&MCRRTS != 0 {
			in |= MSRCTS
		}
		if v&MCRDTR != 0 {
			in |= MSRDSR
		}
		if v&MCROUT1 != 0 {
			in |= MSRRI
		}
		if v&MCROUT2 != 0 {
			in |= MSRDCD
		}
	}
	u.setModemInputs(in)
}

// setModemInputs updates MSR[7:4] and latches the delta bits.
func (u *UART) setModemInputs(in uint8) {
	old := u.msr
	changed := (old ^ in) & 0xf0
	delta := old & 0x0f
	if changed&MSRCTS != 0 {
		delta |= MSRDCTS
	}
	if changed&MSRDSR != 0 {
		delta |= MSRDDSR
	}
	if changed&MSRRI != 0 && in&MSRRI == 0 { // trailing edge of RI
		delta |= MSRTERI
	}
	if changed&MSRDCD != 0 {
		delta |= MSRDDCD
	}
	u.msr = in | delta
	u.update()
}

func (u *UART) logf(format string, args ...any) {
	if u.Logf != nil {
		u.Logf(format, args...)
	}
}

// State is the snapshot form of a UART.
type State struct {
	IER, LCR, MCR, SCR uint8
	DLL, DLM           uint8
	// FCR holds the FIFO enable bit and trigger level bits as programmed.
	FCR uint8
	// LSRErr holds the sticky LSR error bits (only OE can occur).
	LSRErr uint8
	MSR    uint8
	// THRPending is the THRE interrupt condition (cleared by an IIR read
	// that reported it).
	THRPending bool
	// RX holds the received bytes not yet read, oldest first.
	RX []byte
}

// Save returns the UART state.
func (u *UART) Save() State {
	s := State{
		IER: u.ier, LCR: u.lcr, MCR: u.mcr, SCR: u.scr, DLL: u.dll, DLM: u.dlm,
		FCR: u.fcr, LSRErr: u.lsrErr, MSR: u.msr, THRPending: u.thrPending,
		RX: make([]byte, 0, u.rxLen),
	}
	for i := 0; i < u.rxLen; i++ {
		s.RX = append(s.RX, u.rx[(u.rxHead+i)%FIFOSize])
	}
	return s
}

// Load restores s and re-drives the IRQ line.
func (u *UART) Load(s State) error {
	if s.IER&^0x0f != 0 || s.MCR&^0x1f != 0 || s.FCR&^(FCREnable|FCRTrigMask) != 0 || s.LSRErr&^LSROE != 0 {
		return fmt.Errorf("uart: load: reserved bits set (IER %#x MCR %#x FCR %#x LSR errors %#x)", s.IER, s.MCR, s.FCR, s.LSRErr)
	}
	if s.FCR&FCREnable == 0 && s.FCR != 0 {
		return fmt.Errorf("uart: load: FCR %#x has a trigger level without FIFOs enabled", s.FCR)
	}
	capacity := 1
	if s.FCR&FCREnable != 0 {
		capacity = FIFOSize
	}
	if len(s.RX) > capacity {
		return fmt.Errorf("uart: load: %d bytes in a %d-byte receiver", len(s.RX), capacity)
	}
	u.ier, u.lcr, u.mcr, u.scr, u.dll, u.dlm = s.IER, s.LCR, s.MCR, s.SCR, s.DLL, s.DLM
	u.fcr, u.lsrErr, u.msr, u.thrPending = s.FCR, s.LSRErr, s.MSR, s.THRPending
	u.rxHead, u.rxLen = 0, copy(u.rx[:], s.RX)
	u.update()
	return nil
}
