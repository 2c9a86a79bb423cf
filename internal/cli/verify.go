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

// countSegments returns the number of segments of the recording: one
// more than its complete embedded snapshots, as rrlog.Verify lists them.
// A damaged snapshot (or any other damage but a cut) is an error; a cut
// recording is verified up to where it ends.
func countSegments(path string) (int, error) {
	rep, err := rrlog.Verify(path)
	var trunc *rrlog.TruncatedError
	if err != nil && !errors.As(err, &trunc) {
		return 0, err
	}
	return len(rep.Snapshots) + 1, nil
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
