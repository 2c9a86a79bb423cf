// trigger.S - the debug trigger CSRs (tselect, tdata1-2, tinfo) as
// software enumerating triggers sees them.
//
// Only what the debug spec guarantees for any hart that has these CSRs is
// checked, so that a hart with real triggers (QEMU 7.2 has two mcontrol
// triggers) and one with none (Rewind) both pass: M-mode can access them;
// tselect keeps 0; tinfo's reserved bits are 0 and its info field is not
// empty; tdata1.type = 0 ("no trigger here") exactly when tinfo.info = 1,
// and then every other bit of tdata1 is 0; an out-of-range tselect write
// either does not stick or selects a trigger of type 0; an execute trigger
// programmed where none exists never fires (one that exists may fire, as
// a breakpoint exception at the instruction). S and U cannot access them,
// and M cannot access the debug-mode CSRs (dcsr, dpc, dscratch0/1).
// tdata3 is not touched: a hart whose triggers do not use it may make it
// illegal.
#include "common.h"

#define INFO_MASK     0xffff
#define TYPE_SHIFT    60
// mcontrol (type 2): action 0 (breakpoint exception), match 0 (equal),
// m = 1, execute = 1.
#define MCONTROL_EXEC_M ((2 << TYPE_SHIFT) | (1 << 6) | (1 << 2))
#define MCONTROL_OFF    (2 << TYPE_SHIFT)

TEST_BEGIN

// --------------------------------------------------------- M-mode access
TEST_CASE(1, a0, 0, csrw tselect, zero; csrr a0, tselect)
SET_TEST(2)                                 // tinfo: reserved bits 0, info != 0
    csrr  s0, tinfo
    srli  a0, s0, 32
    CHECK(a0, 0)
    srli  a0, s0, 16
    andi  a0, a0, 0xff
    CHECK(a0, 0)
    li    a1, INFO_MASK
    and   s1, s0, a1                        // s1 = info
    beqz  s1, 1f
    li    a0, 1
1:  CHECK(a0, 1)
SET_TEST(3)                                 // tdata1.type = 0 <=> info = 1
    csrr  s2, tdata1
    srli  s3, s2, TYPE_SHIFT                // s3 = type
    li    a0, 0
    beqz  s3, 1f
    li    a0, 1
1:  li    a1, 0
    addi  a2, s1, -1
    beqz  a2, 2f
    li    a1, 1
2:  CHECK_REG(a0, a1)
SET_TEST(4)                                 // no trigger: tdata1 all zero
    bnez  s3, 1f
    CHECK(s2, 0)
1:
SET_TEST(5)                                 // a trigger: info lists its type
    beqz  s3, 1f
    srl   a0, s1, s3
    andi  a0, a0, 1
    CHECK(a0, 1)
1:
TEST_CASE(6, a0, 0, csrr a0, tdata2; li a0, 0)  // readable
TEST_CASE(7, a0, 0, csrr a0, tselect)       // reads did not move tselect

// --------------------------------------------------------- out-of-range index
SET_TEST(8)                                 // tselect = -1 does not stick, or has type 0
    li    a1, -1
    csrw  tselect, a1
    csrr  a0, tselect
    bne   a0, a1, 1f
    csrr  a2, tdata1
    srli  a2, a2, TYPE_SHIFT
    CHECK(a2, 0)
1:  csrw  tselect, zero
    csrr  a0, tselect
    CHECK(a0, 0)

// --------------------------------------------------------- an execute trigger
SET_TEST(9)                                 // program trigger 0 on trig_at
    csrw  tdata1, zero
    la    a0, trig_at
    csrw  tdata2, a0
    li    a0, MCONTROL_EXEC_M
    csrw  tdata1, a0
    csrr  s3, tdata1
    srli  s3, s3, TYPE_SHIFT                // 0: there is no trigger
    la    RESUME, 1f                        // a breakpoint is handled below
    li    TCAUSE, -1
    .option push
    .option norvc
trig_at:
    addi  a0, zero, 9
    .option pop
    li    RESUME, 0
    CHECK(a0, 9)
    CHECK(TCAUSE, -1)
    j     2f
1:  CHECK(TCAUSE, CAUSE_BREAKPOINT)         // fired: it must exist
    CHECK_EPC(trig_at)
    li    a0, 1
    beqz  s3, 3f
    li    a0, 0
3:  CHECK(a0, 0)
2:  li    a0, MCONTROL_OFF
    csrw  tdata1, a0
    csrw  tdata1, zero
    csrw  tselect, zero
SET_TEST(10)                                // writes left no trigger where there was none
    csrr  a0, tdata1
    srli  a0, a0, TYPE_SHIFT
    bnez  s3, 1f
    CHECK(a0, 0)
1:

// --------------------------------------------------------- S, U and debug mode
TEST_S_TRAP(11, CAUSE_ILLEGAL, csrr a0, tselect)
SET_TEST(12)
    ld    t6, H_TVAL(gp)
    CHECK(t6, 0x7a002573)                   // csrr a0, tselect
TEST_S_TRAP(13, CAUSE_ILLEGAL, csrw tselect, zero)
TEST_S_TRAP(14, CAUSE_ILLEGAL, csrr a0, tdata1)
TEST_S_TRAP(15, CAUSE_ILLEGAL, csrr a0, tdata2)
TEST_S_TRAP(16, CAUSE_ILLEGAL, csrr a0, tinfo)
TEST_U_TRAP(17, CAUSE_ILLEGAL, csrr a0, tselect)
TEST_U_TRAP(18, CAUSE_ILLEGAL, csrw tdata1, zero)
TEST_U_TRAP(19, CAUSE_ILLEGAL, csrr a0, tinfo)
TEST_TRAP(20, CAUSE_ILLEGAL, csrr a0, dcsr)
TEST_TRAP(21, CAUSE_ILLEGAL, csrr a0, dpc)
TEST_TRAP(22, CAUSE_ILLEGAL, csrr a0, dscratch0)
TEST_TRAP(23, CAUSE_ILLEGAL, csrr a0, dscratch1)

TEST_END
