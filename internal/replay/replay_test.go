package replay

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rewindvm/rewind/guest/builtin"
	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// builtinMachine is the built-in guest with a 64 KiB disk, asynchronous
// disk I/O (as recordings use), output into out.
func builtinMachine(t testing.TB, out *bytes.Buffer) (*machine.Machine, *block.Overlay) {
	t.Helper()
	disk, err := block.NewMemory(make([]byte, 64<<10), false)
	if err != nil {
		t.Fatal(err)
	}
	ov := block.NewOverlay(disk)
	m, err := machine.New(machine.Config{
		RAMSize: 16 << 20, Kernel: builtin.ELF, Disks: []block.Device{ov},
		Console: out, AsyncBlock: true, RTCBaseUnixNs: 1e18,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	m.Idle = machine.IdleFast
	return m, ov
}

// recordingBuiltin starts recording the built-in guest into path, with a
// state digest every interval instructions; its console goes to buf.
func recordingBuiltin(t *testing.T, path string, interval uint64, buf *bytes.Buffer) (*machine.Machine, *block.Overlay, *Recorder) {
	t.Helper()
	m, ov := builtinMachine(t, buf)
	w, err := rrlog.Create(path, rrlog.Header{Emulator: "rewind test"})
	if err != nil {
		t.Fatal(err)
	}
	return m, ov, Record(m, w, interval, false)
}

// typeAtPrompts types the next line into m each time a new prompt
// appears in its console output buf.
func typeAtPrompts(m *machine.Machine, buf *bytes.Buffer, lines ...string) {
	seen := 0
	m.BeforeSlice = func() {
		if n := strings.Count(buf.String(), "> "); n > seen && len(lines) > 0 {
			seen = n
			m.InjectInput([]byte(lines[0]))
			lines = lines[1:]
		}
	}
}

// recordBuiltin records a short built-in guest session: typed lines
// whenever the prompt appears, then quit.
func recordBuiltin(t *testing.T, path string) (out []byte, digest [32]byte, ovState block.OverlayState) {
	t.Helper()
	var buf bytes.Buffer
	m, ov, rec := recordingBuiltin(t, path, 200_000, &buf)
	typeAtPrompts(m, &buf, "hello\r", "disk\r", "help\r", "quit\r")
	res, err := m.Run(500_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != machine.HaltPowerOff {
		t.Fatalf("recording ended with %v; console:\n%s", res.Reason, buf.String())
	}
	if err := rec.Finish(res); err != nil {
		t.Fatal(err)
	}
	if rec.Digests() < 2 {
		t.Fatalf("only %d digests recorded", rec.Digests())
	}
	return buf.Bytes(), m.Digest(), ov.Save()
}

// playFile opens the recording at path and attaches a player for it to
// m. The file is closed when the test ends.
func playFile(t testing.TB, m *machine.Machine, path string) *Player {
	t.Helper()
	r, err := rrlog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	p, err := Play(m, r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func replayBuiltin(t *testing.T, path string, perturb func(m *machine.Machine)) ([]byte, [32]byte, block.OverlayState, *Player, error) {
	t.Helper()
	var buf bytes.Buffer
	m, ov := builtinMachine(t, &buf)
	p := playFile(t, m, path)
	if perturb != nil {
		perturb(m)
	}
	_, err := m.Run(0)
	if err == nil {
		err = p.Finish(m)
	}
	return buf.Bytes(), m.Digest(), ov.Save(), p, err
}

func TestRecordReplayBuiltin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.rwd")
	out, digest, ovs := recordBuiltin(t, path)
	if !bytes.Contains(out, []byte("you typed: hello")) || !bytes.Contains(out, []byte("bye")) {
		t.Fatalf("unexpected session:\n%s", out)
	}
	for i := 0; i < 2; i++ {
		got, d, ov, p, err := replayBuiltin(t, path, nil)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if !bytes.Equal(got, out) {
			t.Fatalf("console differs:\n%s\nvs\n%s", got, out)
		}
		if d != digest {
			t.Fatalf("final digest differs")
		}
		if len(ov.Blocks) == 0 || !bytes.Equal(ov.Blocks[0].Data, ovs.Blocks[0].Data) {
			t.Fatalf("disk overlay differs")
		}
		if !errors.Is(p.Ended(), errEOF()) {
			t.Fatalf("stream ended with %v", p.Ended())
		}
		if p.Verified < 2 {
			t.Fatalf("%d digests verified", p.Verified)
		}
	}
}

// A register changed behind the replay's back is caught by the next
// digest, which names the register and both values.
func TestDivergenceIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.rwd")
	recordBuiltin(t, path)
	const at = 300_000
	_, _, _, _, err := replayBuiltin(t, path, func(m *machine.Machine) {
		m.StopAt = at
		if _, err := m.Run(0); err != nil {
			t.Fatal(err)
		}
		// tp: the built-in guest never writes it, so the change lasts
		// until the next digest whatever the recording's disk timing.
		m.Cur().SetReg(4, m.Cur().Reg(4)^0x40)
		m.StopAt = 0
	})
	var div *DivergenceError
	if !errors.As(err, &div) {
		t.Fatalf("replay error %v, want a DivergenceError", err)
	}
	if div.PrevICount > at || div.ICount < at {
		t.Fatalf("divergence window %d..%d does not contain the perturbation at %d", div.PrevICount, div.ICount, at)
	}
	if !strings.Contains(err.Error(), "register x4 (tp): recorded 0x0, replayed 0x40") {
		t.Fatalf("report does not say what differs: %v", err)
	}
	t.Logf("report: %v", err)
}

func errEOF() error { return ioEOF }

var ioEOF = io.EOF
