package machine

import (
	"errors"
	"fmt"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/dev/clint"
	"github.com/rewindvm/rewind/internal/dev/plic"
	"github.com/rewindvm/rewind/internal/dev/rtc"
	"github.com/rewindvm/rewind/internal/dev/uart"
	"github.com/rewindvm/rewind/internal/dev/virtio"
	"github.com/rewindvm/rewind/internal/dev/virtio/blk"
	"github.com/rewindvm/rewind/internal/dev/virtio/nic"
	"github.com/rewindvm/rewind/internal/dev/virtio/rng"
)

// State is the machine's state apart from RAM, as a plain value: the
// hart, every device model, virtual time, the disk overlays' block maps.
// RAM is saved incrementally by the caller (see TakeDirtyPages). Disk
// block buffers are shared with the overlay (which never modifies a
// buffer once written), so unchanged blocks cost nothing per snapshot.
type State struct {
	ICount uint64
	// Hart is hart 0; Harts holds harts 1.. of a multi-hart machine, and
	// Sched its scheduler.
	Hart  cpu.State
	Harts []cpu.State
	// TLBs holds each hart's cached translations (cpu.SaveTLB): not
	// architectural, but a guest can observe them, so a replay from the
	// state must cache the same. Nil in states saved before they were
	// kept: the harts then start with empty TLBs.
	TLBs     [][]cpu.TLBEntry
	Sched    SchedState
	WarpNs   uint64
	CLINT    clint.State
	PLIC     plic.State
	UART     uart.State
	RTC      rtc.State
	Virtio   []virtio.State
	Blk      []blk.State
	RNG      rng.State
	Net      nic.State
	Disks    []block.OverlayState
	Halt     HaltReason
	ExitCode int
}

// ErrBusy is returned by SaveState while block requests are in flight.
var ErrBusy = errors.New("machine: block requests in flight")

// SaveState captures the machine's state (not RAM). It fails with ErrBusy
// while disk requests are in flight: their host side cannot be captured.
func (m *Machine) SaveState() (State, error) {
	if m.blockInFlight() > 0 || m.jobsPending.Load() > 0 {
		return State{}, ErrBusy
	}
	s := State{
		ICount: m.ICount(), Hart: m.Harts[0].Save(), WarpNs: m.Clock.WarpTotal(),
		CLINT: m.CLINT.Save(), PLIC: m.PLIC.Save(), UART: m.UART.Save(), RTC: m.RTC.Save(),
		Halt: m.haltReason, ExitCode: m.exitCode,
	}
	for _, h := range m.Harts[1:] {
		s.Harts = append(s.Harts, h.Save())
	}
	for _, h := range m.Harts {
		s.TLBs = append(s.TLBs, h.SaveTLB())
	}
	if m.multi() {
		s.Sched = m.saveSched()
	}
	for _, v := range m.Virtio {
		s.Virtio = append(s.Virtio, v.Save())
	}
	for _, b := range m.Blk {
		s.Blk = append(s.Blk, b.Save())
	}
	if m.RNG != nil {
		s.RNG = m.RNG.Save()
	}
	if m.Net != nil {
		s.Net = m.Net.Save()
	}
	for _, d := range m.cfg.Disks {
		if ov, ok := d.(*block.Overlay); ok {
			s.Disks = append(s.Disks, ov.SaveShared())
		} else {
			s.Disks = append(s.Disks, block.OverlayState{})
		}
	}
	return s, nil
}

// LoadState restores a state saved by SaveState (RAM is the caller's).
// Host block workers are drained first, so nothing they did after the
// state was saved survives.
func (m *Machine) LoadState(s State) error { return m.loadState(s, nil, false) }

// LoadStateChanged is LoadState for a caller that rewrote RAM only in the
// given pages (RAM page numbers) since the machine last ran: the harts
// keep the code they decoded and compiled from every other page, so
// replaying from the restored state does not start cold (reverse steps).
func (m *Machine) LoadStateChanged(s State, changed []uint64) error {
	return m.loadState(s, changed, true)
}

