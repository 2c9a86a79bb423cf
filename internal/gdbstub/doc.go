// Package gdbstub is a GDB remote stub (GDB manual, appendix E "GDB Remote
// Serial Protocol") for a RISC-V RV64GC machine that can run backwards.
//
// The stub speaks RSP over a net.Conn to a stock gdb (gdb-multiarch) and
// drives a Target: registers and memory, single steps and continues in both
// directions, breakpoints and watchpoints kept in the emulator, and
// "monitor" commands. One client is served at a time, in all-stop mode,
// with a single thread (id 1) standing for the hart. Breakpoints and
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
// qfThreadInfo/qsThreadInfo, qAttached, H, T, D, k, vKill. Anything else
// gets the empty "not supported" reply. Ctrl-C (0x03) interrupts a
// continue. Hostile input (bad checksums, junk between packets, oversized,
// malformed, run-length encoded or truncated packets, a client vanishing
// mid-packet or not reading) is answered per the protocol and never crashes
// or wedges the server; the framer (packet.go) always resyncs on '$'.
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
