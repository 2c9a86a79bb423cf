// priv_trap.S - traps, privilege transitions and delegation (no CLINT).
//
// ecall from M/S/U (mcause 11/9/8, mepc, mtval 0), ebreak (3), illegal
// instructions with mtval = the instruction bits (32- and 16-bit, mret/
// sret/sfence.vma from U), misaligned loads and stores (emulated: correct
// data, incl. FP and across a 4 KiB boundary, from M and U), mret/sret
// effects on MIE/MPIE/MPP, SIE/SPIE/SPP and MPRV, trap entry state, TSR,
// TVM, sstatus/sie/sip as views of mstatus/mie/mip, mideleg/medeleg,
// delegated exceptions to S-mode (scause/sepc/stval/SPP), never delegating
// traps taken in M, interrupts raised through the software-writable
// mip.SSIP/STIP bits: delegated to S with stvec direct and vectored,
// priority SSI > STI, SIE masking in S but not in U, M-mode vectored mtvec,
// global enables.
#include "common.h"

// mstatus = FS Initial, everything else 0 (MPP = U)
#define RESET_MSTATUS li t0, MSTATUS_FS_INITIAL; csrw mstatus, t0

// H_STATUS & mask == exp
#define CHECK_STATUS(mask, exp) ld t6, H_STATUS(gp); li t5, mask; and t6, t6, t5; CHECK(t6, exp)
#define CHECK_SSTATUS(mask, exp) ld t6, H_SSTATUS(gp); li t5, mask; and t6, t6, t5; CHECK(t6, exp)
#define CHECK_H(off, exp) ld t6, off(gp); CHECK(t6, exp)
#define CHECK_H_LABEL(off, label) ld t6, off(gp); la t5, label; CHECK_REG(t6, t5)

TEST_BEGIN

// =================================================================== ecall
TEST_TRAP(1, CAUSE_ECALL_M, 1: ecall)
    CHECK_EPC(1b)
    CHECK_TVAL(0)
    CHECK_STATUS(MSTATUS_MPP, MSTATUS_MPP)
SET_TEST(2)
    RUN_S(1: ecall)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_EPC(1b)
    CHECK_TVAL(0)
    CHECK_STATUS(MSTATUS_MPP, MSTATUS_MPP_S)
SET_TEST(3)
    RUN_U(1: ecall)
    CHECK(TCAUSE, CAUSE_ECALL_U)
    CHECK_EPC(1b)
    CHECK_TVAL(0)
    CHECK_STATUS(MSTATUS_MPP, 0)

// =================================================================== ebreak
TEST_TRAP(4, CAUSE_BREAKPOINT, .option push; .option norvc; 1: ebreak; .option pop)
    CHECK_EPC(1b)
SET_TEST(5)
    RUN_U(1: ebreak)
    CHECK(TCAUSE, CAUSE_BREAKPOINT)
    CHECK_EPC(1b)
    CHECK_STATUS(MSTATUS_MPP, 0)

// =================================================================== illegal instructions
TEST_TRAP(6, CAUSE_ILLEGAL, 1: .word 0x0000006b)       // reserved major opcode
    CHECK_EPC(1b)
    CHECK_TVAL(0x0000006b)
TEST_TRAP(7, CAUSE_ILLEGAL, 1: .word 0xffe0006b)
    CHECK_TVAL(0xffe0006b)
TEST_TRAP(8, CAUSE_ILLEGAL, 1: .hword 0x0000)          // all-zero 16-bit: illegal
    CHECK_EPC(1b)
    CHECK_TVAL(0)
SET_TEST(9)
    RUN_U(.option push; .option norvc; 1: mret; .option pop)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_EPC(1b)
    CHECK_TVAL(0x30200073)
SET_TEST(10)
    RUN_U(.option push; .option norvc; 1: sret; .option pop)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_TVAL(0x10200073)
SET_TEST(11)
    RUN_S(.option push; .option norvc; 1: mret; .option pop)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_TVAL(0x30200073)
SET_TEST(12)
    RUN_U(.option push; .option norvc; 1: sfence.vma; .option pop)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_TVAL(0x12000073)
