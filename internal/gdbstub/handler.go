package gdbstub

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Error replies. gdb only looks at whether a reply is an error ('E' and two
// hex digits); the numbers follow gdbserver's habit of errno values.
const (
	replyBadRequest = "E01" // malformed or unsupported request arguments
	replyTargetErr  = "E05" // the target refused (EIO)
	replyMemErr     = "E0e" // memory not accessible (EFAULT)
)

// threadID is the thread of a target with one thread: the hart.
const threadID = "1"

// maxMemXfer bounds one m/M/X transfer so the hex reply fits a packet.
const maxMemXfer = (MaxPacketSize - 32) / 2

// handle answers one packet body (checksum verified, run-length decoded).
// done means the session is over: 'D' (err nil) or 'k' (ErrKilled).
func (s *session) handle(pkt []byte) (done bool, err error) {
	if len(pkt) == 0 {
		return false, s.reply("")
	}
	args := pkt[1:]
	switch pkt[0] {
	case 'g', 'G', 'p', 'P', 'm', 'M', 'X':
		// Registers and memory of the thread gdb selected with Hg.
		s.selectThread(s.gThread)
	}
	switch pkt[0] {
	case '?':
		return false, s.sendStop(s.stop)
	case 'g':
		return false, s.replyBytes(s.readAllRegs())
	case 'G':
		return false, s.reply(s.writeAllRegs(args))
	case 'p':
		return false, s.replyBytes(s.readReg(args))
	case 'P':
		return false, s.reply(s.writeReg(args))
	case 'm':
		return false, s.replyBytes(s.readMem(args))
	case 'M':
		return false, s.reply(s.writeMemHex(args))
	case 'X':
		return false, s.reply(s.writeMemBinary(args))
	case 'c', 's':
		if len(args) > 0 {
			s.selectThread(s.gThread)
			if r := s.setPC(args); r != "" {
				return false, s.reply(r)
			}
		}
		return false, s.resume(Forward, pkt[0] == 's', 0)
	case 'C', 'S':
		// "C sig[;addr]": signals mean nothing to a whole machine; the
		// signal is dropped and the hart resumes.
		if i := bytes.IndexByte(args, ';'); i >= 0 {
			s.selectThread(s.gThread)
			if r := s.setPC(args[i+1:]); r != "" {
				return false, s.reply(r)
			}
		}
		return false, s.resume(Forward, pkt[0] == 'S', 0)
	case 'b':
		switch string(pkt) {
		case "bc":
			return false, s.resume(Backward, false, 0)
		case "bs":
			return false, s.resume(Backward, true, 0)
		}
	case 'v':
		return s.handleV(pkt)
	case 'q':
		return false, s.handleQuery(pkt)
	case 'Q':
		if string(pkt) == "QStartNoAckMode" {
			// The OK still goes out in ack mode; no-ack starts after it.
			err := s.reply("OK")
			s.noAck = true
			return false, err
		}
	case 'H':
		return false, s.reply(s.setThread(args))
	case 'T':
		return false, s.reply(s.threadAlive(args))
	case 'Z', 'z':
		return false, s.reply(s.breakpoint(pkt))
	case 'D':
		err := s.reply("OK")
		return true, err
	case 'k':
		// gdb does not wait for a reply to 'k'.
		return true, ErrKilled
	}
	return false, s.reply("")
}

// Thread ids beyond the real ones (GDB manual E.1 "thread-id").
const (
	threadAll = -1 // "-1": all threads
	threadAny = 0  // "0": any thread
)

// parseThread parses a thread-id: "N" (hex), "-1" (threadAll), "0"
// (threadAny), or the multiprocess forms "pPID.N" and "pPID" (all threads
// of the process).
func parseThread(id []byte) (int, bool) {
	if len(id) > 0 && id[0] == 'p' {
		i := bytes.IndexByte(id, '.')
		if i < 0 {
			return threadAll, true
		}
		id = id[i+1:]
	}
	if string(id) == "-1" {
		return threadAll, true
	}
	v, ok := parseHexU64(id)
	if !ok || v > 1<<16 {
		return 0, false
	}
	return int(v), true
}

// isOurThread reports whether a thread-id ("1", "-1", "0", "p1.1", ...)
// names the hart of a single-thread target.
func isOurThread(id []byte) bool {
	tid, ok := parseThread(id)
	return ok && (tid == threadAll || tid == threadAny || tid == 1)
}

// threads returns the target's thread interface when it has more than
// one thread; otherwise the stub serves the single thread 1.
func (s *session) threads() (ThreadTarget, int, bool) {
	tt, ok := s.t.(ThreadTarget)
	if !ok {
		return nil, 1, false
	}
	n := tt.Threads()
	return tt, n, n > 1
}

// selectThread makes thread id the target's selected thread.
func (s *session) selectThread(id int) {
	tt, _, ok := s.threads()
	if !ok || id < 1 {
		return
	}
	if err := tt.SelectThread(id); err != nil {
		s.srv.logf("gdbstub: select thread %d: %v", id, err)
	}
}

// liveThread reports whether id names an existing thread.
func (s *session) liveThread(id int) bool {
	_, n, _ := s.threads()
	return id >= 1 && id <= n
}

// setThread answers "Hg id" and "Hc id" (GDB manual E.2 'H').
func (s *session) setThread(arg []byte) string {
	if _, _, ok := s.threads(); !ok {
		return "OK" // one thread: nothing to select
	}
	if len(arg) == 0 || (arg[0] != 'g' && arg[0] != 'c') {
		return replyBadRequest
	}
	id, ok := parseThread(arg[1:])
	switch {
	case !ok:
		return replyBadRequest
	case id == threadAll || id == threadAny:
		// Any thread will do: registers keep coming from the thread
		// they came from; a resume steps the focus thread.
		if arg[0] == 'c' {
			s.cThread = 0
		}
		return "OK"
	case !s.liveThread(id):
		return replyBadRequest
	case arg[0] == 'g':
		s.gThread = id
	default:
		s.cThread, s.focus = id, id
	}
	return "OK"
}

// threadAlive answers "T id": every thread of the machine is alive. gdb
// sends it when the user switches threads ("thread N"), which makes N
// the focus thread.
func (s *session) threadAlive(arg []byte) string {
	if _, _, ok := s.threads(); !ok {
		if isOurThread(arg) {
			return "OK"
		}
		return replyBadRequest
	}
	id, ok := parseThread(arg)
	switch {
	case ok && (id == threadAll || id == threadAny):
		return "OK"
	case ok && s.liveThread(id):
		s.focus = id
		return "OK"
	}
	return replyBadRequest
}

// setPC handles the optional resume address of c/s/C/S.
func (s *session) setPC(arg []byte) string {
	addr, ok := parseHexU64(arg)
	if !ok {
		return replyBadRequest
	}
	if err := s.t.WriteReg(RegPC, addr); err != nil {
		s.srv.logf("gdbstub: resume at %#x: %v", addr, err)
		return replyTargetErr
	}
	return ""
}

// resume steps or continues the target and sends the stop reply. thread
// is the thread to step (a vCont action's), or threadAny: the Hc thread,
// else the focus thread.
func (s *session) resume(dir Direction, step bool, thread int) error {
	if dir == Backward {
		if ok, why := s.t.CanReverse(); !ok {
			if why == "" {
				why = "reverse execution is not available"
			}
			return s.reply("E." + sanitizeText(why))
		}
	}
	if s.watchStepOver {
		s.watchStepOver = false
		if step && dir == s.watchDir {
			// gdb's step over the watchpoint it was just told about: the
			// target has already crossed the access (see watchStepOver).
			ev := StopEvent{Reason: StopStep}
			s.stop = ev
			return s.sendStop(ev)
		}
	}
	if thread == threadAny {
		thread = s.cThread
	}
	if thread == threadAny {
		thread = s.focus
	}
	s.selectThread(thread)
	ev, err := s.runTarget(func(interrupt <-chan struct{}) (StopEvent, error) {
		if step {
			return s.t.Step(dir)
		}
		return s.t.Continue(dir, interrupt)
	})
	if err != nil {
		op := "continue"
		if step {
			op = "step"
		}
		s.srv.logf("gdbstub: %s %s: %v", dir, op, err)
		return s.reply("E." + sanitizeText(err.Error()))
	}
	s.stop = ev
	if tt, _, ok := s.threads(); ok {
		s.stopThread = tt.StopThread()
	}
	switch ev.Reason {
	case StopWatch, StopReadWatch, StopAccessWatch:
		s.watchStepOver, s.watchDir = true, dir
	}
	return s.sendStop(ev)
}

// sendStop sends the stop reply for ev. It names the stopped thread,
// which gdb then takes as the thread its register reads go to (as if
// it had sent Hg) and the one it shows; so does the stub.
func (s *session) sendStop(ev StopEvent) error {
	if _, _, ok := s.threads(); ok {
		s.gThread, s.focus = s.stopThread, s.stopThread
		s.selectThread(s.stopThread)
	}
	return s.reply(s.stopReply(ev))
}

// sanitizeText makes text safe inside a packet: printable ASCII only, no
// '$', '#', '*' or '}', and not too long.
func sanitizeText(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg) && b.Len() < 200; i++ {
		c := msg[i]
		if c < 0x20 || c > 0x7e || needsEscape(c) {
			c = '?'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// stopReply renders ev as a stop reply (GDB manual E.4 "Stop Reply
// Packets"); the pc it carries is the selected thread's.
func (s *session) stopReply(ev StopEvent) string {
	if ev.Reason == StopExited {
		return fmt.Sprintf("W%02x", uint8(ev.ExitCode))
	}
	var b strings.Builder
	if ev.Reason == StopInterrupted {
		b.WriteString("T02") // SIGINT
	} else {
		b.WriteString("T05") // SIGTRAP
	}
	switch ev.Reason {
	case StopSWBreak:
		if s.swbreak {
			b.WriteString("swbreak:;")
		}
	case StopHWBreak:
		if s.hwbreak {
			b.WriteString("hwbreak:;")
		}
	case StopWatch:
		fmt.Fprintf(&b, "watch:%x;", ev.Addr)
	case StopReadWatch:
		fmt.Fprintf(&b, "rwatch:%x;", ev.Addr)
	case StopAccessWatch:
		fmt.Fprintf(&b, "awatch:%x;", ev.Addr)
	case StopReplayBegin:
		b.WriteString("replaylog:begin;")
	case StopReplayEnd:
		b.WriteString("replaylog:end;")
	}
	if _, _, ok := s.threads(); ok {
		fmt.Fprintf(&b, "thread:%x;", s.stopThread)
	} else {
		b.WriteString("thread:" + threadID + ";")
	}
	if pc, err := s.t.ReadReg(RegPC); err == nil {
		fmt.Fprintf(&b, "%02x:%s;", RegPC, appendLE(nil, pc, 8))
	}
	return b.String()
}

// readAllRegs answers 'g': x0..x31, pc, f0..f31, 8 bytes each; a register
// the target cannot read is sent as "xx..." (unavailable).
func (s *session) readAllRegs() []byte {
	b := make([]byte, 0, numGRegs*16)
	for n := 0; n < numGRegs; n++ {
		v, err := s.t.ReadReg(n)
		if err != nil {
			s.srv.logf("gdbstub: read register %d: %v", n, err)
			b = append(b, "xxxxxxxxxxxxxxxx"...)
			continue
		}
		b = appendLE(b, v, 8)
	}
	return b
}

// writeAllRegs answers 'G' with as many whole registers as were sent.
func (s *session) writeAllRegs(data []byte) string {
	if len(data) == 0 || len(data)%16 != 0 || len(data) > numGRegs*16 {
		return replyBadRequest
	}
	vals := make([]uint64, len(data)/16)
	for i := range vals {
		v, ok := parseLE(data[16*i:16*i+16], 8)
		if !ok {
			return replyBadRequest
		}
		vals[i] = v
	}
	reply := "OK"
	for n, v := range vals {
		if err := s.t.WriteReg(n, v); err != nil {
			s.srv.logf("gdbstub: write register %d: %v", n, err)
			reply = replyTargetErr
		}
	}
	return reply
}

// regNum parses a register number and returns it with its size.
func (s *session) regNum(arg []byte) (n, size int, ok bool) {
	v, ok := parseHexU64(arg)
	if !ok || v > 1<<16 {
		return 0, 0, false
	}
	n = int(v)
	size = s.regs.regSize(n)
	return n, size, size > 0
}

// readReg answers "p n".
func (s *session) readReg(arg []byte) []byte {
	n, size, ok := s.regNum(arg)
	if !ok {
		return []byte(replyBadRequest)
	}
	v, err := s.t.ReadReg(n)
	if err != nil {
		s.srv.logf("gdbstub: read register %d: %v", n, err)
		return bytes.Repeat([]byte{'x'}, 2*size)
	}
	return appendLE(nil, v, size)
}

// writeReg answers "P n=r".
func (s *session) writeReg(arg []byte) string {
	i := bytes.IndexByte(arg, '=')
	if i < 0 {
		return replyBadRequest
	}
	n, size, ok := s.regNum(arg[:i])
	if !ok {
		return replyBadRequest
	}
	v, ok := parseLE(arg[i+1:], size)
	if !ok {
		return replyBadRequest
	}
	if err := s.t.WriteReg(n, v); err != nil {
		s.srv.logf("gdbstub: write register %d: %v", n, err)
		return replyTargetErr
	}
	return "OK"
}

// parseAddrLen parses "addr,length" as used by m, M, X and Z.
func parseAddrLen(arg []byte) (addr, length uint64, ok bool) {
	i := bytes.IndexByte(arg, ',')
	if i < 0 {
		return 0, 0, false
	}
	addr, ok1 := parseHexU64(arg[:i])
	length, ok2 := parseHexU64(arg[i+1:])
	return addr, length, ok1 && ok2
}

// readMem answers "m addr,length". The reply may be shorter than asked
// (GDB manual E.2, 'm'): it holds the readable prefix of the range.
func (s *session) readMem(arg []byte) []byte {
	addr, length, ok := parseAddrLen(arg)
	if !ok {
		return []byte(replyBadRequest)
	}
	length = min(length, maxMemXfer)
	if addr+length < addr { // wraps past 2^64
		length = -addr
	}
	buf := make([]byte, length)
	n := s.readPrefix(addr, buf)
	if n == 0 && length > 0 {
		return []byte(replyMemErr)
	}
	return appendHex(nil, buf[:n])
}

// readPrefix reads as much of [addr, addr+len(p)) as is readable from the
// start and returns how many bytes it got.
func (s *session) readPrefix(addr uint64, p []byte) int {
	if len(p) == 0 || s.t.ReadMem(addr, p) == nil {
		return len(p)
	}
	// Some of the range is not readable: go page by page, then byte by
	// byte in the page that fails.
	const page = 4096
	done := 0
	for done < len(p) {
		a := addr + uint64(done)
		n := min(int(page-a%page), len(p)-done)
		if s.t.ReadMem(a, p[done:done+n]) == nil {
			done += n
			continue
		}
		for i := 0; i < n; i++ {
			if s.t.ReadMem(a+uint64(i), p[done+i:done+i+1]) != nil {
				return done + i
			}
		}
		return done + n
	}
	return done
}

// writeMemHex answers "M addr,length:XX...".
func (s *session) writeMemHex(arg []byte) string {
	i := bytes.IndexByte(arg, ':')
	if i < 0 {
		return replyBadRequest
	}
	addr, length, ok := parseAddrLen(arg[:i])
	if !ok {
		return replyBadRequest
	}
	data, ok := decodeHex(arg[i+1:])
	if !ok || uint64(len(data)) != length {
		return replyBadRequest
	}
	return s.writeMem(addr, data)
}

// writeMemBinary answers "X addr,length:binary". A zero length is gdb's
// probe for X support.
func (s *session) writeMemBinary(arg []byte) string {
	i := bytes.IndexByte(arg, ':')
	if i < 0 {
		return replyBadRequest
	}
	addr, length, ok := parseAddrLen(arg[:i])
	if !ok {
		return replyBadRequest
	}
	data, err := unescape(arg[i+1:])
	if err != nil || uint64(len(data)) != length {
		return replyBadRequest
	}
	return s.writeMem(addr, data)
}

func (s *session) writeMem(addr uint64, data []byte) string {
	if len(data) == 0 {
		return "OK"
	}
	if err := s.t.WriteMem(addr, data); err != nil {
		s.srv.logf("gdbstub: write %d bytes at %#x: %v", len(data), addr, err)
		return replyMemErr
	}
	return "OK"
}

// breakpoint answers "Zt,addr,kind" and "zt,addr,kind" (conditions and
// commands after ';' are ignored: the stub does not advertise them).
func (s *session) breakpoint(pkt []byte) string {
	if len(pkt) < 2 || pkt[1] < '0' || pkt[1] > '4' {
		return "" // not a kind we support
	}
	kind := BPKind(pkt[1] - '0')
	arg := pkt[2:]
	if len(arg) == 0 || arg[0] != ',' {
		return replyBadRequest
	}
	arg = arg[1:]
	if i := bytes.IndexByte(arg, ';'); i >= 0 {
		arg = arg[:i]
	}
	addr, length, ok := parseAddrLen(arg)
	if !ok {
		return replyBadRequest
	}
	var err error
	p := point{kind, addr, length}
	if pkt[0] == 'Z' {
		if err = s.t.SetBreakpoint(kind, addr, length); err == nil {
			s.inserted[p]++
		}
	} else {
		if err = s.t.ClearBreakpoint(kind, addr, length); err == nil {
			if s.inserted[p] > 1 {
				s.inserted[p]--
			} else {
				delete(s.inserted, p)
			}
		}
	}
	switch {
	case err == nil:
		return "OK"
	case errors.Is(err, errors.ErrUnsupported):
		return ""
	default:
		s.srv.logf("gdbstub: %c%d at %#x len %d: %v", pkt[0], kind, addr, length, err)
		return replyTargetErr
	}
}

// handleV answers the v packets: vCont, vCont?, vKill and vMustReplyEmpty
// (which, like every unknown v packet, gets an empty reply).
func (s *session) handleV(pkt []byte) (bool, error) {
	switch {
	case string(pkt) == "vCont?":
		return false, s.reply("vCont;c;C;s;S")
	case bytes.HasPrefix(pkt, []byte("vCont;")):
		return false, s.vCont(pkt[len("vCont;"):])
	case bytes.HasPrefix(pkt, []byte("vKill")):
		if err := s.reply("OK"); err != nil {
			return true, err
		}
		return true, ErrKilled
	}
	return false, s.reply("")
}

// vCont runs the first action that applies to a thread of the target.
// With several threads the machine moves as a whole: "s:N" steps thread
// N while the others run as the schedule has them (gdb's "vCont;s:N;c"),
// "c" continues them all.
func (s *session) vCont(actions []byte) error {
	_, _, multi := s.threads()
	for _, a := range bytes.Split(actions, []byte{';'}) {
		thread := threadAny
		if i := bytes.IndexByte(a, ':'); i >= 0 {
			id, ok := parseThread(a[i+1:])
			switch {
			case !multi && !isOurThread(a[i+1:]):
				continue
			case multi && (!ok || id != threadAll && id != threadAny && !s.liveThread(id)):
				continue
			case multi && id != threadAll:
				thread = id
			}
			a = a[:i]
		}
		if len(a) == 0 {
			return s.reply(replyBadRequest)
		}
		switch a[0] {
		case 'c', 'C':
			return s.resume(Forward, false, threadAny)
		case 's', 'S':
			return s.resume(Forward, true, thread)
		default:
			return s.reply(replyBadRequest)
		}
	}
	// No action for our threads: they stay stopped. In all-stop mode gdb
	// expects a stop reply.
	return s.sendStop(s.stop)
}

// supported is the qSupported reply (GDB manual E.4 "General Query
// Packets", qSupported). PacketSize is hex.
var supported = fmt.Sprintf("PacketSize=%x;QStartNoAckMode+;qXfer:features:read+;"+
	"swbreak+;hwbreak+;ReverseStep+;ReverseContinue+;vContSupported+", MaxPacketSize)

// handleQuery answers the q packets.
func (s *session) handleQuery(pkt []byte) error {
	name, rest, _ := bytes.Cut(pkt, []byte{':'})
	switch string(name) {
	case "qSupported":
		for _, f := range bytes.Split(rest, []byte{';'}) {
			switch string(f) {
			case "swbreak+":
				s.swbreak = true
			case "hwbreak+":
				s.hwbreak = true
			}
		}
		return s.reply(supported)
	case "qXfer":
		return s.replyBytes(s.xferFeatures(rest))
	case "qC":
		if _, _, ok := s.threads(); ok {
			return s.reply(fmt.Sprintf("QC%x", s.gThread))
		}
		return s.reply("QC" + threadID)
	case "qfThreadInfo":
		_, n, _ := s.threads()
		var b strings.Builder
		b.WriteString("m1")
		for id := 2; id <= n; id++ {
			fmt.Fprintf(&b, ",%x", id)
		}
		return s.reply(b.String())
	case "qsThreadInfo":
		return s.reply("l")
	case "qAttached":
		// Attached to an existing machine: gdb detaches rather than kills
		// when it quits.
		return s.reply("1")
	}
	if bytes.HasPrefix(pkt, []byte("qThreadExtraInfo,")) {
		return s.reply(s.threadExtraInfo(pkt))
	}
	if bytes.HasPrefix(pkt, []byte("qRcmd,")) {
		// The thread the user is on, which may not be the one gdb last
		// read registers from.
		s.selectThread(s.focus)
		return s.monitor(pkt[len("qRcmd,"):])
	}
	return s.reply("")
}

// threadExtraInfo answers "qThreadExtraInfo,id" with the target's
// description of the thread, hex encoded.
func (s *session) threadExtraInfo(pkt []byte) string {
	tt, _, ok := s.threads()
	if !ok {
		return ""
	}
	_, arg, _ := bytes.Cut(pkt, []byte{','})
	id, ok := parseThread(arg)
	if !ok || !s.liveThread(id) {
		return replyBadRequest
	}
	return string(appendHex(nil, []byte(tt.ThreadExtraInfo(id))))
}

// xferFeatures answers "qXfer:features:read:ANNEX:offset,length" (after
// "qXfer:"), serving target.xml.
func (s *session) xferFeatures(arg []byte) []byte {
	const prefix = "features:read:"
	if !bytes.HasPrefix(arg, []byte(prefix)) {
		return nil // other qXfer objects are not supported
	}
	annex, span, ok := bytes.Cut(arg[len(prefix):], []byte{':'})
	if !ok {
		return []byte(replyBadRequest)
	}
	off, length, ok := parseAddrLen(span)
	if !ok {
		return []byte(replyBadRequest)
	}
	if string(annex) != "target.xml" {
		return []byte("E00") // no such annex
	}
	doc := s.regs.xml
	if off >= uint64(len(doc)) {
		return []byte("l")
	}
	length = min(length, MaxPacketSize-32)
	out := []byte{'m'}
	i := int(off)
	for ; i < len(doc); i++ {
		w := uint64(1)
		if needsEscape(doc[i]) {
			w = 2
		}
		if uint64(len(out)-1)+w > length {
			break
		}
		out = appendEscaped(out, doc[i:i+1])
	}
	if i == len(doc) {
		out[0] = 'l'
	}
	return out
}

// monitor answers "qRcmd,HEX": the target's output goes to gdb as 'O'
// packets, then OK, or E01 after the error text.
func (s *session) monitor(hexCmd []byte) error {
	cmd, ok := decodeHex(hexCmd)
	if !ok {
		return s.reply(replyBadRequest)
	}
	w := &consoleWriter{s: s}
	err := s.t.Monitor(string(cmd), w)
	if w.err != nil {
		return w.err
	}
	if err != nil {
		msg := err.Error()
		if !strings.HasSuffix(msg, "\n") {
			msg += "\n"
		}
		if _, err := w.Write([]byte(msg)); err != nil {
			return err
		}
		return s.reply("E01")
	}
	return s.reply("OK")
}

// consoleWriter sends what is written to it as 'O' packets.
type consoleWriter struct {
	s   *session
	err error
}

// maxConsoleChunk is how many bytes of text go in one 'O' packet.
const maxConsoleChunk = (MaxPacketSize - 16) / 2

func (w *consoleWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	for done := 0; done < len(p); {
		n := min(len(p)-done, maxConsoleChunk)
		pkt := appendHex([]byte{'O'}, p[done:done+n])
		if err := w.s.replyBytes(pkt); err != nil {
			w.err = err
			return done, err
		}
		done += n
	}
	return len(p), nil
}
