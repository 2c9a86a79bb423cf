// rv64i.S - RV64I base integer instructions.
//
// ALU register/immediate forms, shifts (incl. shift-amount masking), the
// 32-bit *W forms with sign extension, lui/auipc, all branches (signed vs
// unsigned), jal/jalr (link value, bit 0 cleared, rd == rs1), loads with
// sign/zero extension, partial stores, writes to x0 being ignored, fences,
// and fence.i after rewriting code in memory (also code hot enough to be
// compiled).
#include "common.h"

// Branch check: result a0 = 2 if `op x, y` branches, 1 if it falls through.
#define BR_TEST(n, op, x, y, taken) \
    SET_TEST(n); li a1, x; li a2, y; li a0, 0; op a1, a2, 1f; li a0, 1; j 2f; \
    1: li a0, 2; 2: CHECK(a0, taken + 1)
#define TAKEN 1
#define NOT_TAKEN 0

TEST_BEGIN

// ---------------------------------------------------------- add / sub / addi
TEST_CASE(1, a0, 0x0000000000000003, li a1, 1; li a2, 2; add a0, a1, a2)
TEST_CASE(2, a0, 0x8000000000000000, li a1, 0x7fffffffffffffff; li a2, 1; add a0, a1, a2)
TEST_CASE(3, a0, 0x0000000000000000, li a1, -1; li a2, 1; add a0, a1, a2)
TEST_CASE(4, a0, 0xffffffffffffffff, li a1, 0; li a2, 1; sub a0, a1, a2)
TEST_CASE(5, a0, 0x7fffffffffffffff, li a1, 0x8000000000000000; li a2, 1; sub a0, a1, a2)
TEST_CASE(6, a0, 0xfffffffffffff800, addi a0, zero, -2048)
TEST_CASE(7, a0, 0x00000000000007ff, addi a0, zero, 2047)
TEST_CASE(8, a0, 0x00000000000007fe, li a1, -1; addi a0, a1, 2047)
TEST_CASE(9, a0, 0x7ffffffffffff800, li a1, 0x8000000000000000; addi a0, a1, -2048)
// rd == rs1 == rs2
TEST_CASE(10, a0, 0x2468acf13579bde0, li a0, 0x123456789abcdef0; add a0, a0, a0)
TEST_CASE(11, a0, 0, li a0, 0x123456789abcdef0; sub a0, a0, a0)

// ---------------------------------------------------------- word add/sub
TEST_CASE(12, a0, 0xffffffff80000000, li a1, 0x7fffffff; li a2, 1; addw a0, a1, a2)
TEST_CASE(13, a0, 0x0000000000000008, li a1, 0xffffffff00000005; li a2, 0x0000000100000003; addw a0, a1, a2)
TEST_CASE(14, a0, 0xffffffff80000000, li a1, 0; li a2, 0x80000000; subw a0, a1, a2)
TEST_CASE(15, a0, 0x000000007fffffff, li a1, 0xffffffff80000000; li a2, 1; subw a0, a1, a2)
TEST_CASE(16, a0, 0xffffffff80000000, li a1, 0x7fffffff; addiw a0, a1, 1)
TEST_CASE(17, a0, 0xffffffff9abcdef0, li a1, 0x123456789abcdef0; addiw a0, a1, 0)
TEST_CASE(18, a0, 0x0000000012345678, li a1, 0xabcdef0012345678; addiw a0, a1, 0)
TEST_CASE(19, a0, 0x000000007ffff800, li a1, 0xffffffff80000000; addiw a0, a1, -2048)
TEST_CASE(20, a0, 0xffffffffffffffff, li a1, 0x00000000ffffffff; addiw a0, a1, 0)

