package machine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rewindvm/rewind/internal/cpu"
)

// MaxHarts is the largest -smp the virt board takes.
const MaxHarts = 8

// DefaultHartQuantum is how many instructions a hart of a multi-hart
// machine runs before the next one takes over (unless it sleeps in WFI
// first), when no schedule seed draws the lengths.
const DefaultHartQuantum = 10_000

// Default quantum range of a seeded schedule (--schedule seed=S).
const (
	DefaultSeededQuantumMin = 100
	DefaultSeededQuantumMax = 20_000
)

// Schedule says how a multi-hart machine shares its one host thread
// among the harts. The harts run one at a time, round-robin, each for a
// quantum of instructions or until it sleeps in WFI. The schedule is a
// pure function of these parameters and the machine's state, never of
// host timing, so it is part of a recording's configuration.
type Schedule struct {
	// Seed, when nonzero, draws every quantum length from a generator
	// seeded with it, uniformly in QuantumMin..QuantumMax.
	Seed uint64
	// QuantumMin and QuantumMax bound the quantum. Without a seed only
	// QuantumMin is used (0: DefaultHartQuantum); with a seed, zeros mean
	// DefaultSeededQuantumMin and DefaultSeededQuantumMax.
	QuantumMin, QuantumMax uint64
	// RandomOrder (seeded schedules only) picks the next hart at random
	// among the runnable ones instead of round-robin.
	RandomOrder bool
}

// normalize fills in defaults and checks the ranges.
func (s Schedule) normalize() (Schedule, error) {
	if s.Seed == 0 {
		if s.RandomOrder {
			return s, errors.New("a random hart order needs a seed")
		}
		if s.QuantumMax != 0 && s.QuantumMax != s.QuantumMin {
			return s, fmt.Errorf("a quantum range %d-%d needs a seed", s.QuantumMin, s.QuantumMax)
		}
		if s.QuantumMin == 0 {
			s.QuantumMin = DefaultHartQuantum
		}
		s.QuantumMax = s.QuantumMin
	} else {
		if s.QuantumMin == 0 && s.QuantumMax == 0 {
			s.QuantumMin, s.QuantumMax = DefaultSeededQuantumMin, DefaultSeededQuantumMax
		}
		if s.QuantumMax == 0 {
			s.QuantumMax = s.QuantumMin
		}
	}
	if s.QuantumMin < 1 || s.QuantumMax < s.QuantumMin {
		return s, fmt.Errorf("quantum range %d-%d is empty", s.QuantumMin, s.QuantumMax)
	}
	if s.QuantumMax > Quantum {
		return s, fmt.Errorf("quantum %d is above the %d-instruction slice", s.QuantumMax, Quantum)
	}
	return s, nil
}

// String gives the schedule in --schedule syntax ("" for the default).
func (s Schedule) String() string {
	if s.Seed == 0 {
		if s.QuantumMin == 0 || s.QuantumMin == DefaultHartQuantum {
			return ""
		}
		return fmt.Sprintf("quantum=%d", s.QuantumMin)
	}
	out := fmt.Sprintf("seed=%d", s.Seed)
	if s.QuantumMin != 0 || s.QuantumMax != 0 {
		out += fmt.Sprintf(",quantum=%d-%d", s.QuantumMin, s.QuantumMax)
	}
	if s.RandomOrder {
		out += ",order=random"
	}
	return out
}

// SchedState is the scheduler's part of the machine state: which hart
// runs, how much of its quantum is left, and the generator state.
type SchedState struct {
	Cur  int
	Left uint64
	RNG  uint64
}

// sched is the machine's hart scheduler. It exists only on multi-hart
// machines; a single hart runs exactly as it always has.
type sched struct {
	cfg  Schedule
	left uint64 // instructions left in the running hart's quantum
	rng  uint64 // splitmix64 state
}

