package gdbstub

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// direct is a session driven without a connection: packets go straight to
// the handler and replies land in out.
type direct struct {
	t   *testing.T
	ft  *fakeTarget
	s   *session
	out bytes.Buffer
}

func newDirect(t *testing.T, ft *fakeTarget) *direct {
	d := &direct{t: t, ft: ft}
	srv := NewServer(ft, Options{Logf: t.Logf})
	d.s = newSession(srv, nil, &d.out)
	d.s.noAck = true
	return d
}

// splitFrames parses a stub's output into packet payloads; it fails on
// anything that is not a well-formed packet.
func splitFrames(t testing.TB, out []byte) []string {
	t.Helper()
	var pkts []string
	f := newFramer(MaxPacketSize + 1)
	for i, c := range out {
		switch k := f.feed(c); k {
		case framePacket:
			if f.overflow || len(f.body) > MaxPacketSize {
				t.Fatalf("reply longer than %d bytes", MaxPacketSize)
			}
			pkts = append(pkts, string(f.body))
		case frameNone:
			if !f.inPacket() && c != '#' {
				// Outside packets only acks may appear.
				t.Fatalf("stray byte %q at %d in output %q", c, i, out)
			}
		case frameAck:
		default:
			t.Fatalf("bad output frame (%v) in %q", k, out)
		}
	}
	if f.inPacket() {
		t.Fatalf("output ends inside a packet: %q", out)
	}
	return pkts
}

// send hands one packet body to the session and returns the replies.
func (d *direct) send(pkt string) []string {
	d.t.Helper()
	d.out.Reset()
	if _, err := d.s.handle([]byte(pkt)); err != nil && !errors.Is(err, ErrKilled) {
		d.t.Fatalf("handle(%q): %v", pkt, err)
	}
	return splitFrames(d.t, d.out.Bytes())
}

// one sends a packet and expects exactly one reply.
func (d *direct) one(pkt string) string {
	d.t.Helper()
	r := d.send(pkt)
	if len(r) != 1 {
		d.t.Fatalf("%q: got %d replies %q, want 1", pkt, len(r), r)
	}
	return r[0]
}

func hexs(s string) string { return hex.EncodeToString([]byte(s)) }

func leHex(v uint64) string { return string(appendLE(nil, v, 8)) }

func stopAt(pc uint64, reason string) string {
	return "T05" + reason + "thread:1;20:" + leHex(pc) + ";"
}