SET_TEST(13)                                // an illegal insn at a 2-mod-4 address
    EXPECT_TRAP(2f)
    c.nop
    .option push
    .option norvc
1:  .word 0x8000006b
    .option pop
    j      fail_notrap
2:  CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_EPC(1b)
    CHECK_TVAL(0x8000006b)

// =================================================================== misaligned loads/stores
#define MIS_LOAD(n, op, off, exp) TEST_CASE(n, a0, exp, la a1, mdata; op a0, off(a1))
MIS_LOAD(14, lh,  1, 0x0000000000003322)
MIS_LOAD(15, lh,  7, 0xffffffffffff9988)
MIS_LOAD(16, lhu, 7, 0x0000000000009988)
MIS_LOAD(17, lw,  1, 0x0000000055443322)
MIS_LOAD(18, lw,  5, 0xffffffff99887766)
MIS_LOAD(19, lwu, 5, 0x0000000099887766)
MIS_LOAD(20, lw,  2, 0x0000000066554433)
MIS_LOAD(21, ld,  1, 0x9988776655443322)
MIS_LOAD(22, ld,  3, 0xbbaa998877665544)
MIS_LOAD(23, ld,  7, 0xffeeddccbbaa9988)
MIS_LOAD(24, ld,  4, 0xccbbaa9988776655)
SET_TEST(25)
    la     a1, mstore
    li     t0, 0x0123456789abcdef
    sd     t0, 3(a1)
    ld     a0, 0(a1)
    CHECK(a0, 0x6789abcdef000000)
    ld     a0, 8(a1)
    CHECK(a0, 0x0000000000012345)
SET_TEST(26)
    li     t0, 0xdeadbeef
    sw     t0, 7(a1)
    ld     a0, 0(a1)
    CHECK(a0, 0xef89abcdef000000)
    ld     a0, 8(a1)
    CHECK(a0, 0x0000000000deadbe)
SET_TEST(27)
    li     t0, 0x5aa5
    sh     t0, 15(a1)
    ld     a0, 8(a1)
    CHECK(a0, 0xa500000000deadbe)
    ld     a0, 16(a1)
    CHECK(a0, 0x000000000000005a)
SET_TEST(28)                                // FP loads/stores
    la     a1, mdata
    flw    fa0, 1(a1)
    fmv.x.w a0, fa0
    CHECK(a0, 0x55443322)
    fld    fa1, 3(a1)
    fmv.x.d a0, fa1
    CHECK(a0, 0xbbaa998877665544)
    la     a2, mstore
    sd     zero, 0(a2)
    sd     zero, 8(a2)
    fsd    fa1, 1(a2)
    ld     a0, 0(a2)
    CHECK(a0, 0xaa99887766554400)
    ld     a0, 8(a2)
    CHECK(a0, 0x00000000000000bb)
    fsw    fa0, 13(a2)
    ld     a0, 8(a2)
    CHECK(a0, 0x44332200000000bb)
    ld     a0, 16(a2)
    CHECK(a0, 0x0000000000000055)
SET_TEST(29)                                // across a 4 KiB boundary
    la     a1, pg_end
    ld     a0, -3(a1)
    CHECK(a0, 0x0c0b0a0908070605)
    lw     a0, -2(a1)
    CHECK(a0, 0x09080706)
    lhu    a0, -1(a1)
    CHECK(a0, 0x0807)
SET_TEST(30)
    li     t0, 0x1122334455667788
    sd     t0, -5(a1)
    ld     a0, -8(a1)
    CHECK(a0, 0x4455667788020100)
SET_TEST(31)
    ld     a0, 0(a1)
    CHECK(a0, 0x0f0e0d0c0b112233)
SET_TEST(32)                                // from U-mode too
    la     a1, mdata
    RUN_U(ld a0, 1(a1); lw a2, 5(a1))
    CHECK(TCAUSE, CAUSE_ECALL_U)
    CHECK(a0, 0x9988776655443322)
    CHECK(a2, 0xffffffff99887766)

