// zicsr.S - Zicsr instructions and the basic machine CSRs.
//
// csrrw/csrrs/csrrc and the immediate forms (old value returned, new value
// written, rs1 = x0 / uimm = 0 means "no write"), writes to read-only CSRs
// trap as illegal instructions (also csrrs with a non-x0 register holding
// zero, and csrrwi with uimm 0), mtval = the instruction bits, unknown
// CSRs trap, privilege checks (M CSRs from S, S CSRs from U), misa =
// RV64 IMAFDCSU, mhartid = 0, mscratch/sscratch round trips, mepc bit 0,
// mstatus.SXL/UXL = 64-bit, minstret/mcycle writable, instret exact
// counting, cycle/instret/time readable from M, mcounteren/scounteren gate
// S/U access.
#include "common.h"

// mtval for an illegal instruction: the faulting instruction's bits.
#define ILL_TEST(n, enc) \
    TEST_TRAP(n, CAUSE_ILLEGAL, .option push; .option norvc; 1: .word enc; .option pop) ; \
    CHECK_EPC(1b); CHECK_TVAL(enc)

TEST_BEGIN

// --------------------------------------------------------- basic forms on mscratch
TEST_CASE(1, a0, 0x0123456789abcdef, li a1, 0x0123456789abcdef; csrw mscratch, a1; csrr a0, mscratch)
TEST_CASE(2, a0, 0x0123456789abcdef, li a1, -1; csrrw a0, mscratch, a1)
TEST_CASE(3, a0, 0xffffffffffffffff, csrr a0, mscratch)
TEST_CASE(4, a0, 0xffffffffffffffff, li a1, 0xff; csrrc a0, mscratch, a1)
TEST_CASE(5, a0, 0xffffffffffffff00, csrr a0, mscratch)
TEST_CASE(6, a0, 0xffffffffffffff00, li a1, 0x0f; csrrs a0, mscratch, a1)
TEST_CASE(7, a0, 0xffffffffffffff0f, csrr a0, mscratch)
TEST_CASE(8, a0, 0xffffffffffffff0f, csrrwi a0, mscratch, 31)
TEST_CASE(9, a0, 31, csrr a0, mscratch)
TEST_CASE(10, a0, 31, csrrci a0, mscratch, 0x15)
TEST_CASE(11, a0, 0x0a, csrr a0, mscratch)
TEST_CASE(12, a0, 0x0a, csrrsi a0, mscratch, 0x11)
TEST_CASE(13, a0, 0x1b, csrr a0, mscratch)
TEST_CASE(14, a0, 0x1b, csrrsi a0, mscratch, 0; csrrci zero, mscratch, 0)
TEST_CASE(15, a0, 0x1b, csrr a0, mscratch)
TEST_CASE(16, a0, 0x1b, li a0, 0x55; csrrw a0, mscratch, a0)          // rd == rs1
TEST_CASE(17, a0, 0x55, csrr a0, mscratch)
TEST_CASE(18, a0, 0x55, csrrs a0, mscratch, zero; csrrc zero, mscratch, zero)
TEST_CASE(19, a0, 0x55, csrr a0, mscratch)
TEST_CASE(20, a0, 0, csrrwi zero, mscratch, 0; csrr a0, mscratch)
TEST_CASE(21, a0, 0x8000000000000000, li a1, 0x8000000000000000; csrs mscratch, a1; csrr a0, mscratch)
TEST_CASE(22, a0, 0, li a1, 0x8000000000000000; csrc mscratch, a1; csrr a0, mscratch)
TEST_CASE(23, a0, 0x00000000000000ff, li a1, 0xff; csrw sscratch, a1; csrr a0, sscratch)

// --------------------------------------------------------- machine info
TEST_CASE(24, a0, 0x800000000014112d, csrr a0, misa)
TEST_CASE(25, a0, 0, csrr a0, mhartid)
SET_TEST(26)                                // readable, any value
    csrr  a0, mvendorid
    csrr  a0, marchid
    csrr  a0, mimpid
    CHECK(zero, 0)
SET_TEST(27)                                // SXL = UXL = 2 (64-bit), read-only
    csrr  a0, mstatus
    srli  a0, a0, 32
    andi  a0, a0, 0xf
    CHECK(a0, 0xa)
SET_TEST(28)
    li    a1, MSTATUS_SXL | MSTATUS_UXL
    csrc  mstatus, a1
    csrr  a0, mstatus
    srli  a0, a0, 32
    andi  a0, a0, 0xf
    CHECK(a0, 0xa)
#ifndef QUIRK_EPC_BIT0_KEPT
TEST_CASE(29, a0, 0x0000000080001234, li a1, 0x80001235; csrw mepc, a1; csrr a0, mepc)
TEST_CASE(30, a0, 0x0000000080001234, li a1, 0x80001235; csrw sepc, a1; csrr a0, sepc)
#endif
TEST_CASE(31, a0, 0x0000000080000101, li a1, 0x80000101; csrw mtvec, a1; csrr a0, mtvec; la a1, trap_m; csrw mtvec, a1)
TEST_CASE(32, a0, 0x0000000080000100, li a1, 0x80000100; csrw stvec, a1; csrr a0, stvec)

// --------------------------------------------------------- read-only CSRs
ILL_TEST(33, 0xf1401073)                    // csrrw zero, mhartid, zero
ILL_TEST(34, 0xf1101073)                    // csrrw zero, mvendorid, zero
#ifndef QUIRK_CSRRS_ZERO_NO_TRAP
SET_TEST(35)                                // csrrs with a non-x0 rs1 holding 0 writes
    li    t1, 0
    EXPECT_TRAP(1f)
    csrrs a0, mhartid, t1
    j     fail_notrap
