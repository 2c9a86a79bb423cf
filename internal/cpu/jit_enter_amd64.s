//go:build linux

#include "textflag.h"

// func jitCall(entry uintptr, cpu, ram unsafe.Pointer, limit, icount uint64) (code, aux uint64)
//
// jitCall enters compiled code at entry with the registers it expects
// (R15 = cpu, biased, R13 = RAM base, R12 = instruction limit, BX =
// instruction count) and returns the exit code and auxiliary word the code
// leaves in AX and DX. The compiled code never touches the goroutine
// stack beyond the return address CALL pushes, never uses SP, BP or R14,
// and never calls Go; see docs/JIT.md.
TEXT ·jitCall(SB), NOSPLIT, $0-56
	MOVQ entry+0(FP), AX
	MOVQ cpu+8(FP), R15
	MOVQ ram+16(FP), R13
	MOVQ limit+24(FP), R12
	MOVQ icount+32(FP), BX
	CALL AX
	MOVQ AX, code+40(FP)
	MOVQ DX, aux+48(FP)
	RET
