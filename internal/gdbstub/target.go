package gdbstub

import "io"

// Target is the machine the stub debugs. The integrator implements it on top
// of the emulator; the stub calls it only from the goroutine running
// ServeConn, one call at a time.
//
// Register numbers are the remote numbers this stub puts in target.xml (see
// RegPC and friends): x0..x31 = 0..31, pc = 32, f0..f31 = 33..64, CSR n =
// RegCSR0+n (so fflags/frm/fcsr are 66/67/68), priv = RegPriv (4161).
// Values are zero-extended to 64 bits; the stub sends 32 bits for
// fflags/frm/fcsr. f registers hold the raw 64-bit pattern (NaN-boxed
// singles included).
//
// Positions: the machine has a current position in its execution (for a
// replay, an instruction count). "The instruction at the current position"
// is the one that executes next; pc names it. Moving backward from
// position p goes to p-1: the instruction at p-1 is then at pc, not
// executed, and every effect it had (registers, memory, devices) is undone.
//
// Watchpoints: the Target reports a watchpoint at the position just past
// the accessing instruction in the direction of travel. Forward: after the
// instruction executed (memory holds the new value, pc is the next
// instruction). Backward: at the accessing instruction (undone: memory holds
// the old value, pc is that instruction). gdb's RISC-V support treats
// watchpoints as "non-steppable" and steps once more after every watchpoint
// stop; the stub answers that step itself without calling the Target, so
// the user sees exactly these positions.
type Target interface {
	// ReadReg reads register n. An error (for example a CSR the hart does not
	// implement) makes the register show as <unavailable> in gdb.
	ReadReg(n int) (uint64, error)
	// WriteReg writes register n. A replaying target may refuse; gdb then
	// reports the failure.
	WriteReg(n int, v uint64) error

	// ReadMem fills p from guest memory at addr, through the hart's current
	// address translation (the target documents its fallback, e.g. physical
	// addresses when translation is off or faults). It fails as a whole: the
	// stub retries smaller pieces to return the readable prefix. It must not
	// have side effects (no MMIO reads with effects, no A/D bit updates).
	ReadMem(addr uint64, p []byte) error
	// WriteMem writes p to guest memory at addr, translated like ReadMem.
	WriteMem(addr uint64, p []byte) error

	// Step moves exactly one instruction in direction dir and reports why
	// it stopped:
	//   - Forward: executes the instruction at pc (a trap or interrupt
	//     taken counts as that instruction's effect: pc is then the
	//     handler) and returns StopStep, or a watchpoint stop if the
	//     instruction hit a watchpoint (reported after it, as above). At
	//     the end of a replay it does not move and returns StopReplayEnd; a
	//     live guest that powered off returns StopExited.
	//   - Backward: moves from p to p-1 and returns StopStep, or a
	//     watchpoint stop if the instruction at p-1 accessed a watched
	//     location. At the start of the history it does not move and
	//     returns StopReplayBegin.
	// Execution breakpoints are not reported by Step.
	Step(dir Direction) (StopEvent, error)

	// Continue runs in direction dir until a stop event and reports it. It
	// always moves at least one instruction before checking breakpoints, so
	// an execution breakpoint at the starting pc does not stop it at once.
	//   - Forward: after each instruction, stops on a watchpoint the
	//     instruction hit (StopWatch / StopReadWatch / StopAccessWatch,
	//     Addr = accessed address, state after the instruction); then, if
	//     the next instruction's address has an execution breakpoint, stops
	//     before executing it (StopSWBreak / StopHWBreak, pc = that
	//     address). At the end of the recording: StopReplayEnd, position =
	//     the end (also when called there: no move). A live guest that
	//     powers off: StopExited.
	//   - Backward: undoes instructions newest first. After moving to
	//     position p, stops if the instruction at p accessed a watched
	//     location (watch stop, state before it: memory old, pc = it) or
	//     if its address has an execution breakpoint (breakpoint stop).
	//     Reaching the start of the history without a hit there:
	//     StopReplayBegin at the start (also when called there: no move).
	// For a snapshot-based replay, "the last hit before the current
	// position" is what a backward Continue must find.
	// When interrupt is closed the target stops as soon as it can at an
	// instruction boundary and returns StopInterrupted; it must notice
	// within a fraction of a second (the stub also closes interrupt when
	// the client disconnects or the server is closed). interrupt may be nil.
	Continue(dir Direction, interrupt <-chan struct{}) (StopEvent, error)

	// SetBreakpoint arms an execution breakpoint or a watchpoint covering
	// [addr, addr+length). For SWBreak/HWBreak length is gdb's "kind" (2 or
	// 4, the instruction size) and only addr matters. Breakpoints live in
	// the emulator, never in guest memory, and apply in both directions. An
	// access overlapping the range triggers a watchpoint. Setting one that
	// exists already is not an error. An error wrapping
	// errors.ErrUnsupported tells gdb this kind is not supported (gdb then
	// falls back, e.g. to software watchpoints); other errors make gdb
	// report that the breakpoint cannot be inserted.
	SetBreakpoint(kind BPKind, addr, length uint64) error
	// ClearBreakpoint removes what SetBreakpoint armed with the same
	// arguments. Clearing one that does not exist is not an error. gdb
	// inserts all its breakpoints before every resume and removes them at
	// every stop, so these calls are frequent and should be cheap. When a
	// client goes away (detached, killed, disconnected) the stub clears
	// what it left set, so the next client starts with none.
	ClearBreakpoint(kind BPKind, addr, length uint64) error

	// Monitor runs a "monitor" command typed in gdb (qRcmd): "when", "seek
	// N", ... and writes its text output to out (each Write reaches gdb at
	// once, as console output). A returned error is printed in gdb (the
	// stub adds a newline) and the command fails ("Protocol error with
	// Rcmd"). gdb does not know a monitor command may move the machine: it
	// keeps its cached registers and memory until the next stop, so after
	// a seek the user must run "maint flush register-cache" (or the
	// integrator wraps the command in a gdb user command that does).
	Monitor(cmd string, out io.Writer) error

	// CanReverse reports whether Step/Continue accept Backward. A live
	// target answers false and a reason that gdb prints to the user.
	CanReverse() (ok bool, why string)
}

