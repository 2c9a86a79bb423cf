/*
 * common.h - shared harness for the Rewind bare-metal ISA test programs.
 *
 * Every program is a single .S file:
 *
 *     #include "common.h"
 *     TEST_BEGIN
 *         TEST_CASE(1, a0, 42, li a0, 40; addi a0, a0, 2)
 *         ...
 *     TEST_END
 *
 * The program starts in M-mode at _start (0x80000000) with nothing set up.
 * TEST_BEGIN installs the M-mode trap handler, the stack, opens PMP for
 * S/U-mode, enables the FPU (mstatus.FS = Initial) and jumps to the tests.
 * TEST_END reports PASS.
 *
 * Reporting (selected at build time):
 *   default          HTIF: the ELF defines `tohost`/`fromhost` (8-byte
 *                    aligned, section .tohost).  Exit = write (code<<1)|1 to
 *                    tohost; code 0 = pass, code N = check N failed.
 *                    Console = device 1 / command 1:
 *                    tohost = (1<<56)|(1<<48)|byte, then wait for fromhost
 *                    != 0 (bounded spin) and clear it.
 *   -DREPORT_FINISHER  QEMU-virt style: console on the NS16550A at
 *                    0x10000000, exit through the test finisher at 0x100000
 *                    (0x5555 = pass, (code<<16)|0x3333 = fail code).
 *
 * Register conventions (the tests must not clobber these):
 *   gp  (x3)   pointer to the harness data block (H_* offsets below)
 *   s8  (x24)  TCAUSE: mcause of the last M-mode trap (set by the handler)
 *   s9  (x25)  RESUME: where the M trap handler continues (in M-mode).
 *              0 means "no trap expected": a trap then fails the test.
 *              The handler clears it after use (one shot).
 *   s10 (x26)  EXPECT: scratch of the CHECK macros and trap handlers
 *   s11 (x27)  TESTNUM: number of the current check (= failure code)
 *
 * The M-mode trap handler records mcause/mepc/mtval/mstatus (as they were
 * on trap entry) into the harness block, then returns to RESUME in M-mode
 * with mstatus.MPIE cleared, so execution continues with MIE=0.
 *
 * Comments in this file use C style: it goes through the C preprocessor.
 */
#ifndef REWIND_ISA_COMMON_H
#define REWIND_ISA_COMMON_H

#define TESTNUM s11
#define EXPECT  s10
#define RESUME  s9
#define TCAUSE  s8

/* harness data block (gp-relative) */
#define H_CAUSE    0
#define H_EPC      8
#define H_TVAL     16
#define H_STATUS   24
#define H_COUNT    32   /* number of M-mode traps taken */
#define H_VEC      40   /* vector slot index recorded by vectored entries */
#define H_SCAUSE   48
#define H_SEPC     56
#define H_STVAL    64
#define H_SSTATUS  72
#define H_SCOUNT   80   /* number of S-mode traps taken */
#define H_SVEC     88
#define H_SCRATCH  96   /* 32 bytes free for tests */
#define H_SIZE     128

/* CSR bits */
#define MSTATUS_SIE   0x2
#define MSTATUS_MIE   0x8
#define MSTATUS_SPIE  0x20
#define MSTATUS_UBE   0x40
#define MSTATUS_MPIE  0x80
#define MSTATUS_SPP   0x100
#define MSTATUS_VS    0x600
#define MSTATUS_MPP   0x1800
#define MSTATUS_MPP_S 0x800
#define MSTATUS_FS    0x6000
#define MSTATUS_FS_INITIAL 0x2000
#define MSTATUS_FS_CLEAN   0x4000
#define MSTATUS_FS_DIRTY   0x6000
#define MSTATUS_XS    0x18000
#define MSTATUS_MPRV  0x20000
#define MSTATUS_SUM   0x40000
#define MSTATUS_MXR   0x80000
#define MSTATUS_TVM   0x100000
#define MSTATUS_TW    0x200000
#define MSTATUS_TSR   0x400000
#define MSTATUS_UXL   0x300000000
#define MSTATUS_SXL   0xC00000000
#define MSTATUS_SD    0x8000000000000000

