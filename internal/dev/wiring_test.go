// Package dev_test wires the device models together on a real bus the way
// the virt board does, to check that their interfaces compose: PLIC lines
// as device IRQs, bus.Bus as virtio DMA memory, hart interrupt inputs.
package dev_test

import (
	"bytes"
	"testing"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/bus"
	"github.com/rewindvm/rewind/internal/dev/clint"
	"github.com/rewindvm/rewind/internal/dev/plic"
	"github.com/rewindvm/rewind/internal/dev/rtc"
	"github.com/rewindvm/rewind/internal/dev/syscon"
	"github.com/rewindvm/rewind/internal/dev/uart"
	"github.com/rewindvm/rewind/internal/dev/virtio"
	"github.com/rewindvm/rewind/internal/dev/virtio/blk"
	"github.com/rewindvm/rewind/internal/dev/virtio/virtiotest"
	"github.com/rewindvm/rewind/internal/vclock"
)

type hart struct{ mip uint64 }

func (h *hart) SetPending(mask uint64, level bool) {
	if level {
		h.mip |= mask
	} else {
		h.mip &^= mask
	}
}

// QEMU virt memory map.
const (
	clintBase  = 0x2000000
	plicBase   = 0xc000000
	uartBase   = 0x10000000
	virtioBase = 0x10001000
	rtcBase    = 0x101000
	testBase   = 0x100000
	ramBase    = 0x80000000
	uartIRQ    = 10
	rtcIRQ     = 11
	virtioIRQ  = 1
	sCtx       = 1
)