// Direction is the direction of execution.
type Direction int

// Directions of execution.
const (
	Forward Direction = iota
	Backward
)

// String returns "forward" or "backward".
func (d Direction) String() string {
	if d == Backward {
		return "backward"
	}
	return "forward"
}

// BPKind is the kind of a breakpoint or watchpoint, numbered as in gdb's
// Z/z packets.
type BPKind int

// Breakpoint kinds, in Z-packet order (Z0..Z4).
const (
	SWBreak     BPKind = iota // software execution breakpoint (gdb "break")
	HWBreak                   // hardware execution breakpoint (gdb "hbreak")
	WriteWatch                // write watchpoint (gdb "watch")
	ReadWatch                 // read watchpoint (gdb "rwatch")
	AccessWatch               // read or write watchpoint (gdb "awatch")
)

// String returns gdb's name for the kind ("swbreak", "watch", ...).
func (k BPKind) String() string {
	switch k {
	case SWBreak:
		return "swbreak"
	case HWBreak:
		return "hwbreak"
	case WriteWatch:
		return "watch"
	case ReadWatch:
		return "rwatch"
	case AccessWatch:
		return "awatch"
	}
	return "bpkind?"
}

// StopReason says why the target stopped.
type StopReason int

// Stop reasons. Each maps to a stop reply: StopInterrupted to SIGINT
// (T02), StopExited to W, the others to SIGTRAP (T05) with the matching
// stop-reason field.
const (
	StopStep        StopReason = iota // single step completed
	StopSWBreak                       // execution breakpoint set with SWBreak
	StopHWBreak                       // execution breakpoint set with HWBreak
	StopWatch                         // write watchpoint hit; Addr = data address
	StopReadWatch                     // read watchpoint hit; Addr = data address
	StopAccessWatch                   // access watchpoint hit; Addr = data address
	StopInterrupted                   // interrupt channel closed (gdb Ctrl-C)
	StopReplayBegin                   // reached the start of the history going backward
	StopReplayEnd                     // reached the end of the recording going forward
	StopExited                        // the guest is gone (powered off); ExitCode
)

// String returns a short name for the reason.
func (r StopReason) String() string {
	switch r {
	case StopStep:
		return "step"
	case StopSWBreak:
		return "swbreak"
	case StopHWBreak:
		return "hwbreak"
	case StopWatch:
		return "watch"
	case StopReadWatch:
		return "rwatch"
	case StopAccessWatch:
		return "awatch"
	case StopInterrupted:
		return "interrupted"
	case StopReplayBegin:
		return "replay-begin"
	case StopReplayEnd:
		return "replay-end"
	case StopExited:
		return "exited"
	}
	return "stop?"
}

// StopEvent describes where and why the target stopped.
type StopEvent struct {
	Reason StopReason
	// Addr is the data address that triggered a watchpoint (StopWatch,
	// StopReadWatch, StopAccessWatch); it must lie inside the watched range
	// so gdb can tell which watchpoint fired.
	Addr uint64
	// ExitCode is the exit status reported with StopExited (low 8 bits).
	ExitCode int
}

// ThreadTarget is a Target with several threads of execution, the harts
// of a multi-hart machine; gdb shows each as a thread. Thread ids are
// 1..Threads(). The stub finds it by type assertion; a Target without it,
// or with Threads() at most 1, is served as the single thread 1.
//
// The target has one selected thread: ReadReg, WriteReg, ReadMem,
// WriteMem, Monitor and Step act on it. The stub selects the thread gdb
// asked for before each of those calls: Hg for registers and memory; for
// a step the vCont action's thread, else the Hc thread, else the thread
// the user is on as far as the stub can tell (see session.focus); the
// latter for Monitor too. Continue moves the whole machine; a breakpoint
// or watchpoint hit on any thread stops it.
type ThreadTarget interface {
	Target
	// Threads returns the number of threads.
	Threads() int
	// SelectThread selects thread id (1..Threads()).
	SelectThread(id int) error
	// StopThread returns the thread the last Step or Continue stopped
	// on: for a breakpoint or watchpoint, the thread that hit it; for a
	// step, the stepped thread. Before any, the thread that runs first.
	StopThread() int
	// ThreadExtraInfo describes thread id in a few words for gdb's "info
	// threads" (qThreadExtraInfo), e.g. "hart 1, S-mode, in WFI".
	ThreadExtraInfo(id int) string
}