#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11
#define MIP_SSIP (1 << IRQ_SSI)
#define MIP_MSIP (1 << IRQ_MSI)
#define MIP_STIP (1 << IRQ_STI)
#define MIP_MTIP (1 << IRQ_MTI)
#define MIP_SEIP (1 << IRQ_SEI)
#define MIP_MEIP (1 << IRQ_MEI)
#define INTR_BIT 0x8000000000000000

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE       12
#define CAUSE_LOAD_PAGE        13
#define CAUSE_STORE_PAGE       15

/* QEMU virt devices (used by the -DREPORT_FINISHER programs) */
#define UART0_BASE     0x10000000
#define FINISHER_BASE  0x100000
#define CLINT_BASE     0x2000000
#define CLINT_MSIP     0x2000000
#define CLINT_MTIMECMP 0x2004000
#define CLINT_MTIME    0x200bff8

/* ------------------------------------------------------------------ */
/*
 * Behaviour switches.  The default build encodes Rewind's choices; the
 * QEMU_ORACLE build (qemu/<name>.elf, made by build.sh) switches the few
 * checks where QEMU 7.2 legitimately (or knowingly wrongly) differs.
 * See README.md for the list.
 */
#ifdef QEMU_ORACLE
/* QEMU 7.2 reports a misaligned AMO/SC as a *load* address misaligned. */
#define QUIRK_AMO_MISALIGNED_IS_LOAD 1
/* QEMU 7.2 fails a misaligned SC (no reservation there) without trapping. */
#define QUIRK_SC_MISALIGNED_NO_TRAP 1
/* QEMU 7.2's spike machine has no rdtime source: reading `time` traps. */
#define QUIRK_NO_RDTIME 1
/* QEMU (without -icount) counts host ticks in minstret, not instructions. */
#define QUIRK_COUNTERS_NOT_EXACT 1
/* QEMU 7.2 returns mepc/sepc bit 0 as written (the spec: always zero). */
#define QUIRK_EPC_BIT0_KEPT 1
/* QEMU 7.2 treats csrrs/csrrc rd, ro_csr, rs1 (rs1 != x0 holding 0) as a
 * read; the spec says it writes, so a read-only CSR must trap. */
#define QUIRK_CSRRS_ZERO_NO_TRAP 1
/* QEMU 7.2 does not clear mstatus.MPRV on an mret/sret to S or U
 * (priv 1.12: "xRET to a mode less privileged than M sets MPRV = 0"). */
#define QUIRK_XRET_KEEPS_MPRV 1
/* QEMU 7.2 lets mideleg hold VS*IP and LCOFIP too (0x2666); Rewind: 0x222. */
#define QUIRK_MIDELEG_EXTRA_BITS 1
/* QEMU 7.2 implements Sv57 (satp.MODE = 10); Rewind implements Sv39 only. */
#define QUIRK_SV57_SUPPORTED 1
#endif

#ifdef QUIRK_AMO_MISALIGNED_IS_LOAD
#define CAUSE_AMO_MISALIGNED CAUSE_MISALIGNED_LOAD
#else
#define CAUSE_AMO_MISALIGNED CAUSE_MISALIGNED_STORE
#endif

/* ------------------------------------------------------------------ */
/* check macros                                                        */

/* Start check n: also cancels any pending trap expectation. */
#define SET_TEST(n) li TESTNUM, n; li RESUME, 0

/* Fail the current check unless reg == exp (64-bit compare). */
#define CHECK(reg, exp) \
    li EXPECT, exp; beq reg, EXPECT, 9999f; mv TCAUSE, reg; j fail_check; 9999:

/* Fail the current check unless reg1 == reg2. */
#define CHECK_REG(reg, reg2) \
    mv EXPECT, reg2; beq reg, EXPECT, 9999f; mv TCAUSE, reg; j fail_check; 9999:

/* Check n: run code, then reg must equal exp. */
#define TEST_CASE(n, reg, exp, ...) \
    SET_TEST(n); __VA_ARGS__; CHECK(reg, exp)

