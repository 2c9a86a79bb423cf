package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// session is a recording taken apart: what the tests below change and
// write back with recFile.
type session struct {
	hdr rrlog.Header
	evs []rrlog.Event
	end rrlog.EndInfo
	out []byte // console output of the session
}

func recordSession(t *testing.T) session {
	t.Helper()
	path := filepath.Join(t.TempDir(), "b.rwd")
	out, _, _ := recordBuiltin(t, path)
	hdr, evs, end := readRecording(t, path)
	return session{hdr, evs, end, out}
}

// chunkStarts returns the byte offset of every chunk of a well-formed file.
func chunkStarts(data []byte) []int64 {
	off := int64(rrlog.HeaderPrefixSize + binary.LittleEndian.Uint32(data[10:]))
	var starts []int64
	for off+rrlog.ChunkHeaderSize <= int64(len(data)) && string(data[off:off+4]) == "CHNK" {
		starts = append(starts, off)
		off += rrlog.ChunkHeaderSize + int64(binary.LittleEndian.Uint32(data[off+4:]))
	}
	return starts
}

// replayed is the outcome of replaying a recording on the built-in
// guest's machine.
type replayed struct {
	out     []byte
	p       *Player
	playErr error // Play refused the recording
	runErr  error // the run or Finish failed
}

// replayData replays data (named t.rwd) with an instruction limit, and
// fails the test if that takes longer than a minute: a replay that spins
// without executing instructions must not hang the test suite.
func replayData(t *testing.T, data []byte, limit uint64) replayed {
	t.Helper()
	var res replayed
	var buf bytes.Buffer
	m, _ := builtinMachine(t, &buf)
	r, err := rrlog.OpenReader(bytes.NewReader(data), int64(len(data)), "t.rwd")
	if err != nil {
		t.Fatal(err)
	}
	res.p, res.playErr = Play(m, r)
	if res.playErr != nil {
		return res
	}
	done := make(chan error, 1)
	go func() {
		_, err := m.Run(limit)
		if err == nil {
			err = res.p.Finish(m)
		}
		done <- err
	}()
	select {
	case res.runErr = <-done:
	case <-time.After(time.Minute):
		t.Fatalf("replay still running after a minute, at %s", m)
	}
	res.out = buf.Bytes()
	return res
}

// Events a rewind cannot replay are refused by Play, before the guest
// runs, with an error naming where the event is stored, its kind, its
// icount and what is wrong with it. (An unknown kind used to make the
// replay spin forever at the event's icount.)
func TestPlayRefuses(t *testing.T) {
	s := recordSession(t)
	mid := len(s.evs) / 2
	at := s.evs[mid].ICount
	insert := func(ev rrlog.Event) func([]rrlog.Event) ([]rrlog.Event, int) {
		return func(evs []rrlog.Event) ([]rrlog.Event, int) {
			out := append(append(append([]rrlog.Event(nil), evs[:mid+1]...), ev), evs[mid+1:]...)
			return out, mid + 1
		}
	}
	replace := func(i int, ev rrlog.Event) func([]rrlog.Event) ([]rrlog.Event, int) {
		return func(evs []rrlog.Event) ([]rrlog.Event, int) {
			out := append([]rrlog.Event(nil), evs...)
			ev.ICount = out[i].ICount
			out[i] = ev
			return out, i
		}
	}
	firstOf := func(k rrlog.Kind) int {
		for i, ev := range s.evs {
			if ev.Kind == k {
				return i
			}
		}
		t.Fatalf("the session has no %s event", k)
		return 0
	}
	serial := firstOf(rrlog.KindSerialInput)
	block := firstOf(rrlog.KindBlockComplete)
	tests := []struct {
		name   string
		mutate func([]rrlog.Event) ([]rrlog.Event, int) // changed events, index of the bad one
		want   string                                   // after "<kind> event at icount N: ", or the payload error
	}{
		{"unknown kind", insert(rrlog.Event{ICount: at, Kind: 0x42, Data: []byte{0xca, 0xfe}}),
			"event kind 0x42 is unknown to this rewind (recorded by a newer one?): upgrade rewind to replay this recording"},
		{"unknown kind 0x7f", insert(rrlog.Event{ICount: at, Kind: 0x7f}),
			"event kind 0x7f is unknown to this rewind"},
		{"serial port", replace(serial, rrlog.NewSerialInput(0, 3, []byte("x"))),
			"serial port 3 does not exist (the machine has one, port 0)"},
		{"disk", replace(block, rrlog.NewBlockComplete(0, rrlog.BlockComplete{Device: 7, Request: 1})),
			"disk 7 does not exist (the machine has 1 disk, disk 0)"},
		{"entropy without a device", insert(rrlog.NewEntropy(at, 0, []byte{1, 2, 3, 4})),
			"the machine has no virtio-rng device"},
		{"image data after the start", insert(rrlog.NewImageData(at, rrlog.ImageData{Role: "kernel", Data: []byte{1}})),
			"embedded image data must come before every other event"},
		{"malformed warp", insert(rrlog.Event{ICount: at, Kind: rrlog.KindWarp, Data: []byte{0x80}}),
			"rrlog: warp event at icount %d: ns: payload ends inside a varint"},
		{"malformed serial input", replace(serial, rrlog.Event{Kind: rrlog.KindSerialInput}),
			"rrlog: serial-input event at icount %d: port: payload ends inside a varint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, bad := tt.mutate(s.evs)
			chunks := split(evs, 8)
			end := s.end
			data := recFile{hdr: s.hdr, chunks: chunks, end: &end}.bytes(t)
			res := replayData(t, data, 0)
			if res.playErr == nil {
				t.Fatalf("Play accepted the recording (run: %v)", res.runErr)
			}
			ev := evs[bad]
			detail := tt.want
			if strings.Contains(detail, "%d") {
				detail = fmt.Sprintf(detail, ev.ICount)
			}
			want := fmt.Sprintf("t.rwd: chunk %d at byte %d: %s event at icount %d: %s",
				bad/8, chunkStarts(data)[bad/8], ev.Kind, ev.ICount, detail)
			if strings.HasPrefix(detail, "rrlog: ") {
				// A malformed payload: the error names kind and icount
				// itself, as Verify prints it.
				want = fmt.Sprintf("t.rwd: chunk %d at byte %d: %s", bad/8, chunkStarts(data)[bad/8], detail)
			}
			if res.playErr.Error() != want && !strings.HasPrefix(res.playErr.Error(), want) {
				t.Fatalf("error:\n%v\nwant:\n%s", res.playErr, want)
			}
		})
	}
}