// ---------------------------------------------------------- logic
TEST_CASE(21, a0, 0x0000000012345000, li a1, 0x00000000123456ff; li a2, 0x00000000fffff000; and a0, a1, a2)
TEST_CASE(22, a0, 0xff00ff00ff00ffff, li a1, 0xff00ff00ff00ff00; li a2, 0x00000000000000ff; or a0, a1, a2)
TEST_CASE(23, a0, 0xf0f0f0f00f0f0f0f, li a1, 0xffffffff00000000; li a2, 0x0f0f0f0f0f0f0f0f; xor a0, a1, a2)
TEST_CASE(24, a0, 0x123456789abcdef0, li a1, 0x123456789abcdef0; andi a0, a1, -1)
TEST_CASE(25, a0, 0x00000000000006f0, li a1, 0x123456789abcdef0; andi a0, a1, 0x7ff)
TEST_CASE(26, a0, 0x123456789abcde00, li a1, 0x123456789abcdef0; andi a0, a1, -256)
TEST_CASE(27, a0, 0xfffffffffffff800, ori a0, zero, -2048)
TEST_CASE(28, a0, 0x00000000000007ff, li a1, 0x0000000000000700; ori a0, a1, 0xff)
TEST_CASE(29, a0, 0xedcba9876543210f, li a1, 0x123456789abcdef0; xori a0, a1, -1)
TEST_CASE(30, a0, 0x123456789abcd90f, li a1, 0x123456789abcdef0; xori a0, a1, 0x7ff)

// ---------------------------------------------------------- set-less-than
TEST_CASE(31, a0, 1, li a1, -1; li a2, 1; slt a0, a1, a2)
TEST_CASE(32, a0, 0, li a1, -1; li a2, 1; sltu a0, a1, a2)
TEST_CASE(33, a0, 0, li a1, 5; li a2, 5; slt a0, a1, a2)
TEST_CASE(34, a0, 1, li a1, 0x8000000000000000; li a2, 0x7fffffffffffffff; slt a0, a1, a2)
TEST_CASE(35, a0, 0, li a1, 0x8000000000000000; li a2, 0x7fffffffffffffff; sltu a0, a1, a2)
TEST_CASE(36, a0, 0, li a1, 0; slti a0, a1, -1)
TEST_CASE(37, a0, 1, li a1, 0; sltiu a0, a1, -1)
TEST_CASE(38, a0, 1, li a1, -2048; slti a0, a1, -2047)
TEST_CASE(39, a0, 1, li a1, 0; sltiu a0, a1, 1)
TEST_CASE(40, a0, 0, li a1, 7; sltiu a0, a1, 1)
TEST_CASE(41, a0, 0, li a1, -1; sltiu a0, a1, -1)
TEST_CASE(42, a0, 1, li a1, 0xfffffffffffff7ff; sltiu a0, a1, -2048)
TEST_CASE(43, a0, 1, li a1, 0; li a2, 3; sltu a0, zero, a2)

// ---------------------------------------------------------- 64-bit shifts
TEST_CASE(44, a0, 0x8000000000000000, li a1, 1; li a2, 63; sll a0, a1, a2)
TEST_CASE(45, a0, 0x0000000000000001, li a1, 1; li a2, 64; sll a0, a1, a2)
TEST_CASE(46, a0, 0x0000000000000002, li a1, 1; li a2, 0xffffffffffffffc1; sll a0, a1, a2)
TEST_CASE(47, a0, 0x0000000000000001, li a1, 0x8000000000000000; li a2, 63; srl a0, a1, a2)
TEST_CASE(48, a0, 0x0800000000000000, li a1, 0x8000000000000000; li a2, 68; srl a0, a1, a2)
TEST_CASE(49, a0, 0xffffffffffffffff, li a1, 0x8000000000000000; li a2, 63; sra a0, a1, a2)
TEST_CASE(50, a0, 0xf800000000000000, li a1, 0x8000000000000000; li a2, 4; sra a0, a1, a2)
TEST_CASE(51, a0, 0x0000000012345678, li a1, 0x0000000123456789; li a2, 4; sra a0, a1, a2)
TEST_CASE(52, a0, 0x00000000ffffffff, li a1, -1; srli a0, a1, 32)
TEST_CASE(53, a0, 0xffffffff00000000, li a1, -1; slli a0, a1, 32)
TEST_CASE(54, a0, 0xffffffffffffffff, li a1, 0x8000000000000000; srai a0, a1, 63)
TEST_CASE(55, a0, 0x8000000000000000, li a1, 1; slli a0, a1, 63)
TEST_CASE(56, a0, 0x0000000000000001, li a1, 0x8000000000000000; srli a0, a1, 63)
TEST_CASE(57, a0, 0x123456789abcdef0, li a1, 0x123456789abcdef0; srai a0, a1, 0)
TEST_CASE(58, a0, 0xfff123456789abcd, li a1, 0xf123456789abcdef; srai a0, a1, 8)

