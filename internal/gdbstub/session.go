package gdbstub

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net"
	"slices"
	"time"
)

// frameEOF is the event for a connection that ended (read error or EOF).
const frameEOF frameKind = -1

// event is one thing the reader goroutine saw on the connection.
type event struct {
	kind     frameKind
	data     []byte // packet body (raw) for framePacket and frameBadSum
	overflow bool   // the body exceeded MaxPacketSize (data holds a prefix)
	err      error  // for frameEOF
}

// maxNakRetries bounds how often one reply is retransmitted on '-'.
const maxNakRetries = 8

// maxQueued bounds the events kept while the target runs.
const maxQueued = 64

// session is the state of one client connection. All fields are used by
// the serving goroutine only; the reader goroutine owns the framer and
// talks through events.
type session struct {
	srv  *Server
	t    Target
	regs *regTable

	conn net.Conn  // nil when driven directly (tests, fuzzing)
	w    io.Writer // where framed output goes

	events  <-chan event // from the reader goroutine; nil when driven directly
	pending []event      // events that arrived while the target was running
	quit    chan struct{}

	noAck    bool      // QStartNoAckMode accepted
	lastSent []byte    // last framed packet, for retransmission on '-'
	naks     int       // consecutive naks of lastSent
	swbreak  bool      // client understands swbreak stop reasons
	hwbreak  bool      // client understands hwbreak stop reasons
	stop     StopEvent // last stop, for '?'
	out      []byte    // scratch for framing

	// watchStepOver is set after a watchpoint stop reply. gdb's RISC-V
	// support declares watchpoints "non-steppable" (gdb/riscv-tdep.c:
	// set_gdbarch_have_nonsteppable_watchpoint), i.e. it assumes the
	// trap fires before the access, and answers every watchpoint stop by
	// removing its watchpoints and single-stepping once in the same
	// direction (watchDir) before it looks at the values. The Target
	// reports watchpoints after the access has been crossed, so the stub
	// answers that one step without moving the target. The net effect is
	// what gdb users expect: forward, the stop is after the accessing
	// instruction; backward, at it.
	watchStepOver bool
	watchDir      Direction

	// Threads, when the target is a ThreadTarget with several (ids as
	// in the protocol, 1..n). stopThread is the thread of the last stop.
	// gThread is the thread registers and memory are read from: set by
	// Hg, and by every stop reply to the thread it names (gdb records
	// that thread as its current one without sending Hg). cThread is
	// the thread Hc named for c, s, bc and bs (0: any).
	//
	// focus is the thread gdb's user is on, as well as the stub can
	// tell: gdb resumes all threads with Hc0 (or vCont without a thread
	// for continues) unless scheduler locking is on, and for a reverse
	// step ("bs", which has no vCont form) it never says which thread it
	// means. The stub takes the thread of the last stop, or the one gdb
	// last checked with a T packet (gdb's "thread N" sends one), or the
	// one Hc last named. Hg does not count: gdb sends it to fetch any
	// thread's registers ("info threads" reads them all).
	stopThread, gThread, cThread, focus int

	// inserted counts the breakpoints and watchpoints this client has
	// inserted (Z) and not removed (z). When the session ends, however
	// it ends, the stub removes what is left (clearPoints), so the next
	// client does not inherit stops it never asked for: a gdb that is
	// killed or loses its connection leaves them inserted, and so does
	// one with "breakpoint always-inserted" on.
	inserted map[point]int
}

// point is a breakpoint or watchpoint as gdb inserts it.
type point struct {
	kind         BPKind
	addr, length uint64
}

// newSession prepares a session writing to w; conn, if not nil, is the
// connection w writes to (serve needs it).
func newSession(srv *Server, conn net.Conn, w io.Writer) *session {
	s := &session{
		srv: srv, t: srv.t, regs: srv.regs, conn: conn, w: w,
		stop:     StopEvent{Reason: StopStep},
		inserted: map[point]int{},
	}
	if tt, _, ok := s.threads(); ok {
		id := tt.StopThread()
		s.stopThread, s.gThread, s.focus = id, id, id
	}
	return s
}

// serve runs the protocol until the client leaves. It returns nil after
// 'D' and ErrKilled after 'k'. Whichever way the client leaves, the
// breakpoints and watchpoints it left inserted are removed.
func (s *session) serve() error {
	events := make(chan event, 16)
	s.events = events
	s.quit = make(chan struct{})
	go s.readLoop(events)
	defer func() {
		close(s.quit)
		s.conn.Close()
	}()
	for {
		done, err := s.handleEvent(s.next())
		if err != nil || done {
			s.clearPoints()
			return err
		}
	}
}

// clearPoints removes the breakpoints and watchpoints the client left
// inserted. It runs on the serving goroutine, like every Target call.
func (s *session) clearPoints() {
	pts := make([]point, 0, len(s.inserted))
	for p := range s.inserted {
		pts = append(pts, p)
	}
	slices.SortFunc(pts, func(a, b point) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.addr, b.addr), cmp.Compare(a.length, b.length))
	})
	for _, p := range pts {
		for n := s.inserted[p]; n > 0; n-- {
			if err := s.t.ClearBreakpoint(p.kind, p.addr, p.length); err != nil {
				s.srv.logf("gdbstub: removing the client's %s at %#x: %v", p.kind, p.addr, err)
				break
			}
		}
		delete(s.inserted, p)
	}
	if len(pts) > 0 {
		s.srv.logf("gdbstub: removed what the client left set (breakpoints and watchpoints at %d places)", len(pts))
	}
}

