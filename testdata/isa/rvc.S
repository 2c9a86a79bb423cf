// rvc.S - RV64C compressed instructions.
//
// Every RV64C instruction, written with its explicit c. mnemonic (the
// assembler refuses anything it cannot encode in 16 bits): c.addi4spn,
// c.fld, c.lw, c.ld, c.fsd, c.sw, c.sd, c.nop, c.addi, c.addiw, c.li,
// c.addi16sp, c.lui, c.srli, c.srai, c.andi, c.sub, c.xor, c.or, c.and,
// c.subw, c.addw, c.j, c.beqz, c.bnez, c.slli, c.fldsp, c.lwsp, c.ldsp,
// c.jr, c.mv, c.ebreak, c.jalr, c.add, c.fsdsp, c.swsp, c.sdsp, with
// immediate extremes and sign extension; plus 32-bit instructions at
// 2-byte-aligned addresses, one straddling a 4 KiB page boundary.
#include "common.h"

    .option rvc

TEST_BEGIN

// ------------------------------------------------------------ c.li / c.addi
TEST_CASE(1, a0, 0xffffffffffffffe0, c.li a0, -32)
TEST_CASE(2, a0, 31, c.li a0, 31)
TEST_CASE(3, a0, 0x8000000000000000, li a0, 0x800000000000001f; c.addi a0, -31)
TEST_CASE(4, a0, 0, li a0, -31; c.addi a0, 31)
TEST_CASE(5, s1, 0xffffffffffffffe0, li s1, 0; c.addi s1, -32)
TEST_CASE(6, a0, 0, c.li a0, 5; c.nop; c.addi a0, -5)

// ------------------------------------------------------------ c.addiw
TEST_CASE(7, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.addiw a0, 1)
TEST_CASE(8, a0, 0xffffffff9abcdef0, li a0, 0x123456789abcdef0; c.addiw a0, 0)
TEST_CASE(9, a0, 0x000000007fffffe0, li a0, 0xffffffff80000000; c.addiw a0, -32)

// ------------------------------------------------------------ c.lui
TEST_CASE(10, a0, 0x0000000000001000, c.lui a0, 1)
TEST_CASE(11, a0, 0x000000000001f000, c.lui a0, 0x1f)
TEST_CASE(12, a0, 0xfffffffffffe0000, c.lui a0, 0xfffe0)
TEST_CASE(13, a5, 0xfffffffffffff000, c.lui a5, 0xfffff)

// ------------------------------------------------------------ c.addi16sp / c.addi4spn
SET_TEST(14)
    mv    t0, sp
    c.addi16sp sp, -512
    sub   a0, t0, sp
    c.addi16sp sp, 496
    c.addi16sp sp, 16
    CHECK(a0, 512)
    CHECK_REG(sp, t0)
SET_TEST(15)
    c.addi4spn a0, sp, 4
    sub   a0, a0, sp
    CHECK(a0, 4)
SET_TEST(16)
    c.addi4spn a1, sp, 1020
    sub   a0, a1, sp
    CHECK(a0, 1020)

// ------------------------------------------------------------ shifts
TEST_CASE(17, a0, 1, li a0, 0x8000000000000000; c.srli a0, 63)
TEST_CASE(18, a0, 0x00000000ffffffff, li a0, -1; c.srli a0, 32)
TEST_CASE(19, a0, 0xc000000000000000, li a0, 0x8000000000000000; c.srai a0, 1)
TEST_CASE(20, a0, 0xffffffffffffffff, li a0, 0x8000000000000000; c.srai a0, 63)
TEST_CASE(21, a0, 0x0000000000123456, li a0, 0x0000000012345678; c.srai a0, 8)
TEST_CASE(22, a0, 0x8000000000000000, li a0, 1; c.slli a0, 63)
TEST_CASE(23, a0, 0xffffffff00000000, li a0, -1; c.slli a0, 32)
TEST_CASE(24, t5, 0x0000000000000246, li t5, 0x123; c.slli t5, 1)

