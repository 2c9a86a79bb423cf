package machine

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// jitHost: the compiled engine exists on this host.
const jitHost = runtime.GOOS == "linux" && runtime.GOARCH == "amd64"

// TestISAPrograms runs the project's own ISA test programs
// (testdata/isa/*.elf, built from the .S sources by build.sh) on the
// machine. Each program is self-checking and reports through HTIF or the
// test finisher; a failure names the check that failed.
func TestISAPrograms(t *testing.T) {
	elfs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "isa", "*.elf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(elfs) < 11 {
		t.Fatalf("found %d ISA programs, want at least 11 (run testdata/isa/build.sh)", len(elfs))
	}
	for _, path := range elfs {
		for _, jit := range []bool{false, true} {
			name := strings.TrimSuffix(filepath.Base(path), ".elf")
			if jit {
				name += "/jit"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				prog, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				m, err := New(Config{RAMSize: 16 << 20, Kernel: prog, Console: &out, JIT: jit})
				if err != nil {
					t.Fatal(err)
				}
				m.Idle, m.NoHostInput = IdleFast, true
				res, err := m.Run(200_000_000)
				if err != nil {
					t.Fatal(err)
				}
				if res.Reason != HaltPowerOff {
					t.Fatalf("%v (code %d) after %d instructions at pc %#x; output:\n%s", res.Reason, res.ExitCode, res.ICount, m.Cur().PC(), out.String())
				}
				if !strings.Contains(out.String(), "PASS") {
					t.Fatalf("powered off without printing PASS; output:\n%s", out.String())
				}
				if jit && jitHost && m.Cur().JITStats().Blocks == 0 {
					t.Fatal("the compiled engine compiled nothing")
				}
			})
		}
	}
}
