package cli

import (
	"bufio"
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Debugging backwards at source level: a C guest built with -O0 -g
// (testdata/revdebug) is recorded, and gdb-multiarch walks the recording
// with break, next, step, finish, until and advance, and back with
// reverse-next, reverse-step, reverse-finish and reverse-continue onto
// breakpoints and watchpoints. Every stop is checked for the function,
// the source line (at its start, or inside it where gdb prints the pc)
// and the values of variables. The scenarios follow the kinds of checks
// in gdb's own gdb.reverse suite (step, next, finish, break, watch and
// until in reverse), on a program of Rewind's own.

var revdebugDir = filepath.Join("..", "..", "testdata", "revdebug")

var (
	revdebugOnce  sync.Once
	revdebugLines map[string]int
	revdebugErr   error
)

// revdebugELF returns the guest's committed ELF and the line of each
// "L:name" marker in its source. With the cross compiler installed it
// first checks that the ELF is what build.sh makes of the source: a stale
// ELF would put the markers on the wrong lines.
func revdebugELF(t *testing.T) (string, map[string]int) {
	t.Helper()
	committed := filepath.Join(revdebugDir, "revdebug.elf")
	revdebugOnce.Do(func() {
		src, err := os.ReadFile(filepath.Join(revdebugDir, "revdebug.c"))
		if err != nil {
			revdebugErr = err
			return
		}
		revdebugLines = map[string]int{}
		marker := regexp.MustCompile(`/\* L:([a-z-]+) \*/`)
		for i, line := range strings.Split(string(src), "\n") {
			if m := marker.FindStringSubmatch(line); m != nil {
				revdebugLines[m[1]] = i + 1
			}
		}
		// Only the compiler that built the committed ELF makes the
		// same bytes: compare when that one is installed.
		version, err := exec.Command("riscv64-unknown-elf-gcc", "-dumpfullversion").Output()
		if err != nil {
			return
		}
		if producer, err := elfProducer(committed); err != nil {
			revdebugErr = err
			return
		} else if !strings.Contains(producer, " "+strings.TrimSpace(string(version))+" ") {
			t.Logf("%s was built by %q, not by the installed gcc %s: not rebuilt", committed, producer, bytes.TrimSpace(version))
			return
		}
		fresh := filepath.Join(t.TempDir(), "revdebug.elf")
		cmd := exec.Command("sh", filepath.Join(revdebugDir, "build.sh"))
		cmd.Env = append(os.Environ(), "OUT="+fresh)
		if out, err := cmd.CombinedOutput(); err != nil {
			revdebugErr = fmt.Errorf("build.sh: %v\n%s", err, out)
			return
		}
		a, err1 := os.ReadFile(fresh)
		b, err2 := os.ReadFile(committed)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			revdebugErr = fmt.Errorf("%s is not what build.sh makes of revdebug.c (run testdata/revdebug/build.sh)", committed)
		}
	})
	if revdebugErr != nil {
		t.Fatal(revdebugErr)
	}
	return committed, revdebugLines
}

// elfProducer returns the DW_AT_producer of the first compilation unit
// in an ELF file: the compiler that built it.
func elfProducer(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	e, err := d.Reader().Next()
	if err != nil || e == nil {
		return "", fmt.Errorf("%s: no compilation unit (%v)", path, err)
	}
	p, _ := e.Val(dwarf.AttrProducer).(string)
	return p, nil
}

// recordRevdebug records the guest and returns the recording and what
// the guest printed.
func recordRevdebug(t *testing.T) (rec string, console []byte) {
	t.Helper()
	prog, _ := revdebugELF(t)
	rec = filepath.Join(t.TempDir(), "revdebug.rwd")
	cmd := exec.Command(rewindBinary(t), "record", "-o", rec, "-bios", "none", "-kernel", prog)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("record: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "revdebug: total 105 squares 12") {
		t.Fatalf("the guest printed %q", out.String())
	}
	return rec, out.Bytes()
}

