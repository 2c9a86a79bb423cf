/*
 * churn.S - a bare-metal guest that keeps rewriting 256 pages of RAM,
 * for the tests of copy-on-write snapshot capture. Its passes take turns:
 * one stores a doubleword into each page (at an offset that moves with
 * the pass), the next adds to each page's first doubleword with an AMO,
 * the next stores a misaligned doubleword across each page's end (4
 * bytes there, 4 in the next page); so whichever pass runs when a
 * snapshot is captured, a different write path touches the captured
 * pages first. It never stops.
 *
 * Build: ./build.sh (riscv64-unknown-elf-gcc; the ELF is checked in).
 */
	.section .text.init
	.globl _start
_start:
	la	s1, buf
	li	s0, 0			/* pass */
	li	s2, 4096
	li	s3, 3
pass:
	li	t0, 256
	mv	t1, s1
	andi	t2, s0, 511
	slli	t2, t2, 3		/* offset of this pass's doubleword */
	remu	t5, s0, s3		/* 0: store, 1: AMO, 2: misaligned */
page:
	beqz	t5, 1f
	addi	t6, t5, -1
	beqz	t6, 2f
	addi	t4, t1, 2047
	sd	s0, 2045(t4)		/* at 4092 */
	j	3f
1:	add	t3, t1, t2
	sd	s0, 0(t3)
	j	3f
2:	amoadd.d zero, s0, (t1)
3:	add	t1, t1, s2
	addi	t0, t0, -1
	bnez	t0, page
	addi	s0, s0, 1
	j	pass

	.bss
	.balign	4096
buf:
	.space	257 * 4096