1:  CHECK(TCAUSE, CAUSE_ILLEGAL)
#endif
SET_TEST(36)                                // csrrsi/csrrci with uimm 0 do not write
    csrrsi a0, mhartid, 0
    csrrci a0, misa, 0
    csrrs  a0, mimpid, zero
    CHECK(zero, 0)
ILL_TEST(37, 0xf1405573)                    // csrrwi a0, mhartid, 0
ILL_TEST(38, 0xf140e573)                    // csrrsi a0, mhartid, 1
ILL_TEST(39, 0xc0001073)                    // csrrw zero, cycle, zero
ILL_TEST(40, 0xc0217073)                    // csrrci zero, instret, 2
// unimplemented CSRs (hypervisor, not present)
ILL_TEST(41, 0x60002573)                    // csrrs a0, hstatus, zero
ILL_TEST(42, 0x20002573)                    // csrrs a0, vsstatus, zero

// --------------------------------------------------------- privilege checks
TEST_S_TRAP(43, CAUSE_ILLEGAL, csrr a0, mscratch)
TEST_S_TRAP(44, CAUSE_ILLEGAL, csrw mstatus, zero)
TEST_S_TRAP(45, CAUSE_ILLEGAL, csrr a0, mhartid)
TEST_S(46, a0, 0x1234, li a1, 0x1234; csrw sscratch, a1; csrr a0, sscratch)
TEST_CASE(47, a0, 0x1234, csrr a0, sscratch)
TEST_U_TRAP(48, CAUSE_ILLEGAL, csrr a0, sscratch)
TEST_U_TRAP(49, CAUSE_ILLEGAL, csrr a0, sstatus)
SET_TEST(50)                                // mtval of a CSR access from U
    RUN_U(.option push; .option norvc; 1: csrrs a0, mscratch, zero; .option pop)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_EPC(1b)
    CHECK_TVAL(0x34002573)

// --------------------------------------------------------- counters
SET_TEST(51)                                // readable from M
    rdcycle   a0
    rdinstret a1
    csrr      a2, mcycle
    csrr      a3, minstret
#ifndef QUIRK_NO_RDTIME
    rdtime    a4
#endif
    CHECK(zero, 0)
SET_TEST(52)                                // instret advances
    rdinstret a1
    nop
    nop
    nop
    rdinstret a2
    bgeu  a1, a2, fail
    CHECK(zero, 0)
SET_TEST(53)                                // minstret is writable
    li    t0, 0x100000000000
    .option push
    .option norvc
    csrw  minstret, t0
    csrr  a0, minstret
    csrr  a1, minstret
    rdinstret a2
    .option pop
#ifdef QUIRK_COUNTERS_NOT_EXACT
    sub   a0, a0, t0
    srli  a0, a0, 32
    CHECK(a0, 0)
    bltu  a1, t0, fail
    bltu  a2, a1, fail
#else
    // A CSR write to minstret replaces that instruction's own increment;
    // each read sees the count before the reading instruction retires.
    CHECK(a0, 0x100000000000)
    CHECK(a1, 0x100000000001)
    CHECK(a2, 0x100000000002)
#endif
SET_TEST(54)                                // mcycle is writable
    li    t0, 0x200000000000
    csrw  mcycle, t0
    csrr  a0, mcycle
    rdcycle a1
    sub   a0, a0, t0
    srli  a0, a0, 32
    CHECK(a0, 0)
    bltu  a1, t0, fail
#ifndef QUIRK_NO_RDTIME
SET_TEST(55)                                // time does not go backwards
    rdtime a1
    rdtime a2
    bltu  a2, a1, fail
#endif

// counter enables: cycle (bit 0), time (bit 1), instret (bit 2)
    csrw  mcounteren, zero
    csrw  scounteren, zero
TEST_S_TRAP(56, CAUSE_ILLEGAL, rdcycle a0)
TEST_S_TRAP(57, CAUSE_ILLEGAL, rdinstret a0)
TEST_U_TRAP(58, CAUSE_ILLEGAL, rdcycle a0)
SET_TEST(59)
    li    t0, 5
    csrw  mcounteren, t0
    RUN_S(rdcycle a0; rdinstret a0)
    CHECK(TCAUSE, CAUSE_ECALL_S)
TEST_U_TRAP(60, CAUSE_ILLEGAL, rdinstret a0)     // scounteren still 0
SET_TEST(61)
    li    t0, 4
    csrw  scounteren, t0
    RUN_U(rdinstret a0)
    CHECK(TCAUSE, CAUSE_ECALL_U)
TEST_U_TRAP(62, CAUSE_ILLEGAL, rdcycle a0)       // scounteren.CY = 0
SET_TEST(63)
    li    t0, 1
    csrw  scounteren, t0
    li    t0, 4
    csrw  mcounteren, t0                    // mcounteren.CY = 0 wins
    RUN_U(rdcycle a0)
    CHECK(TCAUSE, CAUSE_ILLEGAL)
TEST_S_TRAP(64, CAUSE_ILLEGAL, csrr a0, mcycle)  // machine counters are M-only
#ifndef QUIRK_NO_RDTIME
SET_TEST(65)
    li    t0, 2
    csrw  mcounteren, t0
    csrw  scounteren, t0
    RUN_U(rdtime a0)
    CHECK(TCAUSE, CAUSE_ECALL_U)
#endif
    csrw  mcounteren, zero
    csrw  scounteren, zero

TEST_END
