package gdbstub

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests drive the stub with a real gdb-multiarch. Without it they
// skip, except in CI (CI set), where they fail.

func gdbPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("gdb-multiarch")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("gdb-multiarch is required in CI: %v", err)
		}
		t.Skip("gdb-multiarch not installed")
	}
	return p
}

// startStub serves tg on a loopback port and returns its address and a
// channel with Serve's result.
func startStub(t *testing.T, tg Target) (string, <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(tg, Options{Logf: t.Logf, TracePackets: testing.Verbose()})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), done
}

// gdbCommand builds a batch gdb connected to addr running cmds. Each
// command is preceded by a marker line so the output can be split.
func gdbCommand(ctx context.Context, t *testing.T, addr string, cmds []string) *exec.Cmd {
	args := []string{"-nx", "-batch",
		"-ex", "set architecture riscv:rv64",
		"-ex", "set pagination off",
		"-ex", "set confirm off",
		"-ex", "target remote " + addr}
	for i, c := range cmds {
		args = append(args, "-ex", fmt.Sprintf("echo \\n@@%d@@\\n", i), "-ex", c)
	}
	args = append(args, "-ex", "echo \\n@@end@@\\n")
	cmd := exec.CommandContext(ctx, gdbPath(t), args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TERM=dumb", "LC_ALL=C")
	return cmd
}

// splitGDB cuts gdb's output at the markers: out[i] is what command i
// printed.
func splitGDB(t *testing.T, out string, n int) []string {
	t.Helper()
	res := make([]string, n)
	for i := 0; i < n; i++ {
		mark := fmt.Sprintf("@@%d@@\n", i)
		next := fmt.Sprintf("@@%d@@\n", i+1)
		if i == n-1 {
			next = "@@end@@\n"
		}
		start, end := strings.Index(out, mark), strings.Index(out, next)
		if start < 0 || end < start {
			t.Fatalf("gdb output is missing the output of command %d:\n%s", i, out)
		}
		res[i] = out[start+len(mark) : end]
	}
	return res
}

// step is one gdb command and regular expressions its output must match.
type step struct {
	cmd  string
	want []string
}

func runGDBSteps(t *testing.T, tg Target, steps []step) {
	t.Helper()
	addr, done := startStub(t, tg)
	cmds := make([]string, len(steps))
	for i, s := range steps {
		cmds[i] = s.cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := gdbCommand(ctx, t, addr, cmds).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("gdb timed out; output:\n%s", out)
	}
	if err != nil {
		t.Errorf("gdb: %v", err)
	}
	parts := splitGDB(t, string(out), len(steps))
	for i, s := range steps {
		for _, w := range s.want {
			if !regexp.MustCompile(w).MatchString(parts[i]) {
				t.Errorf("command %q: output does not match %q:\n%s", s.cmd, w, parts[i])
			}
		}
	}
	if t.Failed() {
		t.Logf("full gdb output:\n%s", out)
	}
	// gdb detaches at the end of the batch: Serve returns nil.
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Serve did not return after gdb detached")
	}
}

func pcIs(pc uint64) string { return fmt.Sprintf(`pc +0x%x\s`, pc) }

