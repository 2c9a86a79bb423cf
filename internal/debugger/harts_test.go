package debugger

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rewindvm/rewind/internal/guesttest"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// raceELF is the bare-metal two-hart guest with an unlocked shared
// counter (testdata/smp-race/race.c).
var raceELF = filepath.Join("..", "..", "testdata", "smp-race", "race.elf")

// raceSchedule has short quanta, so that a few hundred per-hart steps
// cross several hart switches.
var raceSchedule = machine.Schedule{QuantumMin: 97}

func newRaceMachine(t *testing.T, out *bytes.Buffer) *machine.Machine {
	t.Helper()
	prog, err := os.ReadFile(raceELF)
	if err != nil {
		t.Fatal(err)
	}
	m, err := machine.New(machine.Config{RAMSize: 2 << 20, Kernel: prog, Console: out, Harts: 2, Schedule: raceSchedule})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	m.Idle = machine.IdleFast
	return m
}

// raceRecording records race.elf on two harts.
func raceRecording(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "race.rwd")
	var out bytes.Buffer
	m := newRaceMachine(t, &out)
	w, err := rrlog.Create(path, rrlog.Header{Emulator: "rewind test"})
	if err != nil {
		t.Fatal(err)
	}
	rec := replay.Record(m, w, 1_000_000, false)
	res, err := m.Run(100_000_000)
	if err != nil || res.Reason != machine.HaltPowerOff || !strings.Contains(out.String(), "counter=") {
		t.Fatalf("record: %v %v\n%s", res.Reason, err, out.String())
	}
	if err := rec.Finish(res); err != nil {
		t.Fatal(err)
	}
	return path
}

func openRace(t *testing.T, path string, opts Options) *Debugger {
	t.Helper()
	var out bytes.Buffer
	return openOn(t, newRaceMachine(t, &out), path, opts)
}

// hart1Only returns the address of the "fence rw,w" before hart 1 sets
// the done flag: an instruction only hart 1 executes, once.
func hart1Only(t *testing.T) uint64 {
	t.Helper()
	return guesttest.InstAddr(t, raceELF, "main_", 0x0310000f) // fence rw,w
}

type position struct {
	icount uint64
	counts []uint64
	digest [32]byte
}

func here(d *Debugger) position {
	return position{d.ICount(), d.Machine().HartCounts(), d.Machine().Digest()}
}

// Per-hart steps on a recorded two-hart machine: a reverse step of hart 1
// lands where hart 1 has one instruction less and executes next; steps
// forward and back retrace the same positions and states, across hart
// switches; hart 1's last instruction, a WFI long before the end, is
// found back through the snapshots.
func TestStepHart(t *testing.T) {
	path := raceRecording(t)
	d := openRace(t, path, Options{Spacing: 20_000})
	m := d.Machine()

	if err := d.Seek(1_000_003); err != nil {
		t.Fatal(err)
	}
	c := m.Harts[1].ICount()
	st, err := d.StepHartBackward(1)
	if err != nil || st.Kind != StopStep || st.Hart != 1 {
		t.Fatalf("reverse step of hart 1: %+v, %v", st, err)
	}
	if got := m.Harts[1].ICount(); got != c-1 || d.NextHart() != 1 {
		t.Fatalf("reverse step of hart 1 from count %d: count %d, next hart %d", c, got, d.NextHart())
	}

	const n = 400
	var fwd []position
	for i := 0; i < n; i++ {
		fwd = append(fwd, here(d))
		hc := m.Harts[1].ICount()
		st, err := d.StepHart(1)
		if err != nil || st.Kind != StopStep || st.Hart != 1 {
			t.Fatalf("step %d of hart 1: %+v, %v", i, st, err)
		}
		if got := m.Harts[1].ICount(); got != hc+1 || d.NextHart() != 1 {
			t.Fatalf("step %d of hart 1 from count %d: count %d, next hart %d", i, hc, got, d.NextHart())
		}
	}
	switches := 0
	for i := 1; i < n; i++ {
		if fwd[i].icount-fwd[i-1].icount > 1 {
			switches++
		}
	}
	if switches < 3 {
		t.Fatalf("%d steps of hart 1 crossed %d hart switches, want several", n, switches)
	}
	for i := n - 1; i >= 0; i-- {
		st, err := d.StepHartBackward(1)
		if err != nil || st.Kind != StopStep {
			t.Fatalf("reverse step %d of hart 1: %+v, %v", i, st, err)
		}
		got := here(d)
		if got.icount != fwd[i].icount || got.digest != fwd[i].digest {
			t.Fatalf("reverse step back to step %d: icount %d counts %v, forward was at %d counts %v (digests equal: %v)",
				i, got.icount, got.counts, fwd[i].icount, fwd[i].counts, got.digest == fwd[i].digest)
		}
	}
	t.Logf("%d steps of hart 1 from icount %d to %d, %d hart switches", n, fwd[0].icount, fwd[n-1].icount, switches)

	// At the end hart 1 has long been asleep in WFI: its last instruction
	// is found back through the snapshots.
	if err := d.Seek(d.End()); err != nil {
		t.Fatal(err)
	}
	end := here(d)
	if _, err := d.StepHartBackward(1); err != nil {
		t.Fatal(err)
	}
	wfi := d.ICount()
	// Again with snapshots taken between that instruction and the end.
	mid := (wfi + end.icount) / 2
	d = openRace(t, path, Options{Spacing: mid / (mid / 20_000)})
	m = d.Machine()
	if err := d.Seek(d.End()); err != nil {
		t.Fatal(err)
	}
	after := 0
	for _, s := range d.snaps {
		if s.icount > wfi {
			after++
		}
	}
	if after == 0 {
		t.Fatalf("no snapshot between hart 1's last instruction at %d and the end at %d", wfi, end.icount)
	}
	st, err = d.StepHartBackward(1)
	if err != nil || st.Kind != StopStep || d.ICount() != wfi {
		t.Fatalf("reverse step of hart 1 from the end: %+v, %v, at %d, want %d", st, err, d.ICount(), wfi)
	}
	insn := make([]byte, 4)
	pc := m.Harts[1].PC()
	if err := NewTarget(d).ReadMem(pc, insn); err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(insn) != 0x10500073 || m.Harts[1].ICount() != end.counts[1]-1 || d.NextHart() != 1 {
		t.Fatalf("hart 1's last instruction: pc %#x (%x), count %d (at the end %d), next hart %d", pc, insn, m.Harts[1].ICount(), end.counts[1], d.NextHart())
	}
	t.Logf("hart 1's last instruction (wfi at %#x) is %d instructions before the end, %d snapshots after it", pc, end.icount-wfi, after)
	// Forward again: hart 1 sleeps to the end.
	if st, err := d.StepHart(1); err != nil || st.Kind != StopEnd || d.ICount() != end.icount || m.Digest() != end.digest {
		t.Fatalf("step of hart 1 into its last WFI: %+v, %v, icount %d of %d", st, err, d.ICount(), end.icount)
	}
}