// =================================================================== mret / sret
SET_TEST(33)                                // mret to M: MIE <- MPIE, MPIE <- 1, MPP <- U
    RESET_MSTATUS
    li     t0, MSTATUS_MPIE | MSTATUS_MPP
    csrs   mstatus, t0
    la     t0, 1f
    csrw   mepc, t0
    mret
1:  csrr   a0, mstatus
    li     t0, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP
    and    a0, a0, t0
    CHECK(a0, MSTATUS_MIE | MSTATUS_MPIE)
SET_TEST(34)                                // mret with MPIE = 0
    RESET_MSTATUS
    li     t0, MSTATUS_MIE | MSTATUS_MPP
    csrs   mstatus, t0
    la     t0, 1f
    csrw   mepc, t0
    mret
1:  csrr   a0, mstatus
    li     t0, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP
    and    a0, a0, t0
    CHECK(a0, MSTATUS_MPIE)
SET_TEST(35)                                // trap entry: MPIE <- MIE (1 in S), MIE <- 0
    RESET_MSTATUS
    li     t0, MSTATUS_MPIE
    csrs   mstatus, t0
    RUN_S(nop)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_STATUS(MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP, MSTATUS_MPIE | MSTATUS_MPP_S)
#ifndef QUIRK_XRET_KEEPS_MPRV
SET_TEST(36)                                // mret to S clears MPRV
    RESET_MSTATUS
    li     t0, MSTATUS_MPRV
    csrs   mstatus, t0
    RUN_S(nop)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_STATUS(MSTATUS_MPRV, 0)
#endif
SET_TEST(37)                                // mret to M keeps MPRV
    RESET_MSTATUS
    li     t0, MSTATUS_MPRV | MSTATUS_MPP
    csrs   mstatus, t0
    la     t0, 1f
    csrw   mepc, t0
    mret
1:  csrr   a0, mstatus
    li     t0, MSTATUS_MPRV
    and    a0, a0, t0
    CHECK(a0, MSTATUS_MPRV)
    RESET_MSTATUS
SET_TEST(38)                                // sret S -> U: SIE <- SPIE, SPIE <- 1, SPP <- U
    RESET_MSTATUS
    RUN_S(li t0, MSTATUS_SPP | MSTATUS_SIE; csrc sstatus, t0; li t0, MSTATUS_SPIE; csrs sstatus, t0; \
          la t0, 1f; csrw sepc, t0; sret; 1: nop)
    CHECK(TCAUSE, CAUSE_ECALL_U)
    CHECK_STATUS(MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_MPP, MSTATUS_SIE | MSTATUS_SPIE)
SET_TEST(39)                                // sret S -> S with SPIE = 0
    RESET_MSTATUS
    RUN_S(li t0, MSTATUS_SPP | MSTATUS_SIE; csrs sstatus, t0; li t0, MSTATUS_SPIE; csrc sstatus, t0; \
          la t0, 1f; csrw sepc, t0; sret; 1: nop)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_STATUS(MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP, MSTATUS_SPIE)
SET_TEST(40)                                // sret in M returns to SPP (U here)
    RESET_MSTATUS
    la     t0, 1f
    csrw   sepc, t0
    EXPECT_TRAP(2f)
    sret
1:  ecall
    j      fail
2:  CHECK(TCAUSE, CAUSE_ECALL_U)
SET_TEST(41)                                // sret with TSR from S: illegal
    RESET_MSTATUS
    li     t0, MSTATUS_TSR
    csrs   mstatus, t0
    RUN_S(la t0, 1f; csrw sepc, t0; .option push; .option norvc; 2: sret; .option pop; 1: nop)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_EPC(2b)
    CHECK_TVAL(0x10200073)
SET_TEST(42)                                // TVM: satp and sfence.vma from S are illegal
    RUN_S(nop)                              // (TSR alone does not affect these)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    li     t0, MSTATUS_TVM
    csrs   mstatus, t0
    RUN_S(csrr a0, satp)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_TVAL(0x18002573)
SET_TEST(43)
    RUN_S(sfence.vma)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
SET_TEST(44)
    RESET_MSTATUS
    RUN_S(csrr a0, satp; sfence.vma)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 0)

