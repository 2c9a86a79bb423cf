// rv64a.S - RV64A atomics.
//
// lr/sc: success (rd = 0, memory written), lr.w sign extension, an SC
// always invalidates the reservation (so a second SC fails with rd != 0
// and leaves memory alone), SC after an intervening SC of another value.
// Every AMO*.W and AMO*.D: rd = old value (sign-extended for .W), memory =
// op(old, rs2) with .W using only the low 32 bits of rs2 and touching only
// its own word; aq/rl forms; rd = x0; rd == rs2.
// Misaligned LR/SC/AMO trap (no Zam): LR -> load address misaligned (4),
// SC/AMO -> store/AMO address misaligned (6), mtval = the address.
// (QEMU 7.2 reports 4 for SC/AMO too: CAUSE_AMO_MISALIGNED, see common.h.)
#include "common.h"

#define SENT 0x5a5a5a5a

// .W AMO on a word whose neighbour holds SENT; exp_mem is zero-extended.
#define AMOW(n, op, init, src, exp_rd, exp_mem) \
    SET_TEST(n); la a1, amo_area; li t0, init; sw t0, 0(a1); li t0, SENT; sw t0, 4(a1); \
    li a2, src; op a0, a2, (a1); CHECK(a0, exp_rd); lwu a3, 0(a1); CHECK(a3, exp_mem); \
    lwu a3, 4(a1); CHECK(a3, SENT)

#define AMOD(n, op, init, src, exp_rd, exp_mem) \
    SET_TEST(n); la a1, amo_area; li t0, init; sd t0, 0(a1); li t0, SENT; sd t0, 8(a1); \
    li a2, src; op a0, a2, (a1); CHECK(a0, exp_rd); ld a3, 0(a1); CHECK(a3, exp_mem); \
    ld a3, 8(a1); CHECK(a3, SENT)

TEST_BEGIN

// ----------------------------------------------------------- lr/sc word
SET_TEST(1)
    la    a1, amo_area
    li    t0, 0x80000001
    sw    t0, 0(a1)
    lr.w  a0, (a1)
    CHECK(a0, 0xffffffff80000001)
SET_TEST(2)
    li    a2, 0x1234567876543210    // sc.w stores the low word
    sc.w  a3, a2, (a1)
    CHECK(a3, 0)
SET_TEST(3)
    lwu   a0, 0(a1)
    CHECK(a0, 0x76543210)
SET_TEST(4)                         // reservation consumed: must fail
    li    a2, 0x11111111
    sc.w  a3, a2, (a1)
    beqz  a3, fail
    lwu   a0, 0(a1)
    CHECK(a0, 0x76543210)
SET_TEST(5)                         // a failed SC also leaves no reservation
    sc.w  a3, a2, (a1)
    beqz  a3, fail
    lwu   a0, 0(a1)
    CHECK(a0, 0x76543210)
SET_TEST(6)                         // lr/sc increment loop
    li    t1, 0
1:  lr.w.aq a0, (a1)
    addi  a0, a0, 1
    sc.w.rl a3, a0, (a1)
    addi  t1, t1, 1
    li    t0, 100
    bgeu  t1, t0, fail              // an SC that keeps failing is a bug
    bnez  a3, 1b
    lwu   a0, 0(a1)
    CHECK(a0, 0x76543211)

// ----------------------------------------------------------- lr/sc dword
SET_TEST(7)
    la    a1, amo_area
    li    t0, 0x8000000000000001
    sd    t0, 0(a1)
    lr.d  a0, (a1)
    CHECK(a0, 0x8000000000000001)
SET_TEST(8)
    li    a2, 0x0123456789abcdef
    sc.d  a3, a2, (a1)
    CHECK(a3, 0)
SET_TEST(9)
    ld    a0, 0(a1)
    CHECK(a0, 0x0123456789abcdef)
SET_TEST(10)
    li    a2, -1
    sc.d  a3, a2, (a1)
    beqz  a3, fail
    ld    a0, 0(a1)
    CHECK(a0, 0x0123456789abcdef)
SET_TEST(11)                        // lr.d.aqrl / sc.d.aqrl forms
    li    t1, 0
1:  lr.d.aqrl a0, (a1)
    addi  a0, a0, 1
    sc.d.aqrl a3, a0, (a1)
    addi  t1, t1, 1
    li    t0, 100
    bgeu  t1, t0, fail
    bnez  a3, 1b
    ld    a0, 0(a1)
    CHECK(a0, 0x0123456789abcdf0)