/* Arm the M-mode trap handler to resume at label. */
#define EXPECT_TRAP(label) la RESUME, label; li TCAUSE, -1

/*
 * Check n: code must trap (into M-mode) with mcause == cause.  Execution
 * continues after the macro in M-mode.  mepc/mtval are in H_EPC/H_TVAL.
 */
#define TEST_TRAP(n, cause, ...) \
    SET_TEST(n); EXPECT_TRAP(9998f); __VA_ARGS__; j fail_notrap; \
    9998: CHECK(TCAUSE, cause)

/* After a trap: compare the recorded mepc / mtval / mstatus. */
#define CHECK_EPC(label) ld EXPECT, H_EPC(gp); la TCAUSE, label; \
    beq EXPECT, TCAUSE, 9999f; mv TCAUSE, EXPECT; la EXPECT, label; j fail_check; 9999:
#define CHECK_TVAL(exp) ld t6, H_TVAL(gp); CHECK(t6, exp)
#define CHECK_TVAL_LABEL(label) ld t6, H_TVAL(gp); la t5, label; CHECK_REG(t6, t5)

/* ------------------------------------------------------------------ */
/* privilege switching (from M-mode)                                   */

/* Set mstatus.MPP to S / U / M (clobbers EXPECT). */
#define SET_MPP_S li EXPECT, MSTATUS_MPP; csrc mstatus, EXPECT; \
    li EXPECT, MSTATUS_MPP_S; csrs mstatus, EXPECT
#define SET_MPP_U li EXPECT, MSTATUS_MPP; csrc mstatus, EXPECT
#define SET_MPP_M li EXPECT, MSTATUS_MPP; csrs mstatus, EXPECT

/* Continue at the next instruction in S-mode / U-mode. */
#define ENTER_S SET_MPP_S; la EXPECT, 9997f; csrw mepc, EXPECT; mret; 9997:
#define ENTER_U SET_MPP_U; la EXPECT, 9997f; csrw mepc, EXPECT; mret; 9997:

/*
 * Run code in S-mode (U-mode), then ecall back to M-mode.  Afterwards
 * TCAUSE is 9 (8) if the code completed, or the cause of the trap that
 * stopped it.
 */
#define RUN_S(...) EXPECT_TRAP(9996f); ENTER_S; __VA_ARGS__; ecall; 9996:
#define RUN_U(...) EXPECT_TRAP(9996f); ENTER_U; __VA_ARGS__; ecall; 9996:

/* Check n: code run in S-mode (U-mode) completes and then reg == exp. */
#define TEST_S(n, reg, exp, ...) SET_TEST(n); RUN_S(__VA_ARGS__); \
    CHECK(TCAUSE, CAUSE_ECALL_S); CHECK(reg, exp)
#define TEST_U(n, reg, exp, ...) SET_TEST(n); RUN_U(__VA_ARGS__); \
    CHECK(TCAUSE, CAUSE_ECALL_U); CHECK(reg, exp)

/* Check n: code run in S-mode / U-mode traps to M with mcause == cause. */
#define TEST_S_TRAP(n, cause, ...) SET_TEST(n); RUN_S(__VA_ARGS__); CHECK(TCAUSE, cause)
#define TEST_U_TRAP(n, cause, ...) SET_TEST(n); RUN_U(__VA_ARGS__); CHECK(TCAUSE, cause)

/* ------------------------------------------------------------------ */
/* program skeleton                                                    */

.macro TEST_BEGIN
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norvc
    csrr    t0, mhartid
    bnez    t0, harness_park
    la      t0, trap_m
    csrw    mtvec, t0
    la      sp, harness_stack_top
    la      gp, harness_data
    /* zero .bss (the loader normally did, but do not rely on it) */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    li      t0, MSTATUS_FS_INITIAL
    csrw    mstatus, t0
    csrw    mie, zero
    csrw    mip, zero
    csrw    medeleg, zero
    csrw    mideleg, zero
    csrw    satp, zero
    fscsr   zero
    /*
     * Open all of memory to S/U-mode through PMP entry 0 (TOR-free NAPOT
     * covering everything).  If PMP is not implemented these CSRs read
     * as zero; a trap (should not happen) just skips to 3f.
     */
    la      t0, 3f
    csrw    mtvec, t0
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    .align 2
3:  la      t0, trap_m
    csrw    mtvec, t0
    li      TESTNUM, 0
    li      RESUME, 0
    li      TCAUSE, 0
    .option pop
    j       test_body