// A breakpoint that only hart 1 reaches stops on hart 1, going forward
// and backward, and gdb is told thread 2.
func TestBreakpointOnHart(t *testing.T) {
	path := raceRecording(t)
	d := openRace(t, path, Options{Spacing: 200_000})
	bp := hart1Only(t)
	tg := NewTarget(d)
	d.SetBreakpoints([]uint64{bp})
	st, err := d.Continue(nil)
	if err != nil || st.Kind != StopBreakpoint || st.Hart != 1 || d.Machine().LastHart != 1 {
		t.Fatalf("continue to %#x: %+v, %v", bp, st, err)
	}
	if pc := d.Machine().Harts[1].PC(); pc != bp || d.NextHart() != 1 {
		t.Fatalf("stopped with hart 1 at %#x, next hart %d", pc, d.NextHart())
	}
	hit := st.ICount
	if err := d.Seek(d.End()); err != nil {
		t.Fatal(err)
	}
	st, err = d.ReverseContinue(nil)
	if err != nil || st.Kind != StopBreakpoint || st.Hart != 1 || st.ICount != hit || d.NextHart() != 1 {
		t.Fatalf("reverse-continue to %#x: %+v, %v (forward hit at %d)", bp, st, err, hit)
	}

	// Through the gdb target: the stop is on thread 2, whose registers
	// are the ones read.
	d.SetBreakpoints(nil)
	if err := d.Seek(0); err != nil {
		t.Fatal(err)
	}
	if err := tg.SetBreakpoint(0, bp, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Continue(0, nil); err != nil {
		t.Fatal(err)
	}
	if tg.StopThread() != 2 {
		t.Fatalf("stop thread %d, want 2", tg.StopThread())
	}
	if pc, _ := tg.ReadReg(32); pc != bp {
		t.Fatalf("thread 2 pc %#x, want %#x", pc, bp)
	}
	if err := tg.SelectThread(1); err != nil {
		t.Fatal(err)
	}
	if pc, _ := tg.ReadReg(32); pc != d.Machine().Harts[0].PC() {
		t.Fatalf("thread 1 pc %#x, hart 0 is at %#x", pc, d.Machine().Harts[0].PC())
	}
	var out strings.Builder
	if err := tg.Monitor("when", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "hart 1 (thread 2): icount") || !strings.Contains(out.String(), "(executes next)") {
		t.Fatalf("monitor when:\n%s", out.String())
	}
	t.Logf("monitor when:\n%s", out.String())
	if info := tg.ThreadExtraInfo(2); info != "hart 1, M-mode, running" {
		t.Fatalf("thread 2: %q", info)
	}
}
