//go:build linux && amd64

package debugger

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/cpu"
)

// TestEnginesAgree runs one debugging session on a Linux recording twice,
// on the interpreter and on the compiled engine, and requires the same
// transcript: where seeks land, where reverse and forward continues stop
// on breakpoints and on write, read and access watchpoints (in user and
// kernel code), what last-write finds, where single steps go, and the
// machine's full state digest along the way; on one hart and on two
// (which share one compiled engine). The compiled engine hands
// breakpoint pages and watched accesses to the interpreter; whatever it
// does, a user must not be able to tell the engines apart.
func TestEnginesAgree(t *testing.T) {
	for _, harts := range []int{1, 2} {
		t.Run(fmt.Sprintf("harts=%d", harts), func(t *testing.T) {
			if testing.Short() {
				t.Skip("records and replays Linux")
			}
			// Boot, one gowork, poweroff: about 400 M instructions.
			// (Two harts take longer to boot.)
			path, res, _ := recordGoworkHarts(t, uint64(harts)*100_000_000, 0, harts)
			t.Logf("recording: %d instructions", res.ICount)
			var logs [2][]string
			var compiled cpu.JITStats
			for i, jit := range []bool{false, true} {
				d := openLong(t, path, jit, harts)
				logs[i] = debugScript(t, d)
				if jit {
					compiled = d.Machine().Harts[0].JITStats()
				}
			}
			if compiled.Calls == 0 || compiled.Blocks == 0 {
				t.Fatalf("the compiled engine did not run: %+v", compiled)
			}
			if diff := cmp.Diff(logs[0], logs[1]); diff != "" {
				t.Fatalf("the session differs between the engines (-interp +jit):\n%s", diff)
			}
			t.Logf("%d steps agree; compiled engine: %+v", len(logs[0]), compiled)
		})
	}
}

// debugScript drives d through a fixed session and returns a transcript
// of what a user would see.
func debugScript(t *testing.T, d *Debugger) []string {
	t.Helper()
	var log []string
	cur := func() *cpu.CPU { return d.Machine().Cur() }
	note := func(what string, st Stop, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		log = append(log, fmt.Sprintf("%s: %v at icount %d hart %d watch %+v; pc %#x priv %d sp %#x a0 %#x",
			what, st.Kind, st.ICount, st.Hart, st.Watch, cur().PC(), cur().Priv(), cur().Reg(2), cur().Reg(10)))
	}
	digest := func(what string) {
		log = append(log, fmt.Sprintf("%s: icount %d digest %x", what, d.ICount(), d.Machine().Digest()))
	}
	seek := func(icount uint64) {
		t.Helper()
		if err := d.Seek(icount); err != nil {
			t.Fatalf("seek %d: %v", icount, err)
		}
		note(fmt.Sprintf("seek %d", icount), Stop{ICount: d.ICount()}, nil)
	}
	// repeat runs op n times, noting each stop.
	repeat := func(what string, n int, op func() (Stop, error)) {
		t.Helper()
		for range n {
			st, err := op()
			note(what, st, err)
		}
	}
	back := func() (Stop, error) { return d.ReverseContinue(nil) }
	fwd := func() (Stop, error) { return d.Continue(nil) }
	end := d.End()
	mid := end * 3 / 5
	seek(mid)
	digest("mid")

	// Breakpoints at the pc here and a few dozen instructions on: the
	// code around this point of gowork runs over and over.
	pcs := []uint64{cur().PC()}
	repeat("stepi", 37, d.StepForward)
	pcs = append(pcs, cur().PC())
	d.SetBreakpoints(pcs)
	seek(mid)
	repeat("reverse-continue (breakpoints)", 3, back)
	repeat("continue (breakpoints)", 4, fwd)
	digest("after breakpoints")

	// A breakpoint on the kernel's trap entry (stvec): every system
	// call, page fault and timer interrupt of the guest passes it.
	d.SetBreakpoints([]uint64{cur().Save().Stvec &^ 3})
	seek(mid)
	repeat("reverse-continue (trap entry)", 2, back)
	repeat("continue (trap entry)", 3, fwd)
	d.SetBreakpoints(nil)

	// Watchpoints on the stack just below sp: written and read by calls.
	seek(mid)
	sp := cur().Reg(2)
	for _, kind := range []cpu.WatchKind{cpu.WatchWrite, cpu.WatchRead, cpu.WatchAccess} {
		d.SetWatchpoints([]cpu.Watch{{Addr: sp - 16, Len: 16, Kind: kind}})
		seek(mid)
		repeat(fmt.Sprintf("reverse-continue (watch %d)", kind), 1, back)
		repeat(fmt.Sprintf("continue (watch %d)", kind), 2, fwd)
	}
	d.SetWatchpoints(nil)

	// last-write of the word below sp, by physical address.
	seek(mid)
	if pa, ok := cur().Translate(sp - 8); ok {
		st, err := d.LastWrite(pa, 8)
		note("last-write", st, err)
	}

	// Single steps back and forth, then to the end.
	seek(mid)
	repeat("reverse-stepi", 50, d.StepBackward)
	repeat("stepi", 20, d.StepForward)
	digest("after steps")
	seek(end)
	digest("end")
	return log
}
