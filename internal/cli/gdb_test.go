package cli

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Reverse debugging with the real gdb-multiarch against recordings.

func gdbPath(t *testing.T) string {
	p, err := exec.LookPath("gdb-multiarch")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gdb-multiarch is not installed")
		}
		t.Skip("gdb-multiarch is not installed")
	}
	return p
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// debugSession serves rec to gdb and runs the gdb commands in batch mode;
// it returns gdb's output and the replay's console output.
func debugSession(t *testing.T, rec string, symbols string, cmds []string) (gdbOut, console string) {
	t.Helper()
	return debugSessionWith(t, nil, rec, symbols, cmds)
}

// debugSessionWith is debugSession with more options for rewind replay
// (e.g. --engine jit).
func debugSessionWith(t *testing.T, opts []string, rec string, symbols string, cmds []string) (gdbOut, console string) {
	t.Helper()
	gdb := gdbPath(t)
	port := freePort(t)
	srvArgs := append([]string{"replay", "--gdb", fmt.Sprintf("127.0.0.1:%d", port), "-serial", "stdio"}, opts...)
	srv := exec.Command(rewindBinary(t), append(srvArgs, rec)...)
	var sout, serr bytes.Buffer
	srv.Stdout, srv.Stderr = &sout, &serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	waitListening(port)
	args := []string{"-nx", "-batch", "-ex", "set architecture riscv:rv64", "-ex", "set pagination off", "-ex", "set confirm off"}
	if symbols != "" {
		args = append(args, "-ex", "file "+symbols)
	}
	args = append(args, "-ex", fmt.Sprintf("target remote 127.0.0.1:%d", port))
	for _, c := range cmds {
		args = append(args, "-ex", c)
	}
	args = append(args, "-ex", "kill")
	cmd := exec.Command(gdb, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("gdb exited: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("rewind did not exit after gdb killed the session; stderr:\n%s", serr.String())
	}
	if strings.Contains(serr.String(), "panic") {
		t.Fatalf("rewind panicked:\n%s", serr.String())
	}
	return string(out), sout.String()
}

var gdbValueRE = regexp.MustCompile(`(?m)^\$\d+ = (0x[0-9a-f]+|\d+)`)

func gdbValues(t *testing.T, out string) []uint64 {
	var vs []uint64
	for _, m := range gdbValueRE.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseUint(m[1], 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

// The built-in guest: stepi forward and reverse-stepi back give the same
// pcs; a breakpoint found going forward is found again with
// reverse-continue; monitor seek and when agree.
func TestGDBBuiltin(t *testing.T) {
	rec, _, recOut := recordBuiltinCLI(t)
	const n = 8
	var cmds []string
	cmds = append(cmds, "monitor seek 1500000", "maint flush register-cache")
	for i := 0; i < n; i++ {
		cmds = append(cmds, "p/x $pc", "stepi")
	}
	cmds = append(cmds, "p/x $pc")
	for i := 0; i < n; i++ {
		cmds = append(cmds, "reverse-stepi", "p/x $pc")
	}
	out, _ := debugSession(t, rec, "", cmds)
	vs := gdbValues(t, out)
	if len(vs) != 2*n+1 {
		t.Fatalf("got %d values from gdb, want %d; gdb output:\n%s", len(vs), 2*n+1, out)
	}
	for i := 0; i < n; i++ {
		fwd := vs[n-1-i]
		back := vs[n+1+i]
		if fwd != back {
			t.Fatalf("reverse-stepi %d: pc %#x, stepi saw %#x\n%s", i+1, back, fwd, out)
		}
	}
	bp := vs[3]

	// Breakpoints in both directions, seek and when, then run to the end:
	// the console output is the recorded one.
	out, console := debugSession(t, rec, "", []string{
		"monitor when",
		fmt.Sprintf("break *%#x", bp),
		"continue", "monitor when", "continue", "monitor when", "continue", "monitor when",
		"reverse-continue", "monitor when", "reverse-continue", "monitor when",
		"delete",
		"monitor seek 1000", "monitor when", "monitor seek 2000000", "monitor when",
		"continue",
		"monitor when",
	})
	whenRE := regexp.MustCompile(`icount (\d+) \(of`)
	var whens []uint64
	for _, m := range whenRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseUint(m[1], 10, 64)
		whens = append(whens, v)
	}
	if len(whens) != 9 {
		t.Fatalf("monitor when printed %d times, want 9; gdb output:\n%s", len(whens), out)
	}
	hit1, hit2, hit3 := whens[1], whens[2], whens[3]
	if !(hit1 < hit2 && hit2 < hit3) {
		t.Fatalf("forward hits %d %d %d not increasing\n%s", hit1, hit2, hit3, out)
	}
	if whens[4] != hit2 || whens[5] != hit1 {
		t.Fatalf("reverse-continue went to %d then %d, want %d then %d\n%s", whens[4], whens[5], hit2, hit1, out)
	}
	if whens[6] != 1000 || whens[7] != 2000000 {
		t.Fatalf("monitor seek landed at %d and %d\n%s", whens[6], whens[7], out)
	}
	if !strings.Contains(out, "No more reverse-execution history") {
		t.Fatalf("continue to the end did not report the end of the history:\n%s", out)
	}
	if console != string(recOut) {
		t.Fatalf("console output while debugging differs from the recording:\n%q\nvs\n%q", console, recOut)
	}
}

// The Linux guest with vmlinux symbols: break on a kernel function, step
// forward and back, find the last write of jiffies with reverse-continue
// on a watchpoint.
func TestGDBLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := guestDir(t)
	gdbPath(t)
	rec := filepath.Join(t.TempDir(), "linux.rwd")
	args := append([]string{"record", "-o", rec, "-serial", "stdio", "--fast-idle", "--stats"}, linuxArgs(dir)...)
	cmd := exec.Command(rewindBinary(t), args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := newConsole(t, stdout, stdin)
	for _, line := range []string{"uname -a", "uname -r"} {
		c.expect("\n$ ", 2*time.Minute)
		c.typeLine(line + "\n")
	}
	c.expect("\n$ ", 2*time.Minute)
	c.typeLine("poweroff\n")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("record: %v\n%s", err, errb.String())
	}
	const n = 6
	cmds := []string{"break __do_sys_newuname", "continue", "p/x $pc", "monitor when"}
	for i := 0; i < n; i++ {
		cmds = append(cmds, "stepi", "p/x $pc")
	}
	for i := 0; i < n; i++ {
		cmds = append(cmds, "reverse-stepi", "p/x $pc")
	}
	cmds = append(cmds,
		"continue", "monitor when", // the second uname
		"reverse-continue", "monitor when", // back to the first
		"delete",
		"watch -l *(long *)&jiffies_64",
		"reverse-continue", "p/x $pc", "p *(long *)&jiffies_64", "stepi", "p *(long *)&jiffies_64",
		"delete",
		"monitor seek 90000000", "monitor when", "monitor seek 12345678", "monitor when",
		"maint flush register-cache",
		"continue",
		"monitor digest",
	)
	out, console := debugSession(t, rec, filepath.Join(dir, "vmlinux"), cmds)
	if os.Getenv("REWIND_SHOW_GDB") != "" {
		t.Log(out)
	}
	vs := gdbValues(t, out)
	if len(vs) < 1+2*n+3 {
		t.Fatalf("got %d values; gdb output:\n%s", len(vs), out)
	}
	if !strings.Contains(out, "__do_sys_newuname") {
		t.Fatalf("breakpoint on __do_sys_newuname not reported:\n%s", out)
	}
	fwd, back := vs[1:1+n], vs[1+n:1+2*n]
	for i := 0; i < n-1; i++ {
		if back[i] != fwd[n-2-i] {
			t.Fatalf("reverse-stepi %d: pc %#x, forward %#x\n%s", i, back[i], fwd[n-2-i], out)
		}
	}
	if back[n-1] != vs[0] {
		t.Fatalf("after %d reverse-stepi pc %#x, breakpoint was at %#x", n, back[n-1], vs[0])
	}
	whenRE := regexp.MustCompile(`icount (\d+) \(of`)
	var whens []uint64
	for _, m := range whenRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseUint(m[1], 10, 64)
		whens = append(whens, v)
	}
	if len(whens) != 5 || !(whens[1] > whens[0]) || whens[2] != whens[0] {
		t.Fatalf("uname breakpoint hits %v: want first, second, first again, then two seeks\n%s", whens, out)
	}
	if whens[3] != 90000000 || whens[4] != 12345678 {
		t.Fatalf("monitor seek went to %d and %d", whens[3], whens[4])
	}
	writer, before, after := vs[1+2*n], vs[1+2*n+1], vs[1+2*n+2]
	if after != before+1 {
		t.Fatalf("jiffies before the last write %d, after %d (writer pc %#x)\n%s", before, after, writer, out)
	}
	// After all that, the run to the end reproduced the recording: the
	// same console output and the same final machine state.
	if console != string(c.bytes()) {
		t.Fatalf("console output while debugging differs from the recording\ndebug tail:\n%s\nrecorded tail:\n%s", tail([]byte(console), 1500), tail(c.bytes(), 1500))
	}
	want := statsField(t, digestRE, errb.String())
	if !strings.Contains(out, "state digest "+want) {
		t.Fatalf("final state digest after debugging differs from the recording's %s:\n%s", want, out)
	}
}

