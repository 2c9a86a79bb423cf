//go:build linux

#include "textflag.h"

// func jitCall(entry uintptr, cpu, ram unsafe.Pointer, limit, icount uint64) (code, aux uint64)
//
// jitCall enters compiled code at entry with the registers it expects
// (R15 = cpu, biased, R13 = RAM base, R12 = instruction limit, BX =
// instruction count) and returns the exit code and auxiliary word the code
// leaves in AX and DX. The compiled code never touches the goroutine
// stack beyond the return address CALL pushes, never uses SP, and never
// calls Go; see docs/JIT.md. It uses BP and R14 as registers of its own:
// the frame this function declares makes the assembler save BP in the
// prologue and restore it in the epilogue (TestJITUnderGC fails when it
// is not restored), and R14 (the goroutine in Go's internal ABI,
// undefined in ABI0 code like this) is saved in the frame and restored
// before returning. The Go compiler also reloads R14 from thread-local
// storage, and zeroes X15, after its call to an ABI0 function; the
// restore here does not count on that.
TEXT ·jitCall(SB), NOSPLIT, $8-56
	MOVQ R14, 0(SP)
	MOVQ entry+0(FP), AX
	MOVQ cpu+8(FP), R15
	MOVQ ram+16(FP), R13
	MOVQ limit+24(FP), R12
	MOVQ icount+32(FP), BX
	CALL AX
	MOVQ 0(SP), R14
	MOVQ AX, code+40(FP)
	MOVQ DX, aux+48(FP)
	RET