// srcStop is one gdb command and what must hold after it.
type srcStop struct {
	cmd string
	// out are regular expressions the command's output must match.
	out []string
	// at is where the target must be afterwards: "FUNC:MARKER" at the
	// start of MARKER's line in FUNC, "FUNC:MARKER+" inside that line
	// (gdb shows the pc, as after finish or reverse-finish), "_start"
	// in the assembly entry (no line information); "" is not checked.
	at string
	// vals are "EXPR=VALUE": gdb's print EXPR shows VALUE.
	vals []string
}

var frameRE = regexp.MustCompile(`(?m)^#0\s+(?:(0x[0-9a-f]+) in )?(\w+) \(.*\)(?: at (\S+):(\d+))?\s*$`)

// gdbSource runs the steps in one gdb session on the recording rec and
// checks every stop, once with each engine (the interpreter, and the
// compiled engine where there is one). If console is not nil, the
// replay's console output must equal it.
func gdbSource(t *testing.T, rec string, console []byte, steps []srcStop) {
	t.Helper()
	engines := []string{"interp"}
	if jitHost {
		engines = append(engines, "jit")
	}
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			out := gdbSourceWith(t, []string{"--engine", e}, rec, steps)
			if console != nil && out != string(console) {
				t.Errorf("console output while debugging %q, recorded %q", out, console)
			}
		})
	}
}

// gdbSourceWith runs and checks the steps with the replay options opts;
// it returns the replay's console output. Each command is preceded by an
// echoed marker, so its output can be told from the others'.
func gdbSourceWith(t *testing.T, opts []string, rec string, steps []srcStop) string {
	t.Helper()
	prog, lines := revdebugELF(t)
	var cmds []string
	type check struct {
		step int
		kind string // "cmd", "at" or "val"
		arg  string
	}
	var checks []check
	add := func(i int, kind, arg, cmd string) {
		cmds = append(cmds, fmt.Sprintf("echo \\n@@%d@@\\n", len(checks)), cmd)
		checks = append(checks, check{i, kind, arg})
	}
	add(-1, "cmd", "", "directory "+revdebugDir)
	for i, s := range steps {
		add(i, "cmd", "", s.cmd)
		if s.at != "" {
			add(i, "at", s.at, "frame")
		}
		for _, v := range s.vals {
			expr, _, _ := strings.Cut(v, "=")
			add(i, "val", v, "print "+expr)
		}
	}
	cmds = append(cmds, fmt.Sprintf("echo \\n@@%d@@\\n", len(checks)))
	out, console := debugSessionWith(t, opts, rec, prog, cmds)
	part := func(k int) string {
		a := strings.Index(out, fmt.Sprintf("@@%d@@\n", k))
		b := strings.Index(out, fmt.Sprintf("@@%d@@\n", k+1))
		if a < 0 || b < a {
			t.Fatalf("gdb output is missing the output of %q:\n%s", cmds[2*k+1], out)
		}
		return out[a+len(fmt.Sprintf("@@%d@@\n", k)) : b]
	}
	valueRE := regexp.MustCompile(`(?m)^\$\d+ = (.*)$`)
	for k, c := range checks {
		if c.step < 0 {
			continue
		}
		s := steps[c.step]
		got := part(k)
		where := fmt.Sprintf("step %d (%s)", c.step, s.cmd)
		switch c.kind {
		case "cmd":
			for _, re := range s.out {
				if !regexp.MustCompile(re).MatchString(got) {
					t.Errorf("%s: output does not match %q:\n%s", where, re, got)
				}
			}
		case "at":
			m := frameRE.FindStringSubmatch(got)
			if m == nil {
				t.Errorf("%s: no frame in %q", where, got)
				continue
			}
			mid, fn, file, line := m[1] != "", m[2], m[3], m[4]
			if c.arg == "_start" {
				if fn != "_start" || file != "" {
					t.Errorf("%s: stopped in %s at %s:%s, want _start", where, fn, file, line)
				}
				continue
			}
			wantFn, marker, _ := strings.Cut(c.arg, ":")
			wantMid := strings.HasSuffix(marker, "+")
			marker = strings.TrimSuffix(marker, "+")
			wantLine, ok := lines[marker]
			if !ok {
				t.Fatalf("no marker L:%s in revdebug.c", marker)
			}
			if fn != wantFn || filepath.Base(file) != "revdebug.c" || line != strconv.Itoa(wantLine) || mid != wantMid {
				t.Errorf("%s: stopped in %s at %s:%s (inside the line: %v), want %s at revdebug.c:%d (%s, inside the line: %v)\n%s",
					where, fn, file, line, mid, wantFn, wantLine, marker, wantMid, got)
			}
		case "val":
			expr, want, _ := strings.Cut(c.arg, "=")
			m := valueRE.FindStringSubmatch(got)
			if m == nil || strings.TrimSpace(m[1]) != want {
				t.Errorf("%s: print %s: %q, want %s", where, expr, strings.TrimSpace(got), want)
			}
		}
	}
	if t.Failed() || os.Getenv("REWIND_SHOW_GDB") != "" {
		t.Logf("gdb session:\n%s", out)
	}
	return console
}

