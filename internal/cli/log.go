package cli

import (
	"fmt"
	"io"

	"github.com/rewindvm/rewind/internal/rrlog"
)

const logUsage = `Usage:
  rewind log info FILE     header, duration, event counts and sizes by kind, compression
  rewind log dump FILE     every event, one per line, with its instruction count
  rewind log verify FILE   check structure and checksums without replaying
`

func cmdLog(args []string, stdout, stderr io.Writer) int {
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
