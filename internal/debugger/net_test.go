package debugger

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/replay"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// netELF is the bare-metal virtio-net guest: it abuses the card, then
// exchanges ARP with the gateway.
var netELF = filepath.Join("..", "..", "testdata", "virtio-net", "net.elf")

func newNetMachine(t *testing.T, out *bytes.Buffer) *machine.Machine {
	t.Helper()
	elf, err := os.ReadFile(netELF)
	if err != nil {
		t.Fatal(err)
	}
	m, err := machine.New(machine.Config{RAMSize: 16 << 20, Kernel: elf, NIC: true, Console: out, AsyncBlock: true, RTCBaseUnixNs: 1e18})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	m.Idle = machine.IdleFast
	return m
}

// arpReply answers an ARP request for any address as the gateway would.
func arpReply(req []byte) []byte {
	if len(req) < 42 || req[12] != 0x08 || req[13] != 0x06 || req[21] != 1 {
		return nil
	}
	gw := []byte{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}
	f := make([]byte, 0, 60)
	f = append(f, req[6:12]...)
	f = append(f, gw...)
	f = append(f, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2)
	f = append(f, gw...)
	f = append(f, req[38:42]...) // the address asked for
	f = append(f, req[22:32]...) // the asker's MAC and address
	return append(f, make([]byte, 60-len(f))...)
}

// A recording with network frames can be debugged in both directions:
// seeks land in the state a straight replay reaches, across the frames'
// arrivals, with digests checked.
func TestSeekNetworkRecording(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net.rwd")
	var out bytes.Buffer
	m := newNetMachine(t, &out)
	w, err := rrlog.Create(path, rrlog.Header{Emulator: "rewind test"})
	if err != nil {
		t.Fatal(err)
	}
	rec := replay.Record(m, w, 7_000, false)
	var arrivals []uint64
	rec0 := m.OnNetFrame
	m.OnNetFrame = func(ic, dropped uint64, f []byte) {
		arrivals = append(arrivals, ic)
		rec0(ic, dropped, f)
	}
	m.OnNetTransmit = func(f []byte) {
		if r := arpReply(f); r != nil {
			m.NetInput() <- r
		}
	}
	res, err := m.Run(0)
	if err != nil || res.Reason != machine.HaltPowerOff || !strings.Contains(out.String(), "net: done") {
		t.Fatalf("record: %v %v\n%s", res.Reason, err, out.String())
	}
	if err := rec.Finish(res); err != nil {
		t.Fatal(err)
	}
	if len(arrivals) != 3 {
		t.Fatalf("%d frames entered the guest, want 3", len(arrivals))
	}

	var out2 bytes.Buffer
	m2 := newNetMachine(t, &out2)
	d := openOn(t, m2, path, Options{Spacing: 4_000, Budget: 4 << 20})
	end := d.End()
	t.Logf("recording: %d instructions, frames at %v", end, arrivals)
	targets := []uint64{end - 1, arrivals[1] + 1, arrivals[0], arrivals[0] - 1, end / 2, arrivals[2] + 10, 5, arrivals[1]}
	for _, target := range targets {
		if err := d.Seek(target); err != nil {
			t.Fatalf("seek %d: %v", target, err)
		}
		want := straightTo(t, path, target)
		if got := d.Machine().Digest(); got != want {
			t.Fatalf("state after seek to %d differs from a straight replay", target)
		}
	}
	// Back over the last frame's arrival, one instruction at a time.
	if err := d.Seek(arrivals[2] + 3); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if _, err := d.StepBackward(); err != nil {
			t.Fatal(err)
		}
	}
	if d.ICount() != arrivals[2]-3 {
		t.Fatalf("at %d after stepping back, want %d", d.ICount(), arrivals[2]-3)
	}
	if got, want := d.Machine().Digest(), straightTo(t, path, arrivals[2]-3); got != want {
		t.Fatal("state after stepping back over a frame differs from a straight replay")
	}
	if d.p.Checked < 3 {
		t.Fatalf("only %d digests checked", d.p.Checked)
	}
	if n, _ := d.Snapshots(); n < 2 {
		t.Fatalf("%d snapshots: the seeks never restored one", n)
	}
}

// straightTo replays path from the start to icount and returns the
// machine's digest.
func straightTo(t *testing.T, path string, icount uint64) [32]byte {
	t.Helper()
	var out bytes.Buffer
	m := newNetMachine(t, &out)
	r, err := rrlog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := replay.Play(m, r); err != nil {
		t.Fatal(err)
	}
	m.StopAt = icount
	if _, err := m.Run(0); err != nil {
		t.Fatal(err)
	}
	return m.Digest()
}
