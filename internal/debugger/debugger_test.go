package debugger

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rewindvm/rewind/guest/builtin"
	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

func newBuiltin(t *testing.T, out *bytes.Buffer) *machine.Machine {
	t.Helper()
	disk, err := block.NewMemory(make([]byte, 64<<10), false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := machine.New(machine.Config{
		RAMSize: 16 << 20, Kernel: builtin.ELF, Disks: []block.Device{block.NewOverlay(disk)},
		Console: out, AsyncBlock: true, RTCBaseUnixNs: 1e18,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	m.Idle = machine.IdleFast
	return m
}

// recording makes a built-in guest recording with several typed lines.
func recording(t *testing.T) string {
	t.Helper()
	return recordingWith(t, 0)
}

// recordingWith is recording with snapshots embedded every snapEvery
// instructions (0: none).
func recordingWith(t *testing.T, snapEvery uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "d.rwd")
	var out bytes.Buffer
	m := newBuiltin(t, &out)
	// Small chunks, so that a recording cut anywhere keeps the chunks
	// (and snapshots) before the cut however fast it was written.
	w, err := rrlog.Create(path, rrlog.Header{Emulator: "rewind test"}, rrlog.WithChunkSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	rec := replay.Record(m, w, 1_000_000, false)
	if snapEvery > 0 {
		rec.EmbedSnapshots(snapEvery)
	}
	lines := []string{"alpha\r", "disk\r", "beta\r", "gamma\r", "quit\r"}
	seen := 0
	m.BeforeSlice = func() {
		if n := strings.Count(out.String(), "> "); n > seen && len(lines) > 0 {
			seen = n
			m.InjectInput([]byte(lines[0]))
			lines = lines[1:]
		}
	}
	res, err := m.Run(0)
	if err != nil || res.Reason != machine.HaltPowerOff {
		t.Fatalf("record: %v %v\n%s", res.Reason, err, out.String())
	}
	if err := rec.Finish(res); err != nil {
		t.Fatal(err)
	}
	return path
}

func open(t *testing.T, path string, opts Options) (*Debugger, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	return openOn(t, newBuiltin(t, &out), path, opts), &out
}

// openOn replays the recording at path on the fresh machine m, under a
// debugger.
func openOn(t *testing.T, m *machine.Machine, path string, opts Options) *Debugger {
	t.Helper()
	r, err := rrlog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := replay.Play(m, r)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(m, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stateAt replays straight from the start to icount: the reference.
func stateAt(t *testing.T, path string, icount uint64) cpu.State {
	t.Helper()
	var out bytes.Buffer
	m := newBuiltin(t, &out)
	r, err := rrlog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := replay.Play(m, r); err != nil {
		t.Fatal(err)
	}
	m.StopAt = icount
	if _, err := m.Run(0); err != nil {
		t.Fatal(err)
	}
	return m.Cur().Save()
}

func TestSeekMatchesStraightReplay(t *testing.T) {
	path := recording(t)
	d, _ := open(t, path, Options{Spacing: 300_000, Budget: 4 << 20})
	end := d.End()
	if end < 2_000_000 {
		t.Fatalf("recording too short: %d", end)
	}
	targets := []uint64{end * 3 / 4, end / 5, end / 2, 17, end - 1, end / 3, end / 3, 1_000_001}
	for _, target := range targets {
		if err := d.Seek(target); err != nil {
			t.Fatalf("seek %d: %v", target, err)
		}
		if d.ICount() != target {
			t.Fatalf("seek %d landed at %d", target, d.ICount())
		}
		got, want := d.Machine().Cur().Save(), stateAt(t, path, target)
		if got != want {
			t.Fatalf("state after seek to %d differs from a straight replay (pc %#x vs %#x)", target, got.PC, want.PC)
		}
	}
	if d.p.Checked < 5 {
		t.Fatalf("only %d state digests were checked while seeking around", d.p.Checked)
	}
	if n, b := d.Snapshots(); n < 2 || b > 4<<20+8<<20 {
		t.Fatalf("%d snapshots using %d bytes", n, b)
	}
}

func TestReverseStepAndContinue(t *testing.T) {
	path := recording(t)
	d, _ := open(t, path, Options{Spacing: 200_000})
	if err := d.Seek(d.End() / 2); err != nil {
		t.Fatal(err)
	}
	var pcs []uint64
	for i := 0; i < 20; i++ {
		pcs = append(pcs, d.Machine().Cur().PC())
		if _, err := d.StepForward(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 19; i >= 0; i-- {
		if _, err := d.StepBackward(); err != nil {
			t.Fatal(err)
		}
		if pc := d.Machine().Cur().PC(); pc != pcs[i] {
			t.Fatalf("reverse step %d: pc %#x, forward saw %#x", 19-i, pc, pcs[i])
		}
	}

	// A breakpoint on the instruction at the current pc: collect the hits
	// going forward, then find them again going backward.
	bp := pcs[0]
	if err := d.Seek(0); err != nil {
		t.Fatal(err)
	}
	d.SetBreakpoints([]uint64{bp})
	var hits []uint64
	for len(hits) < 50 {
		st, err := d.Continue(nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Kind != StopBreakpoint {
			break
		}
		if d.Machine().Cur().PC() != bp {
			t.Fatalf("stopped at %#x, breakpoint at %#x", d.Machine().Cur().PC(), bp)
		}
		hits = append(hits, st.ICount)
	}
	if len(hits) < 3 {
		t.Fatalf("breakpoint hit %d times", len(hits))
	}
	for i := len(hits) - 2; i >= len(hits)-3; i-- {
		st, err := d.ReverseContinue(nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Kind != StopBreakpoint || st.ICount != hits[i] {
			t.Fatalf("reverse-continue stopped %v at %d, want the hit at %d", st.Kind, st.ICount, hits[i])
		}
	}
	d.SetBreakpoints(nil)
	if st, _ := d.ReverseContinue(nil); st.Kind != StopBegin {
		t.Fatalf("reverse-continue without breakpoints: %v", st.Kind)
	}
}

func TestReverseWatchpoint(t *testing.T) {
	path := recording(t)
	d, _ := open(t, path, Options{Spacing: 250_000})
	if err := d.Seek(d.End() / 2); err != nil {
		t.Fatal(err)
	}
	// Watch the word just below the stack pointer: the guest's calls
	// write it over and over.
	sp := d.Machine().Cur().Reg(2)
	addr := sp - 8
	d.SetWatchpoints([]cpu.Watch{{Addr: addr, Len: 8, Kind: cpu.WatchWrite}})
	st, err := d.ReverseContinue(nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kind != StopWatchpoint || st.Watch.Addr != addr {
		t.Fatalf("reverse-continue: %+v", st)
	}
	// Going backward the stop is at the writing instruction, before it.
	if pc := d.Machine().Cur().PC(); pc != st.Watch.PC {
		t.Fatalf("stopped at pc %#x, the writer is %#x", pc, st.Watch.PC)
	}
	before := make([]byte, 8)
	tgt := NewTarget(d)
	if err := tgt.ReadMem(addr, before); err != nil {
		t.Fatal(err)
	}
	fwd, err := d.StepForwardWatched()
	if err != nil || fwd.Kind != StopWatchpoint {
		t.Fatalf("stepping over the writer: %+v %v", fwd, err)
	}
	after := make([]byte, 8)
	if err := tgt.ReadMem(addr, after); err != nil {
		t.Fatal(err)
	}
	t.Logf("value before %x, after %x", before, after)
	// last-write finds the same instruction through the physical address.
	pa, _ := d.Machine().Cur().Translate(addr)
	lw, err := d.LastWrite(pa, 8)
	if err != nil || lw.Kind != StopWatchpoint || d.Machine().Cur().PC() != st.Watch.PC {
		t.Fatalf("last-write: %+v %v at pc %#x", lw, err, d.Machine().Cur().PC())
	}
}