// ---------------------------------------------------------- 32-bit shifts
TEST_CASE(59, a0, 0xffffffff80000000, li a1, 1; li a2, 31; sllw a0, a1, a2)
TEST_CASE(60, a0, 0x0000000000000001, li a1, 1; li a2, 32; sllw a0, a1, a2)
TEST_CASE(61, a0, 0x0000000000000002, li a1, 0xffffffff00000001; li a2, 1; sllw a0, a1, a2)
TEST_CASE(62, a0, 0x0000000000000001, li a1, 0xffffffff80000000; li a2, 31; srlw a0, a1, a2)
TEST_CASE(63, a0, 0xffffffff80000000, li a1, 0x0000000080000000; li a2, 0; srlw a0, a1, a2)
TEST_CASE(64, a0, 0x000000007fffffff, li a1, 0x00000000ffffffff; li a2, 33; srlw a0, a1, a2)
TEST_CASE(65, a0, 0xfffffffff8000000, li a1, 0x0000000080000000; li a2, 4; sraw a0, a1, a2)
TEST_CASE(66, a0, 0x0000000007ffffff, li a1, 0xffffffff7fffffff; li a2, 36; sraw a0, a1, a2)
TEST_CASE(67, a0, 0xffffffff80000000, li a1, 0x0000000040000000; slliw a0, a1, 1)
TEST_CASE(68, a0, 0x0000000008000000, li a1, 0xffffffff80000000; srliw a0, a1, 4)
TEST_CASE(69, a0, 0xfffffffff8000000, li a1, 0x0000000080000000; sraiw a0, a1, 4)
TEST_CASE(70, a0, 0xffffffffffffffff, li a1, 0x00000000ffffffff; sraiw a0, a1, 0)
TEST_CASE(71, a0, 0xffffffffffffffff, li a1, 0x00000000ffffffff; srliw a0, a1, 0)
TEST_CASE(72, a0, 0x0000000000000001, li a1, 0x00000000ffffffff; srliw a0, a1, 31)
TEST_CASE(73, a0, 0xffffffffffffffff, li a1, 0x0000000080000000; sraiw a0, a1, 31)
TEST_CASE(74, a0, 0x0000000000000000, li a1, 0xffffffff00000000; slliw a0, a1, 5)

// ---------------------------------------------------------- lui / auipc
TEST_CASE(75, a0, 0xffffffff80000000, lui a0, 0x80000)
TEST_CASE(76, a0, 0x000000007ffff000, lui a0, 0x7ffff)
TEST_CASE(77, a0, 0xfffffffffffff000, lui a0, 0xfffff)
TEST_CASE(78, a0, 0x0000000000001000, lui a0, 1)
SET_TEST(79)
1:  auipc a0, 0
    la    a1, 1b
    CHECK_REG(a0, a1)
SET_TEST(80)
1:  auipc a0, 1
    la    a1, 1b
    li    a2, 0x1000
    add   a1, a1, a2
    CHECK_REG(a0, a1)
SET_TEST(81)
1:  auipc a0, 0x80000
    la    a1, 1b
    li    a2, 0x80000000
    sub   a1, a1, a2
    CHECK_REG(a0, a1)
SET_TEST(82)
1:  auipc a0, 0xfffff
    la    a1, 1b
    li    a2, 0x1000
    sub   a1, a1, a2
    CHECK_REG(a0, a1)

// ---------------------------------------------------------- branches
BR_TEST(83, beq, 5, 5, TAKEN)
BR_TEST(84, beq, 5, 6, NOT_TAKEN)
BR_TEST(85, beq, 0x100000000, 0, NOT_TAKEN)
BR_TEST(86, bne, 5, 6, TAKEN)
BR_TEST(87, bne, -1, -1, NOT_TAKEN)
BR_TEST(88, bne, 0x100000000, 0, TAKEN)
BR_TEST(89, blt, -1, 1, TAKEN)
BR_TEST(90, blt, 1, -1, NOT_TAKEN)
BR_TEST(91, blt, 3, 3, NOT_TAKEN)
BR_TEST(92, blt, 0x8000000000000000, 0x7fffffffffffffff, TAKEN)
BR_TEST(93, bge, 1, -1, TAKEN)
BR_TEST(94, bge, 3, 3, TAKEN)
BR_TEST(95, bge, -2, -1, NOT_TAKEN)
BR_TEST(96, bltu, 1, -1, TAKEN)
BR_TEST(97, bltu, -1, 1, NOT_TAKEN)
BR_TEST(98, bltu, 7, 7, NOT_TAKEN)
BR_TEST(99, bgeu, -1, 1, TAKEN)
BR_TEST(100, bgeu, 1, -1, NOT_TAKEN)
BR_TEST(101, bgeu, 0, 0, TAKEN)
BR_TEST(102, bgeu, 0x8000000000000000, 0x7fffffffffffffff, TAKEN)
// backward branch loop: sum 1..10
TEST_CASE(103, a0, 55, li a0, 0; li a1, 10; 1: add a0, a0, a1; addi a1, a1, -1; bnez a1, 1b)
// branch over a long distance (>2 KiB each way, no compressed form)
SET_TEST(104)
    li    a0, 0
    beq   zero, zero, 1f
    li    a0, 99
    .space 3000, 0