// ----------------------------------------------------------- AMO .W
AMOW(12, amoswap.w,  0x80000000, 0x1234567811223344, 0xffffffff80000000, 0x11223344)
AMOW(13, amoadd.w,   0x80000000, 1, 0xffffffff80000000, 0x80000001)
AMOW(14, amoadd.w,   0xffffffff, 0x0000000500000002, 0xffffffffffffffff, 0x00000001)
AMOW(15, amoxor.w,   0x0f0f0f0f, 0xffff0000, 0x000000000f0f0f0f, 0xf0f00f0f)
AMOW(16, amoand.w,   0xff00ff00, 0x0ff00ff0, 0xffffffffff00ff00, 0x0f000f00)
AMOW(17, amoor.w,    0x80000000, 0x00000001, 0xffffffff80000000, 0x80000001)
AMOW(18, amomin.w,   0x80000000, 0xffffffff00000001, 0xffffffff80000000, 0x80000000)
AMOW(19, amomin.w,   0x00000005, 0x00000000fffffffe, 0x0000000000000005, 0xfffffffe)
AMOW(20, amomax.w,   0x80000000, 0xffffffff00000001, 0xffffffff80000000, 0x00000001)
AMOW(21, amomax.w,   0xfffffffe, 0x00000000ffffffff, 0xfffffffffffffffe, 0xffffffff)
AMOW(22, amominu.w,  0x80000000, 0x0000000100000001, 0xffffffff80000000, 0x00000001)
AMOW(23, amominu.w,  0x00000003, 0xffffffff, 0x0000000000000003, 0x00000003)
AMOW(24, amomaxu.w,  0x80000000, 0x0000000100000001, 0xffffffff80000000, 0x80000000)
AMOW(25, amomaxu.w,  0x7fffffff, 0x80000000, 0x000000007fffffff, 0x80000000)
AMOW(26, amoadd.w.aq,   0x7fffffff, 1, 0x000000007fffffff, 0x80000000)
AMOW(27, amoswap.w.rl,  0, 0xffffffff, 0, 0xffffffff)
AMOW(28, amoor.w.aqrl,  0x00000010, 0x00000001, 0x0000000000000010, 0x00000011)

// ----------------------------------------------------------- AMO .D
AMOD(29, amoswap.d,  0x8000000000000000, 0x1122334455667788, 0x8000000000000000, 0x1122334455667788)
AMOD(30, amoadd.d,   0xffffffffffffffff, 2, 0xffffffffffffffff, 1)
AMOD(31, amoadd.d,   0x00000000ffffffff, 1, 0x00000000ffffffff, 0x0000000100000000)
AMOD(32, amoxor.d,   0x0f0f0f0f0f0f0f0f, 0xffffffff00000000, 0x0f0f0f0f0f0f0f0f, 0xf0f0f0f00f0f0f0f)
AMOD(33, amoand.d,   0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0x0f000f000f000f00)
AMOD(34, amoor.d,    0x8000000000000000, 1, 0x8000000000000000, 0x8000000000000001)
AMOD(35, amomin.d,   0x8000000000000000, 1, 0x8000000000000000, 0x8000000000000000)
AMOD(36, amomin.d,   0x0000000080000000, 0x00000000ffffffff, 0x0000000080000000, 0x0000000080000000)
AMOD(37, amomax.d,   0x8000000000000000, 1, 0x8000000000000000, 1)
AMOD(38, amomax.d,   -2, -1, -2, -1)
AMOD(39, amominu.d,  0x8000000000000000, 1, 0x8000000000000000, 1)
AMOD(40, amominu.d,  -1, -2, -1, -2)
AMOD(41, amomaxu.d,  0x8000000000000000, 1, 0x8000000000000000, 0x8000000000000000)
AMOD(42, amomaxu.d,  0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000)
AMOD(43, amoadd.d.aqrl, 40, 2, 40, 42)

// ----------------------------------------------------------- rd = x0, rd == rs2
SET_TEST(44)
    la    a1, amo_area
    li    t0, 100
    sd    t0, 0(a1)
    li    a2, 5
    amoadd.d zero, a2, (a1)
    ld    a0, 0(a1)
    CHECK(a0, 105)
SET_TEST(45)
    li    a2, 7
    amoswap.d a2, a2, (a1)
    CHECK(a2, 105)
    ld    a0, 0(a1)
    CHECK(a0, 7)
SET_TEST(46)                        // AMO .W in the upper word of a dword
    li    t0, 0x00000001ffffffff
    sd    t0, 0(a1)
    addi  a3, a1, 4
    li    a2, 1
    amoadd.w a0, a2, (a3)
    CHECK(a0, 1)
    ld    a0, 0(a1)
    CHECK(a0, 0x00000002ffffffff)

// ----------------------------------------------------------- misaligned
TEST_TRAP(47, CAUSE_AMO_MISALIGNED, la a1, amo_area + 2; amoadd.w a0, a2, (a1))
    CHECK_TVAL_LABEL(amo_area + 2)
TEST_TRAP(48, CAUSE_AMO_MISALIGNED, la a1, amo_area + 4; amoswap.d a0, a2, (a1))
    CHECK_TVAL_LABEL(amo_area + 4)
TEST_TRAP(49, CAUSE_MISALIGNED_LOAD, la a1, amo_area + 1; lr.w a0, (a1))
    CHECK_TVAL_LABEL(amo_area + 1)
#ifndef QUIRK_SC_MISALIGNED_NO_TRAP
TEST_TRAP(50, CAUSE_AMO_MISALIGNED, la a1, amo_area + 6; sc.d a0, a2, (a1))
    CHECK_TVAL_LABEL(amo_area + 6)
#endif
TEST_TRAP(51, CAUSE_MISALIGNED_LOAD, la a1, amo_area + 4; lr.d a0, (a1))
    CHECK_TVAL_LABEL(amo_area + 4)

TEST_END

    .data
    .align 4
amo_area:
    .dword 0, 0, 0, 0
