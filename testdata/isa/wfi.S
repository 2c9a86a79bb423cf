// wfi.S - WFI behaviour (QEMU-virt style board: CLINT + test finisher).
//
// WFI with an interrupt that is pending and enabled in mie but globally
// disabled (mstatus.MIE = 0) returns immediately and takes no trap; WFI
// with a timer that fires later resumes (at the latest) when it becomes
// pending; with MIE = 1 the interrupt is taken after the WFI (mepc = next
// instruction); TW does not affect M-mode; a timer interrupt arriving
// while S-mode waits in WFI traps to M; an S interrupt enabled in sie but
// masked by sstatus.SIE = 0 lets WFI return in S-mode; with mstatus.TW = 1 WFI in
// S-mode is an illegal instruction (Rewind's bounded time limit is 0), and
// WFI in U-mode is always illegal (S-mode exists).
#include "common.h"

#define MSIP_SET(v) li t0, CLINT_MSIP; li t1, v; sw t1, 0(t0)
#define MTIMECMP_NEVER li t0, CLINT_MTIMECMP; li t1, -1; sd t1, 0(t0)

TEST_BEGIN
    MTIMECMP_NEVER
    MSIP_SET(0)

SET_TEST(1)                             // pending + enabled in mie, MIE = 0
    MSIP_SET(1)
    li     t0, MIP_MSIP
    csrw   mie, t0
    ld     s2, H_COUNT(gp)
    wfi
    wfi
    ld     a0, H_COUNT(gp)
    CHECK_REG(a0, s2)                   // no trap taken
    csrr   a0, mip
    andi   a0, a0, MIP_MSIP
    CHECK(a0, MIP_MSIP)
SET_TEST(2)                             // TW has no effect in M-mode
    li     t0, MSTATUS_TW
    csrs   mstatus, t0
    wfi
    csrc   mstatus, t0
    ld     a0, H_COUNT(gp)
    CHECK_REG(a0, s2)
SET_TEST(3)                             // MIE = 1: taken after the wfi
    EXPECT_TRAP(3f)
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0                  // (taken right here already ...)
1:  wfi
2:  j      fail_notrap
3:  CHECK(TCAUSE, INTR_BIT | IRQ_MSI)
    CHECK_EPC(1b)                       // ... before the wfi executes
SET_TEST(4)                             // interrupt arriving during the wfi
    MSIP_SET(0)
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0                  // nothing pending: MIE stays 1
    EXPECT_TRAP(3f)
    li     t0, MIP_MTIP
    csrw   mie, t0
    li     t0, CLINT_MTIME
    ld     s2, 0(t0)
    addi   s2, s2, 500
    li     t0, CLINT_MTIMECMP
    sd     s2, 0(t0)
1:  wfi
2:  j      1b                           // spurious wakeups are allowed
3:  CHECK(TCAUSE, INTR_BIT | IRQ_MTI)
    ld     a0, H_EPC(gp)                // mepc: after a wfi (or the j)
    la     t0, 2b
    beq    a0, t0, 4f
    la     t0, 1b
    beq    a0, t0, 4f
    j      fail
4:  li     t0, CLINT_MTIME
    ld     a0, 0(t0)
    bltu   a0, s2, fail
    MTIMECMP_NEVER
SET_TEST(5)                             // timer, MIE = 0: wfi resumes, no trap
    ld     s3, H_COUNT(gp)
    li     t0, CLINT_MTIME
    ld     s2, 0(t0)
    addi   s2, s2, 500
    li     t0, CLINT_MTIMECMP
    sd     s2, 0(t0)
    li     t3, 100000
1:  wfi
    csrr   a0, mip
    andi   a0, a0, MIP_MTIP
    bnez   a0, 2f
    addi   t3, t3, -1
    bnez   t3, 1b
    j      fail
2:  ld     a0, H_COUNT(gp)
    CHECK_REG(a0, s3)
    MTIMECMP_NEVER
    csrw   mie, zero
SET_TEST(6)                             // in S: the timer fires during the wfi
    li     t0, MIP_MTIP
    csrw   mie, t0
    li     t0, CLINT_MTIME
    ld     s2, 0(t0)
    addi   s2, s2, 2000
    li     t0, CLINT_MTIMECMP
    sd     s2, 0(t0)
    RUN_S(1: wfi; 2: j 1b)
    CHECK(TCAUSE, INTR_BIT | IRQ_MTI)
    ld     a0, H_EPC(gp)                // resumes after a wfi (or at it)
    la     t1, 1b
    beq    a0, t1, 3f
    la     t1, 2b
    bne    a0, t1, fail
3:  li     t0, CLINT_MTIME
    ld     a0, 0(t0)
    bltu   a0, s2, fail
    MTIMECMP_NEVER
    csrw   mie, zero
SET_TEST(8)                             // TW = 1: illegal in S
    li     t0, MSTATUS_TW
    csrs   mstatus, t0
    RUN_S(.option push; .option norvc; 1: wfi; .option pop)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_EPC(1b)
    CHECK_TVAL(0x10500073)
    li     t0, MSTATUS_TW
    csrc   mstatus, t0
SET_TEST(9)                             // U-mode: always illegal
    RUN_U(.option push; .option norvc; 1: wfi; .option pop)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_EPC(1b)
    CHECK_TVAL(0x10500073)
SET_TEST(10)                            // TW = 0, S-mode, an S interrupt pending
    li     t0, MIP_SSIP                 // and delegated but SIE = 0: wfi returns
    csrw   mideleg, t0
    csrw   mie, t0
    csrs   mip, t0
    RUN_S(wfi; li a0, 10)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 10)
    csrw   mip, zero
    csrw   mie, zero
    csrw   mideleg, zero

TEST_END