// Stepping into calls and out of them, forward and then back: reverse-step
// retraces the lines step visited, newest first, with the same values,
// entering a callee at its last line and leaving it at the call.
func TestGDBDwarfStep(t *testing.T) {
	gdbPath(t)
	rec, _ := recordRevdebug(t)
	fwd := []srcStop{
		{cmd: "step", at: "sum_squares:sum-loop", vals: []string{"s=0"}},
		{cmd: "step", at: "sum_squares:sum-add", vals: []string{"i=1", "s=0"}},
		{cmd: "step", at: "square:square-count", vals: []string{"x=1", "squares=0"}},
		{cmd: "step", at: "square:square-mul", vals: []string{"squares=1"}},
		{cmd: "step", at: "mul:mul-body", vals: []string{"a=1", "b=1"}},
		{cmd: "step", at: "mul:mul-return", vals: []string{"p=1"}},
		{cmd: "step", at: "mul:mul-end"},
		{cmd: "step", at: "square:square-return", vals: []string{"r=1"}},
		{cmd: "step", at: "square:square-end"},
		{cmd: "step", at: "sum_squares:sum-loop", vals: []string{"i=1", "s=1"}},
		{cmd: "step", at: "sum_squares:sum-add", vals: []string{"i=2", "s=1"}},
		{cmd: "step", at: "square:square-count", vals: []string{"x=2", "squares=1"}},
	}
	steps := []srcStop{
		{cmd: "break sum_squares", out: []string{`Breakpoint 1 at 0x[0-9a-f]+: file \S*revdebug\.c, line \d+\.`}},
		{cmd: "continue", out: []string{`Breakpoint 1, sum_squares \(n=3\)`}, at: "sum_squares:sum-init", vals: []string{"n=3", "total=0"}},
		{cmd: "delete"},
	}
	steps = append(steps, fwd...)
	// Back the same way: each reverse-step lands where the step before
	// the one it undoes had stopped.
	for i := len(fwd) - 2; i >= 0; i-- {
		s := fwd[i]
		s.cmd = "reverse-step"
		steps = append(steps, s)
	}
	steps = append(steps,
		srcStop{cmd: "reverse-step", at: "sum_squares:sum-init", vals: []string{"n=3"}},
		// Out of the first line of sum_squares: back at the call in main_.
		srcStop{cmd: "reverse-step", at: "main_:main-a", vals: []string{"total=0", "squares=0"}},
		// And forward again over the whole call.
		srcStop{cmd: "next", at: "main_:main-account-a", vals: []string{"a=14", "squares=3"}},
	)
	gdbSource(t, rec, nil, steps)
}