// ------------------------------------------------------------ c.andi and CA ops
TEST_CASE(25, a0, 0x123456789abcdef0, li a0, 0x123456789abcdef0; c.andi a0, -1)
TEST_CASE(26, a0, 0x0000000000000010, li a0, 0x123456789abcdef0; c.andi a0, 0x1f)
TEST_CASE(27, a0, 0x123456789abcdee0, li a0, 0x123456789abcdef0; c.andi a0, -32)
TEST_CASE(28, a0, 0xffffffffffffffff, li a0, 0; li a1, 1; c.sub a0, a1)
TEST_CASE(29, a0, 0xf0f0f0f00f0f0f0f, li a0, 0xffffffff00000000; li a1, 0x0f0f0f0f0f0f0f0f; c.xor a0, a1)
TEST_CASE(30, a0, 0xff00ff00ff00ffff, li a0, 0xff00ff00ff00ff00; li a1, 0xff; c.or a0, a1)
TEST_CASE(31, a0, 0x0000000012345000, li a0, 0x00000000123456ff; li a1, 0xfffff000; c.and a0, a1)
TEST_CASE(32, a0, 0x000000007fffffff, li a0, 0xffffffff80000000; li a1, 1; c.subw a0, a1)
TEST_CASE(33, a0, 0xffffffff80000000, li a0, 0x7fffffff; li a1, 1; c.addw a0, a1)
TEST_CASE(34, a0, 0x0000000000000008, li a0, 0xffffffff00000005; li a1, 0x0000000100000003; c.addw a0, a1)
TEST_CASE(35, s0, 0xffffffffffffffff, li s0, 0x00000000ffffffff; li a5, 0; c.addw s0, a5)

// ------------------------------------------------------------ c.mv / c.add
TEST_CASE(36, t3, 0x123456789abcdef0, li a1, 0x123456789abcdef0; li t3, 0; c.mv t3, a1)
TEST_CASE(37, t3, 0x8000000000000000, li t3, 0x7fffffffffffffff; li t4, 1; c.add t3, t4)
TEST_CASE(38, ra, 3, li ra, 1; li a3, 2; c.add ra, a3)

// ------------------------------------------------------------ loads / stores (CL/CS)
SET_TEST(39)
    la    a1, cdata
    c.lw  a0, 0(a1)
    CHECK(a0, 0xffffffff88776655)
SET_TEST(40)
    c.lw  a0, 124(a1)
    CHECK(a0, 0x0000000012345678)
SET_TEST(41)
    c.ld  a0, 8(a1)
    CHECK(a0, 0x0123456789abcdef)
SET_TEST(42)
    c.ld  a0, 248(a1)
    CHECK(a0, 0xfedcba9876543210)
SET_TEST(43)
    li    a2, 0x1111111122222222
    c.sw  a2, 16(a1)
    ld    a0, 16(a1)
    CHECK(a0, 0x0000000022222222)
SET_TEST(44)
    li    a2, 0x3333333344444444
    c.sd  a2, 24(a1)
    ld    a0, 24(a1)
    CHECK(a0, 0x3333333344444444)
SET_TEST(45)
    c.sw  a2, 120(a1)
    lwu   a0, 120(a1)
    CHECK(a0, 0x44444444)
    lwu   a0, 124(a1)
    CHECK(a0, 0x12345678)
SET_TEST(46)
    c.sd  a2, 240(a1)
    ld    a0, 240(a1)
    CHECK(a0, 0x3333333344444444)
    ld    a0, 248(a1)
    CHECK(a0, 0xfedcba9876543210)
SET_TEST(47)
    c.fld fa0, 8(a1)
    fmv.x.d a0, fa0
    CHECK(a0, 0x0123456789abcdef)
SET_TEST(48)
    li    a2, 0x4000000000000000
    fmv.d.x fa5, a2
    c.fsd fa5, 32(a1)
    ld    a0, 32(a1)
    CHECK(a0, 0x4000000000000000)
SET_TEST(49)
    c.fld fs0, 248(a1)
    fmv.x.d a0, fs0
    CHECK(a0, 0xfedcba9876543210)
SET_TEST(50)
    c.fsd fs0, 232(a1)
    ld    a0, 232(a1)
    CHECK(a0, 0xfedcba9876543210)

// ------------------------------------------------------------ sp-relative (CI/CSS)
SET_TEST(51)
    addi  sp, sp, -512
    li    t0, 0x00000000f0000001
    sd    t0, 0(sp)
    c.lwsp a0, 0(sp)
    CHECK(a0, 0xfffffffff0000001)
SET_TEST(52)
    li    t0, 0x7766554433221100
    sd    t0, 504(sp)
    c.ldsp a0, 504(sp)
    CHECK(a0, 0x7766554433221100)