// next64 is splitmix64: tiny, fast, and its whole state is one word
// that snapshots and digests can hold.
func (s *sched) next64() uint64 {
	s.rng += 0x9e3779b97f4a7c15
	z := s.rng
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (s *sched) quantum() uint64 {
	if s.cfg.Seed == 0 || s.cfg.QuantumMin == s.cfg.QuantumMax {
		return s.cfg.QuantumMin
	}
	return s.cfg.QuantumMin + s.next64()%(s.cfg.QuantumMax-s.cfg.QuantumMin+1)
}

// ICount returns the machine's instruction count: the sum over all harts.
// It is the machine's clock (virtual time advances with it) and the
// position every recorded event, digest and snapshot is indexed by; with
// one hart it is that hart's count.
func (m *Machine) ICount() uint64 { return m.base + m.hart.ICount() }

// Cur returns the hart that runs now (or ran last, or runs next when the
// machine resumes).
func (m *Machine) Cur() *cpu.CPU { return m.hart }

// CurHart returns the index of the hart that runs now.
func (m *Machine) CurHart() int { return m.cur }

// HartCounts returns every hart's own instruction count.
func (m *Machine) HartCounts() []uint64 {
	out := make([]uint64, len(m.Harts))
	for i, h := range m.Harts {
		out[i] = h.ICount()
	}
	return out
}

// multi reports whether the machine has more than one hart.
func (m *Machine) multi() bool { return len(m.Harts) > 1 }

// switchTo makes hart i the running hart with a fresh quantum. A hart
// that leaves loses its LR reservation: while it is away, other harts
// store freely, so its pending SC must fail (the spec allows any SC to
// fail spuriously, and a constrained LR/SC loop succeeds within one
// quantum).
func (m *Machine) switchTo(i int) {
	if i != m.cur {
		m.hart.ClearReservation()
		m.base = m.base + m.hart.ICount() - m.Harts[i].ICount()
		m.cur, m.hart = i, m.Harts[i]
	}
	m.sched.left = m.sched.quantum()
}

// pickNext chooses the hart to run after the current one, or -1 when
// every hart sleeps in WFI. Round-robin starts after the current hart
// and ends with it; a seeded schedule with a random order draws among
// the runnable harts instead.
func (m *Machine) pickNext() int {
	n := len(m.Harts)
	if m.sched.cfg.RandomOrder {
		var run [MaxHarts]int
		k := 0
		for i, h := range m.Harts {
			if h.Runnable() {
				run[k] = i
				k++
			}
		}
		if k == 0 {
			return -1
		}
		return run[m.sched.next64()%uint64(k)]
	}
	for d := 1; d <= n; d++ {
		if i := (m.cur + d) % n; m.Harts[i].Runnable() {
			return i
		}
	}
	return -1
}

// reschedule runs at a slice boundary of a multi-hart machine: when the
// running hart's quantum is used up, or it sleeps while another hart
// could run, the next hart takes over. It is a function of the machine
// state alone, so a replay switches harts at exactly the same points.
func (m *Machine) reschedule() {
	if m.sched.left > 0 && m.hart.Runnable() {
		return
	}
	if i := m.pickNext(); i >= 0 {
		m.switchTo(i)
	}
}

func (m *Machine) saveSched() SchedState {
	return SchedState{Cur: m.cur, Left: m.sched.left, RNG: m.sched.rng}
}

func (m *Machine) loadSched(s SchedState) error {
	if s.Cur < 0 || s.Cur >= len(m.Harts) {
		return fmt.Errorf("machine: restore: running hart %d of %d", s.Cur, len(m.Harts))
	}
	m.cur, m.hart = s.Cur, m.Harts[s.Cur]
	m.base = 0
	for i, h := range m.Harts {
		if i != s.Cur {
			m.base += h.ICount()
		}
	}
	m.sched.left, m.sched.rng = s.Left, s.RNG
	return nil
}

// takeHartDirty calls fn for every RAM page any hart wrote since the
// previous call (a page may be reported more than once).
func (m *Machine) takeHartDirty(fn func(page uint64)) {
	for _, h := range m.Harts {
		h.TakeDirty(fn)
	}
}

// SetBreakpoints sets the same breakpoints on every hart.
func (m *Machine) SetBreakpoints(pcs []uint64) {
	for _, h := range m.Harts {
		h.SetBreakpoints(pcs)
	}
}

// SetWatchpoints sets the same watchpoints on every hart: a watched
// location is hit whichever hart touches it.
func (m *Machine) SetWatchpoints(ws []cpu.Watch) {
	for _, h := range m.Harts {
		h.SetWatchpoints(ws)
	}
}

// ParseSchedule parses --schedule: comma-separated seed=S (S ≥ 1),
// quantum=N or quantum=MIN-MAX, and order=rr|random. An empty string is
// the default schedule.
func ParseSchedule(s string) (Schedule, error) {
	var sc Schedule
	if s == "" {
		return sc, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return sc, fmt.Errorf("schedule %q: %q is not key=value (keys: seed, quantum, order)", s, part)
		}
		var err error
		switch k {
		case "seed":
			sc.Seed, err = strconv.ParseUint(v, 0, 64)
			if err == nil && sc.Seed == 0 {
				err = errors.New("the seed must be at least 1 (0 is the default round-robin schedule)")
			}
		case "quantum":
			lo, hi, rng := strings.Cut(v, "-")
			if sc.QuantumMin, err = strconv.ParseUint(lo, 10, 64); err == nil {
				sc.QuantumMax = sc.QuantumMin
				if rng {
					sc.QuantumMax, err = strconv.ParseUint(hi, 10, 64)
				}
			}
			if err == nil && (sc.QuantumMin == 0 || sc.QuantumMax == 0) {
				err = errors.New("a quantum is at least 1 instruction")
			}
		case "order":
			switch v {
			case "rr", "round-robin":
				sc.RandomOrder = false
			case "random":
				sc.RandomOrder = true
			default:
				err = errors.New("order is rr or random")
			}
		default:
			err = errors.New("unknown key (keys: seed, quantum, order)")
		}
		if err != nil {
			return sc, fmt.Errorf("schedule %q: %s: %w", s, part, err)
		}
	}
	if _, err := sc.normalize(); err != nil {
		return sc, fmt.Errorf("schedule %q: %w", s, err)
	}
	return sc, nil
}