// next over calls in main_ to the end of the program's work, and
// reverse-next back over every call, with the global total undone line
// by line; a breakpoint inside a callee stops reverse-next there.
func TestGDBDwarfNext(t *testing.T) {
	gdbPath(t)
	rec, _ := recordRevdebug(t)
	_, lines := revdebugELF(t)
	steps := []srcStop{
		{cmd: fmt.Sprintf("break revdebug.c:%d", lines["main-a"]), out: []string{`Breakpoint 1 at `}},
		{cmd: "continue", out: []string{`Breakpoint 1, main_ \(\)`}, at: "main_:main-a", vals: []string{"total=0"}},
		{cmd: "next", at: "main_:main-account-a", vals: []string{"a=14", "total=0"}},
		{cmd: "next", at: "main_:main-b", vals: []string{"total=14", "rounds=1"}},
		{cmd: "next", at: "main_:main-account-b", vals: []string{"b=30", "squares=7"}},
		{cmd: "next", at: "main_:main-c", vals: []string{"total=44"}},
		{cmd: "next", at: "main_:main-account-c", vals: []string{"c=55"}},
		{cmd: "next", at: "main_:main-d", vals: []string{"total=99", "d=0"}},
		{cmd: "next", at: "main_:main-account-d", vals: []string{"d=6"}},
		{cmd: "next", at: "main_:main-report", vals: []string{"total=105", "rounds=4", "squares=12"}},
		{cmd: "reverse-next", at: "main_:main-account-d", vals: []string{"total=99", "rounds=3", "d=6"}},
		{cmd: "reverse-next", at: "main_:main-d", vals: []string{"d=0"}},
		{cmd: "reverse-next", at: "main_:main-account-c", vals: []string{"total=44", "c=55"}},
		{cmd: "reverse-next", at: "main_:main-c", vals: []string{"squares=7"}},
		{cmd: "reverse-next", at: "main_:main-account-b", vals: []string{"total=14", "b=30"}},
		// A breakpoint in a callee stops reverse-next at its last hit.
		{cmd: "break mul", out: []string{`Breakpoint 2 at `}},
		{cmd: "reverse-next", out: []string{`Breakpoint 2, mul \(a=4, b=4\)`}, at: "mul:mul-body", vals: []string{"squares=7"}},
		{cmd: "delete 2"},
		{cmd: "reverse-finish", at: "square:square-mul+", vals: []string{"x=4"}},
		{cmd: "reverse-finish", at: "sum_squares:sum-add+", vals: []string{"i=4", "s=14"}},
		{cmd: "reverse-finish", at: "main_:main-b+", vals: []string{"total=14"}},
		{cmd: "reverse-next", at: "main_:main-b"},
		{cmd: "reverse-next", at: "main_:main-account-a", vals: []string{"total=0", "a=14"}},
		{cmd: "reverse-next", at: "main_:main-a", vals: []string{"a=0", "squares=0"}},
		// Before main_'s first line: the call in _start, which has no
		// line information.
		{cmd: "reverse-next", at: "_start"},
		{cmd: "reverse-stepi", at: "_start", vals: []string{"$pc=(void (*)()) 0x80000004 <_start+4>"}},
		{cmd: "reverse-stepi", at: "_start", vals: []string{"$pc=(void (*)()) 0x80000000 <_start>"}},
		{cmd: "reverse-stepi", out: []string{`No more reverse-execution history`}, at: "_start", vals: []string{"$pc=(void (*)()) 0x80000000 <_start>"}},
	}
	gdbSource(t, rec, nil, steps)
}