// =================================================================== status views
SET_TEST(45)                                // sstatus shows only the S fields
    li     t0, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR | MSTATUS_FS_DIRTY
    csrw   mstatus, t0
    csrr   a0, sstatus
    CHECK(a0, 0x80000002000c6122)
SET_TEST(46)                                // writing sstatus keeps the M fields
    csrw   sstatus, zero
    csrr   a0, mstatus
    CHECK(a0, 0x0000000a00701888)
SET_TEST(47)
    li     t0, -1
    csrw   sstatus, t0
    csrr   a0, mstatus
    li     t0, MSTATUS_MPRV                 // MPRV/M fields are not reachable
    and    t0, a0, t0
    CHECK(t0, 0)
    csrr   a0, sstatus
    li     t0, 0x80000002000c6122
    and    a0, a0, t0
    CHECK(a0, 0x80000002000c6122)
    RESET_MSTATUS
SET_TEST(48)                                // mideleg: only S-level interrupts
    li     t0, -1
    csrw   mideleg, t0
    csrr   a0, mideleg
#ifdef QUIRK_MIDELEG_EXTRA_BITS
    andi   a0, a0, 0x222
#endif
    CHECK(a0, MIP_SSIP | MIP_STIP | MIP_SEIP)
SET_TEST(49)                                // sie = mie & mideleg
    csrw   mideleg, zero
    li     t0, -1
    csrw   sie, t0
    csrr   a0, sie
    CHECK(a0, 0)
    csrr   a0, mie
    CHECK(a0, 0)
SET_TEST(50)
    li     t0, MIP_SSIP | MIP_STIP | MIP_SEIP
    csrw   mideleg, t0
    li     t0, -1
    csrw   sie, t0
    csrr   a0, sie
    CHECK(a0, MIP_SSIP | MIP_STIP | MIP_SEIP)
    csrr   a0, mie
    CHECK(a0, MIP_SSIP | MIP_STIP | MIP_SEIP)
SET_TEST(51)                                // mie: the M bits too (no M intr pending)
    li     t0, MIP_MSIP | MIP_MTIP | MIP_MEIP
    csrs   mie, t0
    csrr   a0, mie
    CHECK(a0, 0xaaa)
    csrr   a0, sie
    CHECK(a0, 0x222)
    csrw   mie, zero
SET_TEST(52)                                // sip.SSIP: a view, writable from S
    li     t0, MIP_SSIP
    csrw   mideleg, t0
    csrs   mip, t0
    csrr   a0, sip
    CHECK(a0, MIP_SSIP)
    RUN_S(csrc sip, t0; csrr a0, sip)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 0)
    csrr   a0, mip
    andi   a0, a0, 0x222                    // (ignore M bits: CLINT state)
    CHECK(a0, 0)
SET_TEST(53)                                // sip hides non-delegated bits
    csrw   mideleg, zero
    li     t0, MIP_SSIP | MIP_STIP
    csrs   mip, t0
    csrr   a0, sip
    CHECK(a0, 0)
    csrr   a0, mip
    andi   a0, a0, 0x222
    CHECK(a0, MIP_SSIP | MIP_STIP)
    csrw   mip, zero
SET_TEST(54)
    li     t0, (1 << CAUSE_ECALL_U) | (1 << CAUSE_ILLEGAL) | (1 << CAUSE_BREAKPOINT)
    csrw   medeleg, t0
    csrr   a0, medeleg
    CHECK(a0, (1 << CAUSE_ECALL_U) | (1 << CAUSE_ILLEGAL) | (1 << CAUSE_BREAKPOINT))

// =================================================================== delegated exceptions
    la     t0, trap_s
    csrw   stvec, t0
SET_TEST(55)                                // U ecall -> S
    sd     zero, H_SCOUNT(gp)
    RESET_MSTATUS
    RUN_U(1: ecall)
    CHECK(TCAUSE, CAUSE_ECALL_S)            // trap_s ecalls to M
    CHECK_H(H_SCOUNT, 1)
    CHECK_H(H_SCAUSE, CAUSE_ECALL_U)
    CHECK_H_LABEL(H_SEPC, 1b)
    CHECK_H(H_STVAL, 0)
    CHECK_SSTATUS(MSTATUS_SPP, 0)
