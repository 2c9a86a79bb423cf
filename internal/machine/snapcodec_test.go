package machine

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/guest/builtin"
	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/cpu"
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

// A taker with Reuse puts every snapshot's pages into one reserved
// buffer, leaving room before them for the encoding's head:
// EncodeInPlace then builds exactly Encode's bytes there, without
// copying a page, and falls back to a copy when the pages were replaced.
func TestTakeReuseEncodesInPlace(t *testing.T) {
	m := builtinMachine(t, make([]byte, 64<<10))
	m.InjectInput([]byte("disk\rhello\r"))
	tk := m.NewSnapshotTaker(false)
	tk.Reuse = true
	tk.Reserve(1024)
	reserved := tk.scratch
	if cap(reserved) < headRoom(1024)+1024*pageSize {
		t.Fatalf("Reserve(1024) left %d bytes", cap(reserved))
	}
	inside := func(b []byte) bool {
		return len(b) > 0 && &b[len(b)-1] == &reserved[:cap(reserved)][len(b)-1+(cap(reserved)-cap(b))]
	}
	pages := 0
	for _, at := range []uint64{20_000, 150_000, 400_000, 900_000} {
		m.StopAt = at
		if _, err := m.Run(0); err != nil {
			t.Fatal(err)
		}
		s, err := tk.Take()
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Pages) > 1024 {
			t.Fatalf("at %d: %d pages (the test wants at most 1024)", at, len(s.Pages))
		}
		pages += len(s.Pages)
		want, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.EncodeInPlace(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("at %d: EncodeInPlace differs from Encode", at)
		}
		if !inside(got) {
			t.Fatalf("at %d: the encoding is not in the reserved buffer", at)
		}
		if len(s.Pages) == 0 {
			continue
		}
		// Pages replaced by the caller: a copy, still the same bytes.
		s.Pages[0].Data = bytes.Clone(s.Pages[0].Data)
		got, err = s.EncodeInPlace(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) || inside(got) {
			t.Fatalf("at %d: with a page replaced: equal %v, in place %v", at, bytes.Equal(got, want), inside(got))
		}
	}
	if pages == 0 {
		t.Fatal("no snapshot carried a page: the test exercises nothing")
	}
}
