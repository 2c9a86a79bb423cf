package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// EventSource is where a Player reads the recording from (an
// *rrlog.Reader). A source that also has the optional methods
// Position() rrlog.Position and End() (rrlog.EndInfo, bool), as
// *rrlog.Reader does, gets errors that say where an event is stored, and
// a replay that runs to the End record's icount.
type EventSource interface {
	Next() (rrlog.Event, error)
}

type positioner interface{ Position() rrlog.Position }

type ender interface {
	End() (rrlog.EndInfo, bool)
}

// Player feeds a recording into a machine. It implements machine.Player.
// It reads the whole event stream up front (recordings are small next to
// the machine), so it can be rewound for reverse debugging.
type Player struct {
	m      *machine.Machine
	events eventList
	pos    int
	peek   *rrlog.Event
	// srcErr is the error that ended the event stream: io.EOF after a
	// clean end record, a *rrlog.TruncatedError for a cut recording.
	srcErr       error
	last         uint64 // icount of the last event read
	end          uint64 // where replay stops: the End record's icount, or last
	ended        bool   // the End record was read: the machine must stop at end
	lastVerified uint64 // icount of the last digest that matched

	// Verified counts the state digests checked so far.
	Verified int
	// Events counts the events applied.
	Events int
	// Checked counts every digest comparison made, also those of parts
	// of the recording replayed again after a rewind (Verified follows
	// the position and is rewound with it).
	Checked int
	// SkipDigests consumes digest events without checking them.
	SkipDigests bool
	// snaps are the snapshots embedded in the recording; snapErrs says
	// why damaged ones were left out.
	snaps    []EmbeddedSnapshot
	snapErrs []error
	asm      rrlog.SnapshotAssembler
	// shutdown: the recorded host shutdown was applied (a host stop
	// without it is the user stopping the replay early).
	shutdown bool
	// pagesUnknown: the machine was restored from a snapshot since the
	// previous digest, so the set of pages written since then is not
	// known; the next digest is checked without its page list.
	pagesUnknown bool
}

// ForgetPages tells the player the machine's RAM was restored behind its
// back (reverse debugging): the next digest is checked on the hart and
// device state only, later ones in full again.
func (p *Player) ForgetPages() { p.pagesUnknown = true }

// PlayerState is the position of a player in its recording (snapshots).
type PlayerState struct {
	Pos, Verified, Events int
	LastVerified          uint64
}

// Save returns the player's position.
func (p *Player) Save() PlayerState {
	return PlayerState{Pos: p.pos, Verified: p.Verified, Events: p.Events, LastVerified: p.lastVerified}
}

// Load moves the player back (or forward) to a saved position.
func (p *Player) Load(s PlayerState) {
	p.pos, p.Verified, p.Events, p.lastVerified = s.Pos, s.Verified, s.Events, s.LastVerified
	p.setPeek()
}

// EndICount returns the instruction count at which the recording ends:
// that of its End record, or of its last event when the End record is
// missing (a truncated recording) or the source does not give it.
func (p *Player) EndICount() uint64 { return p.end }

var _ machine.Player = (*Player)(nil)

// Play attaches a player for src to m: from now on m takes its inputs
// from the recording and ignores host input.
//
// Play reads the whole event stream first and checks every event against
// the format and against m, so that a recording this rewind cannot
// replay is refused before the guest runs, with an error naming the
// event, its icount and where it is stored: an event kind this rewind
// does not know (a newer recorder's), a malformed payload, serial input
// for a port, a block completion for a disk or entropy for a device that
// m does not have, an embedded image piece after the start. A truncated
// stream (*rrlog.TruncatedError) is not an error here: its readable part
// is replayed, and Ended reports how it ends.
func Play(m *machine.Machine, src EventSource) (*Player, error) { return PlayTo(m, src, -1) }

