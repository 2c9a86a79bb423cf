// priv_irq.S - machine timer and software interrupts through the CLINT.
//
// Runs on the QEMU-virt style board (reports through the test finisher at
// 0x100000 and the UART; built with -DREPORT_FINISHER).  CLINT: msip at
// 0x2000000, mtimecmp at 0x2004000, mtime at 0x200bff8.
//
// Covered: mtime advances, the time CSR agrees with mtime, 32-bit halves of
// mtimecmp, mip.MTIP follows mtime >= mtimecmp, a timer interrupt arrives
// (mcause 0x8000000000000007) no earlier than mtimecmp, msip drives
// mip.MSIP and the software interrupt (mcause ...03), MSI has priority over
// MTI, M interrupts are taken in S/U-mode even with mstatus.MIE = 0,
// vectored mtvec slots 3 and 7, mcounteren.TM gates rdtime in S/U.
#include "common.h"

#define SPIN_LIMIT 20000000

// Spin until the M trap handler has run (RESUME cleared) or give up.
#define WAIT_FOR_TRAP li t3, SPIN_LIMIT; 1: beqz RESUME, 2f; addi t3, t3, -1; bnez t3, 1b; j fail_notrap; 2:

#define MTIMECMP_NEVER li t0, CLINT_MTIMECMP; li t1, -1; sd t1, 0(t0)
#define MSIP_SET(v) li t0, CLINT_MSIP; li t1, v; sw t1, 0(t0)

TEST_BEGIN
    MTIMECMP_NEVER
    MSIP_SET(0)

// ------------------------------------------------------------ mtime / time
SET_TEST(1)                             // mtime advances
    li     t0, CLINT_MTIME
    ld     a0, 0(t0)
    li     t3, SPIN_LIMIT
1:  ld     a1, 0(t0)
    bne    a1, a0, 2f
    addi   t3, t3, -1
    bnez   t3, 1b
    j      fail
2:  bltu   a1, a0, fail
SET_TEST(2)                             // time CSR is mtime
    li     t0, CLINT_MTIME
    ld     a0, 0(t0)
    rdtime a1
    ld     a2, 0(t0)
    bltu   a1, a0, fail
    bltu   a2, a1, fail
    CHECK(zero, 0)
SET_TEST(3)                             // mtimecmp: 64-bit register, 32-bit halves
    li     t0, CLINT_MTIMECMP
    li     t1, 0x7123456789abcdef
    sd     t1, 0(t0)
    lwu    a0, 0(t0)
    CHECK(a0, 0x89abcdef)
    lwu    a0, 4(t0)
    CHECK(a0, 0x71234567)
    li     t1, 0x0fffffff
    sw     t1, 4(t0)
    ld     a0, 0(t0)
    CHECK(a0, 0x0fffffff89abcdef)
    MTIMECMP_NEVER

// ------------------------------------------------------------ MTIP level
SET_TEST(4)
    csrr   a0, mip
    andi   a0, a0, MIP_MTIP
    CHECK(a0, 0)
SET_TEST(5)                             // mtimecmp = 0 <= mtime: pending
    li     t0, CLINT_MTIMECMP
    sd     zero, 0(t0)
    li     t3, SPIN_LIMIT
1:  csrr   a0, mip
    andi   a0, a0, MIP_MTIP
    bnez   a0, 2f
    addi   t3, t3, -1
    bnez   t3, 1b
2:  CHECK(a0, MIP_MTIP)
SET_TEST(6)                             // mtimecmp in the future: not pending
    MTIMECMP_NEVER
    li     t3, SPIN_LIMIT
1:  csrr   a0, mip
    andi   a0, a0, MIP_MTIP
    beqz   a0, 2f
    addi   t3, t3, -1
    bnez   t3, 1b
2:  CHECK(a0, 0)
SET_TEST(7)                             // mip.MTIP is read-only
    li     t0, MIP_MTIP
    csrs   mip, t0
    csrr   a0, mip
    andi   a0, a0, MIP_MTIP
    CHECK(a0, 0)

// ------------------------------------------------------------ timer interrupt
SET_TEST(8)
    li     t0, MIP_MTIP
    csrw   mie, t0
    li     t0, CLINT_MTIME
    ld     s2, 0(t0)
    addi   s2, s2, 1000
    li     t0, CLINT_MTIMECMP
    sd     s2, 0(t0)
    EXPECT_TRAP(3f)
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0
    WAIT_FOR_TRAP
3:  CHECK(TCAUSE, INTR_BIT | IRQ_MTI)
    li     t0, CLINT_MTIME              // not before its time
    ld     a0, 0(t0)
    bltu   a0, s2, fail
    ld     a0, H_STATUS(gp)
    li     t0, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE
    and    a0, a0, t0
    CHECK(a0, MSTATUS_MPP | MSTATUS_MPIE)
SET_TEST(9)                             // rewriting mtimecmp clears MTIP
    MTIMECMP_NEVER
    csrr   a0, mip
    andi   a0, a0, MIP_MTIP
    CHECK(a0, 0)
    csrw   mie, zero

// ------------------------------------------------------------ software interrupt
SET_TEST(10)
    MSIP_SET(1)
    li     t0, CLINT_MSIP
    lw     a0, 0(t0)
    CHECK(a0, 1)
    csrr   a0, mip
    andi   a0, a0, MIP_MSIP
    CHECK(a0, MIP_MSIP)
