package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// parseSegments parses --segment: "" (none: -1), "K" or "A-B".
func parseSegments(v string) (from, to int, err error) {
	if v == "" {
		return -1, -1, nil
	}
	a, b, isRange := strings.Cut(v, "-")
	from, err1 := strconv.Atoi(a)
	to, err2 := from, error(nil)
	if isRange {
		to, err2 = strconv.Atoi(b)
	}
	if err1 != nil || err2 != nil || from < 0 || to < from {
		return 0, 0, fmt.Errorf("--segment %q: want K or A-B (0 <= A <= B)", v)
	}
	return from, to, nil
}

// replaySegment runs `rewind replay --segment A-B`: segments A to B of the
// recording, each checked against the embedded snapshot that ends it. It
// prints one line on stdout: "segments A-B icount X-Y ok" or the failure.
func replaySegment(m *machine.Machine, p *replay.Player, a, b int, stdout, stderr io.Writer) (int, error) {
	start := time.Now()
	from, _ := p.SegmentBounds(a)
	_, to := p.SegmentBounds(b)
	label := fmt.Sprintf("segment %d", a)
	if b > a {
		label = fmt.Sprintf("segments %d-%d", a, b)
	}
	err := p.RunSegments(a, b+1, func() (machine.Result, error) { return runGuarded(m, 0) })
	if err != nil {
		fmt.Fprintf(stdout, "%s icount %d-%d FAILED: %v\n", label, from, to, err)
		return 1, fmt.Errorf("%s (icount %d-%d): %w", label, from, to, err)
	}
	fmt.Fprintf(stdout, "%s icount %d-%d ok (%d digests verified, %.1fs)\n", label, from, to, p.Checked, time.Since(start).Seconds())
	return 0, nil
}

// failedSegmentRE finds the failing segment in a --segment error.
var failedSegmentRE = regexp.MustCompile(`\): segment (\d+): `)

// countSegments reads the recording's embedded snapshots without building
// a machine: the number of segments is one more than the number of
// complete snapshots.
func countSegments(path string) (int, error) {
	r, err := rrlog.Open(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var asm rrlog.SnapshotAssembler
	n := 0
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Kind != rrlog.KindSnapshot {
			continue
		}
		blob, _, err := asm.Add(ev)
		if err != nil {
			return 0, fmt.Errorf("embedded snapshot damaged: %w", err)
		}
		if blob != nil {
			n++
		}
	}
	return n + 1, nil
}

// verifyParallel runs `rewind replay --verify --jobs J`: every segment in
// its own process (`rewind replay --segment K`), J at a time, and one
// verdict naming the first failing segment.
func verifyParallel(path string, jobs int, imageFlags []string, stdout, stderr io.Writer) (int, error) {
	segs, err := countSegments(path)
	if err != nil {
		return 1, err
	}
	self, err := os.Executable()
	if err != nil {
		return 1, err
	}
	jobs = max(1, min(jobs, segs))
	start := time.Now()
	// Contiguous ranges, one per job: each process restores one snapshot
	// and checks every snapshot on its way.
	type result struct {
		out string
		err error
	}
	results := make([]result, jobs)
	var wg sync.WaitGroup
	for i := range jobs {
		lo, hi := i*segs/jobs, (i+1)*segs/jobs-1
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"replay", "--segment", fmt.Sprintf("%d-%d", lo, hi), "-serial", "null"}
			for _, im := range imageFlags {
				args = append(args, "-image", im)
			}
			cmd := exec.Command(self, append(args, path)...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			if err != nil {
				msg := strings.TrimSpace(errb.String())
				if msg == "" {
					msg = err.Error()
				}
				err = errors.New(msg)
			}
			results[i] = result{strings.TrimSpace(out.String()), err}
		}()
	}
	wg.Wait()
	failed := -1
	for k, r := range results {
		if r.out != "" {
			fmt.Fprintln(stdout, r.out)
		}
		if r.err != nil && failed < 0 {
			failed = k
		}
	}
	elapsed := time.Since(start).Seconds()
	if failed >= 0 {
		// The error names the segment: "... segments A-B (...): segment K: ...".
		msg := results[failed].err.Error()
		seg := failedSegmentRE.FindStringSubmatch(msg)
		if seg == nil {
			return 1, fmt.Errorf("verification failed (of %d segments): %v", segs, msg)
		}
		return 1, fmt.Errorf("verification failed in segment %s of %d: %v", seg[1], segs, msg)
	}
	fmt.Fprintf(stdout, "verified: %d segments, %d jobs, %.1fs\n", segs, jobs, elapsed)
	return 0, nil
}

