package machine

// NextHart returns the index of the hart that executes the machine's
// next instruction: the hart Run's scheduler picks when it resumes here.
// At a position where the running hart's quantum has just ended (a stop
// by StopAt), CurHart is still the hart that ran last; NextHart already
// names its successor. It returns -1 when every hart sleeps in WFI (which
// one runs next depends on the interrupt that wakes it). It has no side
// effects: a random order's generator is left as it was.
//
// Timers due exactly now have not fired yet at a StopAt stop; one that
// wakes a sleeping hart can make the round-robin choose differently, so
// callers treat the answer as a fast-path hint and check hart counts.
func (m *Machine) NextHart() int {
	if !m.multi() {
		return 0
	}
	if m.sched.left > 0 && m.hart.Runnable() {
		return m.cur
	}
	rng := m.sched.rng
	i := m.pickNext()
	m.sched.rng = rng
	return i
}
