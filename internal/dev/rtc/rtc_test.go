package rtc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/vclock"
)

type fakeIRQ struct{ high bool }

func (f *fakeIRQ) SetLevel(high bool) { f.high = high }

const base = 1_700_000_000_000_000_000 // 2023-11-14 in ns

type rig struct {
	icount uint64
	clock  *vclock.Clock
	irq    *fakeIRQ
	r      *RTC
}

func newRig(t *testing.T) *rig {
	g := &rig{irq: &fakeIRQ{}}
	g.clock = vclock.New(func() uint64 { return g.icount }, 2) // 4 ns per instruction
	g.r = New(g.clock, g.irq, base)
	g.r.Logf = t.Logf
	return g
}

func (g *rig) advanceNs(ns uint64) {
	g.icount += ns / 4
	g.clock.FireDue()
}

func (g *rig) readTime() uint64 {
	lo := g.r.Read(RegTimeLow, 4)
	hi := g.r.Read(RegTimeHigh, 4)
	return hi<<32 | lo
}

func (g *rig) write64(hiReg, loReg uint64, v uint64) {
	g.r.Write(hiReg, 4, v>>32)
	g.r.Write(loReg, 4, v&0xffffffff)
}

func TestTime(t *testing.T) {
	g := newRig(t)
	if got := g.readTime(); got != base {
		t.Fatalf("time = %d, want %d", got, base)
	}
	g.advanceNs(4000)
	if got := g.readTime(); got != base+4000 {
		t.Fatalf("time = %d, want base+4000", got)
	}
	// TIME_HIGH returns the word latched by the last TIME_LOW read.
	lo := g.r.Read(RegTimeLow, 4)
	g.icount += 1 << 40
	if hi := g.r.Read(RegTimeHigh, 4); hi<<32|lo != base+4000 {
		t.Fatal("TIME_HIGH not latched")
	}
	if got := g.r.Now(); got != base+4000+4<<40 {
		t.Fatalf("Now = %d", got)
	}
}

func TestSetTime(t *testing.T) {
	g := newRig(t)
	g.advanceNs(400)
	const set = 42_000_000_000
	g.write64(RegTimeHigh, RegTimeLow, set)
	if got := g.readTime(); got != set {
		t.Fatalf("time = %d, want %d", got, set)
	}
	g.advanceNs(800)
	if got := g.readTime(); got != set+800 {
		t.Fatalf("time = %d, want set+800", got)
	}
}

func TestAlarm(t *testing.T) {
	g := newRig(t)
	g.r.Write(RegIRQEnabled, 4, 1)
	g.write64(RegAlarmHigh, RegAlarmLow, base+1000)
	if g.r.Read(RegAlarmStatus, 4) != 1 {
		t.Fatal("alarm not armed")
	}
	if lo, hi := g.r.Read(RegAlarmLow, 4), g.r.Read(RegAlarmHigh, 4); hi<<32|lo != base+1000 {
		t.Fatal("alarm does not read back")
	}
	g.advanceNs(996)
	if g.irq.high {
		t.Fatal("alarm fired early")
	}
	g.advanceNs(4)
	if !g.irq.high || g.r.Read(RegAlarmStatus, 4) != 0 {
		t.Fatal("alarm did not fire at its time")
	}
	g.r.Write(RegClearInterrupt, 4, 1)
	if g.irq.high {
		t.Fatal("CLEAR_INTERRUPT did not lower the line")
	}

	// An alarm in the past fires at once.
	g.write64(RegAlarmHigh, RegAlarmLow, base)
	if !g.irq.high {
		t.Fatal("past alarm did not fire")
	}
	g.r.Write(RegClearInterrupt, 4, 1)

	// Disabled interrupt: pending but line low until enabled.
	g.r.Write(RegIRQEnabled, 4, 0)
	g.write64(RegAlarmHigh, RegAlarmLow, g.r.Now()+100)
	g.advanceNs(100)
	if g.irq.high {
		t.Fatal("line high with IRQ disabled")
	}
	g.r.Write(RegIRQEnabled, 4, 1)
	if !g.irq.high {
		t.Fatal("enabling did not raise the pending alarm")
	}
	g.r.Write(RegClearInterrupt, 4, 1)

	// CLEAR_ALARM disarms.
	g.write64(RegAlarmHigh, RegAlarmLow, g.r.Now()+100)
	g.r.Write(RegClearAlarm, 4, 1)
	if g.r.Read(RegAlarmStatus, 4) != 0 {
		t.Fatal("CLEAR_ALARM left the alarm armed")
	}
	if _, ok := g.clock.Next(); ok {
		t.Fatal("timer still armed")
	}
	g.advanceNs(1000)
	if g.irq.high {
		t.Fatal("cleared alarm fired")
	}
}

func TestTimeWriteMovesAlarm(t *testing.T) {
	g := newRig(t)
	g.r.Write(RegIRQEnabled, 4, 1)
	g.write64(RegAlarmHigh, RegAlarmLow, base+10_000)
	g.write64(RegTimeHigh, RegTimeLow, base+9_000) // 9000 ns forward
	if when, _ := g.clock.Next(); when != 1000 {
		t.Fatalf("deadline = %d, want 1000", when)
	}
	g.write64(RegTimeHigh, RegTimeLow, base+20_000) // past the alarm
	if !g.irq.high {
		t.Fatal("alarm did not fire when time jumped past it")
	}
}

func TestOddAccesses(t *testing.T) {
	g := newRig(t)
	for off := uint64(0); off < 0x40; off++ {
		for _, size := range []int{1, 2, 4, 8} {
			g.r.Write(off, size, ^uint64(0))
			g.r.Read(off, size)
		}
	}
	// Alarm at max time never overflows the virtual clock.
	g.write64(RegAlarmHigh, RegAlarmLow, ^uint64(0))
}

func TestSaveLoad(t *testing.T) {
	g := newRig(t)
	g.write64(RegTimeHigh, RegTimeLow, base+5_000_000)
	g.r.Read(RegTimeLow, 4)
	g.r.Write(RegIRQEnabled, 4, 1)
	g.write64(RegAlarmHigh, RegAlarmLow, base+5_000_000+800)
	saved := g.r.Save()
	when, _ := g.clock.Next()

	g.r.Write(RegClearAlarm, 4, 1)
	g.r.Write(RegIRQEnabled, 4, 0)
	g.write64(RegTimeHigh, RegTimeLow, 7)
	if err := g.r.Load(saved); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, g.r.Save()); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	if got, ok := g.clock.Next(); !ok || got != when {
		t.Fatalf("deadline after Load = %d, %v; want %d", got, ok, when)
	}
	g.advanceNs(800)
	if !g.irq.high {
		t.Fatal("restored alarm did not fire")
	}
}