SET_TEST(56)                                // illegal insn in S -> S, stval = bits
    RESET_MSTATUS
    li     t0, MSTATUS_SIE
    csrs   mstatus, t0
    RUN_S(.option push; .option norvc; 1: .word 0x0000006b; .option pop)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_H(H_SCAUSE, CAUSE_ILLEGAL)
    CHECK_H_LABEL(H_SEPC, 1b)
    CHECK_H(H_STVAL, 0x0000006b)
    CHECK_SSTATUS(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPP | MSTATUS_SPIE)
SET_TEST(57)                                // ebreak in U -> S
    RESET_MSTATUS
    RUN_U(1: ebreak)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_H(H_SCAUSE, CAUSE_BREAKPOINT)
    CHECK_H_LABEL(H_SEPC, 1b)
SET_TEST(58)                                // traps taken in M stay in M
    ld     s2, H_SCOUNT(gp)
    EXPECT_TRAP(1f)
    .word  0x0000006b
    j      fail_notrap
1:  CHECK(TCAUSE, CAUSE_ILLEGAL)
    ld     a0, H_SCOUNT(gp)
    CHECK_REG(a0, s2)
SET_TEST(59)                                // S ecall is not delegated: to M
    RUN_S(ecall)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    ld     a0, H_SCOUNT(gp)
    CHECK_REG(a0, s2)
SET_TEST(60)                                // not delegated: illegal in U goes to M
    li     t0, 1 << CAUSE_ILLEGAL
    csrc   medeleg, t0
    RUN_U(.word 0x0000006b)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    csrw   medeleg, zero

// =================================================================== delegated interrupts
// S software / timer interrupts raised by M through mip.SSIP / mip.STIP
    li     t0, MIP_SSIP | MIP_STIP
    csrw   mideleg, t0
    csrw   mie, t0
SET_TEST(61)                                // direct stvec, taken on entry to S
    RESET_MSTATUS
    li     t0, MSTATUS_SIE
    csrs   mstatus, t0
    li     t0, MIP_SSIP
    csrs   mip, t0
    RUN_S(1: nop; nop)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_H(H_SCAUSE, INTR_BIT | IRQ_SSI)
    CHECK_H_LABEL(H_SEPC, 1b)
    CHECK_H(H_STVAL, 0)
    CHECK_SSTATUS(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPP | MSTATUS_SPIE)
    csrw   mip, zero
    la     t0, trap_s_vec
    ori    t0, t0, 1
    csrw   stvec, t0
SET_TEST(62)                                // vectored: SSI -> slot 1
    RESET_MSTATUS
    li     t0, MSTATUS_SIE
    csrs   mstatus, t0
    li     t0, MIP_SSIP
    csrs   mip, t0
    sd     zero, H_SVEC(gp)
    RUN_S(nop)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_H(H_SCAUSE, INTR_BIT | IRQ_SSI)
    CHECK_H(H_SVEC, 1)
    csrw   mip, zero
SET_TEST(63)                                // vectored: STI -> slot 5
    RESET_MSTATUS
    li     t0, MSTATUS_SIE
    csrs   mstatus, t0
    li     t0, MIP_STIP
    csrs   mip, t0
    RUN_S(nop)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_H(H_SCAUSE, INTR_BIT | IRQ_STI)
    CHECK_H(H_SVEC, 5)
    csrw   mip, zero
SET_TEST(64)                                // both pending: SSI first
    RESET_MSTATUS
    li     t0, MSTATUS_SIE
    csrs   mstatus, t0
    li     t0, MIP_SSIP | MIP_STIP
    csrs   mip, t0
    RUN_S(nop)
    CHECK_H(H_SCAUSE, INTR_BIT | IRQ_SSI)
    CHECK_H(H_SVEC, 1)
    csrw   mip, zero
SET_TEST(65)                                // vectored stvec: exceptions use the base
    li     t0, 1 << CAUSE_ECALL_U
    csrw   medeleg, t0
    li     t0, 7
    sd     t0, H_SVEC(gp)
    RESET_MSTATUS
    RUN_U(ecall)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_H(H_SCAUSE, CAUSE_ECALL_U)
    CHECK_H(H_SVEC, 0)
    csrw   medeleg, zero
