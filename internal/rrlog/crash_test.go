package rrlog

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// crashEnv, when set, makes TestCrashChild record into the named file
// until it is killed.
const crashEnv = "RRLOG_CRASH_CHILD_PATH"

// crashEvent is the i'th event the child records: deterministic, so the
// parent knows what the file must hold.
func crashEvent(t testing.TB, i int) Event {
	ic := uint64(i) * 1000
	switch i % 4 {
	case 0:
		return NewSerialInput(ic, 0, []byte(fmt.Sprintf("echo %d\n", i)))
	case 1:
		return NewWarp(ic, uint64(i))
	case 2:
		return NewBlockComplete(ic, BlockComplete{Device: 0, Request: uint64(i)})
	default:
		return mustDigest(t, ic, Digest{Sum: [32]byte{byte(i)}, Pages: []PageHash{{Page: uint64(i), Hash: uint64(i)}}})
	}
}

// TestCrashChild is the recorder process of TestSIGKILL. It appends events
// with the default options and reports each batch on stdout, and never
// returns: the parent kills it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestSIGKILL")
	}
	w, err := Create(path, Header{Emulator: "crash-child", Created: "2025-01-01T00:00:00Z"})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		if err := w.Append(crashEvent(t, i)); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		if i%10 == 9 {
			fmt.Printf("appended %d\n", i+1)
			time.Sleep(time.Millisecond)
		}
	}
}

// TestSIGKILL records in a child process, kills it with SIGKILL while it
// is appending, and checks the crash-safety contract: the file replays a
// prefix of what was appended, that prefix includes everything appended
// well over a flush interval before the kill, and the reader says where
// the recording ends.
func TestSIGKILL(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("needs SIGKILL")
	}
	if testing.Short() {
		t.Skip("spawns a subprocess")
	}
	path := filepath.Join(t.TempDir(), "run.rwd")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	type report struct {
		n  int
		at time.Time
	}
	reports := make(chan report, 1024)
	go func() {
		defer close(reports)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "appended "); ok {
				v, _ := strconv.Atoi(n)
				reports <- report{v, time.Now()}
			} else if strings.HasPrefix(line, "error") {
				t.Errorf("child: %s", line)
			}
		}
	}()

	// Let the child run ~1.2 s; remember what it had appended 600 ms (six
	// flush intervals, slack for a loaded CI machine) before the kill.
	const margin = 600 * time.Millisecond
	var history []report
	var start time.Time
	timeout := time.After(20 * time.Second)
	for start.IsZero() || time.Since(start) < 2*margin {
		select {
		case r, ok := <-reports:
			if !ok {
				t.Fatal("child exited early")
			}
			if start.IsZero() {
				start = r.at
			}
			history = append(history, r)
		case <-timeout:
			t.Fatal("child made no progress")
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for range reports {
	}
	_ = cmd.Wait()
	safe := 0
	for _, r := range history {
		if killed.Sub(r.at) >= margin {
			safe = r.n
		}
	}
	last := history[len(history)-1].n
	if safe == 0 {
		t.Fatalf("no batch reported %v before the kill (%d reports)", margin, len(history))
	}

	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		ev, err := r.Next()
		if err != nil {
			te := asTruncated(t, err)
			if te.Reason != TruncNoEnd && te.Reason != TruncShortChunk {
				t.Fatalf("killed recorder: %v, want a clean cut (no end or EOF inside a chunk)", err)
			}
			if te.Events != uint64(n) {
				t.Errorf("TruncatedError counts %d events, reader returned %d", te.Events, n)
			}
			break
		}
		if diff := diffEvents([]Event{crashEvent(t, n)}, []Event{ev}); diff != "" {
			t.Fatalf("event %d (-want +got):\n%s", n, diff)
		}
		n++
	}
	t.Logf("child appended >= %d events (%d reported %v before the kill); the file replays %d", last, safe, margin, n)
	if n < safe {
		t.Errorf("file replays %d events, but %d were appended at least %v before the kill", n, safe, margin)
	}
	rep, err := Verify(path)
	if err == nil || rep.Events != uint64(n) || rep.End != nil {
		t.Errorf("Verify = %+v, %v; want %d events, no end, a truncation error", rep, err, n)
	}
}