func TestHandlePackets(t *testing.T) {
	xmlDoc := string(newRegTable(nil).xml)
	tests := []struct {
		pkt  string
		want []string
	}{
		// Status and threads.
		{"?", []string{stopAt(fakeCode, "")}},
		{"qC", []string{"QC1"}},
		{"qfThreadInfo", []string{"m1"}},
		{"qsThreadInfo", []string{"l"}},
		{"qAttached", []string{"1"}},
		{"qAttached:1", []string{"1"}},
		{"Hg0", []string{"OK"}},
		{"Hc-1", []string{"OK"}},
		{"T1", []string{"OK"}},
		{"Tp1.1", []string{"OK"}},
		{"T2", []string{"E01"}},
		{"qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386", []string{
			"PacketSize=4000;QStartNoAckMode+;qXfer:features:read+;swbreak+;hwbreak+;ReverseStep+;ReverseContinue+;vContSupported+"}},
		{"QStartNoAckMode", []string{"OK"}},
		{"vCont?", []string{"vCont;c;C;s;S"}},
		// Unknown, empty and unsupported packets: empty reply.
		{"", []string{""}},
		{"vMustReplyEmpty", []string{""}},
		{"qTStatus", []string{""}},
		{"qOffsets", []string{""}},
		{"!", []string{""}},
		{"bx", []string{""}},
		{"Qfoo", []string{""}},
		{"\x00\xff", []string{""}},
		{"qXfer:auxv:read::0,10", []string{""}},
		// Registers.
		{"p20", []string{leHex(fakeCode)}},
		{"p2", []string{leHex(0x80002000)}},
		{"p21", []string{leHex(0x400921fb54442d18)}},
		{"p42", []string{"00000000"}},                 // fflags, 32 bits
		{"p1041", []string{leHex(3)}},                 // priv
		{"p342", []string{leHex(0x800000000014112d)}}, // misa = 65+0x301
		{"p141", []string{strings.Repeat("x", 16)}},   // sstatus: the fake has none
		{"p270f", []string{"E01"}},                    // not described
		{"p", []string{"E01"}},
		{"pzz", []string{"E01"}},
		{"P5=0100000000000000", []string{"OK"}},
		{"P20=0000008000000000", []string{"E05"}}, // the fake refuses pc writes
		{"P42=01000000", []string{"OK"}},
		{"P5=01", []string{"E01"}},
		{"P5", []string{"E01"}},
		{"P=00", []string{"E01"}},
		{"G" + strings.Repeat("00", 8*5), []string{"OK"}},
		{"G" + strings.Repeat("00", 8*66), []string{"E01"}},
		{"G0", []string{"E01"}},
		{"G" + strings.Repeat("zz", 8), []string{"E01"}},
		// Memory.
		{"m80000000,4", []string{"13000000"}},
		{"m80000010,8", []string{"2330530083b38300"}},
		{"m80001ffe,4", []string{"0000"}}, // partial: RAM ends at 0x80002000
		{"m0,4", []string{"E0e"}},
		{"mffffffffffffffff,10", []string{"E0e"}},
		{"m80000000", []string{"E01"}},
		{"m80000000,", []string{"E01"}},
		{"m,4", []string{"E01"}},
		{"M80001000,2:abcd", []string{"OK"}},
		{"M80001000,3:abcd", []string{"E01"}},
		{"M80001000,2:abc", []string{"E01"}},
		{"M80001000,2", []string{"E01"}},
		{"M0,1:00", []string{"E0e"}},
		{"X80001000,0:", []string{"OK"}},
		{"X80001000,2:}\x03}\x04", []string{"OK"}},
		{"X80001000,2:}", []string{"E01"}},
		{"X80001000,3:ab", []string{"E01"}},
		{"X80001000,2", []string{"E01"}},
		{"X0,1:a", []string{"E0e"}},
		// Breakpoints.
		{"Z0,80000010,4", []string{"OK"}},
		{"z0,80000010,4", []string{"OK"}},
		{"Z1,80000010,2", []string{"OK"}},
		{"Z2,80001000,8", []string{"OK"}},
		{"Z4,80001000,8", []string{"OK"}},
		{"Z0,80000010,4;X1,ab", []string{"OK"}},
		{"Z3,0,8", []string{""}},    // the fake answers ErrUnsupported
		{"Z0,1,4", []string{"E05"}}, // the fake fails
		{"Z5,0,1", []string{""}},
		{"Z", []string{""}},
		{"Z0", []string{"E01"}},
		{"Z0,80000010", []string{"E01"}},
		{"Z0,80000010,", []string{"E01"}},
		// target.xml.
		{"qXfer:features:read:target.xml:0,10", []string{"m" + xmlDoc[:16]}},
		{"qXfer:features:read:target.xml:5,3", []string{"m" + xmlDoc[5:8]}},
		{fmt.Sprintf("qXfer:features:read:target.xml:%x,1000", len(xmlDoc)-4), []string{"l" + xmlDoc[len(xmlDoc)-4:]}},
		{"qXfer:features:read:target.xml:ffffff,10", []string{"l"}},
		{"qXfer:features:read:foo.xml:0,10", []string{"E00"}},
		{"qXfer:features:read:target.xml:zz", []string{"E01"}},
		{"qXfer:features:read:target.xml", []string{"E01"}},
		// Monitor.
		{"qRcmd," + hexs("when"), []string{"O" + hexs("icount 0\n"), "OK"}},
		{"qRcmd," + hexs("seek 3"), []string{"O" + hexs("at icount 3\n"), "OK"}},
		{"qRcmd," + hexs("bogus"), []string{"O" + hexs("unknown monitor command \"bogus\"\n"), "E01"}},
		{"qRcmd,", []string{"O" + hexs("commands: when, seek N\n"), "E01"}},
		{"qRcmd,zz", []string{"E01"}},
		{"qRcmd,7", []string{"E01"}},
		// Execution.
		{"s", []string{stopAt(fakeCode+4, "")}},
		{"vCont;s", []string{stopAt(fakeCode+4, "")}},
		{"vCont;s:1;c", []string{stopAt(fakeCode+4, "")}},
		{"vCont;S05:1", []string{stopAt(fakeCode+4, "")}},
		{"S05", []string{stopAt(fakeCode+4, "")}},
		{"c", []string{stopAt(fakeBranch+12, "replaylog:end;")}},
		{"C05", []string{stopAt(fakeBranch+12, "replaylog:end;")}},
		{"vCont;c", []string{stopAt(fakeBranch+12, "replaylog:end;")}},
		{"vCont;c:-1", []string{stopAt(fakeBranch+12, "replaylog:end;")}},
		{"vCont;c:2", []string{stopAt(fakeCode, "")}}, // nothing for our thread
		{"vCont;x", []string{"E01"}},
		{"vCont;", []string{"E01"}},
		{"s80000008", []string{"E05"}}, // resume address: the fake refuses pc writes
		{"szz", []string{"E01"}},
		{"bs", []string{stopAt(fakeCode, "replaylog:begin;")}},
		{"bc", []string{stopAt(fakeCode, "replaylog:begin;")}},
		// Leaving.
		{"D", []string{"OK"}},
		{"D;1", []string{"OK"}},
		{"vKill;1", []string{"OK"}},
		{"k", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.30q", tt.pkt), func(t *testing.T) {
			d := newDirect(t, newFakeTarget())
			got := d.send(tt.pkt)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reply to %q (-want +got):\n%s", tt.pkt, diff)
			}
		})
	}
}

