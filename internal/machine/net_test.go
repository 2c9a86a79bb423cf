package machine

import (
	"strings"
	"testing"

	"github.com/rewindvm/rewind/guest/builtin"
	"github.com/rewindvm/rewind/internal/dev/virtio/nic"
)

// Host frames beyond the queue, or of impossible sizes, are dropped
// before they reach the guest, counted, and reported with the next
// OnNetFrame (a drops-only report when no frame enters).
func TestNetQueueDrops(t *testing.T) {
	m, err := New(Config{RAMSize: 16 << 20, Kernel: builtin.ELF, NIC: true})
	if err != nil {
		t.Fatal(err)
	}
	type report struct {
		ic, dropped uint64
		n           int
	}
	var reports []report
	m.OnNetFrame = func(ic, dropped uint64, f []byte) { reports = append(reports, report{ic, dropped, len(f)}) }
	frame := make([]byte, 60)
	for range NetQueueFrames + 3 {
		m.queueFrame(frame)
	}
	m.queueFrame(make([]byte, nic.MinFrame-1))
	m.queueFrame(make([]byte, m.Net.MaxFrame()+1))
	// The guest has posted no receive buffer: nothing enters, the drops
	// are reported once.
	m.feedNet()
	m.feedNet()
	if len(reports) != 1 || reports[0].dropped != 5 || reports[0].n != 0 {
		t.Fatalf("reports %+v", reports)
	}
	ns, ok := m.NetStats()
	if !ok || ns.Dropped != 5 || ns.Queued != NetQueueFrames {
		t.Fatalf("stats %+v", ns)
	}
	if s := ns.String(); !strings.Contains(s, "5 dropped") {
		t.Errorf("String() = %q", s)
	}
	if !m.netBusy() {
		t.Error("frames wait, but slices stay long")
	}
}

func TestReplayNetFrameErrors(t *testing.T) {
	m, err := New(Config{RAMSize: 16 << 20, Kernel: builtin.ELF, NIC: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ReplayNetFrame(2, nil); err != nil {
		t.Fatal(err)
	}
	if ns, _ := m.NetStats(); ns.Dropped != 2 {
		t.Errorf("replayed drops %d", ns.Dropped)
	}
	for _, tc := range []struct {
		n    int
		want string
	}{
		{60, "posted no receive buffer"},
		{5, "a frame has"},
		{m.Net.MaxFrame() + 1, "a frame has"},
	} {
		if err := m.ReplayNetFrame(0, make([]byte, tc.n)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d-byte frame: %v", tc.n, err)
		}
	}
	plain, err := New(Config{RAMSize: 16 << 20, Kernel: builtin.ELF})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.ReplayNetFrame(0, make([]byte, 60)); err == nil || !strings.Contains(err.Error(), "no virtio-net device") {
		t.Errorf("no card: %v", err)
	}
	if _, ok := plain.NetStats(); ok || plain.NetInput() != nil || plain.netBusy() {
		t.Error("a machine without a card has network state")
	}
}