// PlayTo is Play for a replay that ends at embedded snapshot last (the
// last-th usable one, from 0; -1: none) or before it, such as a
// --segment job: it stops reading the stream once that snapshot is
// complete, since nothing after it is needed. The player then has no End
// record; its recording ends at the snapshot.
func PlayTo(m *machine.Machine, src EventSource, last int) (*Player, error) {
	p := &Player{m: m}
	pos, _ := src.(positioner)
	cut := false
	for !cut {
		ev, err := src.Next()
		if err != nil {
			p.srcErr = err
			var trunc *rrlog.TruncatedError
			if !errors.Is(err, io.EOF) && !errors.As(err, &trunc) {
				return nil, err
			}
			break
		}
		if ev.Kind == rrlog.KindEnd || p.annotation(ev) {
			if last >= 0 && len(p.snaps) > last {
				p.srcErr, cut = io.EOF, true
			}
			continue
		}
		if err := checkEvent(m, ev, p.last); err != nil {
			where := "recording"
			if pos != nil {
				where = pos.Position().String()
			}
			var bad payloadError
			if errors.As(err, &bad) {
				// The payload error names the kind and icount itself
				// (as Verify prints it).
				return nil, fmt.Errorf("%s: %w", where, bad.err)
			}
			return nil, fmt.Errorf("%s: %s event at icount %d: %w", where, ev.Kind, ev.ICount, err)
		}
		p.last = ev.ICount
		p.events.add(ev)
	}
	p.end = p.last
	if e, ok := src.(ender); ok && !cut {
		if info, ok := e.End(); ok {
			// The reader guarantees info.ICount >= every event's icount.
			// Between the last event and the End record nothing entered
			// the machine, so replay runs to where recording stopped.
			p.end, p.ended = max(info.ICount, p.last), true
		}
	}
	m.Player = p
	m.TrackDirty()
	m.OnCheckpoint = p.checkpoint
	// Replay never runs past the recorded region, where inputs are
	// unknown.
	m.StopAt = max(p.end, 1)
	p.setPeek()
	return p, nil
}

// checkEvent checks one event of the stream, before the guest runs:
// its kind and payload, its order, and that the machine has what it
// refers to.
func checkEvent(m *machine.Machine, ev rrlog.Event, last uint64) error {
	if !ev.Kind.Known() {
		return fmt.Errorf("event kind %#02x is unknown to this rewind (recorded by a newer one?): upgrade rewind to replay this recording", uint8(ev.Kind))
	}
	if err := ev.Validate(); err != nil {
		return payloadError{err}
	}
	if ev.ICount < last {
		return fmt.Errorf("it comes after an event at icount %d", last)
	}
	switch ev.Kind {
	case rrlog.KindSerialInput:
		if port, _, _ := ev.SerialInput(); port != 0 {
			return fmt.Errorf("serial port %d does not exist (the machine has one, port 0)", port)
		}
	case rrlog.KindBlockComplete:
		c, _ := ev.BlockComplete()
		if c.Device >= len(m.Blk) {
			return fmt.Errorf("disk %d does not exist (the machine has %s)", c.Device, countDisks(len(m.Blk)))
		}
	case rrlog.KindEntropy:
		dev, _, _ := ev.Entropy()
		if m.RNG == nil {
			return errors.New("the machine has no virtio-rng device")
		}
		if dev != 0 {
			return fmt.Errorf("virtio-rng device %d does not exist (the machine has one, device 0)", dev)
		}
	case rrlog.KindNetFrame:
		dev, _, _, _ := ev.NetFrame()
		if m.Net == nil {
			return errors.New("the machine has no virtio-net device")
		}
		if dev != 0 {
			return fmt.Errorf("virtio-net device %d does not exist (the machine has one, device 0)", dev)
		}
	case rrlog.KindImageData:
		return errors.New("embedded image data must come before every other event")
	}
	return nil
}

// payloadError is a malformed payload (Event.Validate's error).
type payloadError struct{ err error }

func (e payloadError) Error() string { return e.err.Error() }
func (e payloadError) Unwrap() error { return e.err }

func countDisks(n int) string {
	switch n {
	case 0:
		return "no disk"
	case 1:
		return "1 disk, disk 0"
	}
	return fmt.Sprintf("%d disks, 0..%d", n, n-1)
}

// setPeek points peek at events[pos] and schedules the next digest.
func (p *Player) setPeek() {
	p.peek = nil
	p.m.NextCheckpoint = 0
	if p.pos >= p.events.len() {
		return
	}
	p.peek = p.events.at(p.pos)
	if p.peek.Kind == rrlog.KindDigest {
		p.m.NextCheckpoint = p.peek.ICount
	}
}