SET_TEST(66)                                // SIE = 0 masks S interrupts in S ...
    RESET_MSTATUS
    li     t0, MIP_SSIP
    csrs   mip, t0
    li     a0, 0
    RUN_S(li a0, 1; li t0, MSTATUS_SIE; csrs sstatus, t0; 1: li a0, 2)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 1)                            // taken right after the csrs
    CHECK_H(H_SCAUSE, INTR_BIT | IRQ_SSI)
    CHECK_H_LABEL(H_SEPC, 1b)
    csrw   mip, zero
SET_TEST(67)                                // ... but not in U
    RESET_MSTATUS
    li     t0, MIP_SSIP
    csrs   mip, t0
    RUN_U(1: nop)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK_H(H_SCAUSE, INTR_BIT | IRQ_SSI)
    CHECK_H_LABEL(H_SEPC, 1b)
    CHECK_SSTATUS(MSTATUS_SPP, 0)
    csrw   mip, zero
SET_TEST(68)                                // delegated interrupts never trap in M
    RESET_MSTATUS
    li     t0, MSTATUS_MIE | MSTATUS_SIE
    csrs   mstatus, t0
    li     t0, MIP_SSIP
    csrs   mip, t0
    nop
    nop
    csrw   mip, zero
    RESET_MSTATUS
    CHECK(zero, 0)

// =================================================================== M-level handling
    csrw   mideleg, zero
    li     t0, MIP_SSIP
    csrw   mie, t0
SET_TEST(69)                                // non-delegated SSI in S: to M although MIE = 0
    RESET_MSTATUS
    li     t0, MIP_SSIP
    csrs   mip, t0
    RUN_S(1: nop)
    CHECK(TCAUSE, INTR_BIT | IRQ_SSI)
    CHECK_EPC(1b)
    CHECK_STATUS(MSTATUS_MPP | MSTATUS_MPIE, MSTATUS_MPP_S)
    csrw   mip, zero
SET_TEST(70)                                // in M: masked by MIE = 0 ...
    RESET_MSTATUS
    li     t0, MIP_SSIP
    csrs   mip, t0
    nop
    nop
    EXPECT_TRAP(2f)
    li     t0, MSTATUS_MIE                  // ... taken once MIE = 1
    csrs   mstatus, t0
1:  nop
    j      fail_notrap
2:  CHECK(TCAUSE, INTR_BIT | IRQ_SSI)
    CHECK_EPC(1b)
    CHECK_STATUS(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP | MSTATUS_MPIE)
    csrw   mip, zero
SET_TEST(71)                                // vectored mtvec: slot 1
    la     t0, trap_m_vec
    ori    t0, t0, 1
    csrw   mtvec, t0
    sd     zero, H_VEC(gp)
    li     t0, MIP_SSIP
    csrs   mip, t0
    EXPECT_TRAP(2f)
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0
    nop
    j      fail_notrap
2:  CHECK(TCAUSE, INTR_BIT | IRQ_SSI)
    CHECK_H(H_VEC, 1)
    csrw   mip, zero
SET_TEST(72)                                // vectored mtvec: exceptions at the base
    li     t0, 9
    sd     t0, H_VEC(gp)
    EXPECT_TRAP(2f)
    ecall
    j      fail_notrap
2:  CHECK(TCAUSE, CAUSE_ECALL_M)
    CHECK_H(H_VEC, 0)
    la     t0, trap_m
    csrw   mtvec, t0
SET_TEST(73)                                // mie bit clear: pending but not taken
    csrw   mie, zero
    li     t0, MIP_SSIP
    csrs   mip, t0
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0
    nop
    RUN_S(nop)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    csrw   mip, zero
    RESET_MSTATUS

TEST_END

    .data
    .align 4
mdata:
    .byte 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88
    .byte 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00
mstore:
    .dword 0, 0, 0, 0

    .balign 4096
    .skip 4096 - 8
    .byte 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
pg_end:
    .byte 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