func TestHandleEffects(t *testing.T) {
	d := newDirect(t, newFakeTarget())
	ft := d.ft

	d.one("P5=efcdab8967452301")
	if ft.x[5] != 0x0123456789abcdef {
		t.Errorf("P: x5 = %#x", ft.x[5])
	}
	g := d.one("g")
	if len(g) != numGRegs*16 {
		t.Fatalf("g reply is %d hex digits, want %d", len(g), numGRegs*16)
	}
	if got := g[5*16 : 6*16]; got != "efcdab8967452301" {
		t.Errorf("g: x5 = %s", got)
	}
	if got := g[32*16 : 33*16]; got != leHex(fakeCode) {
		t.Errorf("g: pc = %s", got)
	}
	if got := g[33*16 : 34*16]; got != leHex(0x400921fb54442d18) {
		t.Errorf("g: f0 = %s", got)
	}
	// G writes what it was given (pc write is refused -> error, rest done).
	regs := []byte(g)
	copy(regs[6*16:], leHex(0x66))
	if r := d.one("G" + string(regs)); r != "E05" {
		t.Errorf("G with pc = %s, want E05 (fake refuses pc)", r)
	}
	if ft.x[6] != 0x66 {
		t.Errorf("G: x6 = %#x", ft.x[6])
	}
	d.one("M80001000,4:01020304")
	if r := d.one("m80001000,4"); r != "01020304" {
		t.Errorf("after M: %s", r)
	}
	d.one("X80001004,4:}\x03}\x04}]}\x0a")
	if r := d.one("m80001004,4"); r != "23247d2a" {
		t.Errorf("after X: %s", r)
	}
	// A large read is capped to fit a packet.
	if r := d.one("m80000000,100000"); len(r) != 2*maxMemXfer {
		t.Errorf("big read: %d hex digits, want %d", len(r), 2*maxMemXfer)
	}
	// A read that runs into unreadable memory returns the readable prefix.
	ft.nomemAt = 0x80000003
	if r := d.one("m80000000,10"); r != "130000" {
		t.Errorf("partial read = %q", r)
	}
}

func TestTargetXML(t *testing.T) {
	rt := newRegTable(append(DefaultCSRs(), CSR{1, "fflags"}, CSR{0x999, "bad name!"}, CSR{0x1000, "toobig"}))
	var doc struct {
		Arch     string `xml:"architecture"`
		OSABI    string `xml:"osabi"`
		Features []struct {
			Name string `xml:"name,attr"`
			Regs []struct {
				Name    string `xml:"name,attr"`
				Bitsize int    `xml:"bitsize,attr"`
				Regnum  int    `xml:"regnum,attr"`
			} `xml:"reg"`
		} `xml:"feature"`
	}
	if err := xml.Unmarshal(rt.xml, &doc); err != nil {
		t.Fatalf("target.xml does not parse: %v\n%s", err, rt.xml)
	}
	if doc.Arch != "riscv:rv64" || doc.OSABI != "none" {
		t.Errorf("architecture %q osabi %q", doc.Arch, doc.OSABI)
	}
	var feats []string
	seen := map[int]string{}
	byName := map[string]int{}
	for _, f := range doc.Features {
		feats = append(feats, f.Name)
		for _, r := range f.Regs {
			if prev, dup := seen[r.Regnum]; dup {
				t.Errorf("regnum %d used by %s and %s", r.Regnum, prev, r.Name)
			}
			seen[r.Regnum] = r.Name
			byName[r.Name] = r.Regnum
			if f.Name == featCPU && r.Bitsize != 64 {
				t.Errorf("cpu register %s is %d bits; gdb wants all XLEN", r.Name, r.Bitsize)
			}
			if rt.regSize(r.Regnum)*8 != r.Bitsize {
				t.Errorf("%s: table size %d, xml %d bits", r.Name, rt.regSize(r.Regnum), r.Bitsize)
			}
		}
	}
	if diff := cmp.Diff([]string{featCPU, featFPU, featCSR, featVirtual}, feats); diff != "" {
		t.Errorf("features (-want +got):\n%s", diff)
	}
	for name, num := range map[string]int{
		"zero": 0, "ra": 1, "fp": 8, "t6": 31, "pc": RegPC, "ft0": RegF0, "ft11": RegF0 + 31,
		"fflags": 66, "frm": 67, "fcsr": 68, "mstatus": 65 + 0x300, "satp": 65 + 0x180,
		"cycle": 65 + 0xc00, "priv": RegPriv,
	} {
		if got, ok := byName[name]; !ok || got != num {
			t.Errorf("register %s: regnum %d (present %v), want %d", name, got, ok, num)
		}
	}
	if _, ok := byName["bad name!"]; ok {
		t.Error("invalid CSR name accepted")
	}
	if _, ok := byName["toobig"]; ok {
		t.Error("CSR number > 0xfff accepted")
	}
	if len(seen) != len(rt.regs) {
		t.Errorf("%d registers in xml, %d in table", len(seen), len(rt.regs))
	}
}

