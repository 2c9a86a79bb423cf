package cli

import (
	"bytes"
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

// segmentEnds returns where each segment of the recording ends: at its
// complete embedded snapshots, as rrlog.Verify lists them, and the last
// one at the end of the recording. A damaged snapshot (or any other
// damage but a cut) is an error; a cut recording is verified up to where
// it ends.
func segmentEnds(path string) ([]uint64, error) {
	rep, err := rrlog.Verify(path)
	var trunc *rrlog.TruncatedError
	if err != nil && !errors.As(err, &trunc) {
		return nil, err
	}
	ends := make([]uint64, 0, len(rep.Snapshots)+1)
	for _, s := range rep.Snapshots {
		ends = append(ends, s.ICount)
	}
	last := rep.LastICount
	if n := len(ends); n > 0 {
		last = max(last, ends[n-1])
	}
	return append(ends, last), nil
}

// splitSegments cuts the segments ending at ends into at most jobs
// contiguous ranges [lo, hi] of about the same number of instructions
// (segments differ: the first embedded snapshot comes early, the last
// segment is whatever is left), each range at least one segment.
func splitSegments(ends []uint64, jobs int) [][2]int {
	segs := len(ends)
	jobs = max(1, min(jobs, segs))
	total := ends[segs-1]
	var out [][2]int
	lo := 0
	for i := range jobs - 1 {
		goal := total / uint64(jobs) * uint64(i+1)
		// The last segment of this range: the one whose end is nearest
		// the goal, leaving a segment for each range still to come.
		hi := lo
		for hi+1 < segs-(jobs-1-i) && absDiff(ends[hi+1], goal) < absDiff(ends[hi], goal) {
			hi++
		}
		out = append(out, [2]int{lo, hi})
		lo = hi + 1
	}
	return append(out, [2]int{lo, segs - 1})
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// verifyParallel runs `rewind replay --verify --jobs J`: every segment in
// its own process (`rewind replay --segment K`), J at a time, and one
// verdict naming the first failing segment.
func verifyParallel(path string, jobs int, imageFlags []string, stdout, stderr io.Writer) (int, error) {
	start := time.Now()
	ends, err := segmentEnds(path)
	if err != nil {
		return 1, err
	}
	segs := len(ends)
	self, err := os.Executable()
	if err != nil {
		return 1, err
	}
	// Contiguous ranges of about equal length, one per job: each process
	// restores one snapshot and checks every snapshot on its way.
	ranges := splitSegments(ends, jobs)
	jobs = len(ranges)
	type result struct {
		out string
		err error
	}
	results := make([]result, jobs)
	var wg sync.WaitGroup
	for i, r := range ranges {
		lo, hi := r[0], r[1]
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