SET_TEST(53)
    li    t0, 0x0000000012345678
    sw    t0, 252(sp)
    c.lwsp t1, 252(sp)
    CHECK(t1, 0x12345678)
SET_TEST(54)
    li    t0, 0x1122334455667788
    c.swsp t0, 252(sp)
    lwu   a0, 252(sp)
    CHECK(a0, 0x55667788)
SET_TEST(55)
    c.sdsp t0, 496(sp)
    ld    a0, 496(sp)
    CHECK(a0, 0x1122334455667788)
SET_TEST(56)
    c.sdsp zero, 8(sp)
    ld    a0, 8(sp)
    CHECK(a0, 0)
SET_TEST(57)
    li    t0, 0x3ff0000000000000
    sd    t0, 16(sp)
    c.fldsp ft1, 16(sp)
    fmv.x.d a0, ft1
    CHECK(a0, 0x3ff0000000000000)
SET_TEST(58)
    c.fsdsp ft1, 488(sp)
    ld    a0, 488(sp)
    CHECK(a0, 0x3ff0000000000000)
SET_TEST(59)
    li    t0, 0xbff0000000000000
    sd    t0, 504(sp)
    c.fldsp fs11, 504(sp)
    c.fsdsp fs11, 0(sp)
    ld    a0, 0(sp)
    CHECK(a0, 0xbff0000000000000)
    addi  sp, sp, 512

// ------------------------------------------------------------ control flow
SET_TEST(60)
    li    a0, 0
    c.j   1f
    li    a0, 1
1:  CHECK(a0, 0)
SET_TEST(61)                    // backwards c.j
    li    a0, 0
    c.j   2f
1:  addi  a0, a0, 7
    c.j   3f
2:  c.j   1b
3:  CHECK(a0, 7)
#define CBR(n, op, val, taken) \
    SET_TEST(n); li a2, val; li a0, 0; op a2, 1f; li a0, 1; j 2f; 1: li a0, 2; 2: CHECK(a0, taken + 1)
CBR(62, c.beqz, 0, 1)
CBR(63, c.beqz, 1, 0)
CBR(64, c.beqz, 0x100000000, 0)
CBR(65, c.bnez, 0, 0)
CBR(66, c.bnez, -1, 1)
CBR(67, c.bnez, 0x8000000000000000, 1)
SET_TEST(68)
    la    a0, 1f
    li    a1, 0
    c.jr  a0
    li    a1, 5
1:  CHECK(a1, 0)
SET_TEST(69)
    la    a0, 1f
    li    ra, 0
3:  c.jalr a0
2:  j     fail
1:  la    a1, 2b
    CHECK_REG(ra, a1)
    la    a2, 3b
    sub   a1, a1, a2            // link = pc + 2
    CHECK(a1, 2)
SET_TEST(70)                    // c.jalr with rs1 = ra: target from old ra
    la    ra, 1f
    c.jalr ra
2:  j     fail
1:  la    a1, 2b
    CHECK_REG(ra, a1)

// ------------------------------------------------------------ c.ebreak
TEST_TRAP(71, CAUSE_BREAKPOINT, 1: c.ebreak)
    CHECK_EPC(1b)

// ------------------------------------------------------------ 32-bit insns at odd halfwords
SET_TEST(72)
    li    a0, 1
    c.nop
    .option push
    .option norvc
    addi  a0, a0, 10            // at a 2 mod 4 address
    slli  a0, a0, 2
    .option pop
    c.addi a0, 1
    CHECK(a0, 45)
SET_TEST(73)                    // a 4-byte insn straddling a page boundary
    li    a0, 3
    la    t0, straddle
    jr    t0
straddle_back:
    CHECK(a0, 0x1003)

TEST_END

    .text
    .balign 4096
    .fill 2046, 2, 0x0001       // 4092 bytes of c.nop, never executed
    c.nop
straddle:                       // = page + 4094
    .option push
    .option norvc
    addi  a0, a0, 0x7ff         // spans the two pages
    addi  a0, a0, 0x7ff
    addi  a0, a0, 2
    .option pop
    j     straddle_back

    .data
    .align 3
cdata:
    .byte 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0        // 0
    .dword 0x0123456789abcdef                       // 8
    .dword 0, 0, 0, 0                               // 16..47
    .fill 76, 1, 0                                  // 48..123
    .word 0x12345678                                // 124
    .fill 104, 1, 0                                 // 128..231
    .dword 0, 0                                     // 232, 240
    .dword 0xfedcba9876543210                       // 248
