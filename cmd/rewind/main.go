// Command rewind is a deterministic RISC-V (RV64GC) full-system emulator.
// See the README for usage.
package main

import (
	"os"

	"github.com/rewindvm/rewind/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