// advance moves to the next event.
func (p *Player) advance() error {
	p.pos++
	p.setPeek()
	return nil
}

// Ended reports how the event stream ended: nil while events remain,
// io.EOF after a clean end, or a *rrlog.TruncatedError.
func (p *Player) Ended() error {
	if p.peek != nil {
		return nil
	}
	return p.srcErr
}

// LastICount is the icount of the last event read.
func (p *Player) LastICount() uint64 { return p.last }

// Next implements machine.Player.
func (p *Player) Next() uint64 {
	if p.peek == nil {
		return ^uint64(0)
	}
	return p.peek.ICount
}

func (p *Player) due() bool { return p.peek != nil && p.peek.ICount == p.m.ICount() }

// Drain implements machine.Player.
func (p *Player) Drain(m *machine.Machine) error {
	for p.due() {
		ev := *p.peek
		switch ev.Kind {
		case rrlog.KindBlockComplete:
			c, err := ev.BlockComplete()
			if err != nil {
				return err
			}
			d := machine.BlockDone{Disk: c.Device, ID: c.Request, Status: c.Status}
			if c.Data == nil {
				// Wait for the host to finish the same request (if it
				// is slower now than when recording, the guest does
				// not notice: virtual time stands still meanwhile).
				got, err := m.WaitBlock(c.Device, c.Request)
				if err != nil {
					return p.diverged(fmt.Sprintf("recorded block completion: %v", err))
				}
				if got.Status != c.Status {
					return p.diverged(fmt.Sprintf("block request %d of disk %d finished with status %d, recorded %d (is the disk image the same?)", c.Request, c.Device, got.Status, c.Status))
				}
			}
			if err := m.CompleteBlock(d, c.Data); err != nil {
				return p.diverged(err.Error())
			}
		case rrlog.KindShutdown:
			p.shutdown = true
			m.HaltHostStop()
		case rrlog.KindEntropy:
			_, data, err := ev.Entropy()
			if err != nil {
				return err
			}
			if err := m.FillEntropy(data); err != nil {
				return p.diverged(err.Error())
			}
		case rrlog.KindNetFrame:
			_, dropped, frame, err := ev.NetFrame()
			if err != nil {
				return err
			}
			if err := m.ReplayNetFrame(dropped, frame); err != nil {
				return p.diverged(err.Error())
			}
		case rrlog.KindSerialInput:
			_, data, err := ev.SerialInput()
			if err != nil {
				return err
			}
			if n := m.UART.Receive(data); n != len(data) {
				return p.diverged(fmt.Sprintf("the UART took %d of %d recorded input bytes %q", n, len(data), data))
			}
		default:
			return nil // warps and digests are applied elsewhere
		}
		p.Events++
		if err := p.advance(); err != nil {
			return err
		}
	}
	return nil
}

// Idle implements machine.Player.
func (p *Player) Idle(m *machine.Machine) error {
	if !p.due() {
		return p.diverged("the hart is idle in WFI here, but the recording has no event at this point")
	}
	switch p.peek.Kind {
	case rrlog.KindWarp:
		ns, err := p.peek.Warp()
		if err != nil {
			return err
		}
		// When recording, an idle hart warps at most to the next timer
		// deadline, and never without one.
		next, armed := m.Clock.Next()
		if !armed {
			return p.diverged(fmt.Sprintf("the recording warps virtual time by %dns here, but no timer is armed", ns))
		}
		if now := m.Clock.Now(); next > now && ns > next-now {
			return p.diverged(fmt.Sprintf("the recording warps virtual time by %dns here, past the next timer deadline %dns ahead", ns, next-now))
		}
		m.Clock.Warp(ns)
		p.Events++
		return p.advance()
	case rrlog.KindBlockComplete, rrlog.KindSerialInput, rrlog.KindShutdown, rrlog.KindEntropy, rrlog.KindNetFrame, rrlog.KindDigest:
		return nil // the next Drain (or checkpoint) takes it and wakes the hart
	}
	// Play accepts no other kind; never loop on one.
	return p.diverged(fmt.Sprintf("the recording has a %s event here, which replay cannot apply", p.peek.Kind))
}

