package debugger

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// A fresh debugger on a recording with embedded snapshots starts far
// seeks from the nearest one, and lands in exactly the state a straight
// replay reaches, before and after the store's origin.
func TestSeekFromEmbeddedSnapshots(t *testing.T) {
	path := recordingWith(t, 400_000)
	d, _ := open(t, path, Options{Spacing: 300_000, JumpCost: 100_000})
	if n := len(d.p.Snapshots()); n < 3 {
		t.Fatalf("%d embedded snapshots, want at least 3 (errors: %v)", n, d.p.SnapshotErrors())
	}
	end := d.End()
	for _, target := range []uint64{end - 5, end / 2, end / 3, 1_000_001, 17, end * 3 / 4} {
		if err := d.Seek(target); err != nil {
			t.Fatalf("seek %d: %v", target, err)
		}
		if d.ICount() != target {
			t.Fatalf("seek %d landed at %d", target, d.ICount())
		}
		if got, want := d.Machine().Cur().Save(), stateAt(t, path, target); got != want {
			t.Fatalf("state after seek to %d differs from a straight replay (pc %#x vs %#x)", target, got.PC, want.PC)
		}
		if target == end-5 && d.origin() == 0 {
			t.Error("the seek to the end replayed from the start instead of from an embedded snapshot")
		}
	}
	// Digests keep being verified after a jump: replay on from here
	// across at least two digests (one every million instructions).
	if err := d.Seek(end / 3); err != nil {
		t.Fatal(err)
	}
	d.jumpCost = ^uint64(0)
	checked := d.p.Checked
	if err := d.Seek(min(end, d.ICount()+2_500_000)); err != nil {
		t.Fatal(err)
	}
	if d.p.Checked < checked+2 {
		t.Errorf("%d state digests checked replaying 2.5 M instructions after a jump", d.p.Checked-checked)
	}
}

// Reverse execution crosses the start of a store that began at an
// embedded snapshot: reverse-stepi and reverse-continue reach positions
// before it.
func TestReverseAcrossEmbeddedOrigin(t *testing.T) {
	path := recordingWith(t, 400_000)
	ref, _ := open(t, path, Options{Spacing: 200_000})
	d, _ := open(t, path, Options{Spacing: 200_000, JumpCost: 100_000})
	end := d.End()
	if err := d.Seek(end - 10); err != nil {
		t.Fatal(err)
	}
	origin := d.origin()
	if origin == 0 {
		t.Fatal("no jump to an embedded snapshot")
	}
	// Step back over the origin.
	if err := d.Seek(origin + 2); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		st, err := d.StepBackward()
		if err != nil {
			t.Fatal(err)
		}
		if err := ref.Seek(st.ICount); err != nil {
			t.Fatal(err)
		}
		if got, want := d.Machine().Cur().Save(), ref.Machine().Cur().Save(); got != want {
			t.Fatalf("reverse step to %d: pc %#x, reference %#x", st.ICount, got.PC, want.PC)
		}
	}
	// Reverse-continue to a breakpoint whose previous hit is before the
	// current origin: the same stops as a debugger that never jumped.
	if err := d.Seek(end - 10); err != nil {
		t.Fatal(err)
	}
	if err := ref.Seek(end - 10); err != nil {
		t.Fatal(err)
	}
	pc := stateAt(t, path, 1_000_000).PC
	d.SetBreakpoints([]uint64{pc})
	ref.SetBreakpoints([]uint64{pc})
	for i := 0; i < 4; i++ {
		a, err := d.ReverseContinue(nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ref.ReverseContinue(nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.Kind != b.Kind || a.ICount != b.ICount {
			t.Fatalf("reverse-continue %d: %v at %d, reference %v at %d", i, a.Kind, a.ICount, b.Kind, b.ICount)
		}
		if a.Kind == StopBegin {
			break
		}
	}
}

// A recording cut anywhere keeps the snapshots before the cut usable: a
// seek to a point covered by them lands in the state a straight replay of
// the whole recording reaches.
func TestSnapshotsInCutRecording(t *testing.T) {
	path := recordingWith(t, 400_000)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := open(t, path, Options{})
	all := len(full.p.Snapshots())
	rng := rand.New(rand.NewPCG(7, 8))
	used := 0
	for i := 0; i < 6; i++ {
		cut := len(data)/4 + rng.IntN(len(data)*3/4)
		cutPath := filepath.Join(t.TempDir(), "cut.rwd")
		if err := os.WriteFile(cutPath, data[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		d, _ := open(t, cutPath, Options{JumpCost: 100_000})
		snaps := d.p.Snapshots()
		if len(snaps) > all {
			t.Fatalf("cut at %d: %d snapshots, the whole recording has %d", cut, len(snaps), all)
		}
		if len(snaps) == 0 {
			continue
		}
		used++
		last := snaps[len(snaps)-1]
		target := min(last.ICount+1000, d.End())
		if err := d.Seek(target); err != nil {
			t.Fatalf("cut at %d: seek %d: %v", cut, target, err)
		}
		if d.origin() != last.ICount {
			t.Errorf("cut at %d: the seek started at %d, not from the last snapshot before the cut (%d)", cut, d.origin(), last.ICount)
		}
		if got, want := d.Machine().Cur().Save(), stateAt(t, path, target); got != want {
			t.Fatalf("cut at %d: state at %d differs from a straight replay", cut, target)
		}
	}
	if used == 0 {
		t.Fatal("no cut kept a snapshot")
	}
}
