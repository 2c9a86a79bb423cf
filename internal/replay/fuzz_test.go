package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
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

// The fuzz target replays arbitrary bytes as the chunks of a recording of
// the built-in guest session in testdata/session.rwd, after that
// session's header, on the machine the session was recorded on (the
// header itself is rrlog's FuzzReader's business). The session's chunks
// are zstd frames of raw blocks (see recfile_test.go), so a changed byte
// inside a chunk changes an event; with repair set, the harness
// recomputes the chunk CRCs first so that such changes get past the
// checksums. The seed corpus (testdata/fuzz/FuzzReplay) is the session
// damaged in the ways a user's file could be, and forged in the ways a
// newer or buggy recorder could write one; go test runs it. Regenerate
// both with
//
//	go test -run TestFuzzCorpus -update-fuzz-corpus ./internal/replay

var updateCorpus = flag.Bool("update-fuzz-corpus", false, "record testdata/session.rwd again and rewrite the FuzzReplay seed corpus")

const sessionFile = "testdata/session.rwd"

// baseSession is the session as replayed from the unchanged file.
type baseSession struct {
	header []byte // the file's header
	chunks []byte // and everything after it
	evs    []rrlog.Event
	out    []byte
	end    uint64
}

func loadSession(t testing.TB) baseSession {
	t.Helper()
	data, err := os.ReadFile(sessionFile)
	if err != nil {
		t.Fatalf("%v (go test -run TestFuzzCorpus -update-fuzz-corpus creates it)", err)
	}
	var out bytes.Buffer
	m, _ := builtinMachine(t, &out)
	r, err := rrlog.OpenReader(bytes.NewReader(data), int64(len(data)), "session.rwd")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Play(m, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(0); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(m); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(p.Ended(), io.EOF) || !m.Halted() || p.Verified < 2 {
		t.Fatalf("%s does not replay cleanly: %v, halted %v, %d digests", sessionFile, p.Ended(), m.Halted(), p.Verified)
	}
	n := headerLen(data)
	return baseSession{header: data[:n], chunks: data[n:], evs: p.events.slice(), out: out.Bytes(), end: p.EndICount()}
}

// headerLen is the length of a recording's header.
func headerLen(data []byte) int {
	return rrlog.HeaderPrefixSize + int(binary.LittleEndian.Uint32(data[10:]))
}

// FuzzReplay: every input is refused with an error, or replays; a replay
// never panics, never hangs (it is bounded by an instruction budget and
// a wall-clock guard), and when the events it read are a prefix of the
// session's, or when it verified a state digest at its very end, its
// console output is a prefix of the session's.
func FuzzReplay(f *testing.F) {
	base := loadSession(f)
	f.Add(base.chunks, false)
	f.Add(base.chunks, true)
	f.Fuzz(func(t *testing.T, chunks []byte, repair bool) {
		data := append(bytes.Clone(base.header), chunks...)
		if repair {
			data = repairCRCs(data)
		}
		r, err := rrlog.OpenReader(bytes.NewReader(data), int64(len(data)), "fuzz.rwd")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		var out bytes.Buffer
		m, _ := builtinMachine(t, &out)
		p, err := Play(m, r)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.rwd: ") {
				t.Fatalf("Play error does not say where: %v", err)
			}
			return
		}
		done := make(chan error, 1)
		go func() {
			_, err := m.Run(base.end + 2_000_000)
			if err == nil {
				err = p.Finish(m)
			}
			done <- err
		}()
		select {
		case err = <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("replay hangs at %s", m)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if !bytes.HasPrefix(base.out, out.Bytes()) && (eventsPrefix(p.events.slice(), base.evs) || p.Verified > 0 && p.lastVerified == p.end) {
			t.Fatalf("replay succeeded with output that is not a prefix of the session's:\n%q\nsession:\n%q", out.Bytes(), base.out)
		}
	})
}

func eventsPrefix(a, b []rrlog.Event) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i].ICount != b[i].ICount || a[i].Kind != b[i].Kind || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

