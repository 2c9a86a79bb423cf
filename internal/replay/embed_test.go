package replay

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// TestEmbeddedSnapshotsWhileInputArrives records the built-in guest with
// a snapshot at every digest while lines are typed, so events arrive
// while a snapshot is still being compressed on another goroutine. The
// log must keep its order (each snapshot's pieces right after its
// digest, icounts never decreasing: the writer refuses otherwise), every
// event must be there, and every snapshot must restore to a machine that
// replays to the same end.
func TestEmbeddedSnapshotsWhileInputArrives(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.rwd")
	var buf bytes.Buffer
	m, _, rec := recordingBuiltin(t, path, 100_000, &buf)
	rec.EmbedSnapshots(1) // at every digest where no disk request is in flight
	lines := []string{"hello\r", "disk\r", "help\r", "hello\r", "disk\r", "quit\r"}
	typed := len(strings.Join(lines, ""))
	typeAtPrompts(m, &buf, lines...)
	res, err := m.Run(500_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Finish(res); err != nil {
		t.Fatal(err)
	}
	if n, _ := rec.Snapshots(); n < 3 {
		t.Fatalf("only %d snapshots embedded", n)
	}

	_, evs, _ := readRecording(t, path)
	var prev rrlog.Event
	var input, snaps int
	for _, ev := range evs {
		if ev.Kind == rrlog.KindSnapshot {
			if p, _ := ev.SnapshotPiece(); p.Part == 0 {
				if prev.Kind != rrlog.KindDigest || prev.ICount != ev.ICount {
					t.Fatalf("snapshot at icount %d follows a %v at icount %d, not its digest", ev.ICount, prev.Kind, prev.ICount)
				}
				snaps++
			}
		}
		if ev.Kind == rrlog.KindSerialInput {
			input += len(ev.Data) - 1 // uvarint port 0, then the bytes
		}
		if ev.Kind != rrlog.KindSnapshot || prev.Kind != rrlog.KindSnapshot {
			prev = ev
		}
	}
	if n, _ := rec.Snapshots(); snaps != n || input != typed {
		t.Fatalf("log holds %d snapshots and %d input bytes; recorded %d and typed %d", snaps, input, n, typed)
	}

	// Every snapshot restores, and replay from it ends like the recording.
	want := m.Digest()
	for e := range snaps {
		var out bytes.Buffer
		m2, _ := builtinMachine(t, &out)
		p := playFile(t, m2, path)
		if err := p.RestoreSnapshot(e); err != nil {
			t.Fatalf("snapshot %d: %v", e, err)
		}
		res2, err := m2.Run(0)
		if err == nil {
			err = p.Finish(m2)
		}
		if err != nil || res2.Reason != machine.HaltPowerOff || m2.Digest() != want {
			t.Fatalf("from snapshot %d: %v, %v, digest match %v", e, err, res2.Reason, m2.Digest() == want)
		}
	}
}

// PlayTo reads a recording only up to the snapshot it is given, and the
// segments up to that snapshot verify from what it read.
func TestPlayToStopsAtSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.rwd")
	m, _, rec := recordingBuiltin(t, path, 100_000, new(bytes.Buffer))
	rec.EmbedSnapshots(1)
	// Long enough that most digests come after the boot's disk requests:
	// the guest polls for each completion, and while one is in flight
	// (host time: milliseconds on a loaded machine, millions of
	// instructions) no snapshot can be taken.
	res, err := m.Run(20_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Finish(res); err != nil {
		t.Fatal(err)
	}
	if n, _ := rec.Snapshots(); n < 4 {
		t.Fatalf("only %d snapshots", n)
	}
	m2, _ := builtinMachine(t, new(bytes.Buffer))
	r, err := rrlog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := PlayTo(m2, r, 1)
	if err != nil {
		t.Fatal(err)
	}
	snaps := p.Snapshots()
	if len(snaps) != 2 || p.EndICount() != snaps[1].ICount {
		t.Fatalf("read %d snapshots, up to icount %d", len(snaps), p.EndICount())
	}
	if err := p.RunSegments(1, 2, func() (machine.Result, error) { return m2.Run(0) }); err != nil {
		t.Fatal(err)
	}
}