func TestGDBSession(t *testing.T) {
	gdbPath(t)
	runGDBSteps(t, newFakeTarget(), []step{
		// target.xml accepted: ABI names, FP registers, CSRs, priv.
		{"info registers", []string{`(?m)^ra +0x0`, `(?m)^sp +0x80002000`, `(?m)^fp +`, `(?m)^a0 +`,
			`(?m)^t6 +`, `(?m)^pc +0x80000000`}},
		{"info registers pc", []string{pcIs(fakeCode)}},
		{"info registers priv", []string{`priv +0x3\s+prv:3 \[Machine\]`}},
		{"info registers fflags frm fcsr", []string{`(?m)^fflags +0x0`, `(?m)^frm +0x0`, `(?m)^fcsr +0x0`}},
		{"info all-registers", []string{`(?m)^zero +0x0`, `(?m)^ft0 +\{float = .*double = 3\.14159`,
			`(?m)^fs11 `, `(?m)^mstatus +0xa00000000`, `(?m)^misa +0x800000000014112d\s+RV64ACDFIMSU`,
			`(?m)^sstatus +<unavailable>`, `(?m)^priv +0x3`}},
		{"p $x5", []string{`= 0`}},
		// Stepping both ways (s/vCont;s and bs).
		{"stepi", []string{`0x0*80000004 in`}},
		{"stepi", []string{`0x0*80000008 in`}},
		{"reverse-stepi", []string{`0x0*80000004 in`}},
		{"info registers pc a0", []string{pcIs(fakeCode + 4), `(?m)^a0 +0x1\s`}},
		// Breakpoints forward and backward.
		{fmt.Sprintf("break *%#x", fakeStore), []string{`Breakpoint 1 at 0x80000010`}},
		{"continue", []string{`Breakpoint 1, 0x0*80000010 in`}},
		{"continue", []string{`Breakpoint 1, 0x0*80000010 in`}},
		{"info registers a0", []string{`(?m)^a0 +0x8\s`}},
		{"reverse-continue", []string{`Breakpoint 1, 0x0*80000010 in`}},
		{"info registers a0", []string{`(?m)^a0 +0x4\s`}},
		{"reverse-continue", []string{`No more reverse-execution history`, `0x0*80000000 in`}},
		{"delete", nil},
		{fmt.Sprintf("hbreak *%#x", fakeBranch), []string{`Hardware assisted breakpoint 2 at 0x80000018`}},
		{"continue", []string{`Breakpoint 2, 0x0*80000018 in`}},
		{"delete", nil},
		// Watchpoints: forward stops after the store, backward at it.
		{fmt.Sprintf("watch *(long*)%#x", fakeData), []string{`Hardware watchpoint 3`}},
		{"continue", []string{`Hardware watchpoint 3`, `Old value = 17\s+New value = 34`, `0x0*80000014 in`}},
		{"info registers a0", []string{`(?m)^a0 +0x9\s`}},
		{"reverse-continue", []string{`Hardware watchpoint 3`, `Old value = 34\s+New value = 17`, `0x0*80000010 in`}},
		{"info registers a0", []string{`(?m)^a0 +0x8\s`}},
		{"x/2gx 0x80001000", []string{`0x80001000:\s+0x0000000000000011\s+0x0000000000001234`}},
		{"delete", nil},
		{fmt.Sprintf("rwatch *(long*)%#x", fakeInput), []string{`Hardware read watchpoint 4`}},
		{"continue", []string{`Hardware read watchpoint 4`, `Value = 4660`, `0x0*80000018 in`}},
		{"reverse-continue", []string{`Hardware read watchpoint 4`, `0x0*80000014 in`}},
		{"delete", nil},
		// Monitor commands.
		{"monitor when", []string{`icount 9`}},
		{"monitor seek 3", []string{`at icount 3`}},
		{"maint flush register-cache", nil},
		{"info registers pc", []string{pcIs(fakeLoop)}},
		{"monitor bogus", []string{`unknown monitor command "bogus"`, `Protocol error with Rcmd`}},
		// Writing registers and memory (P, X).
		{"set var $t1 = 0x1234", nil},
		{"info registers t1", []string{`(?m)^t1 +0x1234\s`}},
		{"set var *(long*)0x80001000 = 0x5555", nil},
		{"x/gx 0x80001000", []string{`0x80001000:\s+0x0000000000005555`}},
		{"x/4xb 0x80001ffe", []string{`Cannot access memory at address 0x80002000`}},
		// The end of the recording.
		{"continue", []string{`No more reverse-execution history`, `0x0*80000024 in`}},
		{"stepi", []string{`No more reverse-execution history`}},
	})
}

func TestGDBLiveTarget(t *testing.T) {
	gdbPath(t)
	ft := newFakeTarget()
	ft.reverse = false
	runGDBSteps(t, ft, []step{
		{"stepi", []string{`0x0*80000004 in`}},
		{"reverse-stepi", []string{`Remote failure reply: E.live machine: record with 'rewind record'`}},
		{"reverse-continue", []string{`Remote failure reply: E.live machine`}},
		{"info registers pc", []string{pcIs(fakeCode + 4)}},
	})
}

func TestGDBInterrupt(t *testing.T) {
	gdbPath(t)
	ft := newFakeTarget()
	ft.spin = true
	addr, done := startStub(t, ft)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := gdbCommand(ctx, t, addr, []string{"continue", "info registers pc"})
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ft.started:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("gdb never continued:\n%s", out.String())
	}
	// Ctrl-C in gdb: gdb sends 0x03, the stub interrupts the target.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("gdb: %v", err)
	}
	parts := splitGDB(t, out.String(), 2)
	if !strings.Contains(parts[0], "Program received signal SIGINT") {
		t.Errorf("continue output:\n%s", parts[0])
	}
	if !regexp.MustCompile(pcIs(fakeCode)).MatchString(parts[1]) {
		t.Errorf("info registers pc after the interrupt:\n%s", parts[1])
	}
	if err := waitErr(t, done); err != nil {
		t.Errorf("Serve: %v", err)
	}
}