// Finish is called after the machine stopped: it verifies the final
// digest recorded at this point and checks that the recording ends here
// too. A machine stopped early (--until, quit key) skips the checks.
func (p *Player) Finish(m *machine.Machine) error {
	if !m.Halted() || m.Reason() == machine.HaltHostStop && !p.shutdown {
		return nil // stopped early (--until, the quit key, a signal)
	}
	if p.due() && p.peek.Kind == rrlog.KindDigest {
		if err := p.checkpoint(); err != nil {
			return err
		}
	}
	if p.peek != nil {
		return p.diverged(fmt.Sprintf("the machine stopped (%s) but the recording continues: next event %s at icount %d", m.Reason(), p.peek.Kind, p.peek.ICount))
	}
	if ic := m.ICount(); p.ended && ic < p.end {
		return p.diverged(fmt.Sprintf("the machine stopped (%s) at icount %d, but the recording goes on to its end record at icount %d", m.Reason(), ic, p.end))
	}
	return nil
}

// Stuck implements machine.Player.
func (p *Player) Stuck(m *machine.Machine) error {
	return p.diverged(fmt.Sprintf("the recording has a %s event here that the machine cannot take (hart not idle)", p.peek.Kind))
}

// checkpoint verifies the recorded digest at this icount.
func (p *Player) checkpoint() error {
	if !p.due() || p.peek.Kind != rrlog.KindDigest {
		p.m.NextCheckpoint = 0
		return nil
	}
	sc := p.m.Check() // always: it also starts the next digest's page epoch
	if p.SkipDigests {
		p.Events++
		return p.advance()
	}
	want, err := p.peek.Digest()
	if err != nil {
		return err
	}
	got := toDigest(&sc)
	if p.pagesUnknown {
		p.pagesUnknown = false
		got.Pages, want.Pages = nil, nil
		if diffs := compareDigests(want, got); !bytes.Equal(want.HartState, got.HartState) || !sameComponents(want, got) {
			return &DivergenceError{ICount: sc.ICount, PrevICount: p.lastVerified, Diffs: diffs}
		}
	} else if got.Sum != want.Sum {
		return &DivergenceError{ICount: sc.ICount, PrevICount: p.lastVerified, Diffs: compareDigests(want, got)}
	}
	p.lastVerified = sc.ICount
	p.Verified++
	p.Checked++
	p.Events++
	return p.advance()
}

func (p *Player) diverged(what string) error {
	return &DivergenceError{ICount: p.m.ICount(), PrevICount: p.lastVerified, Diffs: []string{what}}
}

func sameComponents(a, b rrlog.Digest) bool {
	if len(a.Components) != len(b.Components) {
		return false
	}
	for i := range a.Components {
		if a.Components[i] != b.Components[i] {
			return false
		}
	}
	return true
}

// eventList holds a recording's events in fixed-size blocks: appending
// hundreds of thousands of events (idle warps) never copies the ones
// already read, and an event's address never changes.
type eventList struct {
	blocks [][]rrlog.Event
	n      int
}

const eventBlock = 4096

func (l *eventList) len() int { return l.n }

func (l *eventList) add(ev rrlog.Event) {
	if l.n%eventBlock == 0 {
		l.blocks = append(l.blocks, make([]rrlog.Event, 0, eventBlock))
	}
	b := &l.blocks[len(l.blocks)-1]
	*b = append(*b, ev)
	l.n++
}

func (l *eventList) at(i int) *rrlog.Event { return &l.blocks[i/eventBlock][i%eventBlock] }

// slice returns a copy of the list as one slice.
func (l *eventList) slice() []rrlog.Event {
	out := make([]rrlog.Event, 0, l.n)
	for _, b := range l.blocks {
		out = append(out, b...)
	}
	return out
}

// all calls fn for events [from, to) in order until it returns false.
func (l *eventList) all(from, to int, fn func(*rrlog.Event) bool) {
	for i := from; i < to; i++ {
		if !fn(l.at(i)) {
			return
		}
	}
}
