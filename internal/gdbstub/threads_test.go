package gdbstub

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeThreads is the fake target with n threads: thread 1 is the fake
// machine's hart, the others have registers of their own (x_i = thread
// id, pc = 0x1000 * id). It records the thread each Step acted on; a
// Step stops on the stepped thread, a Continue on thread contThread.
type fakeThreads struct {
	*fakeTarget
	n, sel, stop int
	contThread   int
	stepped      []int
}

var _ ThreadTarget = (*fakeThreads)(nil)

func newFakeThreads(n int) *fakeThreads {
	return &fakeThreads{fakeTarget: newFakeTarget(), n: n, sel: 1, stop: 1, contThread: 2}
}

func (f *fakeThreads) Threads() int { return f.n }

func (f *fakeThreads) SelectThread(id int) error {
	if id < 1 || id > f.n {
		return errors.New("no such thread")
	}
	f.sel = id
	return nil
}

func (f *fakeThreads) StopThread() int { return f.stop }

func (f *fakeThreads) ThreadExtraInfo(id int) string {
	return fmt.Sprintf("hart %d, M-mode, running", id-1)
}

func (f *fakeThreads) ReadReg(n int) (uint64, error) {
	if f.sel == 1 {
		return f.fakeTarget.ReadReg(n)
	}
	if n == RegPC {
		return 0x1000 * uint64(f.sel), nil
	}
	return uint64(f.sel), nil
}

func (f *fakeThreads) Step(dir Direction) (StopEvent, error) {
	f.stepped = append(f.stepped, f.sel)
	f.stop = f.sel
	return f.fakeTarget.Step(dir)
}

func (f *fakeThreads) Continue(dir Direction, interrupt <-chan struct{}) (StopEvent, error) {
	f.stop = f.contThread
	return f.fakeTarget.Continue(dir, interrupt)
}

func newDirectTarget(t *testing.T, tg Target) *direct {
	d := &direct{t: t}
	srv := NewServer(tg, Options{Logf: t.Logf})
	d.s = newSession(srv, nil, &d.out)
	d.s.noAck = true
	return d
}

func threadStop(thread int, pc uint64, reason string) string {
	return fmt.Sprintf("T05%sthread:%x;20:%s;", reason, thread, leHex(pc))
}

func TestThreads(t *testing.T) {
	ft := newFakeThreads(3)
	d := newDirectTarget(t, ft)
	regsOf := func(id uint64) string { return leHex(id) } // x0 of a thread other than 1
	steps := []struct {
		pkt  string
		want string
		// prefix: the reply only has to start with want
		prefix bool
	}{
		{pkt: "qfThreadInfo", want: "m1,2,3"},
		{pkt: "qsThreadInfo", want: "l"},
		{pkt: "qC", want: "QC1"},
		{pkt: "?", want: stopAt(fakeCode, "")},
		{pkt: "qThreadExtraInfo,2", want: hexs("hart 1, M-mode, running")},
		{pkt: "qThreadExtraInfo,4", want: "E01"},
		{pkt: "T2", want: "OK"},
		{pkt: "Tp1.3", want: "OK"},
		{pkt: "T4", want: "E01"},
		{pkt: "T0", want: "OK"},
		{pkt: "Hg4", want: "E01"},
		{pkt: "Hcx", want: "E01"},
		{pkt: "Hx1", want: "E01"},
		// Registers and memory come from the Hg thread.
		{pkt: "Hg2", want: "OK"},
		{pkt: "g", want: regsOf(2) + regsOf(2), prefix: true},
		{pkt: "p20", want: leHex(0x2000)},
		{pkt: "Hg0", want: "OK"}, // any: stays on 2
		{pkt: "p20", want: leHex(0x2000)},
		{pkt: "Hg1", want: "OK"},
		{pkt: "p20", want: leHex(fakeCode)},
		// vCont names the thread to step; the stop names it, and gdb's
		// registers then come from it.
		{pkt: "vCont;s:2", want: threadStop(2, 0x2000, "")},
		{pkt: "p20", want: leHex(0x2000)},
		{pkt: "vCont;s:3;c", want: threadStop(3, 0x3000, "")},
		{pkt: "vCont;s:p1.2;c", want: threadStop(2, 0x2000, "")},
		{pkt: "vCont;s:9;s:3", want: threadStop(3, 0x3000, "")}, // no thread 9
		// s and bs step the Hc thread, else the focus thread: the last
		// stop's, or the one a T packet named ("thread N" in gdb).
		{pkt: "Hc0", want: "OK"},
		{pkt: "s", want: threadStop(3, 0x3000, "")},
		{pkt: "Hg1", want: "OK"}, // a register fetch does not move the focus
		{pkt: "bs", want: threadStop(3, 0x3000, "")},
		{pkt: "T2", want: "OK"},
		{pkt: "bs", want: threadStop(2, 0x2000, "")},
		{pkt: "Hc1", want: "OK"},
		{pkt: "s", want: threadStop(1, fakeStore, "")},
		{pkt: "Hc-1", want: "OK"},
		// Continue: all threads; the stop is on the thread that hit.
		{pkt: "vCont;c", want: threadStop(2, 0x2000, "replaylog:end;")},
		{pkt: "qC", want: "QC2"},
		{pkt: "vCont;c:7", want: threadStop(2, 0x2000, "replaylog:end;")}, // no thread 7: no action
		{pkt: "?", want: threadStop(2, 0x2000, "replaylog:end;")},
	}
	for _, st := range steps {
		got := d.one(st.pkt)
		if st.prefix && strings.HasPrefix(got, st.want) || got == st.want {
			continue
		}
		t.Fatalf("%q: got %q, want %q", st.pkt, got, st.want)
	}
	if diff := cmp.Diff([]int{2, 3, 2, 3, 3, 3, 2, 1}, ft.stepped); diff != "" {
		t.Fatalf("stepped threads (-want +got):\n%s", diff)
	}
}

// A ThreadTarget with one thread is served exactly as a plain Target.
func TestOneThread(t *testing.T) {
	d := newDirectTarget(t, newFakeThreads(1))
	for _, tt := range []struct{ pkt, want string }{
		{"qfThreadInfo", "m1"},
		{"qC", "QC1"},
		{"Hg2", "OK"},
		{"T2", "E01"},
		{"T1", "OK"},
		{"qThreadExtraInfo,1", ""},
		{"vCont;c:2", stopAt(fakeCode, "")},
		{"vCont;s:1", stopAt(fakeCode+4, "")},
	} {
		if got := d.one(tt.pkt); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.pkt, got, tt.want)
		}
	}
}