// finish and reverse-finish: out of nested calls with the returned
// values, back to the calls, and through a recursion (gdb.reverse's
// finish-reverse).
func TestGDBDwarfFinish(t *testing.T) {
	gdbPath(t)
	rec, _ := recordRevdebug(t)
	_, lines := revdebugELF(t)
	steps := []srcStop{
		{cmd: "break mul"},
		{cmd: "continue", out: []string{`Breakpoint 1, mul \(a=1, b=1\)`}, at: "mul:mul-body"},
		{cmd: "continue", out: []string{`Breakpoint 1, mul \(a=2, b=2\)`}, at: "mul:mul-body"},
		{cmd: "bt", out: []string{`#1 .* in square \(x=2\)`, `#2 .* in sum_squares \(n=3\)`, `#3 .* in main_ \(\)`}},
		{cmd: "finish", out: []string{`Value returned is \$\d+ = 4`}, at: "square:square-mul+", vals: []string{"x=2"}},
		{cmd: "finish", out: []string{`Value returned is \$\d+ = 4`}, at: "sum_squares:sum-add+", vals: []string{"i=2", "s=1"}},
		// Going back to the start of sum_squares, reverse-finish meets
		// the breakpoint in mul(2, 2) first.
		{cmd: "reverse-finish", out: []string{`Breakpoint 1, mul \(a=2, b=2\)`}, at: "mul:mul-body"},
		{cmd: "delete"},
		{cmd: "reverse-finish", at: "square:square-mul+", vals: []string{"x=2", "squares=2"}},
		{cmd: "reverse-finish", at: "sum_squares:sum-add+", vals: []string{"i=2", "s=1"}},
		{cmd: "reverse-finish", at: "main_:main-a+", vals: []string{"squares=0", "total=0"}},
		// main_ never returns: finish runs to the end of the recording.
		{cmd: "finish", out: []string{`No more reverse-execution history`}, at: "poweroff:poweroff-wfi"},
		// Recursion: reverse-finish climbs out one tri frame at a time.
		{cmd: fmt.Sprintf("break revdebug.c:%d", lines["tri-base"])},
		{cmd: "reverse-continue", out: []string{`Breakpoint 2, tri \(n=0\)`}, at: "tri:tri-base"},
		{cmd: "bt", out: []string{`#1 .* in tri \(n=1\)`, `#2 .* in tri \(n=2\)`, `#3 .* in tri \(n=3\)`, `#4 .* in main_ \(\)`}},
		{cmd: "reverse-finish", at: "tri:tri-call+", vals: []string{"n=1"}},
		{cmd: "reverse-finish", at: "tri:tri-call+", vals: []string{"n=2"}},
		{cmd: "reverse-next", at: "tri:tri-call", vals: []string{"n=2"}},
		{cmd: "reverse-finish", at: "tri:tri-call+", vals: []string{"n=3"}},
		{cmd: "reverse-finish", at: "main_:main-d+", vals: []string{"d=0", "total=99"}},
		{cmd: "delete"},
		{cmd: "step", at: "tri:tri-test", vals: []string{"n=3"}},
		{cmd: "finish", out: []string{`Value returned is \$\d+ = 6`}, at: "main_:main-d+"},
	}
	gdbSource(t, rec, nil, steps)
}

