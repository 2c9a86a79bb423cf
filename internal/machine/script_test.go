package machine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// guestDir finds the shared Linux guest. In CI a missing guest is a
// failure, not a skip.
func guestDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("REWIND_GUEST")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "guest")
	}
	if _, err := os.Stat(filepath.Join(dir, "Image")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Linux guest not found (set REWIND_GUEST): %v", err)
		}
		t.Skipf("Linux guest not found (set REWIND_GUEST): %v", err)
	}
	return dir
}

func readGuest(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// step is one exchange of a scripted console session: wait until the
// console output (since the previous step) contains Expect, then type
// Send.
type step struct {
	Expect string
	Send   string
}

// session drives a machine's serial console from the machine goroutine,
// so where input enters depends only on guest output: deterministic.
type session struct {
	t       testing.TB
	m       *Machine
	out     bytes.Buffer
	mark    int // output consumed by completed steps
	steps   []step
	next    int
	entered []inputAt   // when each byte run entered the UART
	sentAt  []time.Time // host time each step's input was sent
	sentIC  []uint64    // the machine's instruction count then
	echo    bool
}

type inputAt struct {
	ICount uint64
	Bytes  string
}

func (s *session) Write(p []byte) (int, error) {
	if s.echo {
		os.Stdout.Write(p)
	}
	return s.out.Write(p)
}

func (s *session) beforeSlice() {
	for s.next < len(s.steps) {
		st := s.steps[s.next]
		i := bytes.Index(s.out.Bytes()[s.mark:], []byte(st.Expect))
		if i < 0 {
			return
		}
		s.mark += i + len(st.Expect)
		s.m.InjectInput([]byte(st.Send))
		s.sentAt = append(s.sentAt, time.Now())
		s.sentIC = append(s.sentIC, s.m.ICount())
		s.next++
	}
}

// transcript returns the console output between the end of step i's
// Expect and the end of step i+1's Expect.
func (s *session) String() string { return s.out.String() }

func newSession(t testing.TB, cfg Config, steps []step) *session {
	t.Helper()
	s := &session{t: t, steps: steps, echo: os.Getenv("REWIND_ECHO") != ""}
	cfg.Console = s
	cfg.Logf = func(format string, args ...any) { t.Logf("device: "+format, args...) }
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Idle = IdleFast
	m.NoHostInput = true
	m.BeforeSlice = s.beforeSlice
	m.OnInputEntered = func(ic uint64, p []byte) {
		s.entered = append(s.entered, inputAt{ic, string(p)})
	}
	s.m = m
	return s
}

func (s *session) run(limit uint64) Result {
	s.t.Helper()
	res, err := s.m.Run(limit)
	if err != nil {
		s.t.Fatalf("run: %v", err)
	}
	if s.next < len(s.steps) {
		tail := s.out.String()
		if len(tail) > 3000 {
			tail = tail[len(tail)-3000:]
		}
		s.t.Fatalf("machine stopped (%v at icount %d, pc %#x) waiting for %q (step %d); console tail:\n%s",
			res.Reason, res.ICount, s.m.Cur().PC(), s.steps[s.next].Expect, s.next, tail)
	}
	return res
}

func fmtDigest(d [32]byte) string { return fmt.Sprintf("%x", d) }

// runTimeline runs a machine feeding input exactly at the recorded
// instruction counts (no output matching): the second half of every
// determinism check.
func runTimeline(t testing.TB, m *Machine, timeline []inputAt, limit uint64) Result {
	t.Helper()
	for _, in := range timeline {
		m.StopAt = in.ICount
		if _, err := m.Run(limit); err != nil {
			t.Fatalf("run to icount %d: %v", in.ICount, err)
		}
		if m.Halted() {
			t.Fatalf("machine halted (%v) at icount %d before input due at %d", m.haltReason, m.ICount(), in.ICount)
		}
		if m.ICount() != in.ICount {
			t.Fatalf("machine stopped at icount %d, want %d", m.ICount(), in.ICount)
		}
		m.InjectInput([]byte(in.Bytes))
	}
	m.StopAt = 0
	res, err := m.Run(limit)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
