package machine

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/guest/builtin"
	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/hugemem"
)

// builtinMachine builds the built-in guest with a disk overlay, so a run
// writes both RAM and disk (the guest bumps a boot counter on sector 1).
func builtinMachine(t *testing.T, disk []byte) *Machine {
	t.Helper()
	base, err := block.NewMemory(disk, true)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{RAMSize: 16 << 20, Kernel: builtin.ELF, Disks: []block.Device{block.NewOverlay(base)}})
	if err != nil {
		t.Fatal(err)
	}
	m.Idle = IdleFast
	return m
}

// Snapshots taken along a run, encoded and decoded, restore a fresh
// machine to exactly the state (full digest, RAM and disk included) the
// running machine had at each one, whether the chain starts at the boot
// state or with a full snapshot.
func TestSnapshotChainRestores(t *testing.T) {
	disk := bytes.Repeat([]byte{0x5a}, 64<<10)
	m := builtinMachine(t, disk)
	m.InjectInput([]byte("disk\rhello\r"))
	inc := m.NewSnapshotTaker(false)
	var chain [][]byte
	var digests [][32]byte
	var tlbs [][]cpu.TLBEntry // what hart 0 had cached at each snapshot
	var full []byte
	for _, at := range []uint64{20_000, 150_000, 400_000, 900_000} {
		m.StopAt = at
		if _, err := m.Run(0); err != nil {
			t.Fatal(err)
		}
		s, err := inc.Take()
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, b)
		digests = append(digests, m.Digest())
		tlbs = append(tlbs, m.Harts[0].SaveTLB())
		if at == 400_000 {
			// A second, independent chain starting with a full snapshot.
			f, err := m.NewSnapshotTaker(true).Take()
			if err != nil {
				t.Fatal(err)
			}
			if full, err = f.Encode(); err != nil {
				t.Fatal(err)
			}
			// The full taker took the dirty pages the incremental chain
			// was owed: restart the incremental chain from here.
			inc = m.NewSnapshotTaker(false)
			chain, digests, tlbs = chain[:0], digests[:0], tlbs[:0]
			chain = append(chain, full)
			digests = append(digests, m.Digest())
			tlbs = append(tlbs, m.Harts[0].SaveTLB())
		}
	}
	if m.ICount() != 900_000 {
		t.Fatalf("the guest stopped early at %d", m.ICount())
	}
	decode := func(bs [][]byte) []*Snapshot {
		var out []*Snapshot
		for _, b := range bs {
			s, err := DecodeSnapshot(b)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	var pages, blocks int
	for _, s := range decode(chain) {
		pages += len(s.Pages)
		blocks += len(s.Disks[0])
	}
	if pages == 0 || blocks == 0 {
		t.Fatalf("the chain carries %d pages and %d disk blocks: the test exercises nothing", pages, blocks)
	}
	for k := range chain {
		fresh := builtinMachine(t, disk)
		if err := fresh.RestoreSnapshots(decode(chain[:k+1])); err != nil {
			t.Fatal(err)
		}
		if got := fresh.Digest(); got != digests[k] {
			t.Errorf("chain of %d: restored digest %x, machine had %x", k+1, got, digests[k])
		}
		if len(tlbs[k]) == 0 {
			t.Fatalf("chain of %d: the hart had nothing cached", k+1)
		}
		if diff := cmp.Diff(tlbs[k], fresh.Harts[0].SaveTLB()); diff != "" {
			t.Errorf("chain of %d: restored TLBs differ (-saved +restored):\n%s", k+1, diff)
		}
	}
	// The restored machine runs on exactly like the original.
	fresh := builtinMachine(t, disk)
	if err := fresh.RestoreSnapshots(decode(chain)); err != nil {
		t.Fatal(err)
	}
	m.StopAt, fresh.StopAt = 1_200_000, 1_200_000
	if _, err := m.Run(0); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Run(0); err != nil {
		t.Fatal(err)
	}
	if m.Digest() != fresh.Digest() {
		t.Error("the restored machine diverged from the original after running on")
	}
}

func TestDecodeSnapshotRejects(t *testing.T) {
	good, err := (&Snapshot{Pages: []SnapshotPage{{1, make([]byte, pageSize)}, {3, make([]byte, pageSize)}}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	badVersion := bytes.Clone(good)
	badVersion[len(snapshotMagic)] = 99
	short, _ := (&Snapshot{Pages: []SnapshotPage{{1, make([]byte, 10)}}}).Encode()
	unordered, _ := (&Snapshot{Pages: []SnapshotPage{{3, make([]byte, pageSize)}, {1, make([]byte, pageSize)}}}).Encode()
	for name, b := range map[string][]byte{
		"empty": nil, "magic": []byte("nope!!!!"), "version": badVersion,
		"truncated": good[:len(good)/2], "short page": short, "unordered": unordered,
	} {
		if _, err := DecodeSnapshot(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := DecodeSnapshot(good); err != nil {
		t.Errorf("good snapshot: %v", err)
	}
}

// churnMachine returns a machine running testdata/snapshot/churn.elf.
func churnMachine(t *testing.T, jit bool) *Machine {
	t.Helper()
	churn, err := os.ReadFile(filepath.Join("..", "..", "testdata", "snapshot", "churn.elf"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{RAMSize: 16 << 20, Kernel: churn, JIT: jit})
	if err != nil {
		t.Fatal(err)
	}
	m.Idle, m.NoHostInput = IdleFast, true
	return m
}

// runTo runs m until instruction count at.
func runTo(t *testing.T, m *Machine, at uint64) {
	t.Helper()
	m.StopAt = at
	if _, err := m.Run(0); err != nil {
		t.Error(err)
	}
}

// A captured snapshot encodes to exactly the bytes of Take's copy at the
// same point, however the guest writes its pages (stores, page-table
// updates, disk DMA) while they wait to be read: all before the reader
// starts, while the reader is paused halfway, or while both run.
//
// Two guests: the built-in one, typed at (disk DMA into RAM), and
// testdata/snapshot/churn.elf, which rewrites 256 pages with stores,
// AMOs and stores across a page boundary as fast as it can.
func TestCaptureMatchesTake(t *testing.T) {
	guests := map[string]func() *Machine{
		"builtin": func() *Machine {
			m := builtinMachine(t, bytes.Repeat([]byte{0xa5}, 64<<10))
			m.InjectInput([]byte("disk\rhello\rdisk\r"))
			return m
		},
		"churn":     func() *Machine { return churnMachine(t, false) },
		"churn/jit": func() *Machine { return churnMachine(t, true) },
	}
	for _, guest := range []string{"builtin", "churn", "churn/jit"} {
		for _, mode := range []string{"run first", "paused reader", "concurrent"} {
			t.Run(guest+"/"+mode, func(t *testing.T) {
				testCapture(t, guests[guest], mode, guest != "builtin")
			})
		}
	}
}

func testCapture(t *testing.T, newMachine func() *Machine, mode string, churns bool) {
	copied, captured := newMachine(), newMachine()
	tc, tk := copied.NewSnapshotTaker(false), captured.NewSnapshotTaker(false)
	points := []uint64{20_000, 150_000, 400_000, 900_000, 2_000_000}
	run := func(m *Machine, at uint64) { runTo(t, m, at) }
	pages, saved := 0, 0
	for k, at := range points[:len(points)-1] {
		run(copied, at)
		run(captured, at)
		s, err := tc.Take()
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		cs, err := captured.CaptureCheck(tk)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := captured.CaptureCheck(tk); err == nil {
			t.Fatal("a second capture opened while one is open")
		}
		var got bytes.Buffer
		next := points[k+1]
		switch mode {
		case "run first":
			run(captured, next)
			if _, err := cs.Finish(&got); err != nil {
				t.Fatal(err)
			}
		case "paused reader":
			w := &pausingWriter{w: &got, after: 3, paused: make(chan struct{}), resume: make(chan struct{})}
			done := make(chan error)
			go func() { _, err := cs.Finish(w); done <- err }()
			select {
			case <-w.paused:
			case err := <-done: // fewer writes than the pause needs
				if err != nil {
					t.Fatal(err)
				}
				close(w.resume)
				done = nil
			}
			run(captured, next)
			if done != nil {
				close(w.resume)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
		case "concurrent":
			done := make(chan error)
			go func() { _, err := cs.Finish(&got); done <- err }()
			run(captured, next)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if size, err := cs.EncodedSize(); err != nil || size != int64(got.Len()) {
			t.Fatalf("at %d: EncodedSize %d, %v; wrote %d bytes", at, size, err, got.Len())
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("at %d: the captured snapshot's encoding differs from Take's (%d and %d bytes)", at, got.Len(), len(want))
		}
		pages += cs.Pages()
		for _, b := range cs.pc.side {
			if b != nil {
				saved++
			}
		}
		cs.Close()
		if captured.capture != nil {
			t.Fatal("Close left the capture open")
		}
		run(copied, next)
	}
	if pages == 0 {
		t.Fatal("no snapshot carried a page: the test exercises nothing")
	}
	if churns && mode == "run first" && saved == 0 {
		t.Fatal("the guest wrote no captured page before it was read: the test exercises nothing")
	}
	t.Logf("%d pages captured, %d copied aside before a write", pages, saved)
	if copied.Digest() != captured.Digest() {
		t.Error("capturing changed the machine's state")
	}
}

// pausingWriter passes writes on to w and blocks in the write after the
// first `after` ones until resume is closed (having closed paused).
type pausingWriter struct {
	w              io.Writer
	after, n       int
	paused, resume chan struct{}
}

func (p *pausingWriter) Write(b []byte) (int, error) {
	p.n++
	if p.n == p.after+1 {
		close(p.paused)
		<-p.resume
	}
	return p.w.Write(b)
}

// Writes to RAM that do not come from a hart (device DMA, debugger
// writes: the bus) copy a captured page aside first too.
func TestCaptureGuardsBusWrites(t *testing.T) {
	var ms [2]*Machine
	var tks [2]*SnapshotTaker
	for i := range ms {
		ms[i] = churnMachine(t, false)
		tks[i] = ms[i].NewSnapshotTaker(false)
		runTo(t, ms[i], 50_000)
	}
	s, err := tks[0].Take()
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	m := ms[1]
	cs, err := m.CaptureCheck(tks[1])
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if cs.Pages() < 4 {
		t.Fatalf("%d pages captured, want at least 4", cs.Pages())
	}
	pa := func(i int) uint64 { return m.Bus.RAMBase + cs.pc.pages[i]*pageSize }
	// Across the end of page 0 into page 1, and a word into page 2.
	if err := m.Bus.WriteBytes(pa(0)+pageSize-8, bytes.Repeat([]byte{0xee}, 16)); err != nil {
		t.Fatal(err)
	}
	if !m.Bus.Write(pa(2)+64, 8, 0x0123456789abcdef) {
		t.Fatal("bus write refused")
	}
	var got bytes.Buffer
	if _, err := cs.Finish(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("the captured snapshot holds the bus's writes")
	}
}

// A captured state check (with a snapshot every third time) gives
// exactly Check's fingerprint and Take's snapshot at the same point on a
// twin machine, while the guest runs on and rewrites the pages.
func TestCaptureCheckMatchesCheck(t *testing.T) {
	var ms [2]*Machine
	var tks [2]*SnapshotTaker
	for i := range ms {
		ms[i] = churnMachine(t, i == 1)
		ms[i].TrackDirty()
		tks[i] = ms[i].NewSnapshotTaker(false)
	}
	run := func(m *Machine, at uint64) { runTo(t, m, at) }
	copied, captured := ms[0], ms[1]
	snapshots := 0
	for k := 1; k <= 9; k++ {
		at := uint64(k) * 100_000
		run(copied, at)
		run(captured, at)
		want := copied.Check()
		var wantSnap []byte
		var tk *SnapshotTaker
		if k%3 == 0 {
			s, err := tks[0].Take()
			if err != nil {
				t.Fatal(err)
			}
			if wantSnap, err = s.Encode(); err != nil {
				t.Fatal(err)
			}
			tk = tks[1]
		}
		c, err := captured.CaptureCheck(tk)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := captured.CaptureCheck(nil); err == nil {
			t.Fatal("a second capture opened while one is open")
		}
		if c.HasSnapshot() != (tk != nil) {
			t.Fatalf("at %d: HasSnapshot %v", at, c.HasSnapshot())
		}
		var snap bytes.Buffer
		type result struct {
			sc  StateCheck
			err error
		}
		done := make(chan result)
		go func() {
			sc, err := c.Finish(&snap)
			done <- result{sc, err}
		}()
		run(captured, at+50_000) // rewrites the pages meanwhile
		res := <-done
		c.Close()
		if res.err != nil {
			t.Fatal(res.err)
		}
		if diff := cmp.Diff(want, res.sc); diff != "" {
			t.Fatalf("at %d: the captured check differs from Check (-want +got):\n%s", at, diff)
		}
		if len(want.Pages) == 0 {
			t.Fatalf("at %d: no page written since the previous check", at)
		}
		if tk != nil {
			snapshots++
			if !bytes.Equal(snap.Bytes(), wantSnap) {
				t.Fatalf("at %d: the captured snapshot differs from Take's", at)
			}
		}
		run(copied, at+50_000)
	}
	if snapshots != 3 {
		t.Fatalf("%d snapshots, want 3", snapshots)
	}
}

// Guest RAM handed in through Config.RAM is the machine's RAM (the
// command line allocates it before reading boot images); a buffer of the
// wrong size is refused, and the Config the machine keeps does not hold
// the buffer, so building a second machine from it cannot share RAM.
func TestConfigRAM(t *testing.T) {
	ram := hugemem.Alloc(16 << 20)
	m, err := New(Config{RAMSize: 16 << 20, RAM: ram, Kernel: builtin.ELF})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if &m.Bus.RAM[0] != &ram[0] || len(m.Bus.RAM) != len(ram) {
		t.Fatal("the machine did not use the RAM it was given")
	}
	if m.cfg.RAM != nil {
		t.Fatal("the machine's Config still holds the RAM buffer")
	}
	m.Idle = IdleFast
	if _, err := m.Run(2_000_000); err != nil {
		t.Fatal(err)
	}
	fresh, err := New(Config{RAMSize: 16 << 20, Kernel: builtin.ELF})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	fresh.Idle = IdleFast
	if _, err := fresh.Run(2_000_000); err != nil {
		t.Fatal(err)
	}
	if m.Digest() != fresh.Digest() {
		t.Fatal("a machine on given RAM ends in another state than one on its own")
	}
	if _, err := New(Config{RAMSize: 16 << 20, RAM: make([]byte, 8<<20), Kernel: builtin.ELF}); err == nil || !strings.Contains(err.Error(), "RAM size") {
		t.Fatalf("RAM of the wrong size: %v", err)
	}
}
