package machine

import (
	"errors"
	"fmt"
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

// drainInbox takes every queued host event without blocking.
func (m *Machine) drainInbox() {
	for {
		select {
		case ev := <-m.inbox:
			m.handle(ev)
		default:
			if m.stopRequested.Load() {
				m.halt(HaltHostStop, 0)
			}
			return
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
		m.OnInputEntered(m.CPU.ICount(), m.rx[:taken])
	}
	m.rx = m.rx[taken:]
	if len(m.rx) == 0 {
		m.rx = m.rx[:0:0]
	}
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
	HaltDeadlock            // the hart sleeps with no timer and no possible input
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
	m.CPU.RequestExit()
}

// Halted reports whether the machine has stopped.
func (m *Machine) Halted() bool { return m.haltReason != HaltNone }

// ErrDeadlock is returned when the hart sleeps forever.
var ErrDeadlock = errors.New("machine: hart idle in WFI with no timer armed and no input source")

// Run runs the machine until it halts or reaches limit instructions
// (0 = no limit). It must be called from one goroutine only.
func (m *Machine) Run(limit uint64) (Result, error) {
	for m.haltReason == HaltNone {
		if m.StopAt != 0 && m.CPU.ICount() >= m.StopAt {
			return m.result(), nil
		}
		m.drainInbox()
		m.feedUART()
		m.Clock.FireDue()
		if m.BeforeSlice != nil {
			m.BeforeSlice()
		}
		if m.haltReason != HaltNone {
			break
		}
		budget := uint64(Quantum)
		if next, ok := m.Clock.Next(); ok {
			if n := m.Clock.InsnsUntil(next); n < budget {
				budget = n
			}
		}
		if m.StopAt != 0 {
			if d := m.StopAt - m.CPU.ICount(); d < budget {
				budget = d
			}
		}
		if limit != 0 {
			if m.CPU.ICount() >= limit {
				m.halt(HaltLimit, 0)
				break
			}
			if d := limit - m.CPU.ICount(); d < budget {
				budget = d
			}
		}
		if budget == 0 {
			budget = 1
		}
		if m.CPU.Run(budget) == cpu.StopIdle && m.haltReason == HaltNone {
			if err := m.idle(); err != nil {
				return m.result(), err
			}
		}
	}
	return m.result(), nil
}

func (m *Machine) result() Result {
	return Result{Reason: m.haltReason, ExitCode: m.exitCode, ICount: m.CPU.ICount()}
}

// idle handles a sleeping hart: warp virtual time to the next timer
// deadline, in host time or at once, or wait for host input.
func (m *Machine) idle() error {
	next, ok := m.Clock.Next()
	now := m.Clock.Now()
	if m.Idle == IdleFast {
		if !ok {
			if m.NoHostInput {
				m.halt(HaltDeadlock, 0)
				return nil
			}
			// Nothing will ever happen but host input: wait for it.
			m.handle(<-m.inbox)
			return nil
		}
		m.warp(next - now)
		return nil
	}
	if !ok {
		m.handle(<-m.inbox)
		return nil
	}
	d := next - now
	start := time.Now()
	t := time.NewTimer(time.Duration(d))
	defer t.Stop()
	select {
	case <-t.C:
		m.warp(d)
	case ev := <-m.inbox:
		slept := uint64(time.Since(start))
		m.warp(min(slept, d))
		m.handle(ev)
	}
	return nil
}

func (m *Machine) warp(ns uint64) {
	if ns == 0 {
		return
	}
	m.Clock.Warp(ns)
	if m.OnWarp != nil {
		m.OnWarp(m.CPU.ICount(), ns)
	}
}

// String describes the machine state briefly (for errors and --stats).
func (m *Machine) String() string {
	return fmt.Sprintf("icount %d pc %#x priv %d", m.CPU.ICount(), m.CPU.PC(), m.CPU.Priv())
}