// goLive ends a replay that stopped at --until and runs the machine on
// live; with branch, the new run is recorded there, starting with a full
// snapshot of the machine, so that it replays on its own.
func goLive(m *machine.Machine, p *replay.Player, h rrlog.Header, cfg recordedConfig, res machine.Result, branch string, stderr io.Writer) (machine.Result, error) {
	if err := quiesce(m); err != nil {
		return res, err
	}
	if m.Halted() {
		return res, fmt.Errorf("the recording ends (%s) at icount %d, before the point to go live from", res.Reason, res.ICount)
	}
	p.Detach()
	var rec *replay.Recorder
	if branch != "" {
		if h.SelfContained {
			return res, errors.New("--record: a branch of a self-contained recording is not supported yet (it would need the images the recording embeds)")
		}
		cfg.StartSnapshot = true
		conf, err := json.Marshal(cfg)
		if err != nil {
			return res, err
		}
		bh := h
		bh.Config, bh.Created, bh.Emulator = conf, "", "rewind "+Version
		w, err := rrlog.Create(branch, bh)
		if err != nil {
			return res, err
		}
		rec = replay.Record(m, w, cfg.DigestInterval, false)
		if err := rec.StartFromSnapshot(); err != nil {
			return res, err
		}
		rec.EmbedSnapshots(0)
	}
	fmt.Fprintf(stderr, "rewind: live from icount %d\n", m.CPU.ICount())
	res, err := runGuarded(m, 0)
	if rec != nil {
		if ferr := rec.Finish(res); ferr != nil && err == nil {
			err = ferr
		}
		if err == nil {
			fmt.Fprintf(stderr, "rewind: recorded the branch up to icount %d (%s) to %s\n", res.ICount, res.Reason, branch)
		}
	}
	return res, err
}

// trim writes the window of the recording from the machine's position
// (where --until stopped) to icount to as a recording of its own: a full
// snapshot of the machine now, then the recording's events up to `to`
// (embedded snapshots left out: they belong to the original's chain), and
// an end record at `to`. It needs the same disk images as the original
// unless the original is self-contained.
func trim(m *machine.Machine, p *replay.Player, h rrlog.Header, cfg recordedConfig, to uint64, out string, stderr io.Writer) error {
	if err := quiesce(m); err != nil {
		return err
	}
	from := m.CPU.ICount()
	if m.Halted() {
		return fmt.Errorf("the recording ends (%s) at icount %d, before the window starts", m.Reason(), from)
	}
	if h.SelfContained {
		return errors.New("trimming a self-contained recording is not supported yet (its embedded images would have to be carried over)")
	}
	if to == 0 || to > p.EndICount() {
		to = p.EndICount()
	}
	cfg.StartSnapshot = true
	conf, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	th := h
	th.Config, th.Created = conf, ""
	w, err := rrlog.Create(out, th)
	if err != nil {
		return err
	}
	s, err := m.NewSnapshotTaker(true).Take()
	if err != nil {
		_ = w.Close(rrlog.EndInfo{ICount: from, Reason: err.Error()})
		return fmt.Errorf("snapshot at icount %d: %w", from, err)
	}
	blob, err := replay.EncodeEmbedded(s)
	if err != nil {
		return err
	}
	for _, ev := range rrlog.NewSnapshotEvents(from, 0, blob) {
		if err := w.Append(ev); err != nil {
			return err
		}
	}
	n := 0
	for _, ev := range p.Remaining() {
		if ev.ICount > to {
			break
		}
		if ev.Kind.Annotation() {
			continue
		}
		if err := w.Append(ev); err != nil {
			return err
		}
		n++
	}
	if err := w.Close(rrlog.EndInfo{ICount: to, Clean: true, Reason: fmt.Sprintf("trimmed to icount %d-%d", from, to)}); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rewind: wrote icount %d-%d (%d events, a %d-byte starting snapshot) to %s\n", from, to, n, len(blob), out)
	return nil
}

// quiesce replays on, ten thousand instructions at a time, until no disk
// request is in flight, so the machine's whole state can be captured (a
// request's host side cannot be). It gives up after two hundred million.
func quiesce(m *machine.Machine) error {
	start := m.CPU.ICount()
	for !m.Halted() {
		if _, err := m.SaveState(); !errors.Is(err, machine.ErrBusy) {
			return err
		}
		ic := m.CPU.ICount()
		if ic-start > 200_000_000 {
			return fmt.Errorf("disk requests still in flight at icount %d, two hundred million instructions after %d", ic, start)
		}
		m.StopAt = ic + 10_000
		if _, err := runGuarded(m, 0); err != nil {
			return err
		}
	}
	return nil
}
