// Command rewind is a deterministic RISC-V (RV64GC) full-system emulator.
// See the README for usage.
//
// Setting REWIND_CPUPROFILE=FILE writes a Go CPU profile of the whole
// command to FILE (for `go tool pprof`; BENCHMARKS.md uses it).
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/rewindvm/rewind/internal/cli"
)

func main() {
	if path := os.Getenv("REWIND_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "rewind: REWIND_CPUPROFILE: %v\n", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "rewind: REWIND_CPUPROFILE: %v\n", err)
			os.Exit(1)
		}
		code := cli.Main(os.Args[1:], os.Stdout, os.Stderr)
		pprof.StopCPUProfile()
		f.Close()
		os.Exit(code)
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
