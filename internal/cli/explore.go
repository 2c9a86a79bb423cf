package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// consoleWatch passes guest console output on and stops the machine the
// first time the output matches a pattern (record --until-console). Only
// the machine goroutine writes it; Match is read after Run returns, on
// the same goroutine.
type consoleWatch struct {
	w       io.Writer
	re      *regexp.Regexp
	stop    func()
	tail    []byte
	matched string
}

// watchWindow is how much recent output a match may span.
const watchWindow = 64 << 10

func (c *consoleWatch) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.matched != "" {
		return n, err
	}
	c.tail = append(c.tail, p...)
	if loc := c.re.FindIndex(c.tail); loc != nil {
		c.matched = string(c.tail[loc[0]:loc[1]])
		c.stop()
	} else if len(c.tail) > watchWindow {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-watchWindow/2:]...)
	}
	return n, err
}

// Match returns what matched ("" if nothing did).
func (c *consoleWatch) Match() string { return c.matched }

// parseSeeds parses --seeds: N, A-B, or a comma-separated list of both.
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		b := a
		if err == nil && isRange {
			b, err = strconv.ParseUint(hi, 10, 64)
		}
		if err != nil || a == 0 || b < a {
			return nil, fmt.Errorf("--seeds %s: %q is not a seed (≥ 1) or a range A-B", s, part)
		}
		if b-a >= 1_000_000 || len(out) > 1_000_000 {
			return nil, fmt.Errorf("--seeds %s: more than a million seeds", s)
		}
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
	}
	return out, nil
}

// withSeed returns the --schedule string with its seed replaced by seed.
func withSeed(schedule string, seed uint64) string {
	parts := []string{"seed=" + strconv.FormatUint(seed, 10)}
	for _, p := range strings.Split(schedule, ",") {
		if p != "" && !strings.HasPrefix(p, "seed=") {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ",")
}

// exploreSeeds records one run per seed until a run fails: the guest
// prints what --until-console matches, or reports failure through the
// test finisher. The failing recording is kept as out; the recordings
// of passing runs are deleted. It returns 0 when a failing schedule was
// found and kept, 1 when every seed passed.
func exploreSeeds(f *machineFlags, seeds []uint64, until *regexp.Regexp, out string, selfContained bool, interval, snapEvery uint64, stdout, stderr io.Writer) (int, error) {
	if f.gdb != "" {
		return 2, errors.New("--seeds cannot be combined with -gdb")
	}
	tmp := out + ".seed-run"
	defer os.Remove(tmp)
	base := *f
	for _, seed := range seeds {
		g := base
		g.schedule = withSeed(base.schedule, seed)
		fmt.Fprintf(stderr, "rewind: seed %d (--schedule %s)\n", seed, g.schedule)
		r, err := record(&g, tmp, recordOpts{selfContained: selfContained, interval: interval, snapEvery: snapEvery, until: until}, stdout, stderr)
		if err != nil {
			return 1, fmt.Errorf("seed %d: %w", seed, err)
		}
		failed := r.match != "" || r.res.Reason == machine.HaltFail
		if !failed {
			continue
		}
		if err := os.Rename(tmp, out); err != nil {
			return 1, fmt.Errorf("seed %d: keeping the recording: %w", seed, err)
		}
		what := fmt.Sprintf("the guest reported failure (exit code %d)", r.res.ExitCode)
		if r.match != "" {
			what = fmt.Sprintf("the console matched %q", r.match)
		}
		fmt.Fprintf(stderr, "rewind: seed %d fails: %s at icount %d; recording kept in %s (--schedule %s)\n", seed, what, r.res.ICount, out, g.schedule)
		return 0, nil
	}
	fmt.Fprintf(stderr, "rewind: no failure in %d seeds; no recording kept\n", len(seeds))
	return 1, nil
}

// stopOnMatch is the shutdown cause logged when --until-console matches.
const stopOnMatch = uint8(rrlog.ShutdownConsoleMatch)