// readLoop reads the connection, frames it and posts events until the
// connection fails or the session ends.
func (s *session) readLoop(out chan<- event) {
	defer close(out)
	f := newFramer(MaxPacketSize)
	buf := make([]byte, 4096)
	for {
		n, err := s.conn.Read(buf)
		for _, c := range buf[:n] {
			k := f.feed(c)
			if k == frameNone {
				continue
			}
			e := event{kind: k}
			if k == framePacket || k == frameBadSum {
				e.data = bytes.Clone(f.body)
				e.overflow = f.overflow
			}
			select {
			case out <- e:
			case <-s.quit:
				return
			}
		}
		if err != nil {
			if f.inPacket() {
				err = fmt.Errorf("%w (in the middle of a packet)", err)
			}
			select {
			case out <- event{kind: frameEOF, err: err}:
			case <-s.quit:
			}
			return
		}
	}
}

// next returns the next event: first those queued while the target ran.
func (s *session) next() event {
	if len(s.pending) > 0 {
		e := s.pending[0]
		s.pending = s.pending[1:]
		return e
	}
	e, ok := <-s.events
	if !ok {
		return event{kind: frameEOF, err: io.EOF}
	}
	return e
}

// handleEvent reacts to one event; done means the session is over.
func (s *session) handleEvent(e event) (done bool, err error) {
	switch e.kind {
	case frameEOF:
		return true, fmt.Errorf("%w: %v", ErrDisconnected, e.err)
	case frameAck:
		s.naks = 0
	case frameNak:
		if s.noAck || s.lastSent == nil || s.naks >= maxNakRetries {
			return false, nil
		}
		s.naks++
		return false, s.writeRaw(s.lastSent)
	case frameInterrupt:
		// A Ctrl-C that arrives while stopped (it crossed our stop reply)
		// has nothing to interrupt.
		s.srv.logf("gdbstub: interrupt while stopped, ignored")
	case frameBadSum:
		s.srv.logf("gdbstub: bad checksum on packet %.40q", e.data)
		if !s.noAck {
			return false, s.writeRaw([]byte{'-'})
		}
	case framePacket:
		if !s.noAck {
			if err := s.writeRaw([]byte{'+'}); err != nil {
				return true, err
			}
		}
		if e.overflow {
			s.srv.logf("gdbstub: packet longer than %d bytes: %.40q...", MaxPacketSize, e.data)
			return false, s.reply(replyBadRequest)
		}
		body, err := expandRLE(e.data, MaxPacketSize)
		if err != nil {
			s.srv.logf("gdbstub: packet %.40q: %v", e.data, err)
			return false, s.reply(replyBadRequest)
		}
		if s.srv.opts.TracePackets {
			s.srv.logf("gdbstub: <- %.200q", body)
		}
		return s.handle(body)
	}
	return false, nil
}

// reply sends one packet with the given payload (escaped already if it is
// binary).
func (s *session) reply(payload string) error {
	return s.replyBytes([]byte(payload))
}

func (s *session) replyBytes(payload []byte) error {
	if s.srv.opts.TracePackets {
		s.srv.logf("gdbstub: -> %.200q", payload)
	}
	s.out = appendFrame(s.out[:0], payload)
	if !s.noAck {
		s.lastSent = append(s.lastSent[:0], s.out...)
		s.naks = 0
	}
	return s.writeRaw(s.out)
}

// writeRaw writes bytes to the client within the write timeout.
func (s *session) writeRaw(b []byte) error {
	if s.conn != nil {
		s.conn.SetWriteDeadline(time.Now().Add(s.srv.opts.WriteTimeout))
	}
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("%w: write: %v", ErrDisconnected, err)
	}
	return nil
}

// runTarget runs op (a step or continue) while watching the connection:
// a Ctrl-C or a lost connection closes the interrupt channel given to op;
// everything else that arrives meanwhile is queued for later. op runs on
// the calling goroutine, so a panic in the target propagates to the caller
// of ServeConn.
func (s *session) runTarget(op func(interrupt <-chan struct{}) (StopEvent, error)) (StopEvent, error) {
	if s.events == nil {
		return op(nil)
	}
	interrupt := make(chan struct{})
	stop := make(chan struct{})
	queued := make(chan []event, 1)
	events := s.events
	go func() {
		var q []event
		interrupted, dropping := false, false
		in := events
		for {
			select {
			case <-stop:
				queued <- q
				return
			case e, ok := <-in:
				if !ok {
					e = event{kind: frameEOF, err: io.EOF}
					in = nil
				}
				switch e.kind {
				case frameInterrupt:
					// consumed: it is the answer to this run
				case frameEOF:
					q = append(q, e)
					in = nil
				default:
					// gdb sends nothing but Ctrl-C while the target runs
					// (all-stop mode); keep a few packets for later and
					// drop a flood rather than buffer it.
					if len(q) < maxQueued {
						q = append(q, e)
					} else if !dropping {
						dropping = true
						s.srv.logf("gdbstub: client floods while the target runs; dropping packets")
					}
					continue
				}
				if !interrupted {
					interrupted = true
					close(interrupt)
				}
			}
		}
	}()
	defer func() {
		close(stop)
		s.pending = append(s.pending, <-queued...)
	}()
	return op(interrupt)
}