// Breakpoints hit going forward are hit again going backward, newest
// first, with the state of each hit (gdb.reverse's break-reverse); the
// ends of the recording are reported as the ends of the history.
func TestGDBDwarfBreak(t *testing.T) {
	gdbPath(t)
	rec, recOut := recordRevdebug(t)
	_, lines := revdebugELF(t)
	steps := []srcStop{
		{cmd: "break account", out: []string{`Breakpoint 1 at .*line ` + strconv.Itoa(lines["account-add"])}},
		{cmd: fmt.Sprintf("break revdebug.c:%d", lines["tri-base"]), out: []string{`Breakpoint 2 at `}},
		{cmd: "continue", out: []string{`Breakpoint 1, account \(v=14\)`}, at: "account:account-add", vals: []string{"total=0"}},
		{cmd: "continue", out: []string{`Breakpoint 1, account \(v=30\)`}, at: "account:account-add", vals: []string{"total=14"}},
		{cmd: "continue", out: []string{`Breakpoint 1, account \(v=55\)`}, at: "account:account-add", vals: []string{"total=44"}},
		{cmd: "continue", out: []string{`Breakpoint 2, tri \(n=0\)`}, at: "tri:tri-base", vals: []string{"total=99"}},
		{cmd: "continue", out: []string{`Breakpoint 1, account \(v=6\)`}, at: "account:account-add", vals: []string{"total=99"}},
		{cmd: "continue", out: []string{`No more reverse-execution history`}, at: "poweroff:poweroff-wfi", vals: []string{"total=105"}},
		{cmd: "reverse-continue", out: []string{`Breakpoint 1, account \(v=6\)`}, at: "account:account-add", vals: []string{"total=99"}},
		{cmd: "reverse-continue", out: []string{`Breakpoint 2, tri \(n=0\)`}, at: "tri:tri-base"},
		{cmd: "reverse-continue", out: []string{`Breakpoint 1, account \(v=55\)`}, at: "account:account-add", vals: []string{"total=44"}},
		{cmd: "reverse-continue", out: []string{`Breakpoint 1, account \(v=30\)`}, at: "account:account-add", vals: []string{"total=14"}},
		{cmd: "reverse-continue", out: []string{`Breakpoint 1, account \(v=14\)`}, at: "account:account-add", vals: []string{"total=0"}},
		{cmd: "reverse-continue", out: []string{`No more reverse-execution history`}, at: "_start"},
		// tbreak and a conditional breakpoint in reverse, then forward to
		// the end: the console shows the recorded output.
		{cmd: "delete"},
		{cmd: "continue", out: []string{`No more reverse-execution history`}, at: "poweroff:poweroff-wfi"},
		{cmd: "tbreak square", out: []string{`Temporary breakpoint 3 at `}},
		{cmd: "reverse-continue", out: []string{`Temporary breakpoint 3, square \(x=5\)`}, at: "square:square-count", vals: []string{"squares=11"}},
		// A condition gdb evaluates at every hit: backward, the hits
		// that fail it are passed over.
		{cmd: "break square if x == 2", out: []string{`Breakpoint 4 at `}},
		{cmd: "reverse-continue", out: []string{`Breakpoint 4, square \(x=2\)`}, at: "square:square-count", vals: []string{"squares=8"}},
		{cmd: "reverse-continue", out: []string{`Breakpoint 4, square \(x=2\)`}, at: "square:square-count", vals: []string{"squares=4"}},
		{cmd: "reverse-continue", out: []string{`Breakpoint 4, square \(x=2\)`}, at: "square:square-count", vals: []string{"squares=1"}},
		{cmd: "reverse-continue", out: []string{`No more reverse-execution history`}, at: "_start"},
		{cmd: "delete"},
		{cmd: "continue", at: "poweroff:poweroff-wfi"},
	}
	gdbSource(t, rec, recOut, steps)
}