func TestVirtBoardWiring(t *testing.T) {
	var icount uint64
	clock := vclock.New(func() uint64 { return icount }, 0)
	h := &hart{}
	b := bus.New(ramBase, 4<<20)
	var console bytes.Buffer
	var powerOff []syscon.Kind

	p := plic.New([]plic.Hart{h})
	c := clint.New(clock, []clint.Hart{h}, 10_000_000)
	u := uart.New(&console, p.Line(uartIRQ))
	r := rtc.New(clock, p.Line(rtcIRQ), 1_700_000_000_000_000_000)
	s := syscon.New(func(k syscon.Kind, code int) { powerOff = append(powerOff, k) })
	disk, _ := block.NewMemory(bytes.Repeat([]byte{0xab}, 8*512), true)
	vblk := virtio.NewMMIO(b, p.Line(virtioIRQ), blk.New(block.NewOverlay(disk), "rewind-vda"))
	for _, m := range []struct {
		base, size uint64
		name       string
		dev        bus.Device
	}{
		{clintBase, clint.Size, "clint", c},
		{plicBase, plic.Size, "plic", p},
		{uartBase, uart.Size, "uart", u},
		{virtioBase, virtio.Size, "virtio0", vblk},
		{rtcBase, rtc.Size, "rtc", r},
		{testBase, syscon.Size, "test", s},
	} {
		if err := b.Map(m.base, m.size, m.name, m.dev); err != nil {
			t.Fatal(err)
		}
	}
	w32 := func(pa, v uint64) {
		if !b.Write(pa, 4, v) {
			t.Fatalf("write %#x failed", pa)
		}
	}
	r32 := func(pa uint64) uint64 {
		v, ok := b.Read(pa, 4)
		if !ok {
			t.Fatalf("read %#x failed", pa)
		}
		return v
	}
	claim := func() uint64 { return r32(plicBase + plic.RegContext + plic.ContextStride*sCtx + 4) }
	complete := func(id uint64) { w32(plicBase+plic.RegContext+plic.ContextStride*sCtx+4, id) }

	// Linux-like PLIC setup for the S-mode context.
	for _, irq := range []uint64{virtioIRQ, uartIRQ, rtcIRQ} {
		w32(plicBase+4*irq, 1)
	}
	w32(plicBase+plic.RegEnable+plic.EnableStride*sCtx, 1<<virtioIRQ|1<<uartIRQ|1<<rtcIRQ)

	// UART: console output and an RX interrupt through the PLIC.
	for _, ch := range []byte("ok\n") {
		b.Write(uartBase, 1, uint64(ch))
	}
	if console.String() != "ok\n" {
		t.Fatalf("console = %q", console.String())
	}
	b.Write(uartBase+uart.RegIER, 1, uart.IERRDI)
	u.Receive([]byte("x"))
	if h.mip != plic.SEIP || claim() != uartIRQ {
		t.Fatal("UART RX interrupt did not reach the hart")
	}
	if v, _ := b.Read(uartBase, 1); v != 'x' {
		t.Fatalf("RBR = %#x", v)
	}
	complete(uartIRQ)
	if h.mip != 0 {
		t.Fatalf("mip = %#x after UART interrupt handled", h.mip)
	}

	// CLINT timer.
	w32(clintBase+clint.RegMTimeCmp, 10)
	w32(clintBase+clint.RegMTimeCmp+4, 0)
	icount = 1000
	clock.FireDue()
	if h.mip&clint.MTIP == 0 {
		t.Fatal("MTIP not set")
	}
	w32(clintBase+clint.RegMTimeCmp+4, 1)
	if c.Time() != 10 {
		t.Fatalf("mtime = %d", c.Time())
	}

	// RTC alarm through the PLIC.
	w32(rtcBase+rtc.RegIRQEnabled, 1)
	lo := r32(rtcBase + rtc.RegTimeLow)
	hi := r32(rtcBase + rtc.RegTimeHigh)
	alarm := (hi<<32 | lo) + 500
	w32(rtcBase+rtc.RegAlarmHigh, alarm>>32)
	w32(rtcBase+rtc.RegAlarmLow, alarm&0xffffffff)
	icount += 500
	clock.FireDue()
	if claim() != rtcIRQ {
		t.Fatal("RTC alarm did not reach the PLIC")
	}
	w32(rtcBase+rtc.RegClearInterrupt, 1)
	complete(rtcIRQ)

	// virtio-blk read through bus RAM, completing with an interrupt.
	ram := &virtiotest.RAM{Base: b.RAMBase, Data: b.RAM}
	drv := virtiotest.NewDriver(vblk, ram)
	if !drv.Negotiate(virtio.FeatureVersion1 | virtio.FeatureIndirectDesc | blk.FeatureFlush) {
		t.Fatal("negotiation failed")
	}
	q := drv.SetupQueue(0, 64)
	drv.DriverOK()
	hdr := drv.Alloc(16, 8)
	buf := drv.Alloc(512, 8)
	st := drv.Alloc(1, 1)
	ram.Put32(hdr, blk.TypeIn)
	ram.Put64(hdr+8, 3)
	drv.Offer(q, drv.Chain(q, 0,
		virtiotest.Desc{Addr: hdr, Len: 16},
		virtiotest.Desc{Addr: buf, Len: 512, Flags: virtio.DescFlagWrite},
		virtiotest.Desc{Addr: st, Len: 1, Flags: virtio.DescFlagWrite}))
	var dirty []uint64
	b.Observe(func(pa, n uint64) { dirty = append(dirty, pa) })
	w32(virtioBase+virtio.RegQueueNotify, 0)
	if ram.Bytes(st, 1)[0] != blk.StatusOK || !bytes.Equal(ram.Bytes(buf, 512), bytes.Repeat([]byte{0xab}, 512)) {
		t.Fatal("virtio-blk read failed")
	}
	if len(dirty) == 0 {
		t.Fatal("DMA writes not reported to bus observers")
	}
	if claim() != virtioIRQ {
		t.Fatal("virtio interrupt did not reach the PLIC")
	}
	w32(virtioBase+virtio.RegInterruptACK, r32(virtioBase+virtio.RegInterruptStatus))
	complete(virtioIRQ)
	if h.mip&plic.SEIP != 0 {
		t.Fatal("SEIP still set")
	}

	// Power off.
	w32(testBase, syscon.CmdPass)
	if len(powerOff) != 1 || powerOff[0] != syscon.PowerOff {
		t.Fatalf("power-off events = %v", powerOff)
	}
}