1:  CHECK(a0, 0)

// ---------------------------------------------------------- jal / jalr
SET_TEST(105)
    li    ra, 0
    jal   ra, 1f
2:  j     fail
1:  la    a1, 2b
    CHECK_REG(ra, a1)
SET_TEST(106)
    la    t0, 1f
    addi  t0, t0, 1             // odd target: jalr clears bit 0
    li    a0, 0
    .option push
    .option norvc
    jalr  ra, 0(t0)
2:  .option pop
    j     fail
    .align 2
1:  la    a1, 2b
    CHECK_REG(ra, a1)
SET_TEST(107)
    la    t0, 1f
    addi  t0, t0, -12           // jalr with a positive offset
    .option push
    .option norvc
    jalr  ra, 12(t0)
    .option pop
    j     fail
1:  CHECK(zero, 0)
SET_TEST(108)
    la    a0, 1f                // rd == rs1: target uses the old value
    .option push
    .option norvc
    jalr  a0, 0(a0)
2:  .option pop
    j     fail
1:  la    a1, 2b
    CHECK_REG(a0, a1)
SET_TEST(109)
    la    t0, 1f + 16
    .option push
    .option norvc
    jalr  zero, -16(t0)
    .option pop
    j     fail
1:  CHECK(zero, 0)
SET_TEST(110)                   // jal with rd = x0 is a plain jump
    jal   zero, 1f
    j     fail
1:  CHECK(zero, 0)
SET_TEST(111)                   // a backwards jal across >2 KiB
    j     2f
1:  li    a0, 111
    j     3f
    .space 2500, 0
2:  jal   zero, 1b
3:  CHECK(a0, 111)

// ---------------------------------------------------------- loads
#define LOAD(n, op, off, exp) TEST_CASE(n, a0, exp, la a1, tdata; op a0, off(a1))
LOAD(112, lb,  0, 0x0000000000000011)
LOAD(113, lb,  7, 0xffffffffffffff88)
LOAD(114, lbu, 7, 0x0000000000000088)
LOAD(115, lh,  0, 0x0000000000002211)
LOAD(116, lh,  6, 0xffffffffffff8877)
LOAD(117, lhu, 6, 0x0000000000008877)
LOAD(118, lw,  0, 0x0000000044332211)
LOAD(119, lw,  4, 0xffffffff88776655)
LOAD(120, lwu, 4, 0x0000000088776655)
LOAD(121, ld,  0, 0x8877665544332211)
LOAD(122, ld,  8, 0x123456789abcdef0)
LOAD(123, lb,  8, 0xfffffffffffffff0)
LOAD(124, lh,  8, 0xffffffffffffdef0)
LOAD(125, lw,  8, 0xffffffff9abcdef0)
LOAD(126, lwu, 8, 0x000000009abcdef0)
LOAD(127, lw,  12, 0x0000000012345678)
LOAD(128, lhu, 10, 0x0000000000009abc)
LOAD(129, lbu, 15, 0x0000000000000012)
TEST_CASE(130, a0, 0xffffffffffffff88, la a1, tdata + 8; lb a0, -1(a1))
TEST_CASE(131, a0, 0x8877665544332211, la a1, tdata + 2048; ld a0, -2048(a1))
TEST_CASE(132, a0, 0x0000000044332211, la a1, tdata - 2047; lwu a0, 2047(a1))
// load into the base register
TEST_CASE(133, a1, 0x8877665544332211, la a1, tdata; ld a1, 0(a1))

// ---------------------------------------------------------- stores
SET_TEST(134)
    la    a1, sdata
    li    t0, -1
    sd    t0, 0(a1)
    li    t0, 0x1234567800     // only the low byte (0x00) is stored
    sb    t0, 1(a1)
    ld    a0, 0(a1)
    CHECK(a0, 0xffffffffffff00ff)