harness_park:
    wfi
    j       harness_park

    .text
test_body:
.endm

.macro TEST_END
    j       pass

/* --------------------------- M-mode trap handler ---------------------- */
    .align 2
trap_m:
    csrr    TCAUSE, mcause
    sd      TCAUSE, H_CAUSE(gp)
    csrr    EXPECT, mepc
    sd      EXPECT, H_EPC(gp)
    csrr    EXPECT, mtval
    sd      EXPECT, H_TVAL(gp)
    csrr    EXPECT, mstatus
    sd      EXPECT, H_STATUS(gp)
    ld      EXPECT, H_COUNT(gp)
    addi    EXPECT, EXPECT, 1
    sd      EXPECT, H_COUNT(gp)
    beqz    RESUME, unexpected_trap
    csrw    mepc, RESUME
    li      RESUME, 0
    li      EXPECT, MSTATUS_MPP
    csrs    mstatus, EXPECT
    li      EXPECT, MSTATUS_MPIE
    csrc    mstatus, EXPECT
    mret

/*
 * Vectored M-mode entry table: slot i records i in H_VEC and continues in
 * trap_m.  Install with: la t0, trap_m_vec; ori t0, t0, 1; csrw mtvec, t0.
 */
    .align 8
trap_m_vec:
    .option push
    .option norvc
    .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    jal     zero, trap_m_vec_\i
    .endr
    .option pop
    .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
trap_m_vec_\i:
    li      EXPECT, \i
    sd      EXPECT, H_VEC(gp)
    j       trap_m
    .endr

/*
 * S-mode trap handler: records scause/sepc/stval/sstatus into H_S*, then
 * ecalls to M (ecall from S must not be delegated), whose handler resumes
 * at RESUME in M-mode.
 */
    .align 2
trap_s:
    csrr    EXPECT, scause
    sd      EXPECT, H_SCAUSE(gp)
    csrr    EXPECT, sepc
    sd      EXPECT, H_SEPC(gp)
    csrr    EXPECT, stval
    sd      EXPECT, H_STVAL(gp)
    csrr    EXPECT, sstatus
    sd      EXPECT, H_SSTATUS(gp)
    ld      EXPECT, H_SCOUNT(gp)
    addi    EXPECT, EXPECT, 1
    sd      EXPECT, H_SCOUNT(gp)
    ecall
1:  j       1b

    .align 8
trap_s_vec:
    .option push
    .option norvc
    .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    jal     zero, trap_s_vec_\i
    .endr
    .option pop
    .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
trap_s_vec_\i:
    li      EXPECT, \i
    sd      EXPECT, H_SVEC(gp)
    j       trap_s
    .endr

/* ------------------------------- reporting ----------------------------- */
unexpected_trap:
    la      a0, msg_unexpected
    call    puts
    csrr    a0, mcause
    call    puthex
    la      a0, msg_epc
    call    puts
    csrr    a0, mepc
    call    puthex
    la      a0, msg_tval
    call    puts
    csrr    a0, mtval
    call    puthex
    la      a0, msg_nl
    call    puts
    j       fail

fail_notrap:
    la      a0, msg_notrap
    call    puts
    j       fail

/* TCAUSE = value obtained, EXPECT = value expected */
fail_check:
    mv      s0, TCAUSE
    mv      s1, EXPECT
    la      a0, msg_got
    call    puts
    mv      a0, s0
    call    puthex
    la      a0, msg_expected
    call    puts
    mv      a0, s1
    call    puthex
    la      a0, msg_nl
    call    puts
    j       fail

fail:
    la      t0, trap_park
    csrw    mtvec, t0
    la      a0, msg_fail
    call    puts
    mv      a0, TESTNUM
    call    putdec
    la      a0, msg_nl
    call    puts
    mv      a0, TESTNUM
    bnez    a0, report_exit
    li      a0, 0xfff               /* never report "pass" from fail */
    j       report_exit

