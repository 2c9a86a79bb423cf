/*
 * sv39loop.S - the CPU benchmark of BenchmarkInterpreterSv39 and
 * BenchmarkJITSv39 (internal/cpu/bench_test.go) as a bare-metal program,
 * so that Rewind's command line and qemu-system-riscv64 can run the same
 * instructions (BenchmarkSv39Guest, internal/cli). M-mode turns on Sv39
 * with one identity-mapped 1 GiB superpage (0x80000000..0xbfffffff, RWX,
 * A and D set) and drops to S-mode, which runs PASSES passes of the loop:
 * per 9 instructions a 64-bit load, an add, a multiply, a shift, an xor, a
 * store, two adds and a branch, over 64 KiB. Then it writes "pass" to the
 * virt board's test finisher (0x100000), which powers the machine off.
 *
 * That is about 2.15 billion instructions; `rewind run --stats` gives the
 * exact count, and QEMU runs the same instructions (nothing interrupts
 * the program).
 *
 * Build: ./build.sh (riscv64-unknown-elf-gcc; the ELF is checked in).
 */
	.equ	PASSES, 29128
	.equ	FINISHER, 0x100000

	.option	norvc			/* 32-bit encodings, as in the Go benchmark */
	.section .text.init
	.globl _start
_start:
	li	t0, -1			/* PMP entry 0: all of memory, RWX */
	csrw	pmpaddr0, t0
	li	t0, 0x1f
	csrw	pmpcfg0, t0
	la	t0, mtrap
	csrw	mtvec, t0
	la	t0, root
	srli	t0, t0, 12
	li	t1, 8 << 60		/* Sv39 */
	or	t0, t0, t1
	csrw	satp, t0
	sfence.vma
	li	t0, 1 << 11		/* MPP = S */
	csrw	mstatus, t0
	la	t0, bench
	csrw	mepc, t0
	mret

	.balign	64
bench:
	li	s3, PASSES
	li	a5, 0x9e3779b97f4a7c15
restart:
	la	s0, buf
	li	s1, 8192
loop:
	ld	a0, 0(s0)
	add	a0, a0, s1
	mul	a1, a0, a5
	srli	a2, a1, 7
	xor	a0, a1, a2
	sd	a0, 0(s0)
	addi	s0, s0, 8
	addi	s1, s1, -1
	bnez	s1, loop
	addi	s3, s3, -1
	bnez	s3, restart
	ecall			/* the finisher is not mapped: M-mode writes it */

	.balign	4
mtrap:
	li	t0, FINISHER
	li	t1, 0x5555
	sw	t1, 0(t0)
1:	j	1b

	.section .data
	.balign	4096
root:
	.dword	0, 0
	.dword	(0x80000000 >> 12) << 10 | 0xcf
	.fill	509, 8, 0
	.balign	4096
buf:
	.fill	8192, 8, 0