// Recordings that Play accepts but that do not match the machine or end
// inconsistently: the replay stops with an error that says so, or says
// how the file is damaged after replaying all of it.
func TestReplayEndChecks(t *testing.T) {
	s := recordSession(t)
	last := s.evs[len(s.evs)-1].ICount
	if s.end.ICount != last {
		t.Fatalf("the recorder's end record is at icount %d, its last event at %d", s.end.ICount, last)
	}
	tests := []struct {
		name     string
		file     func() recFile
		runErr   string // substring of the run error; "" = none
		endErr   string // substring of Ended(); "" = io.EOF
		complete bool   // all the recorded output is replayed
	}{
		{"as recorded", func() recFile {
			return recFile{hdr: s.hdr, chunks: split(s.evs, 8), end: &s.end}
		}, "", "", true},
		{"end record after the guest stopped", func() recFile {
			end := s.end
			end.ICount = last + 1000
			return recFile{hdr: s.hdr, chunks: split(s.evs, 8), end: &end}
		}, fmt.Sprintf("the machine stopped (power off) at icount %d, but the recording goes on to its end record at icount %d", last, last+1000), "", true},
		{"end record before the last event", func() recFile {
			end := s.end
			end.ICount = last - 1000
			return recFile{hdr: s.hdr, chunks: split(s.evs, 8), end: &end}
		}, "", fmt.Sprintf("end record at icount %d is before the last event (digest at icount %d)", last-1000, last), true},
		{"data after the end record", func() recFile {
			return recFile{hdr: s.hdr, chunks: split(s.evs, 8), end: &s.end, trailing: []byte("junk")}
		}, "", "4 bytes of unexpected data after the end record", true},
		{"no end record", func() recFile {
			return recFile{hdr: s.hdr, chunks: split(s.evs, 8)}
		}, "", "file ends with no end record", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := replayData(t, tt.file().bytes(t), 0)
			if res.playErr != nil {
				t.Fatalf("Play: %v", res.playErr)
			}
			if (res.runErr == nil) != (tt.runErr == "") || res.runErr != nil && !strings.Contains(res.runErr.Error(), tt.runErr) {
				t.Fatalf("run error %v, want %q", res.runErr, tt.runErr)
			}
			ended := res.p.Ended()
			if tt.endErr == "" {
				if !errors.Is(ended, io.EOF) {
					t.Fatalf("stream ended with %v, want a clean end", ended)
				}
			} else if ended == nil || !strings.Contains(ended.Error(), tt.endErr) {
				t.Fatalf("stream ended with %v, want %q", ended, tt.endErr)
			}
			if tt.complete && !bytes.Equal(res.out, s.out) {
				t.Fatalf("replayed output differs from the recording:\n%s\nwant:\n%s", res.out, s.out)
			}
		})
	}
}

