// Package vclock is the machine's virtual time and its timer queue.
//
// Guest time is a pure function of the instruction count and the recorded
// idle warps:
//
//	now_ns = icount << shift + warp_ns
//
// Nothing here reads the host clock. Timers fire in (deadline, arm order)
// order, so two runs with the same inputs fire the same timers at the same
// instruction counts.
package vclock

// Timer is a one-shot virtual-time callback owned by a device model.
// The zero value is an unarmed timer; set Fn before arming it.
type Timer struct {
	// Fn runs on the machine goroutine when the timer expires.
	Fn func()

	when  uint64
	seq   uint64
	armed bool
}

// Armed reports whether t is waiting to fire.
func (t *Timer) Armed() bool { return t.armed }

// Deadline returns the virtual time (ns) at which an armed timer fires.
func (t *Timer) Deadline() uint64 { return t.when }

// Clock maps instruction counts to virtual nanoseconds and keeps the timer
// queue. Only the machine goroutine uses it.
type Clock struct {
	icount func() uint64
	shift  uint
	warp   uint64
	seq    uint64
	timers []*Timer // unsorted; the queue is a handful of timers

	// OnChange, if set, is called when a timer is armed or disarmed, so the
	// run loop can end the current CPU slice and recompute its budget.
	OnChange func()
}

// New returns a clock reading the instruction count through icount, with
// 2^shift nanoseconds per instruction (QEMU's -icount shift=N).
func New(icount func() uint64, shift uint) *Clock {
	return &Clock{icount: icount, shift: shift}
}

// Shift returns the log2 of nanoseconds per instruction.
func (c *Clock) Shift() uint { return c.shift }

// Now returns the current virtual time in nanoseconds.
func (c *Clock) Now() uint64 { return c.icount()<<c.shift + c.warp }

// WarpTotal returns the total nanoseconds added by Warp so far.
func (c *Clock) WarpTotal() uint64 { return c.warp }

// SetWarpTotal restores the warp total (snapshots).
func (c *Clock) SetWarpTotal(ns uint64) { c.warp = ns }

// Warp advances virtual time by ns without executing instructions (the
// hart is idle in WFI).
func (c *Clock) Warp(ns uint64) { c.warp += ns }

// Arm schedules t to fire at virtual time when (ns). Re-arming moves it.
func (c *Clock) Arm(t *Timer, when uint64) {
	if !t.armed {
		c.timers = append(c.timers, t)
	}
	t.armed = true
	t.when = when
	c.seq++
	t.seq = c.seq
	if c.OnChange != nil {
		c.OnChange()
	}
}

// Disarm cancels t if it is armed.
func (c *Clock) Disarm(t *Timer) {
	if !t.armed {
		return
	}
	t.armed = false
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			break
		}
	}
	if c.OnChange != nil {
		c.OnChange()
	}
}

// Next returns the earliest deadline among armed timers.
func (c *Clock) Next() (when uint64, ok bool) {
	for _, t := range c.timers {
		if !ok || t.when < when {
			when, ok = t.when, true
		}
	}
	return when, ok
}

// InsnsUntil returns how many instructions run before virtual time reaches
// when (at least 1, so the machine always makes progress; 0 if when has
// already passed).
func (c *Clock) InsnsUntil(when uint64) uint64 {
	now := c.Now()
	if when <= now {
		return 0
	}
	d := when - now
	n := d >> c.shift
	if n<<c.shift < d {
		n++
	}
	return n
}

// FireDue runs every timer whose deadline has passed, earliest first (ties
// in arming order). A callback may re-arm its own or other timers.
func (c *Clock) FireDue() {
	for {
		now := c.Now()
		var best *Timer
		for _, t := range c.timers {
			if t.when <= now && (best == nil || t.when < best.when || (t.when == best.when && t.seq < best.seq)) {
				best = t
			}
		}
		if best == nil {
			return
		}
		c.Disarm(best)
		best.Fn()
	}
}