func TestTargetXMLChunks(t *testing.T) {
	d := newDirect(t, newFakeTarget())
	var doc []byte
	for off := 0; ; {
		r := d.one(fmt.Sprintf("qXfer:features:read:target.xml:%x,%x", off, 700))
		data, err := unescape([]byte(r[1:]))
		if err != nil {
			t.Fatal(err)
		}
		doc = append(doc, data...)
		off += len(data)
		if r[0] == 'l' {
			break
		}
		if r[0] != 'm' || len(data) == 0 || len(r)-1 > 700 {
			t.Fatalf("bad chunk %.20q", r)
		}
	}
	if !bytes.Equal(doc, d.s.regs.xml) {
		t.Error("reassembled target.xml differs")
	}
}

func TestStopReasons(t *testing.T) {
	d := newDirect(t, newFakeTarget())
	// Without qSupported swbreak+/hwbreak+ the reasons are left out.
	d.one("Z0,80000010,4")
	if r := d.one("c"); r != stopAt(fakeStore, "") {
		t.Errorf("break without swbreak+: %s", r)
	}
	d.one("qSupported:swbreak+;hwbreak+")
	if r := d.one("c"); r != stopAt(fakeStore, "swbreak:;") {
		t.Errorf("second iteration: %s", r)
	}
	d.one("z0,80000010,4")
	d.one("Z1,80000018,4")
	if r := d.one("c"); r != stopAt(fakeBranch, "hwbreak:;") {
		t.Errorf("hbreak: %s", r)
	}
	if r := d.one("bc"); r != stopAt(fakeBranch, "hwbreak:;") {
		t.Errorf("reverse hbreak: %s", r)
	}
	if d.ft.pos != 6 {
		t.Errorf("after reverse-continue to the first hbreak: pos %d, want 6", d.ft.pos)
	}
	if r := d.one("bc"); r != stopAt(fakeCode, "replaylog:begin;") {
		t.Errorf("reverse to start: %s", r)
	}
	if r := d.one("?"); r != stopAt(fakeCode, "replaylog:begin;") {
		t.Errorf("? repeats the last stop: %s", r)
	}
}