// A warp the recording could not have made (past the next timer
// deadline) is a divergence, at the warp.
// recordBare records the machine cfg describes (a bare-metal program,
// fast idle) until it powers off, with a digest every interval
// instructions. It returns the recording's path, a function that builds
// the same machine again, and the final state digest.
func recordBare(t *testing.T, cfg machine.Config, interval, limit uint64) (string, func() *machine.Machine, [32]byte) {
	t.Helper()
	newMachine := func() *machine.Machine {
		m, err := machine.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		m.Idle = machine.IdleFast
		return m
	}
	path := filepath.Join(t.TempDir(), "bare.rwd")
	m := newMachine()
	w, err := rrlog.Create(path, rrlog.Header{Emulator: "rewind test"})
	if err != nil {
		t.Fatal(err)
	}
	rec := Record(m, w, interval, false)
	res, err := m.Run(limit)
	if err != nil || res.Reason != machine.HaltPowerOff {
		t.Fatalf("recording: %v at icount %d, %v", res.Reason, res.ICount, err)
	}
	if err := rec.Finish(res); err != nil {
		t.Fatal(err)
	}
	return path, newMachine, m.Digest()
}

func TestReplayWarpPastDeadline(t *testing.T) {
	prog, err := os.ReadFile(filepath.Join("..", "..", "testdata", "isa", "wfi.elf"))
	if err != nil {
		t.Fatal(err)
	}
	path, newMachine, _ := recordBare(t, machine.Config{RAMSize: 16 << 20, Kernel: prog, Console: io.Discard, AsyncBlock: true, RTCBaseUnixNs: 1e18}, 100_000, 50_000_000)
	hdr, evs, end := readRecording(t, path)
	replayFile := func(evs []rrlog.Event) error {
		data := recFile{hdr: hdr, chunks: split(evs, 8), end: &end}.bytes(t)
		m := newMachine()
		p, err := Play(m, mustOpen(t, data))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Run(0); err != nil {
			return err
		}
		return p.Finish(m)
	}
	if err := replayFile(evs); err != nil {
		t.Fatalf("replay as recorded: %v", err)
	}
	warped := false
	for i, ev := range evs {
		if ev.Kind != rrlog.KindWarp {
			continue
		}
		ns, _ := ev.Warp()
		bad := append([]rrlog.Event(nil), evs...)
		bad[i] = rrlog.NewWarp(ev.ICount, ns+1)
		err := replayFile(bad)
		var div *DivergenceError
		want := fmt.Sprintf("the recording warps virtual time by %dns here, past the next timer deadline %dns ahead", ns+1, ns)
		if !errors.As(err, &div) || div.ICount != ev.ICount || !strings.Contains(err.Error(), want) {
			t.Fatalf("warp %d at icount %d lengthened by 1ns: %v; want a divergence at that icount: %q", i, ev.ICount, err, want)
		}
		warped = true
		break
	}
	if !warped {
		t.Fatal("the recording has no warp")
	}
}

// The player never loops on an event it cannot apply while the hart
// idles (Play refuses such events; this is the second line of defence).
func TestIdleRefusesUnknownEvent(t *testing.T) {
	var buf bytes.Buffer
	m, _ := builtinMachine(t, &buf)
	p, err := Play(m, &sliceSource{})
	if err != nil {
		t.Fatal(err)
	}
	p.events = eventList{}
	p.events.add(rrlog.Event{ICount: m.ICount(), Kind: 0x42})
	p.setPeek()
	err = p.Idle(m)
	if err == nil || !strings.Contains(err.Error(), "the recording has a kind-0x42 event here, which replay cannot apply") {
		t.Fatalf("Idle = %v", err)
	}
}

// sliceSource is an EventSource of fixed events and a clean end.
type sliceSource struct{ evs []rrlog.Event }

func (s *sliceSource) Next() (rrlog.Event, error) {
	if len(s.evs) == 0 {
		return rrlog.Event{}, io.EOF
	}
	ev := s.evs[0]
	s.evs = s.evs[1:]
	return ev, nil
}

func mustOpen(t testing.TB, data []byte) *rrlog.Reader {
	t.Helper()
	r, err := rrlog.OpenReader(bytes.NewReader(data), int64(len(data)), "t.rwd")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