SET_TEST(11)                            // mip.MSIP is read-only
    li     t0, MIP_MSIP
    csrc   mip, t0
    csrr   a0, mip
    andi   a0, a0, MIP_MSIP
    CHECK(a0, MIP_MSIP)
SET_TEST(12)
    li     t0, MIP_MSIP
    csrw   mie, t0
    EXPECT_TRAP(3f)
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0
1:  nop
    j      fail_notrap
3:  CHECK(TCAUSE, INTR_BIT | IRQ_MSI)
    CHECK_EPC(1b)
SET_TEST(13)
    MSIP_SET(0)
    csrr   a0, mip
    andi   a0, a0, MIP_MSIP
    CHECK(a0, 0)
    csrw   mie, zero

// ------------------------------------------------------------ priority
SET_TEST(14)                            // MSI before MTI
    MSIP_SET(1)
    li     t0, CLINT_MTIMECMP
    sd     zero, 0(t0)
    li     t0, MIP_MSIP | MIP_MTIP
    csrw   mie, t0
    li     t3, SPIN_LIMIT               // wait until both are pending
1:  csrr   a0, mip
    andi   a0, a0, MIP_MSIP | MIP_MTIP
    li     t1, MIP_MSIP | MIP_MTIP
    beq    a0, t1, 2f
    addi   t3, t3, -1
    bnez   t3, 1b
    j      fail
2:  EXPECT_TRAP(3f)
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0
    nop
    j      fail_notrap
3:  CHECK(TCAUSE, INTR_BIT | IRQ_MSI)
SET_TEST(15)                            // then MTI
    MSIP_SET(0)
    EXPECT_TRAP(3f)
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0
    nop
    j      fail_notrap
3:  CHECK(TCAUSE, INTR_BIT | IRQ_MTI)
    MTIMECMP_NEVER
    csrw   mie, zero

// ------------------------------------------------------------ from S / U with MIE = 0
SET_TEST(16)
    MSIP_SET(1)
    li     t0, MIP_MSIP
    csrw   mie, t0
    li     t0, MSTATUS_MPIE             // so mret leaves MIE = 0
    csrc   mstatus, t0
    RUN_S(1: nop)
    CHECK(TCAUSE, INTR_BIT | IRQ_MSI)
    CHECK_EPC(1b)
    ld     a0, H_STATUS(gp)
    li     t0, MSTATUS_MPP | MSTATUS_MPIE
    and    a0, a0, t0
    CHECK(a0, MSTATUS_MPP_S)
SET_TEST(17)
    RUN_U(1: nop)
    CHECK(TCAUSE, INTR_BIT | IRQ_MSI)
    CHECK_EPC(1b)
    ld     a0, H_STATUS(gp)
    li     t0, MSTATUS_MPP
    and    a0, a0, t0
    CHECK(a0, 0)
SET_TEST(18)                            // cannot be delegated: mideleg.MSIP is 0
    li     t0, MIP_MSIP | MIP_MTIP
    csrs   mideleg, t0
    csrr   a0, mideleg
    andi   a0, a0, MIP_MSIP | MIP_MTIP
    CHECK(a0, 0)
    RUN_S(nop)
    CHECK(TCAUSE, INTR_BIT | IRQ_MSI)
    csrw   mideleg, zero
    MSIP_SET(0)
    csrw   mie, zero

// ------------------------------------------------------------ vectored mtvec
SET_TEST(19)
    la     t0, trap_m_vec
    ori    t0, t0, 1
    csrw   mtvec, t0
    li     t0, MIP_MSIP
    csrw   mie, t0
    MSIP_SET(1)
    EXPECT_TRAP(3f)
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0
    nop
    j      fail_notrap
3:  CHECK(TCAUSE, INTR_BIT | IRQ_MSI)
    ld     a0, H_VEC(gp)
    CHECK(a0, 3)
    MSIP_SET(0)
SET_TEST(20)
    li     t0, MIP_MTIP
    csrw   mie, t0
    li     t0, CLINT_MTIMECMP
    sd     zero, 0(t0)
    EXPECT_TRAP(3f)
    li     t0, MSTATUS_MIE
    csrs   mstatus, t0
    WAIT_FOR_TRAP
3:  CHECK(TCAUSE, INTR_BIT | IRQ_MTI)
    ld     a0, H_VEC(gp)
    CHECK(a0, 7)
    MTIMECMP_NEVER
    csrw   mie, zero
    la     t0, trap_m
    csrw   mtvec, t0

// ------------------------------------------------------------ counteren.TM
SET_TEST(21)
    csrw   mcounteren, zero
    RUN_S(rdtime a0)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
SET_TEST(22)
    li     t0, 2
    csrw   mcounteren, t0
    csrw   scounteren, zero
    RUN_S(rdtime a0)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    RUN_U(rdtime a0)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
SET_TEST(23)
    li     t0, 2
    csrw   scounteren, t0
    RUN_U(rdtime a1)
    CHECK(TCAUSE, CAUSE_ECALL_U)
    li     t0, CLINT_MTIME
    ld     a2, 0(t0)
    bltu   a2, a1, fail
    csrw   mcounteren, zero
    csrw   scounteren, zero

TEST_END