func TestWatchpoints(t *testing.T) {
	d := newDirect(t, newFakeTarget())
	ft := d.ft
	d.one("Z2,80001000,8")
	// Forward: the target stops after the store.
	if r := d.one("vCont;c"); r != stopAt(fakeLoad, "watch:80001000;") {
		t.Fatalf("forward watch: %s", r)
	}
	if ft.pos != 5 || !bytes.Equal(ft.mem[fakeData-fakeCode:][:8], le64(0x11)) {
		t.Fatalf("forward watch: pos %d mem %x", ft.pos, ft.mem[fakeData-fakeCode:][:8])
	}
	// gdb's step over the "non-steppable" watchpoint is answered in place.
	d.one("z2,80001000,8")
	if r := d.one("vCont;s:1"); r != stopAt(fakeLoad, "") || ft.pos != 5 {
		t.Fatalf("step over watchpoint moved the target: %s pos %d", r, ft.pos)
	}
	// Only once: the next step is real.
	if r := d.one("vCont;s:1"); r != stopAt(fakeBranch, "") || ft.pos != 6 {
		t.Fatalf("plain step: %s pos %d", r, ft.pos)
	}
	d.one("Z2,80001000,8")
	d.one("c")
	d.one("c")
	if ft.pos != 13 {
		t.Fatalf("third store: pos %d", ft.pos)
	}
	// Backward: stops at the store, memory holds the old value.
	d.one("s") // the step over
	d.one("s") // real: pos 14
	if r := d.one("bc"); r != stopAt(fakeStore, "watch:80001000;") || ft.pos != 12 {
		t.Fatalf("reverse watch: %s pos %d", r, ft.pos)
	}
	if !bytes.Equal(ft.mem[fakeData-fakeCode:][:8], le64(0x22)) {
		t.Errorf("reverse watch: mem %x, want the value before the store", ft.mem[fakeData-fakeCode:][:8])
	}
	if r := d.one("bs"); r != stopAt(fakeStore, "") || ft.pos != 12 {
		t.Fatalf("reverse step over: %s pos %d", r, ft.pos)
	}
	// A step in the other direction is not swallowed.
	d.one("bc")
	if ft.pos != 8 {
		t.Fatalf("second reverse watch: pos %d", ft.pos)
	}
	if r := d.one("s"); r != stopAt(fakeLoad, "watch:80001000;") || ft.pos != 9 {
		t.Fatalf("forward step after a reverse watch: %s pos %d", r, ft.pos)
	}
	d.one("vCont;s:1") // swallowed
	d.one("z2,80001000,8")
	d.one("Z3,80001008,8")
	if r := d.one("c"); r != stopAt(fakeBranch, "rwatch:80001008;") || ft.pos != 10 {
		t.Errorf("rwatch: %s", r)
	}
	d.one("z3,80001008,8")
	d.one("Z4,80001004,8")
	// The watched range [0x80001004,0x8000100c) covers part of the store
	// and of the load; the fake reports the first watched byte accessed.
	if r := d.one("bc"); r != stopAt(fakeLoad, "awatch:80001008;") || ft.pos != 9 {
		t.Errorf("awatch (load): %s pos %d", r, ft.pos)
	}
	if r := d.one("bc"); r != stopAt(fakeStore, "awatch:80001004;") || ft.pos != 8 {
		t.Errorf("awatch: %s", r)
	}
}

func TestReverseRefused(t *testing.T) {
	ft := newFakeTarget()
	ft.reverse = false
	d := newDirect(t, ft)
	d.one("s")
	for _, pkt := range []string{"bs", "bc"} {
		r := d.one(pkt)
		if !strings.HasPrefix(r, "E.live machine") {
			t.Errorf("%s on a live target: %q", pkt, r)
		}
	}
	if ft.pos != 1 {
		t.Errorf("refused reverse moved the target to %d", ft.pos)
	}
}

// exitTarget is a live target whose guest powers off on continue and
// whose steps fail.
type exitTarget struct{ *fakeTarget }

func (exitTarget) Continue(Direction, <-chan struct{}) (StopEvent, error) {
	return StopEvent{Reason: StopExited, ExitCode: 0x103}, nil
}

func (exitTarget) Step(Direction) (StopEvent, error) {
	return StopEvent{}, errors.New("hart is wedged: $#*}\n")
}

func TestExitAndErrors(t *testing.T) {
	srv := NewServer(exitTarget{newFakeTarget()}, Options{Logf: t.Logf})
	var out bytes.Buffer
	s := newSession(srv, nil, &out)
	s.noAck = true
	for _, tt := range []struct{ pkt, want string }{
		{"s", "E.hart is wedged: ?????"},
		{"c", "W03"},
		{"?", "W03"},
	} {
		out.Reset()
		s.handle([]byte(tt.pkt))
		if got := splitFrames(t, out.Bytes()); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: %q, want %q", tt.pkt, got, tt.want)
		}
	}
}

func TestMonitorLongOutput(t *testing.T) {
	d := newDirect(t, newFakeTarget())
	r := d.send("qRcmd," + hexs("big"))
	if len(r) < 3 || r[len(r)-1] != "OK" {
		t.Fatalf("got %d packets, last %.10q", len(r), r[len(r)-1])
	}
	var text []byte
	for _, p := range r[:len(r)-1] {
		b, ok := decodeHex([]byte(p[1:]))
		if p[0] != 'O' || !ok {
			t.Fatalf("bad console packet %.20q", p)
		}
		text = append(text, b...)
	}
	if want := strings.Repeat("0123456789abcdef", 2000); string(text) != want {
		t.Errorf("console text: %d bytes, want %d", len(text), len(want))
	}
}