// Live debugging (rewind run --gdb) goes forward only; reverse commands
// get an error that says why.
func TestGDBLive(t *testing.T) {
	gdb := gdbPath(t)
	port := freePort(t)
	srv := exec.Command(rewindBinary(t), "run", "--gdb", fmt.Sprintf("127.0.0.1:%d", port), "-serial", "null", "--fast-idle")
	var serr bytes.Buffer
	srv.Stderr = &serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	waitListening(port)
	out, _ := exec.Command(gdb, "-nx", "-batch", "-ex", "set architecture riscv:rv64",
		"-ex", fmt.Sprintf("target remote 127.0.0.1:%d", port),
		"-ex", "p/x $pc", "-ex", "stepi", "-ex", "stepi", "-ex", "p/x $pc",
		"-ex", "reverse-stepi", "-ex", "monitor when", "-ex", "kill").CombinedOutput()
	vs := gdbValues(t, string(out))
	if len(vs) != 2 || vs[0] != 0x80000000 || vs[1] == vs[0] {
		t.Fatalf("live stepping: values %x\n%s", vs, out)
	}
	if !strings.Contains(string(out), "no history to go back in") || !strings.Contains(string(out), "icount 2 (live)") {
		t.Fatalf("reverse-stepi on a live machine:\n%s", out)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("rewind run --gdb: %v\n%s", err, serr.String())
	}
}

// waitListening waits (up to 6 s) until something accepts connections on
// the loopback port.
func waitListening(port int) {
	for i := 0; i < 300; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