func (m *Machine) loadState(s State, changed []uint64, keep bool) error {
	if m.capture != nil {
		return errors.New("restore: a captured snapshot is still being written")
	}
	m.quiesceBlock()
	m.Clock.SetWarpTotal(s.WarpNs)
	if len(s.Harts) != len(m.Harts)-1 {
		return fmt.Errorf("restore: the state has %d harts, the machine %d", len(s.Harts)+1, len(m.Harts))
	}
	for i, c := range m.Harts {
		hs := s.Hart
		if i > 0 {
			hs = s.Harts[i-1]
		}
		if keep {
			c.LoadKeepCode(hs, changed)
		} else {
			c.Load(hs)
		}
	}
	if s.TLBs != nil {
		if len(s.TLBs) != len(m.Harts) {
			return fmt.Errorf("restore: the state has TLBs of %d harts, the machine %d", len(s.TLBs), len(m.Harts))
		}
		for i, c := range m.Harts {
			if err := c.LoadTLB(s.TLBs[i]); err != nil {
				return fmt.Errorf("restore hart%d: %w", i, err)
			}
		}
	}
	if err := m.loadSched(s.Sched); err != nil {
		return err
	}
	if err := m.CLINT.Load(s.CLINT); err != nil {
		return fmt.Errorf("restore clint: %w", err)
	}
	if err := m.PLIC.Load(s.PLIC); err != nil {
		return fmt.Errorf("restore plic: %w", err)
	}
	if err := m.UART.Load(s.UART); err != nil {
		return fmt.Errorf("restore uart: %w", err)
	}
	if err := m.RTC.Load(s.RTC); err != nil {
		return fmt.Errorf("restore rtc: %w", err)
	}
	for i, v := range m.Virtio {
		if i < len(s.Virtio) {
			if err := v.Load(s.Virtio[i]); err != nil {
				return fmt.Errorf("restore virtio%d: %w", i, err)
			}
		}
	}
	for i, b := range m.Blk {
		var bs blk.State
		if i < len(s.Blk) {
			bs = s.Blk[i]
		}
		if err := b.Load(bs); err != nil {
			return err
		}
	}
	if m.RNG != nil {
		m.RNG.Load(s.RNG, m.Virtio[len(m.Blk)].Queue(0))
	}
	if m.Net != nil {
		m.Net.Load(s.Net)
	}
	for i, d := range m.cfg.Disks {
		if ov, ok := d.(*block.Overlay); ok && i < len(s.Disks) {
			if err := ov.LoadShared(s.Disks[i]); err != nil {
				return fmt.Errorf("restore disk%d: %w", i, err)
			}
		}
	}
	m.haltReason, m.exitCode = s.Halt, s.ExitCode
	m.hostStopReported = false
	return nil
}

// quiesceBlock waits until the host block workers are idle and drops
// their pending results.
func (m *Machine) quiesceBlock() {
	for m.jobsPending.Load() > 0 {
		select {
		case <-m.blockDone:
		default:
		}
	}
	for {
		select {
		case <-m.blockDone:
			continue
		default:
		}
		break
	}
	m.blockEarly = nil
}

// KeepDirty makes the machine remember which RAM pages were written, for
// an incremental snapshot store, independently of state digests.
func (m *Machine) KeepDirty() {
	m.TrackDirty()
	if m.dirtyAcc == nil {
		m.dirtyAcc = make([]uint64, (len(m.Bus.RAM)/4096+63)/64)
	}
}

// TakeDirtyPages returns the RAM pages (numbered from RAMBase) written
// since the previous call, ascending, and starts a new epoch.
func (m *Machine) TakeDirtyPages() []uint64 {
	if m.checkAcc == nil {
		m.checkAcc = make([]uint64, len(m.dirtyAcc))
	}
	m.takeHartDirty(func(p uint64) {
		m.dirtyAcc[p>>6] |= 1 << (p & 63)
		m.checkAcc[p>>6] |= 1 << (p & 63) // still owed to the next state digest
	})
	var pages []uint64
	takeBits(m.dirtyAcc, func(p uint64) { pages = append(pages, p) })
	return pages
}
