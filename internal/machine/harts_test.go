package machine

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	raceELF   = filepath.Join("..", "..", "testdata", "smp-race", "race.elf")
	lockedELF = filepath.Join("..", "..", "testdata", "smp-race", "locked.elf")
)

var raceLine = regexp.MustCompile(`counter=(\d+) expected=400000 lost=(\d+)\n(RACE|OK)\n`)

// newRaceMachine builds a 16 MiB machine running the smp-race program at
// path, with the harts, schedule, engine and console of cfg (a buffer
// when it has none), idling fast and taking no host input.
func newRaceMachine(t *testing.T, path string, cfg Config) *Machine {
	t.Helper()
	prog, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RAMSize, cfg.Kernel = 16<<20, prog
	if cfg.Console == nil {
		cfg.Console = &bytes.Buffer{}
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Idle, m.NoHostInput = IdleFast, true
	return m
}

// runRace runs a smp-race program and returns its lost-update count, the
// final digest and the per-hart instruction counts.
func runRace(t *testing.T, path string, harts int, sc Schedule, jit bool) (lost int, digest [32]byte, counts []uint64) {
	t.Helper()
	var out bytes.Buffer
	m := newRaceMachine(t, path, Config{Console: &out, Harts: harts, Schedule: sc, JIT: jit})
	res, err := m.Run(100_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != HaltPowerOff {
		t.Fatalf("%v (code %d) after %d instructions; output:\n%s", res.Reason, res.ExitCode, res.ICount, out.String())
	}
	sub := raceLine.FindStringSubmatch(out.String())
	if sub == nil {
		t.Fatalf("no result line; output:\n%s", out.String())
	}
	lost, _ = strconv.Atoi(sub[2])
	if jit && jitHost {
		// The harts share one code cache, and both ran the loop in it.
		for _, h := range m.Harts[1:] {
			if !h.SameJIT(m.Harts[0]) {
				t.Fatalf("hart %d has a code cache of its own", h.HartID)
			}
		}
		if st := m.Harts[0].JITStats(); st.Blocks == 0 {
			t.Fatalf("nothing was compiled: %+v", st)
		}
	}
	var sum uint64
	for _, c := range m.HartCounts() {
		sum += c
	}
	if sum != res.ICount {
		t.Fatalf("hart counts %v add up to %d, machine icount %d", m.HartCounts(), sum, res.ICount)
	}
	return lost, m.Digest(), m.HartCounts()
}

// TestSMPRaceSchedules: two harts doing an unlocked read-modify-write on a
// shared counter lose updates where the schedule preempts one inside the
// update; the same schedule loses the same updates every time and on
// either engine; with an LR/SC lock no schedule loses any.
func TestSMPRaceSchedules(t *testing.T) {
	schedules := []Schedule{
		{},
		{QuantumMin: 997},
		{Seed: 1},
		{Seed: 2},
		{Seed: 3, QuantumMin: 50, QuantumMax: 500},
		{Seed: 4, RandomOrder: true},
	}
	lostAny := false
	for _, sc := range schedules {
		t.Run("race/"+sc.String(), func(t *testing.T) {
			lost, d1, c1 := runRace(t, raceELF, 2, sc, false)
			lost2, d2, c2 := runRace(t, raceELF, 2, sc, true)
			if lost != lost2 || d1 != d2 {
				t.Fatalf("interpreter lost %d (digest %x), compiled engine lost %d (digest %x)", lost, d1, lost2, d2)
			}
			if diff := cmp.Diff(c1, c2); diff != "" {
				t.Fatalf("hart counts differ between engines (-interp +jit):\n%s", diff)
			}
			if lost > 0 {
				lostAny = true
			}
			t.Logf("lost %d updates, hart counts %v", lost, c1)
		})
		t.Run("locked/"+sc.String(), func(t *testing.T) {
			if lost, _, _ := runRace(t, lockedELF, 2, sc, jitHost); lost != 0 {
				t.Fatalf("lost %d updates with the lock", lost)
			}
		})
	}
	if !lostAny {
		t.Error("no schedule lost an update in the unlocked program")
	}
}

// TestSMPParkedHarts: harts beyond the two that count sleep in WFI and
// cost no instructions; eight harts give the same result as two.
func TestSMPParkedHarts(t *testing.T) {
	lost2, _, _ := runRace(t, raceELF, 2, Schedule{}, jitHost)
	lost8, _, counts := runRace(t, raceELF, 8, Schedule{}, jitHost)
	if lost2 != lost8 {
		t.Errorf("2 harts lost %d updates, 8 harts %d", lost2, lost8)
	}
	for i, c := range counts[2:] {
		if c > 1000 {
			t.Errorf("parked hart %d executed %d instructions", i+2, c)
		}
	}
}

// TestSMPSnapshotResume: a multi-hart machine saved mid-run and restored
// into a fresh machine finishes in the same state as one that never
// stopped.
func TestSMPSnapshotResume(t *testing.T) {
	mk := func() *Machine { return newRaceMachine(t, raceELF, Config{Harts: 3, Schedule: Schedule{Seed: 7}}) }
	ref := mk()
	if _, err := ref.Run(0); err != nil {
		t.Fatal(err)
	}
	a := mk()
	a.StopAt = 1_234_567
	if _, err := a.Run(0); err != nil {
		t.Fatal(err)
	}
	st, err := a.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	b := mk()
	copy(b.Bus.RAM, a.Bus.RAM)
	if err := b.LoadState(st); err != nil {
		t.Fatal(err)
	}
	if b.ICount() != 1_234_567 || b.CurHart() != a.CurHart() {
		t.Fatalf("restored at icount %d hart %d, saved at %d hart %d", b.ICount(), b.CurHart(), a.ICount(), a.CurHart())
	}
	if _, err := b.Run(0); err != nil {
		t.Fatal(err)
	}
	if ref.Digest() != b.Digest() {
		t.Fatalf("restored run ends in digest %x, uninterrupted run %x", b.Digest(), ref.Digest())
	}
}

// TestStopHart: StopHart stops the machine right after a given hart's
// own instruction count is reached, while that hart runs.
func TestStopHart(t *testing.T) {
	m := newRaceMachine(t, raceELF, Config{Harts: 2})
	m.StopHart, m.StopHartAt = 1, 25_001
	if _, err := m.Run(0); err != nil {
		t.Fatal(err)
	}
	if m.CurHart() != 1 || m.Harts[1].ICount() != 25_001 {
		t.Fatalf("stopped on hart %d with hart 1 at %d instructions, want hart 1 at 25001", m.CurHart(), m.Harts[1].ICount())
	}
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    Schedule
		wantErr bool
	}{
		{"", Schedule{}, false},
		{"seed=5", Schedule{Seed: 5}, false},
		{"seed=5,quantum=10-20,order=random", Schedule{Seed: 5, QuantumMin: 10, QuantumMax: 20, RandomOrder: true}, false},
		{"quantum=3000", Schedule{QuantumMin: 3000, QuantumMax: 3000}, false},
		{"seed=0", Schedule{}, true},
		{"quantum=10-20", Schedule{}, true},
		{"order=random", Schedule{}, true},
		{"seed=1,quantum=20-10", Schedule{}, true},
		{"seed=1,quantum=0", Schedule{}, true},
		{"speed=1", Schedule{}, true},
		{"seed", Schedule{}, true},
	}
	for _, tt := range tests {
		got, err := ParseSchedule(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSchedule(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("ParseSchedule(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if err == nil {
			back, err := ParseSchedule(got.String())
			if err != nil || back.Seed != got.Seed || back.RandomOrder != got.RandomOrder {
				t.Errorf("ParseSchedule(%q).String() = %q does not parse back: %+v, %v", tt.in, got.String(), back, err)
			}
		}
	}
}

// TestInitialPages: before a machine runs, every non-zero RAM page is
// one InitialPages lists (the debugger relies on it instead of scanning
// all of RAM); after it ran, InitialPages declines.
func TestInitialPages(t *testing.T) {
	m := newRaceMachine(t, raceELF, Config{Harts: 2})
	pages, ok := m.InitialPages()
	if !ok || len(pages) == 0 {
		t.Fatalf("InitialPages = %d pages, %v before the first run", len(pages), ok)
	}
	listed := map[uint64]bool{}
	for _, p := range pages {
		listed[p] = true
	}
	var zero [4096]byte
	for pg := uint64(0); pg < uint64(len(m.Bus.RAM))/4096; pg++ {
		if !bytes.Equal(m.Bus.RAM[pg*4096:(pg+1)*4096], zero[:]) && !listed[pg] {
			t.Errorf("page %#x is not zero but not listed", pg)
		}
	}
	m.Idle, m.NoHostInput = IdleFast, true
	m.StopAt = 1000
	if _, err := m.Run(0); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.InitialPages(); ok {
		t.Error("InitialPages still answers after the machine ran")
	}
}
