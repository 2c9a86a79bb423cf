package cli

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"time"

	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// rewriteRecording copies the recording at src to a new file, passing
// every event through edit (which may change it).
func rewriteRecording(t *testing.T, src string, edit func(i int, ev *rrlog.Event)) string {
	t.Helper()
	r, err := rrlog.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dst := filepath.Join(t.TempDir(), "edited.rwd")
	w, err := rrlog.Create(dst, r.Header())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ev.Data = append([]byte(nil), ev.Data...)
		edit(i, &ev)
		if err := w.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	end, _ := r.End()
	if err := w.Close(end); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestVerifySegments(t *testing.T) {
	rec, _, _ := recordBuiltinCLI(t, "--snapshot-every", "4000000")
	code, out, stderr := replayCLI(t, "--verify", "--jobs", "2", rec)
	if code != 0 || !strings.Contains(out, "verified: ") {
		t.Fatalf("clean recording: exit %d\n%s\n%s", code, out, stderr)
	}
	rep, err := rrlog.Verify(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Snapshots) < 3 {
		t.Fatalf("want at least 3 snapshots, got %d", len(rep.Snapshots))
	}
	// The middle segment k runs from snapshot k-1 to snapshot k.
	k := len(rep.Snapshots) / 2
	lo, hi := rep.Snapshots[k-1].ICount, rep.Snapshots[k].ICount
	mid := []string{"", strconv.Itoa(k), strconv.FormatUint(lo, 10), strconv.FormatUint(hi, 10)}
	t.Logf("%d segments; corrupting segment %d (icount %d-%d)", len(rep.Snapshots)+1, k, lo, hi)
	// One process per segment checks the same.
	if code, out, stderr := replayCLI(t, "--segment", mid[1], rec); code != 0 || !strings.Contains(out, "segment "+mid[1]+" icount "+mid[2]+"-"+mid[3]+" ok") {
		t.Errorf("--segment %s: exit %d\n%s\n%s", mid[1], code, out, stderr)
	}

	changed := false
	badEvent := rewriteRecording(t, rec, func(_ int, ev *rrlog.Event) {
		if !changed && ev.Kind == rrlog.KindSerialInput && ev.ICount > lo && ev.ICount < hi {
			ev.Data[len(ev.Data)-1] ^= 0x20 // flip the case of a typed letter
			changed = true
		}
	})
	if !changed {
		t.Skipf("no serial input inside segment %s", mid[1])
	}
	code, out, stderr = replayCLI(t, "--verify", "--jobs", "2", badEvent)
	if code == 0 || !strings.Contains(stderr, "verification failed in segment "+mid[1]+" ") {
		t.Errorf("changed input: exit %d\n%s\n%s", code, out, stderr)
	}

	// A snapshot whose blob is intact but whose state is not what the
	// machine had: the segment that ends at it fails.
	tampered := false
	badSnap := rewriteRecording(t, rec, func(_ int, ev *rrlog.Event) {
		if tampered || ev.Kind != rrlog.KindSnapshot || ev.ICount != hi {
			return
		}
		piece, err := ev.SnapshotPiece()
		if err != nil || piece.Parts != 1 {
			t.Fatalf("snapshot piece: %v (%d parts)", err, piece.Parts)
		}
		s, err := replay.DecodeEmbedded(piece.Data)
		if err != nil {
			t.Fatal(err)
		}
		s.State.Hart.X[9] ^= 1
		blob, err := replay.EncodeEmbedded(s)
		if err != nil {
			t.Fatal(err)
		}
		*ev = rrlog.NewSnapshotEvents(ev.ICount, piece.Seq, blob)[0]
		tampered = true
	})
	if !tampered {
		t.Fatalf("no snapshot at icount %d", hi)
	}
	code, out, stderr = replayCLI(t, "--verify", "--jobs", "2", badSnap)
	if code == 0 || !strings.Contains(stderr, "verification failed in segment "+mid[1]+" ") || !strings.Contains(stderr, "hart state") {
		t.Errorf("tampered snapshot: exit %d\n%s\n%s", code, out, stderr)
	}

	// A damaged snapshot (checksum mismatch) is an error, never skipped.
	damaged := rewriteRecording(t, rec, func(_ int, ev *rrlog.Event) {
		if ev.Kind == rrlog.KindSnapshot && ev.ICount == hi {
			ev.Data[len(ev.Data)-1] ^= 1
		}
	})
	if code, _, stderr := replayCLI(t, "--verify", damaged); code == 0 || !strings.Contains(stderr, "snapshot damaged") {
		t.Errorf("damaged snapshot: exit %d\n%s", code, stderr)
	}

	// --until starts from the nearest snapshot and reaches the same state.
	_, _, full := replayCLI(t, "--stats", "--until", mid[3], "--from-start", rec)
	_, _, fast := replayCLI(t, "--stats", "--until", mid[3], rec)
	if !strings.Contains(fast, "starting from the snapshot embedded at icount") {
		t.Errorf("--until did not start from a snapshot:\n%s", fast)
	}
	if a, b := statsField(t, digestRE, full), statsField(t, digestRE, fast); a != b {
		t.Errorf("--until from a snapshot: digest %s, from the start %s", b, a)
	}
}

// A live branch: replay a recording to a point, go live there, type a new
// command and power off, recording the branch; the branch then replays on
// its own with the same output and final state.
func TestLiveBranch(t *testing.T) {
	rec, _, out := recordBuiltinCLI(t)
	// Go live at the prompt before "help" was typed.
	i := strings.Index(string(out), "> help")
	if i < 0 {
		t.Fatalf("no help prompt in the recording:\n%s", out)
	}
	// Find the icount of the event that typed "help": the first serial
	// input whose bytes start it.
	r, err := rrlog.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	var at uint64
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Kind == rrlog.KindSerialInput {
			if _, data, _ := ev.SerialInput(); len(data) > 0 && data[0] == 'h' && at == 0 {
				at = ev.ICount
			}
		}
	}
	r.Close()
	if at == 0 {
		t.Fatal("no serial input starting with h")
	}
	branch := filepath.Join(t.TempDir(), "branch.rwd")
	cmd := exec.Command(rewindBinary(t), "replay", "--stats", "--until", strconv.FormatUint(at, 10), "--record", branch, "-serial", "stdio", rec)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := newConsole(t, stdout, stdin)
	c.typeLine("branched\r")
	c.expect("> ", 30*time.Second)
	c.typeLine("quit\r")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("live branch: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "live from icount") {
		t.Fatalf("did not go live:\n%s", errb.String())
	}
	live := c.bytes()
	if !bytes.Contains(live, []byte("branched")) {
		t.Fatalf("the live guest did not see the new command:\n%s", live)
	}
	code, replayed, stderr := replayCLI(t, "--stats", branch)
	if code != 0 {
		t.Fatalf("branch replay: exit %d\n%s", code, stderr)
	}
	if !strings.HasSuffix(string(live), replayed) || !strings.Contains(replayed, "branched") {
		t.Errorf("branch replay output is not the live output from the branch point:\nlive:\n%s\nreplayed:\n%s", live, replayed)
	}
	if a, b := statsField(t, digestRE, errb.String()), statsField(t, digestRE, stderr); a != b {
		t.Errorf("branch replay final digest %s, live run %s", b, a)
	}
}