// Watchpoints on a global in both directions (gdb.reverse's
// watch-reverse): forward, each change is reported after the store with
// the old and new values; backward, at the store, the values swapped.
// Then the same with a software watchpoint, which gdb implements by
// single-stepping backward and comparing values.
func TestGDBDwarfWatch(t *testing.T) {
	gdbPath(t)
	rec, _ := recordRevdebug(t)
	_, lines := revdebugELF(t)
	change := func(old, new int) []string {
		return []string{`Hardware watchpoint 1: total`, fmt.Sprintf(`Old value = %d\s+New value = %d`, old, new)}
	}
	steps := []srcStop{
		{cmd: "watch total", out: []string{`Hardware watchpoint 1: total`}},
		{cmd: "continue", out: change(0, 14), at: "account:account-round", vals: []string{"v=14"}},
		{cmd: "continue", out: change(14, 44), at: "account:account-round", vals: []string{"v=30"}},
		{cmd: "continue", out: change(44, 99), at: "account:account-round", vals: []string{"v=55"}},
		{cmd: "continue", out: change(99, 105), at: "account:account-round", vals: []string{"v=6", "rounds=3"}},
		{cmd: "continue", out: []string{`No more reverse-execution history`}, at: "poweroff:poweroff-wfi"},
		{cmd: "reverse-continue", out: change(105, 99), at: "account:account-add+", vals: []string{"v=6", "total=99"}},
		{cmd: "reverse-continue", out: change(99, 44), at: "account:account-add+", vals: []string{"v=55"}},
		{cmd: "reverse-continue", out: change(44, 14), at: "account:account-add+", vals: []string{"v=30"}},
		{cmd: "bt", out: []string{`#1 .* in main_ \(\) at \S*revdebug\.c:` + strconv.Itoa(lines["main-account-b"])}},
		{cmd: "reverse-continue", out: change(14, 0), at: "account:account-add+", vals: []string{"v=14", "total=0"}},
		{cmd: "reverse-continue", out: []string{`No more reverse-execution history`}, at: "_start"},
		{cmd: "delete"},
		// Software watchpoint: from the second account() call back to
		// the store of square(4) that made squares 7.
		{cmd: fmt.Sprintf("break revdebug.c:%d", lines["main-account-b"])},
		{cmd: "continue", at: "main_:main-account-b", vals: []string{"squares=7"}},
		{cmd: "delete"},
		{cmd: "set can-use-hw-watchpoints 0"},
		{cmd: "watch squares", out: []string{`(?m)^Watchpoint \d+: squares`}},
		{cmd: "reverse-continue", out: []string{`(?m)^Watchpoint \d+: squares`, `Old value = 7\s+New value = 6`}, at: "square:square-count+", vals: []string{"x=4"}},
		{cmd: "reverse-continue", out: []string{`Old value = 6\s+New value = 5`}, at: "square:square-count+", vals: []string{"x=3"}},
		{cmd: "continue", out: []string{`Old value = 5\s+New value = 6`}, at: "square:square-mul", vals: []string{"x=3"}},
		// A store met while stepping a line stops the step, in both
		// directions.
		{cmd: "delete"},
		{cmd: "set can-use-hw-watchpoints 1"},
		{cmd: fmt.Sprintf("break revdebug.c:%d", lines["account-round"])},
		{cmd: "continue", at: "account:account-round", vals: []string{"v=30", "total=44"}},
		{cmd: "delete"},
		{cmd: "watch total", out: []string{`Hardware watchpoint \d+: total`}},
		{cmd: "reverse-step", out: []string{`Old value = 44\s+New value = 14`}, at: "account:account-add+", vals: []string{"total=14"}},
		{cmd: "reverse-step", at: "account:account-add", vals: []string{"total=14"}},
		{cmd: "next", out: []string{`Hardware watchpoint \d+: total`, `Old value = 14\s+New value = 44`}, at: "account:account-round", vals: []string{"total=44"}},
	}
	gdbSource(t, rec, nil, steps)
}

