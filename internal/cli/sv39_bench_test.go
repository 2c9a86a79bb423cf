package cli

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// sv39Loop is the CPU benchmark of internal/cpu (BenchmarkJITSv39) as a
// bare-metal program: about 2.15 billion instructions of a load, store,
// multiply loop in S-mode under Sv39, then power-off through the test
// finisher.
var sv39Loop = filepath.Join("..", "..", "testdata", "bench", "sv39loop.elf")

// BenchmarkSv39Guest runs testdata/bench/sv39loop.elf from the command
// line, `rewind run` on each engine, and in the same run under
// qemu-system-riscv64 (TCG, and -icount shift=0, QEMU's record mode): the
// same instructions on each, so BENCHMARKS.md can set the CPU benchmark
// side by side with QEMU. ns/op is the wall time of the process, start-up
// included; MIPS is the program's instruction count (exact, from Rewind's
// --stats) over that time.
func BenchmarkSv39Guest(b *testing.B) {
	bin := rewindBinary(b)
	insns := sv39Insns(b, bin)
	engines := []string{"interp"}
	if jitHost {
		engines = append(engines, "jit")
	}
	for _, e := range engines {
		b.Run("rewind-"+e, func(b *testing.B) {
			benchProcess(b, insns, bin, "run", "--engine", e, "-bios", "none", "-kernel", sv39Loop, "-serial", "null", "-m", "16M")
		})
	}
	qemu, err := exec.LookPath("qemu-system-riscv64")
	if err != nil {
		b.Log("qemu-system-riscv64 not installed: Rewind only")
		return
	}
	for _, mode := range []struct {
		name  string
		extra []string
	}{{"qemu-tcg", nil}, {"qemu-icount-shift0", []string{"-icount", "shift=0"}}} {
		b.Run(mode.name, func(b *testing.B) {
			args := append([]string{"-machine", "virt", "-cpu", "rv64", "-m", "16M", "-bios", "none",
				"-nographic", "-monitor", "none", "-serial", "null", "-kernel", sv39Loop}, mode.extra...)
			benchProcess(b, insns, qemu, args...)
		})
	}
}

// sv39Insns returns the instruction count of sv39loop.elf, which the
// program's one path makes the same on every engine and emulator.
func sv39Insns(b *testing.B, bin string) float64 {
	var errb bytes.Buffer
	cmd := exec.Command(bin, "run", "--stats", "-bios", "none", "-kernel", sv39Loop, "-serial", "null", "-m", "16M")
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		b.Fatalf("%v\n%s", err, errb.String())
	}
	m := regexp.MustCompile(`power off after (\d+) instructions`).FindStringSubmatch(errb.String())
	if m == nil {
		b.Fatalf("no instruction count in:\n%s", errb.String())
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return float64(n)
}

// benchProcess runs name with args b.N times; each run must exit 0.
func benchProcess(b *testing.B, insns float64, name string, args ...string) {
	var wall time.Duration
	for range b.N {
		var errb bytes.Buffer
		cmd := exec.Command(name, args...)
		cmd.Stderr = &errb
		start := time.Now()
		err := cmd.Run()
		wall += time.Since(start)
		if err != nil {
			b.Fatalf("%s: %v\n%s", name, err, errb.String())
		}
	}
	b.ReportMetric(insns*float64(b.N)/wall.Seconds()/1e6, "MIPS")
}
