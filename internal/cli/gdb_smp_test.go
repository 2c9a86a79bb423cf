package cli

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rewindvm/rewind/internal/guesttest"
)

// Debugging a two-hart recording with gdb-multiarch: each hart is a
// thread; a breakpoint only hart 1 reaches stops on thread 2, and
// reverse-stepi and stepi on a thread move that hart. The guest is
// smpRaceELF (smp_test.go).

// hart1Fence returns the address of the "fence rw,w" in race.c's main_
// that only hart 1 executes (before it sets the done flag).
func hart1Fence(t *testing.T) uint64 {
	t.Helper()
	return guesttest.InstAddr(t, smpRaceELF, "main_", 0x0310000f) // fence rw,w
}

func TestGDBSMPThreads(t *testing.T) {
	gdbPath(t)
	bp := hart1Fence(t)
	rec := filepath.Join(t.TempDir(), "race.rwd")
	cmd := exec.Command(rewindBinary(t), "record", "-o", rec, "-serial", "stdio",
		"-bios", "none", "-kernel", smpRaceELF, "-smp", "2")
	var sout, serr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sout, &serr
	if err := cmd.Run(); err != nil || !strings.Contains(sout.String(), "counter=") {
		t.Fatalf("record: %v\n%s%s", err, sout.String(), serr.String())
	}
	out, _ := debugSession(t, rec, smpRaceELF, []string{
		fmt.Sprintf("break *%#x", bp),
		"continue",
		"info threads",
		"p $_thread", // 2
		"thread 2",
		"p/x $pc", // bp
		"reverse-stepi",
		"p/x $pc",    // hart 1's previous instruction
		"p $_thread", // 2
		"info threads",
		"monitor when",
		"stepi",
		"p/x $pc",    // bp again
		"p $_thread", // 2
		"thread 1",
		"p/x $pc", // hart 0
		"stepi",
		"p $_thread", // 1
		"p/x $pc",    // hart 0 moved
	})
	vs := gdbValues(t, out)
	if len(vs) != 9 {
		t.Fatalf("got %d values from gdb, want 9; gdb output:\n%s", len(vs), out)
	}
	if !strings.Contains(out, "Thread 2 hit Breakpoint 1") {
		t.Fatalf("the breakpoint was not hit on thread 2:\n%s", out)
	}
	for _, want := range []string{"Thread 1 (hart 0, M-mode", "Thread 2 (hart 1, M-mode", "* 2    Thread 2"} {
		if !strings.Contains(out, want) {
			t.Fatalf("info threads lacks %q:\n%s", want, out)
		}
	}
	if vs[0] != 2 || vs[1] != bp {
		t.Fatalf("stopped on thread %d at %#x, want thread 2 at %#x\n%s", vs[0], vs[1], bp, out)
	}
	if prev := vs[2]; prev >= bp || bp-prev > 4 || vs[3] != 2 {
		t.Fatalf("reverse-stepi on thread 2: pc %#x on thread %d, want the instruction before %#x on thread 2\n%s", prev, vs[3], bp, out)
	}
	if !strings.Contains(out, "hart 1 (thread 2): icount") || !strings.Contains(out, "(executes next)") {
		t.Fatalf("monitor when does not list the harts:\n%s", out)
	}
	if vs[4] != bp || vs[5] != 2 {
		t.Fatalf("stepi on thread 2 went to %#x on thread %d, want %#x on thread 2\n%s", vs[4], vs[5], bp, out)
	}
	if vs[7] != 1 || vs[8] == vs[6] {
		t.Fatalf("stepi on thread 1: thread %d, pc %#x then %#x\n%s", vs[7], vs[6], vs[8], out)
	}
}