// until and advance, forward and in reverse (gdb.reverse's until-reverse):
// until leaves a loop at its end; with exec-direction reverse, until and
// advance to a location run backward to it.
func TestGDBDwarfUntil(t *testing.T) {
	gdbPath(t)
	rec, _ := recordRevdebug(t)
	_, lines := revdebugELF(t)
	steps := []srcStop{
		{cmd: "break sum_squares"},
		{cmd: "continue", at: "sum_squares:sum-init", vals: []string{"n=3"}},
		{cmd: "delete"},
		{cmd: "next", at: "sum_squares:sum-loop"},
		{cmd: "next", at: "sum_squares:sum-add", vals: []string{"i=1"}},
		{cmd: "next", at: "sum_squares:sum-loop", vals: []string{"i=1", "s=1"}},
		// until does not go back to the loop body: it runs the loop out.
		{cmd: "until", at: "sum_squares:sum-return", vals: []string{"s=14", "squares=3"}},
		{cmd: "until", at: "sum_squares:sum-end"},
		{cmd: "until", at: "main_:main-account-a", vals: []string{"a=14"}},
		{cmd: fmt.Sprintf("advance %d", lines["account-round"]), at: "account:account-round", vals: []string{"v=14", "total=14"}},
		// until and advance also stop where the current frame returns.
		{cmd: "advance mul", at: "main_:main-b", vals: []string{"total=14", "squares=3"}},
		{cmd: "advance mul", at: "mul:mul-body", vals: []string{"a=1", "b=1", "squares=4"}},
		{cmd: fmt.Sprintf("until revdebug.c:%d", lines["main-report"]), at: "square:square-mul+", vals: []string{"x=1"}},
		{cmd: fmt.Sprintf("until %d", lines["square-return"]), at: "square:square-return", vals: []string{"r=1"}},
		{cmd: fmt.Sprintf("tbreak revdebug.c:%d", lines["main-report"])},
		{cmd: "continue", at: "main_:main-report", vals: []string{"total=105"}},
		{cmd: "set exec-direction reverse"},
		{cmd: fmt.Sprintf("until revdebug.c:%d", lines["main-c"]), at: "main_:main-c", vals: []string{"total=44", "squares=7"}},
		{cmd: "advance sum_squares", at: "sum_squares:sum-init", vals: []string{"n=4"}},
		{cmd: fmt.Sprintf("advance revdebug.c:%d", lines["account-add"]), at: "account:account-add", vals: []string{"v=14", "total=0"}},
		{cmd: "set exec-direction forward"},
		{cmd: "next", at: "account:account-round", vals: []string{"total=14"}},
	}
	gdbSource(t, rec, nil, steps)
}

// A gdb that is killed while its breakpoints and watchpoints are inserted
// (here with "breakpoint always-inserted on") leaves none behind: the
// next gdb's continue runs to the end of the recording, and the stub
// reports no stop at the old places along the way.
func TestGDBDwarfKilledClient(t *testing.T) {
	gdb := gdbPath(t)
	rec, _ := recordRevdebug(t)
	prog, _ := revdebugELF(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	srv := exec.Command(rewindBinary(t), "replay", "--gdb", addr, rec)
	var serr bytes.Buffer
	srv.Stderr = &serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	waitListening(port)
	gdbArgs := func(cmds ...string) []string {
		args := []string{"-nx", "-batch", "-ex", "set architecture riscv:rv64", "-ex", "set confirm off",
			"-ex", "file " + prog, "-ex", "target remote " + addr}
		for _, c := range cmds {
			args = append(args, "-ex", c)
		}
		return args
	}

	first := exec.Command(gdb, gdbArgs("set breakpoint always-inserted on", "break mul", "watch total",
		"echo @@inserted@@\\n", "shell sleep 60")...)
	stdout, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	first.Stderr = first.Stdout
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	var firstOut strings.Builder
	sc := bufio.NewScanner(stdout)
	inserted := false
	for sc.Scan() {
		firstOut.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "@@inserted@@") {
			inserted = true
			break
		}
	}
	if !inserted {
		first.Process.Kill()
		first.Wait()
		t.Fatalf("the first gdb did not get to insert its breakpoints:\n%s", firstOut.String())
	}
	first.Process.Kill()
	first.Wait()

	out, err := exec.Command(gdb, gdbArgs("set debug remote 1", "continue", "set debug remote 0", "kill")...).CombinedOutput()
	if err != nil {
		t.Logf("gdb: %v", err)
	}
	stops := regexp.MustCompile(`Packet received: (T[0-9a-f]{2}[^\n]*)`).FindAllStringSubmatch(string(out), -1)
	if len(stops) != 1 || !strings.HasPrefix(stops[0][1], "T05replaylog:end;") {
		t.Errorf("the second gdb's continue got these stop replies, want only the end of the recording:\n%v\n%s", stops, out)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("rewind did not exit after gdb killed the session; stderr:\n%s", serr.String())
	}
	if !strings.Contains(serr.String(), "removed what the client left set") {
		t.Errorf("rewind did not say it removed the first client's breakpoints:\n%s", serr.String())
	}
}