// A trimmed recording replays exactly like its window of the original:
// console output from A to B and the state at B.
func TestTrim(t *testing.T) {
	rec, _, _ := recordBuiltinCLI(t, "--snapshot-every", "3000000")
	r, err := rrlog.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	var snaps []uint64 // where the recorder could snapshot: no disk request in flight
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		last = ev.ICount
		if ev.Kind == rrlog.KindSnapshot {
			snaps = append(snaps, ev.ICount)
		}
	}
	r.Close()
	// The window starts where a snapshot can be taken. An arbitrary
	// point may have a disk request in flight (where depends on host
	// timing while recording, e.g. on the engine's speed).
	a, b := last/4, last*3/4
	for _, s := range snaps {
		if s >= a {
			a = s
			break
		}
	}
	if b <= a {
		b = a + (last-a)/2
	}
	out := filepath.Join(t.TempDir(), "trim.rwd")
	code, _, stderr := runCLI("log", "trim", "--from", strconv.FormatUint(a, 10), "--to", strconv.FormatUint(b, 10), rec, out)
	if code != 0 {
		t.Fatalf("trim: exit %d\n%s", code, stderr)
	}
	// The window starts at A, or a little later if a disk request was in
	// flight there (a snapshot needs a quiet machine).
	w := regexp.MustCompile(`wrote icount (\d+)-(\d+)`).FindStringSubmatch(stderr)
	if w == nil {
		t.Fatalf("trim did not say what it wrote:\n%s", stderr)
	}
	if start, _ := strconv.ParseUint(w[1], 10, 64); start < a || start >= b {
		t.Fatalf("window starts at %d, asked for %d-%d", start, a, b)
	} else {
		a = start
	}
	_, upToA, _ := replayCLI(t, "--until", strconv.FormatUint(a, 10), "--from-start", rec)
	_, upToB, wantErr := replayCLI(t, "--stats", "--until", strconv.FormatUint(b, 10), "--from-start", rec)
	code, got, stderr := replayCLI(t, "--stats", out)
	if code != 0 {
		t.Fatalf("trimmed replay: exit %d\n%s", code, stderr)
	}
	if !strings.HasPrefix(upToB, upToA) || upToB[len(upToA):] != got {
		t.Errorf("trimmed console output %q, want the original's output between %d and %d: %q", got, a, b, upToB[min(len(upToA), len(upToB)):])
	}
	if x, y := statsField(t, digestRE, stderr), statsField(t, digestRE, wantErr); x != y {
		t.Errorf("trimmed replay ends in state %s, the original at %d in %s", x, b, y)
	}
	if code, _, stderr := runCLI("log", "trim", "--from", "0", rec, out); code != 2 || !strings.Contains(stderr, "want --from A") {
		t.Errorf("bad window: exit %d\n%s", code, stderr)
	}
}

func TestSplitSegments(t *testing.T) {
	tests := []struct {
		ends []uint64
		jobs int
		want [][2]int
	}{
		{[]uint64{100}, 2, [][2]int{{0, 0}}},
		{[]uint64{10, 20}, 1, [][2]int{{0, 1}}},
		{[]uint64{10, 20}, 3, [][2]int{{0, 0}, {1, 1}}},
		// An early first snapshot: the halves are equal in instructions,
		// not in segments.
		{[]uint64{50, 250, 450, 650, 850}, 2, [][2]int{{0, 2}, {3, 4}}},
		{[]uint64{50, 250, 450, 650, 850, 1050}, 2, [][2]int{{0, 2}, {3, 5}}},
		{[]uint64{100, 200, 300, 400, 500, 600}, 3, [][2]int{{0, 1}, {2, 3}, {4, 5}}},
		// A long tail: every range still gets a segment.
		{[]uint64{1, 2, 3, 1000}, 3, [][2]int{{0, 1}, {2, 2}, {3, 3}}},
	}
	for _, tt := range tests {
		if got := splitSegments(tt.ends, tt.jobs); !cmp.Equal(got, tt.want) {
			t.Errorf("splitSegments(%v, %d) = %v, want %v", tt.ends, tt.jobs, got, tt.want)
		}
	}
}