pass:
    la      t0, trap_park
    csrw    mtvec, t0
    la      a0, msg_pass
    call    puts
    li      a0, 0
    j       report_exit

    .align 2
trap_park:
    j       trap_park

/* report_exit(a0 = code): does not return */
report_exit:
#ifdef REPORT_FINISHER
    li      t0, FINISHER_BASE
    beqz    a0, 1f
    slli    a0, a0, 16
    li      t1, 0x3333
    or      a0, a0, t1
    sw      a0, 0(t0)
    j       2f
1:  li      t1, 0x5555
    sw      t1, 0(t0)
2:  j       2b
#else
    slli    a0, a0, 1
    ori     a0, a0, 1
    la      t0, tohost
1:  sd      a0, 0(t0)
    j       1b
#endif

/* putc(a0): clobbers t0-t2 */
putc:
#ifdef REPORT_FINISHER
    li      t0, UART0_BASE
1:  lbu     t1, 5(t0)
    andi    t1, t1, 0x20
    beqz    t1, 1b
    sb      a0, 0(t0)
    ret
#else
    li      t0, 0x0101000000000000
    andi    t1, a0, 0xff
    or      t0, t0, t1
    la      t1, tohost
    sd      t0, 0(t1)
    la      t1, fromhost
    li      t2, 1000000             /* bounded: a host without a console */
1:  ld      t0, 0(t1)
    bnez    t0, 2f
    addi    t2, t2, -1
    bnez    t2, 1b
2:  sd      zero, 0(t1)
    ret
#endif

/* puts(a0 = NUL-terminated string): clobbers a0, t0-t3 */
puts:
    mv      t3, ra
    mv      a1, a0
1:  lbu     a0, 0(a1)
    beqz    a0, 2f
    call    putc
    addi    a1, a1, 1
    j       1b
2:  mv      ra, t3
    ret

/* puthex(a0): "0x" + 16 hex digits; clobbers a0-a3, t0-t4 */
puthex:
    mv      t4, ra
    mv      a2, a0
    li      a0, '0'
    call    putc
    li      a0, 'x'
    call    putc
    li      a3, 60
1:  srl     a0, a2, a3
    andi    a0, a0, 15
    li      t0, 10
    blt     a0, t0, 2f
    addi    a0, a0, 'a' - '0' - 10
2:  addi    a0, a0, '0'
    call    putc
    addi    a3, a3, -4
    bgez    a3, 1b
    mv      ra, t4
    ret

/* putdec(a0 >= 0): clobbers a0-a3, t0-t4 */
putdec:
    mv      t4, ra
    la      a1, harness_numbuf + 24
    sb      zero, 0(a1)
    li      a3, 10
1:  remu    a2, a0, a3
    divu    a0, a0, a3
    addi    a2, a2, '0'
    addi    a1, a1, -1
    sb      a2, 0(a1)
    bnez    a0, 1b
    mv      a0, a1
    call    puts
    mv      ra, t4
    ret

    .section .rodata.harness, "a", @progbits
msg_pass:       .asciz "PASS\n"
msg_fail:       .asciz "FAIL: check "
msg_got:        .asciz "got "
msg_expected:   .asciz " expected "
msg_notrap:     .asciz "expected a trap, none taken\n"
msg_unexpected: .asciz "unexpected trap mcause="
msg_epc:        .asciz " mepc="
msg_tval:       .asciz " mtval="
msg_nl:         .asciz "\n"

#ifndef REPORT_FINISHER
    .section .tohost, "aw", @progbits
    .align 6
    .globl tohost
    .type tohost, @object
    .size tohost, 8
tohost:   .dword 0
    .globl fromhost
    .type fromhost, @object
    .size fromhost, 8
fromhost: .dword 0
#endif

    .data
    .align 6
harness_data:
    .space H_SIZE
harness_numbuf:
    .space 32

    .bss
    .align 4
harness_stack:
    .space 4096
harness_stack_top:
    .text
.endm

#endif /* REWIND_ISA_COMMON_H */