SET_TEST(135)
    li    t0, 0xabcd1234
    sh    t0, 2(a1)
    ld    a0, 0(a1)
    CHECK(a0, 0xffffffff123400ff)
SET_TEST(136)
    li    t0, 0x123456789abcdef0
    sw    t0, 4(a1)
    ld    a0, 0(a1)
    CHECK(a0, 0x9abcdef0123400ff)
SET_TEST(137)
    lbu   a0, 7(a1)
    CHECK(a0, 0x9a)
SET_TEST(138)
    li    t0, 0x0102030405060708
    sd    t0, 8(a1)
    sb    zero, 15(a1)
    sh    zero, 8(a1)
    ld    a0, 8(a1)
    CHECK(a0, 0x0002030405060000)
SET_TEST(139)
    ld    a0, 0(a1)             // the neighbouring dword is unchanged
    CHECK(a0, 0x9abcdef0123400ff)
SET_TEST(140)
    addi  a2, a1, 2047
    li    t0, 0x5a
    sb    t0, -2047+3(a2)       // = sdata+3
    lwu   a0, 0(a1)
    CHECK(a0, 0x5a3400ff)

// ---------------------------------------------------------- x0 is hardwired
TEST_CASE(141, a0, 0, addi zero, zero, 5; mv a0, zero)
TEST_CASE(142, a0, 0, lui zero, 0x12345; add a0, zero, zero)
TEST_CASE(143, a0, 0, la a1, tdata; ld zero, 0(a1); mv a0, zero)
TEST_CASE(144, a0, 0, li t0, 7; add zero, t0, t0; or a0, zero, zero)
TEST_CASE(145, a0, 0, auipc zero, 1; mv a0, zero)
TEST_CASE(146, a0, 0, li t0, 3; sllw zero, t0, t0; addiw a0, zero, 0)
SET_TEST(147)
    jal   zero, 1f              // no link written to x0
1:  CHECK(zero, 0)

// ---------------------------------------------------------- fences
SET_TEST(148)
    fence
    fence rw, rw
    fence iorw, iorw
    fence r, w
    fence.tso
    .word 0x0100000f            // pause (fence w,0): executes as a fence
    fence.i
    CHECK(zero, 0)

// ---------------------------------------------------------- fence.i / SMC
SET_TEST(149)
    la    a1, codebuf
    li    t0, 0x00100513        // addi a0, zero, 1
    sw    t0, 0(a1)
    li    t0, 0x00008067        // jalr zero, 0(ra)
    sw    t0, 4(a1)
    fence.i
    li    a0, 0
    jalr  ra, 0(a1)
    CHECK(a0, 1)
SET_TEST(150)
    li    t0, 0x00200513        // addi a0, zero, 2 replaces the first word
    sw    t0, 0(a1)
    fence.i
    li    a0, 0
    jalr  ra, 0(a1)
    CHECK(a0, 2)
SET_TEST(151)
    li    t0, 0x7ff00513        // addi a0, zero, 2047 written as halves
    sh    t0, 0(a1)
    srli  t0, t0, 16
    sh    t0, 2(a1)
    fence.i
    li    a0, 0
    jalr  ra, 0(a1)
    CHECK(a0, 2047)
// Hot self-modifying code: the code runs 100 times (often enough for the
// compiled engine to translate it), is rewritten, and runs 100 more.
SET_TEST(152)
    li    t0, 0x00150513        // addi a0, a0, 1
    sw    t0, 0(a1)
    li    t0, 0x00008067        // jalr zero, 0(ra)
    sw    t0, 4(a1)
    fence.i
    li    a0, 0
    li    s2, 100
1:  jalr  ra, 0(a1)
    addi  s2, s2, -1
    bnez  s2, 1b
    li    t0, 0x00a50513        // addi a0, a0, 10 replaces the first word
    sw    t0, 0(a1)
    fence.i
    li    s2, 100
2:  jalr  ra, 0(a1)
    addi  s2, s2, -1
    bnez  s2, 2b
    CHECK(a0, 1100)

TEST_END

    .data
    .align 3
tdata:
    .byte 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88
    .byte 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12
sdata:
    .dword 0, 0
    .align 3
codebuf:
    .word 0, 0, 0, 0
