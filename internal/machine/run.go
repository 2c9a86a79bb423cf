package machine

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rewindvm/rewind/internal/cpu"
)

// IdleMode says what the machine does while the hart sleeps in WFI.
type IdleMode int

const (
	// IdleRealTime sleeps in host time until the next timer deadline or
	// host input, then warps virtual time by the time slept. This is how
	// an interactive guest behaves like a real computer (`sleep 2` takes
	// two seconds).
	IdleRealTime IdleMode = iota
	// IdleFast warps virtual time straight to the next timer deadline. It
	// never looks at the host clock: runs are fully deterministic, and
	// idle time costs nothing (tests, batch jobs).
	IdleFast
)

// Quantum is the longest CPU slice between two looks at host input.
const Quantum = 1 << 20

// quantumIO is the slice length while host disk I/O is in flight.
const quantumIO = 1 << 15

type eventKind int

const (
	evInput eventKind = iota
	evStop
)

type hostEvent struct {
	kind eventKind
	data []byte
}

// Input queues host bytes for the serial port. It is the one door through
// which console input enters the machine; it is safe to call from any
// goroutine and blocks when the machine is far behind (back-pressure, so
// input is never dropped).
func (m *Machine) Input(p []byte) {
	if len(p) == 0 {
		return
	}
	m.inbox <- hostEvent{kind: evInput, data: append([]byte(nil), p...)}
}

// RequestStopCause is RequestStop with a cause code that OnHostStop
// receives (record mode logs it: quit key, which signal).
func (m *Machine) RequestStopCause(cause uint8) {
	m.stopCause.CompareAndSwap(0, uint32(cause))
	m.RequestStop()
}

// RequestStop asks the machine to stop at the next slice boundary (quit
// key, SIGINT). Safe from any goroutine; never blocks.
func (m *Machine) RequestStop() {
	select {
	case m.inbox <- hostEvent{kind: evStop}:
	default:
		// The inbox is full; the stop flag below is still seen.
	}
	m.stopRequested.Store(true)
}

// HaltHostStop stops the machine as a host request would (replay of a
// recorded shutdown).
func (m *Machine) HaltHostStop() { m.halt(HaltHostStop, 0) }

// InjectInput queues bytes for the serial port from the machine goroutine
// itself (scripted input in tests and replay). It does not go through the
// inbox.
func (m *Machine) InjectInput(p []byte) { m.rx = append(m.rx, p...) }

// PendingInput returns how many host bytes wait for room in the UART.
func (m *Machine) PendingInput() int { return len(m.rx) }

func (m *Machine) handle(ev hostEvent) {
	switch ev.kind {
	case evInput:
		m.rx = append(m.rx, ev.data...)
	case evStop:
		m.halt(HaltHostStop, 0)
	}
}

// drainInbox takes every queued host event and finished block request
// without blocking.
func (m *Machine) drainInbox() error {
	for {
		select {
		case d := <-m.blockDone:
			if err := m.deliverBlock(d); err != nil {
				return err
			}
		case ev := <-m.inbox:
			m.handle(ev)
		case f := <-m.net.in:
			m.queueFrame(f)
		default:
			if m.stopRequested.Load() {
				m.halt(HaltHostStop, 0)
			}
			return nil
		}
	}
}

// feedUART moves waiting host bytes into the UART as far as its receive
// FIFO has room. This is the moment input enters the guest.
func (m *Machine) feedUART() {
	if len(m.rx) == 0 {
		return
	}
	n := m.UART.RxSpace()
	if n <= 0 {
		return
	}
	if n > len(m.rx) {
		n = len(m.rx)
	}
	taken := m.UART.Receive(m.rx[:n])
	if taken > 0 && m.OnInputEntered != nil {
		m.OnInputEntered(m.ICount(), m.rx[:taken])
	}
	m.rx = m.rx[taken:]
	if len(m.rx) == 0 {
		m.rx = m.rx[:0:0]
	}
}

// feedEntropy fills the buffers the guest offered the virtio-rng device
// with host random bytes. This is the moment entropy enters the guest.
func (m *Machine) feedEntropy() error {
	if m.RNG == nil || !m.RNG.Wanted() {
		return nil
	}
	if m.cfg.Entropy == nil {
		return errors.New("machine: virtio-rng: the guest asked for entropy but the machine has no entropy source")
	}
	var got []byte
	_, err := m.RNG.Fill(func(n int) ([]byte, error) {
		p := make([]byte, n)
		if _, err := io.ReadFull(m.cfg.Entropy, p); err != nil {
			return nil, fmt.Errorf("machine: virtio-rng: reading host entropy: %w", err)
		}
		got = append(got, p...)
		return p, nil
	})
	if got != nil || err == nil {
		// Report even an empty fill: returning buffers changes the guest.
		if m.OnEntropy != nil {
			m.OnEntropy(m.ICount(), got)
		}
	}
	return err
}

// EntropyWanted reports whether the guest has offered virtio-rng buffers
// that have not been filled yet (replay uses it to check a recorded fill).
func (m *Machine) EntropyWanted() bool { return m.RNG != nil && m.RNG.Wanted() }

