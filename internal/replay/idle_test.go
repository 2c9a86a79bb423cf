package replay

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/rewindvm/rewind/internal/machine"
)

// wfiAtDeadline is a bare-metal M-mode program (flat, at RAM base). Each
// of 64 rounds sets the timer 40 ticks ahead (1 tick = 1 instruction
// here), then runs one more nop than the round before and executes WFI
// with the timer enabled in mie and interrupts off, so WFI returns when
// the timer fires. One round's WFI is the very instruction at which the
// deadline is reached. Then it powers off through the syscon.
//
//	    li   s0, 0x2004000       # mtimecmp
//	    li   s1, 0x200bff8       # mtime
//	    li   t0, 0x80            # mie.MTIE
//	    csrw mie, t0
//	    li   s2, 0               # nops this round
//	    li   s3, 64              # rounds
//	round:
//	    la   t2, wfi_at
//	    slli t3, s2, 2
//	    sub  t2, t2, t3
//	    ld   t1, 0(s1)
//	    addi t1, t1, 40
//	    sd   t1, 0(s0)
//	    jr   t2                  # into the nops, s2 before wfi_at
//	    .rept 64
//	    nop
//	    .endr
//	wfi_at:
//	    wfi
//	    li   t1, -1
//	    sd   t1, 0(s0)           # timer off
//	    addi s2, s2, 1
//	    addi s3, s3, -1
//	    bnez s3, round
//	    li   t0, 0x100000        # syscon: power off
//	    li   t1, 0x5555
//	    sw   t1, 0(t0)
//	1:  j    1b
var wfiAtDeadline = []uint32{
	0x02004437, 0x0200c4b7, 0xff84849b, 0x08000293, 0x30429073, 0x00000913,
	0x04000993, 0x00000397, 0x12038393, 0x00291e13, 0x41c383b3, 0x0004b303,
	0x02830313, 0x00643023, 0x00038067, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013, 0x00000013,
	0x00000013, 0x10500073, 0xfff00313, 0x00643023, 0x00190913, 0xfff98993,
	0xec0996e3, 0x001002b7, 0x00005337, 0x5553031b, 0x0062a023, 0x0000006f,
}

// A hart that goes idle exactly when a timer deadline is reached does not
// warp when recording (the timer fires at the next slice), so the
// recording has no event there; replay must do the same instead of
// calling it a divergence.
func TestReplayIdleAtDeadline(t *testing.T) {
	fw := make([]byte, 4*len(wfiAtDeadline))
	for i, w := range wfiAtDeadline {
		binary.LittleEndian.PutUint32(fw[4*i:], w)
	}
	path, newMachine, digest := recordBare(t, machine.Config{RAMSize: 16 << 20, Firmware: fw, Console: &bytes.Buffer{}}, 5_000, 10_000_000)
	m := newMachine()
	p := playFile(t, m, path)
	if _, err := m.Run(0); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if err := p.Finish(m); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if m.Digest() != digest || p.Verified == 0 {
		t.Fatalf("replay ended with another state (%d digests verified)", p.Verified)
	}
}
