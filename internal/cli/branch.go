package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// Leaving a replay at --until: going live (optionally recording the new
// branch) and writing a window of the recording (log trim). Both start
// the new recording from a full snapshot of the machine.

// goLive ends a replay that stopped at --until and runs the machine on
// live; with branch, the new run is recorded there, starting with a full
// snapshot of the machine, so that it replays on its own.
func goLive(m *machine.Machine, p *replay.Player, h rrlog.Header, cfg recordedConfig, res machine.Result, branch string, stderr io.Writer) (machine.Result, error) {
	if err := quiesce(m); err != nil {
		return res, err
	}
	if m.Halted() {
		return res, fmt.Errorf("the recording ends (%s) at icount %d, before the point to go live from", res.Reason, res.ICount)
	}
	p.Detach()
	var rec *replay.Recorder
	if branch != "" {
		if h.SelfContained {
			return res, errors.New("--record: a branch of a self-contained recording is not supported yet (it would need the images the recording embeds)")
		}
		cfg.StartSnapshot = true
		conf, err := json.Marshal(cfg)
		if err != nil {
			return res, err
		}
		bh := h
		bh.Config, bh.Created, bh.Emulator = conf, "", "rewind "+Version
		w, err := rrlog.Create(branch, bh)
		if err != nil {
			return res, err
		}
		rec = replay.Record(m, w, cfg.DigestInterval, false)
		if err := rec.StartFromSnapshot(); err != nil {
			return res, err
		}
		rec.EmbedSnapshots(0)
	}
	fmt.Fprintf(stderr, "rewind: live from icount %d\n", m.ICount())
	res, err := runGuarded(m, 0)
	if rec != nil {
		if ferr := rec.Finish(res); ferr != nil && err == nil {
			err = ferr
		}
		if err == nil {
			fmt.Fprintf(stderr, "rewind: recorded the branch up to icount %d (%s) to %s\n", res.ICount, res.Reason, branch)
		}
	}
	return res, err
}

// trim writes the window of the recording from the machine's position
// (where --until stopped) to icount to as a recording of its own: a full
// snapshot of the machine now, then the recording's events up to `to`
// (embedded snapshots left out: they belong to the original's chain), and
// an end record at `to`. It needs the same disk images as the original
// unless the original is self-contained.
func trim(m *machine.Machine, p *replay.Player, h rrlog.Header, cfg recordedConfig, to uint64, out string, stderr io.Writer) error {
	if err := quiesce(m); err != nil {
		return err
	}
	from := m.ICount()
	if m.Halted() {
		return fmt.Errorf("the recording ends (%s) at icount %d, before the window starts", m.Reason(), from)
	}
	if h.SelfContained {
		return errors.New("trimming a self-contained recording is not supported yet (its embedded images would have to be carried over)")
	}
	if to == 0 || to > p.EndICount() {
		to = p.EndICount()
	}
	cfg.StartSnapshot = true
	conf, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	th := h
	th.Config, th.Created = conf, ""
	w, err := rrlog.Create(out, th)
	if err != nil {
		return err
	}
	s, err := m.NewSnapshotTaker(true).Take()
	if err != nil {
		_ = w.Close(rrlog.EndInfo{ICount: from, Reason: err.Error()})
		return fmt.Errorf("snapshot at icount %d: %w", from, err)
	}
	blob, err := replay.EncodeEmbedded(s)
	if err != nil {
		return err
	}
	for _, ev := range rrlog.NewSnapshotEvents(from, 0, blob) {
		if err := w.Append(ev); err != nil {
			return err
		}
	}
	n := 0
	for _, ev := range p.Remaining() {
		if ev.ICount > to {
			break
		}
		if ev.Kind.Annotation() {
			continue
		}
		if err := w.Append(ev); err != nil {
			return err
		}
		n++
	}
	if err := w.Close(rrlog.EndInfo{ICount: to, Clean: true, Reason: fmt.Sprintf("trimmed to icount %d-%d", from, to)}); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rewind: wrote icount %d-%d (%d events, a %d-byte starting snapshot) to %s\n", from, to, n, len(blob), out)
	return nil
}

// quiesce replays on, ten thousand instructions at a time, until no disk
// request is in flight, so the machine's whole state can be captured (a
// request's host side cannot be). It gives up after two hundred million.
func quiesce(m *machine.Machine) error {
	start := m.ICount()
	for !m.Halted() {
		if _, err := m.SaveState(); !errors.Is(err, machine.ErrBusy) {
			return err
		}
		ic := m.ICount()
		if ic-start > 200_000_000 {
			return fmt.Errorf("disk requests still in flight at icount %d, two hundred million instructions after %d", ic, start)
		}
		m.StopAt = ic + 10_000
		if _, err := runGuarded(m, 0); err != nil {
			return err
		}
	}
	return nil
}