// FillEntropy fills the offered virtio-rng buffers with p, recorded bytes
// (replay). p must fit the buffers exactly as they were filled when
// recording; anything else is an error describing the mismatch.
func (m *Machine) FillEntropy(p []byte) error {
	if m.RNG == nil {
		return fmt.Errorf("recorded entropy (%d bytes), but the machine has no virtio-rng device", len(p))
	}
	if !m.RNG.Wanted() {
		return fmt.Errorf("recorded entropy (%d bytes), but the guest has offered no virtio-rng buffers here", len(p))
	}
	rest := p
	_, err := m.RNG.Fill(func(n int) ([]byte, error) {
		if n > len(rest) {
			return nil, fmt.Errorf("the guest offered virtio-rng buffers for more than the %d recorded bytes", len(p))
		}
		q := rest[:n]
		rest = rest[n:]
		return q, nil
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("the guest's virtio-rng buffers took %d of %d recorded bytes", len(p)-len(rest), len(p))
	}
	return nil
}

// HaltReason says why the machine stopped.
type HaltReason int

// Halt reasons.
const (
	HaltNone     HaltReason = iota
	HaltPowerOff            // the guest powered off (syscon 0x5555)
	HaltFail                // the guest reported failure (syscon 0x3333, HTIF code != 0)
	HaltReset               // the guest asked for a reset; Rewind stops (like QEMU -no-reboot)
	HaltHostStop            // the host asked to stop (quit key, signal)
	HaltLimit               // the instruction limit was reached
	HaltDeadlock            // every hart sleeps with no timer and no possible input
)

func (r HaltReason) String() string {
	switch r {
	case HaltPowerOff:
		return "power off"
	case HaltFail:
		return "guest reported failure"
	case HaltReset:
		return "reset"
	case HaltHostStop:
		return "stopped by host"
	case HaltLimit:
		return "instruction limit"
	case HaltDeadlock:
		return "idle forever (no timer armed, no input)"
	}
	return "running"
}

// Result is how a run ended.
type Result struct {
	Reason   HaltReason
	ExitCode int // guest exit code for HaltFail
	ICount   uint64
}

func (m *Machine) halt(r HaltReason, code int) {
	if m.haltReason != HaltNone {
		return
	}
	m.haltReason, m.exitCode = r, code
	m.requestExit()
}

// Progress returns the instruction count at the last slice boundary. It
// is safe to call from any goroutine (progress displays).
func (m *Machine) Progress() uint64 { return m.progress.Load() }

// Reason returns why the machine halted (HaltNone while running).
func (m *Machine) Reason() HaltReason { return m.haltReason }

// Halted reports whether the machine has stopped.
func (m *Machine) Halted() bool { return m.haltReason != HaltNone }

// ErrDeadlock is returned when the hart sleeps forever.
var ErrDeadlock = errors.New("machine: every hart idle in WFI with no timer armed and no input source")

// Player supplies the nondeterministic inputs of a recorded run. The
// machine calls it at the same points of its loop at which, when
// recording, those inputs entered the guest, so a replay re-enacts the
// recording exactly.
type Player interface {
	// Next returns the instruction count of the next recorded event
	// (^uint64(0) when there is none); slices stop there.
	Next() uint64
	// Drain applies the events due now that entered at a slice boundary
	// when recording: block completions, host shutdown, serial input.
	Drain(m *Machine) error
	// Idle is called when every hart sleeps in WFI: it applies the warp
	// recorded at this point, or says why the recording disagrees.
	Idle(m *Machine) error
	// Stuck is called when an event is due now but the machine cannot
	// take it (for example a warp while the hart is not idle); it returns
	// the divergence error.
	Stuck(m *Machine) error
}

// Run runs the machine until it halts, reaches limit instructions
// (0 = no limit) or StopAt, or a replay diverges. It must be called from
// one goroutine only.
func (m *Machine) Run(limit uint64) (Result, error) {
	m.ran = true
	for m.haltReason == HaltNone {
		ic := m.ICount()
		m.progress.Store(ic)
		if m.NextCheckpoint != 0 && ic >= m.NextCheckpoint && m.OnCheckpoint != nil {
			if err := m.OnCheckpoint(); err != nil {
				return m.result(), err
			}
		}
		if m.Player != nil {
			if err := m.Player.Drain(m); err != nil {
				return m.result(), err
			}
			if m.stopRequested.Load() {
				m.halt(HaltHostStop, 0)
			}
		} else {
			if err := m.drainInbox(); err != nil {
				return m.result(), err
			}
			m.feedUART()
			if err := m.feedEntropy(); err != nil {
				return m.result(), err
			}
			m.feedNet()
		}
		if m.StopAt != 0 && ic >= m.StopAt {
			return m.result(), nil
		}
		m.Clock.FireDue()
		if m.BeforeSlice != nil {
			m.BeforeSlice()
		}
		if m.haltReason != HaltNone {
			break
		}
		if m.StopHart >= 0 && m.cur == m.StopHart && m.hart.ICount() >= m.StopHartAt {
			return m.result(), nil
		}
		if m.multi() {
			m.reschedule()
		}
		budget := uint64(Quantum)
		if m.Player == nil && (m.jobsPending.Load() > 0 || m.netBusy()) {
			// Disk requests are running on the host, or the network is
			// busy: look for their completions and frames more often.
			budget = quantumIO
		}
		if next, ok := m.Clock.Next(); ok {
			budget = min(budget, m.Clock.InsnsUntil(next))
		}
		if m.StopAt != 0 {
			budget = min(budget, m.StopAt-ic)
		}
		if m.NextCheckpoint > ic {
			budget = min(budget, m.NextCheckpoint-ic)
		}
		if m.multi() {
			budget = min(budget, m.sched.left)
		}
		if m.StopHart == m.cur && m.StopHartAt > m.hart.ICount() {
			budget = min(budget, m.StopHartAt-m.hart.ICount())
		}
		if limit != 0 {
			if ic >= limit {
				m.halt(HaltLimit, 0)
				break
			}
			budget = min(budget, limit-ic)
		}
		playerHold := false
		if m.Player != nil {
			if n := m.Player.Next(); n <= ic {
				budget, playerHold = 0, true
			} else {
				budget = min(budget, n-ic)
			}
		} else if budget == 0 {
			budget = 1
		}
		before := m.hart.ICount()
		reason := m.hart.Run(budget)
		if m.multi() {
			m.sched.left -= min(m.sched.left, m.hart.ICount()-before)
		}
		if reason == cpu.StopBreakpoint || reason == cpu.StopWatchpoint {
			m.LastStop, m.LastHart = reason, m.cur
			return m.result(), nil
		}
		if m.haltReason != HaltNone {
			break
		}
		if reason == cpu.StopIdle && m.multi() {
			if i := m.pickNext(); i >= 0 {
				// This hart sleeps; another can run: it takes over.
				m.switchTo(i)
				continue
			}
		}
		if reason == cpu.StopIdle {
			if next, armed := m.Clock.Next(); armed && next <= m.Clock.Now() {
				// The hart went idle exactly as a timer fell due (its
				// WFI was the instruction that reached the deadline):
				// the next slice fires the timer. Nothing to warp, so
				// nothing to record or to take from a recording.
				continue
			}
		}
		switch {
		case reason == cpu.StopIdle && m.Player != nil:
			if err := m.Player.Idle(m); err != nil {
				return m.result(), err
			}
		case reason == cpu.StopIdle:
			if err := m.idle(); err != nil {
				return m.result(), err
			}
		case playerHold && m.ICount() == ic:
			// An event is due now, the hart is not idle, and nothing
			// consumed it: the replay has diverged.
			return m.result(), m.Player.Stuck(m)
		}
	}
	if m.haltReason == HaltHostStop && m.OnHostStop != nil && !m.hostStopReported {
		m.hostStopReported = true
		m.OnHostStop(m.ICount(), uint8(m.stopCause.Load()))
	}
	return m.result(), nil
}

func (m *Machine) result() Result {
	return Result{Reason: m.haltReason, ExitCode: m.exitCode, ICount: m.ICount()}
}

// idle handles a sleeping hart: warp virtual time to the next timer
// deadline, in host time or at once, or wait for host input.
func (m *Machine) idle() error {
	next, ok := m.Clock.Next()
	now := m.Clock.Now()
	if m.Idle == IdleFast && ok {
		m.warp(next - now)
		return nil
	}
	if !ok && m.NoHostInput && m.blockInFlight() == 0 {
		m.halt(HaltDeadlock, 0)
		return nil
	}
	var timeout <-chan time.Time
	var d uint64
	if ok {
		d = next - now
		t := time.NewTimer(time.Duration(d))
		defer t.Stop()
		timeout = t.C
	}
	// Wait for the timer, host input or a finished block request; only
	// the wait is host-timed, and the warp it produces is reported.
	start := time.Now()
	select {
	case <-timeout:
		m.warp(d)
	case ev := <-m.inbox:
		if ok {
			m.warp(min(uint64(time.Since(start)), d))
		}
		m.handle(ev)
	case bd := <-m.blockDone:
		if ok {
			m.warp(min(uint64(time.Since(start)), d))
		}
		return m.deliverBlock(bd)
	case f := <-m.net.in:
		if ok {
			m.warp(min(uint64(time.Since(start)), d))
		}
		m.queueFrame(f)
	}
	return nil
}

func (m *Machine) warp(ns uint64) {
	if ns == 0 {
		return
	}
	m.Clock.Warp(ns)
	if m.OnWarp != nil {
		m.OnWarp(m.ICount(), ns)
	}
}

// String describes the machine state briefly (for errors and --stats).
func (m *Machine) String() string {
	if m.multi() {
		return fmt.Sprintf("icount %d hart %d pc %#x priv %d", m.ICount(), m.cur, m.hart.PC(), m.hart.Priv())
	}
	return fmt.Sprintf("icount %d pc %#x priv %d", m.ICount(), m.hart.PC(), m.hart.Priv())
}
