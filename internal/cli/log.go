package cli

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/rewindvm/rewind/internal/rrlog"
)

const logUsage = `Usage:
  rewind log info FILE     header, duration, event counts and sizes by kind, compression
  rewind log dump FILE     every event, one per line, with its instruction count
  rewind log verify FILE   check structure and checksums without replaying
  rewind log trim --from A --to B IN OUT
                           write the part of IN between instruction counts A and B as
                           a recording of its own: it starts from the machine state at
                           A (a full snapshot) and replays exactly like that window
`

func cmdLog(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "trim" {
		return cmdTrim(args[1:], stdout, stderr)
	}
	if len(args) != 2 {
		fmt.Fprint(stderr, logUsage)
		return 2
	}
	var err error
	switch args[0] {
	case "info":
		err = rrlog.Info(stdout, args[1])
	case "dump":
		err = rrlog.Dump(stdout, args[1])
	case "verify":
		var rep rrlog.Report
		rep, err = rrlog.Verify(args[1])
		fmt.Fprintln(stdout, rep)
	default:
		fmt.Fprint(stderr, logUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "rewind log %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// cmdTrim runs `rewind log trim --from A --to B IN OUT`: it replays IN to
// A (from the nearest embedded snapshot) and writes OUT.
func cmdTrim(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rewind log trim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.Uint64("from", 0, "first instruction count of the window")
	to := fs.Uint64("to", 0, "last instruction count of the window (0: the end)")
	var imageFlags multiFlag
	fs.Var(&imageFlags, "image", "use `ROLE=PATH` for an image the recording names")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 || *from == 0 || (*to != 0 && *to <= *from) {
		fmt.Fprint(stderr, "rewind log trim: want --from A [--to B] IN OUT with 0 < A < B\n")
		return 2
	}
	rargs := []string{"--until", strconv.FormatUint(*from, 10), "-serial", "null"}
	for _, im := range imageFlags {
		rargs = append(rargs, "-image", im)
	}
	rargs = append(rargs, fs.Arg(0))
	return cmdReplayWith(rargs, replayOpts{trimTo: *to, trimOut: fs.Arg(1)}, stdout, stderr)
}
