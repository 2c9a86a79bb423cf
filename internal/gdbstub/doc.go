// Package gdbstub is a GDB remote stub (GDB manual, appendix E "GDB Remote
// Serial Protocol") for a RISC-V RV64GC machine that can run backwards.
//
// The stub speaks RSP over a net.Conn to a stock gdb (gdb-multiarch) and
// drives a Target: registers and memory, single steps and continues in both
// directions, breakpoints and watchpoints kept in the emulator, and
// "monitor" commands. One client is served at a time, in all-stop mode.
// A Target is one thread (id 1) standing for the hart; a ThreadTarget
// with several threads (the harts of a multi-hart machine) shows each as
// a thread (see Threads below). Breakpoints and
// watchpoints belong to the client that inserted them: when it leaves in
// any way (detach, kill, a dropped connection, a gdb killed with
// "breakpoint always-inserted" on), the stub removes those it left set,
// so the next client is not stopped by them.
//
// # Protocol
//
// qSupported advertises PacketSize (MaxPacketSize), QStartNoAckMode,
// qXfer:features:read, swbreak, hwbreak, ReverseStep, ReverseContinue and
// vContSupported. Implemented: ?, g/G, p/P, m/M/X, c/s/C/S, vCont and
// vCont?, bc/bs, Z0-Z4/z0-z4, qXfer:features:read:target.xml, qRcmd, qC,
// qfThreadInfo/qsThreadInfo, qThreadExtraInfo, qAttached, H, T, D, k,
// vKill. Anything else
// gets the empty "not supported" reply. Ctrl-C (0x03) interrupts a
// continue. Hostile input (bad checksums, junk between packets, oversized,
// malformed, run-length encoded or truncated packets, a client vanishing
// mid-packet or not reading) is answered per the protocol and never crashes
// or wedges the server; the framer (packet.go) always resyncs on '$'.
//
// # Threads
//
// With a ThreadTarget of n > 1 threads, qfThreadInfo lists 1..n,
// qThreadExtraInfo gives the target's description of each ("hart 1,
// S-mode, in WFI", shown by "info threads"), T answers OK for 1..n and
// E01 otherwise, and every stop reply names the thread that stopped
// (thread:N): the one that hit the breakpoint or watchpoint, or the one
// stepped. gdb switches to it and takes it as the thread its register
// reads go to without sending Hg; the stub does the same. Hg selects the
// thread for g/G/p/P/m/M/X. The machine moves as a whole: "vCont;s:N"
// (gdb's stepi on thread N, usually "vCont;s:N;c") steps thread N while
// the others run as the target schedules them, and "vCont;c", c and bc
// continue all of them. An action naming no existing thread is skipped.
//
// s and bs step the Hc thread when Hc named one. gdb sends Hc0 ("any")
// unless scheduler locking is on, and a reverse step has no vCont form,
// so for "Hc0; bs" the stub steps the thread the user is on as far as it
// can tell: the thread of the last stop, or the thread of the last T
// packet (gdb's "thread N" sends "TN"), whichever came later. Hg does not
// count, since gdb sends it to read any thread's registers ("info
// threads" reads them all). "set scheduler-locking step" makes gdb name
// the thread with Hc, which removes the guess.
//
// A Target that is not a ThreadTarget, or a ThreadTarget with one thread,
// is served exactly as before threads existed: H always answers OK, T
// accepts only thread 1 (and -1, 0), and vCont actions for other threads
// are skipped.
//
// # Design notes
//
// target.xml uses gdb's standard RISC-V features (org.gnu.gdb.riscv.cpu,
// .fpu, .csr, .virtual) with register numbers equal to gdb's internal ones
// (see RegPC), so gdb shows ABI names, FP registers with fflags/frm/fcsr,
// named CSRs and the "priv" register. It declares <osabi>none</osabi>:
// gdb-multiarch otherwise assumes GNU/Linux, whose RISC-V support
// single-steps by planting a breakpoint on the predicted next pc, which
// misses traps and interrupts; with "none" gdb sends real step packets.
//
// gdb's RISC-V support treats watchpoints as non-steppable: after every
// watchpoint stop it steps once more in the same direction. Targets report
// watchpoints after crossing the access (see Target), and the stub answers
// that one step itself, so forward stops land after the accessing
// instruction and reverse stops at it.
//
// Reverse requests on a target that cannot reverse get an "E.reason"
// reply, which gdb prints as "Remote failure reply: E.reason".
// Monitor command errors are printed, then answered E01, so that gdb
// scripts stop on them.
package gdbstub