// TestFuzzCorpus checks that the checked-in session still replays on
// this machine model (it fails when a change to the machine invalidates
// it), and with -update-fuzz-corpus records it again and rewrites the
// seed corpus.
func TestFuzzCorpus(t *testing.T) {
	if *updateCorpus {
		writeCorpus(t)
	}
	base := loadSession(t)
	if !bytes.Contains(base.out, []byte("you typed: hello")) {
		t.Fatalf("unexpected session output:\n%s", base.out)
	}
}

// writeCorpus records the session and writes it and its damaged and
// forged variants.
func writeCorpus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.rwd")
	var buf bytes.Buffer
	m, _, rec := recordingBuiltin(t, path, 3_000_000, &buf)
	typeAtPrompts(m, &buf, "hello\r", "disk\r", "quit\r")
	res, err := m.Run(100_000_000)
	if err != nil || res.Reason != machine.HaltPowerOff {
		t.Fatalf("recording: %v, %v", res.Reason, err)
	}
	if err := rec.Finish(res); err != nil {
		t.Fatal(err)
	}
	hdr, evs, end := readRecording(t, path)
	file := func(evs []rrlog.Event, end *rrlog.EndInfo) recFile {
		return recFile{hdr: hdr, chunks: split(evs, 4), end: end}
	}
	session := file(evs, &end).bytes(t)
	if err := os.MkdirAll(filepath.Dir(sessionFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sessionFile, session, 0o644); err != nil {
		t.Fatal(err)
	}

	mid := len(evs) / 2
	with := func(i int, ev rrlog.Event) []rrlog.Event {
		out := append([]rrlog.Event(nil), evs[:i]...)
		return append(append(out, ev), evs[i:]...)
	}
	swap := func(i int, ev rrlog.Event) []rrlog.Event {
		out := append([]rrlog.Event(nil), evs...)
		ev.ICount = out[i].ICount
		out[i] = ev
		return out
	}
	kindAt := func(k rrlog.Kind) int {
		for i, ev := range evs {
			if ev.Kind == k {
				return i
			}
		}
		t.Fatalf("no %s event", k)
		return 0
	}
	at := evs[mid].ICount
	late, early := end, end
	late.ICount += 5000
	early.ICount = evs[len(evs)-1].ICount - 5000
	dup := append(append([]rrlog.Event(nil), evs[:mid+1]...), evs[mid:]...)
	flipped := bytes.Clone(session)
	flipped[len(flipped)/2] ^= 0x08
	seeds := map[string]struct {
		data   []byte
		repair bool
	}{
		"unknown-kind":    {file(with(mid, rrlog.Event{ICount: at, Kind: 0x42, Data: []byte{1}}), &end).bytes(t), false},
		"serial-port":     {file(swap(kindAt(rrlog.KindSerialInput), rrlog.NewSerialInput(0, 3, []byte("q"))), &end).bytes(t), false},
		"disk":            {file(swap(kindAt(rrlog.KindBlockComplete), rrlog.NewBlockComplete(0, rrlog.BlockComplete{Device: 7})), &end).bytes(t), false},
		"entropy":         {file(with(mid, rrlog.NewEntropy(at, 0, []byte{1, 2})), &end).bytes(t), false},
		"image-data":      {file(with(mid, rrlog.NewImageData(at, rrlog.ImageData{Role: "kernel", Data: []byte{1}})), &end).bytes(t), false},
		"warp":            {file(with(mid, rrlog.NewWarp(at, 1<<62)), &end).bytes(t), false},
		"end-late":        {file(evs, &late).bytes(t), false},
		"end-early":       {file(evs, &early).bytes(t), false},
		"no-end":          {file(evs, nil).bytes(t), false},
		"trailing":        {append(bytes.Clone(session), "more"...), false},
		"half":            {session[:len(session)/2], false},
		"duplicate-event": {file(dup, &end).bytes(t), false},
		"flipped":         {flipped, false},
		"flipped-repair":  {flipped, true},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReplay")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range seeds {
		if !bytes.HasPrefix(s.data, session[:headerLen(session)]) {
			t.Fatalf("seed %s has another header", name)
		}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", s.data[headerLen(session):], s.repair)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
