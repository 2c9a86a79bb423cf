// rv64m.S - RV64M multiply/divide.
//
// mul/mulh/mulhsu/mulhu/div/divu/rem/remu and mulw/divw/divuw/remw/remuw,
// including division by zero (quotient all ones, remainder = dividend),
// signed overflow (-2^63 / -1 = -2^63, remainder 0) and the 32-bit forms
// ignoring the upper halves of their inputs and sign-extending the result.
#include "common.h"

#define RR(n, op, x, y, exp) TEST_CASE(n, a0, exp, li a1, x; li a2, y; op a0, a1, a2)

TEST_BEGIN

// ------------------------------------------------------------- mul
RR(1,  mul, 3, 7, 21)
RR(2,  mul, -3, 7, 0xffffffffffffffeb)
RR(3,  mul, -3, -7, 21)
RR(4,  mul, 0x7fffffffffffffff, 2, 0xfffffffffffffffe)
RR(5,  mul, 0x8000000000000000, -1, 0x8000000000000000)
RR(6,  mul, 0x100000001, 0x100000001, 0x0000000200000001)
RR(7,  mul, 0x7fffffffffffffff, -1, 0x8000000000000001)
RR(8,  mul, 0x7fffffffffffffff, 0x7fffffffffffffff, 1)
RR(9,  mul, 0, -1, 0)

// ------------------------------------------------------------- mulh (s*s)
RR(10, mulh, -1, -1, 0)
RR(11, mulh, 0x8000000000000000, 0x8000000000000000, 0x4000000000000000)
RR(12, mulh, 0x8000000000000000, 1, 0xffffffffffffffff)
RR(13, mulh, 0x7fffffffffffffff, 0x7fffffffffffffff, 0x3fffffffffffffff)
RR(14, mulh, -2, 3, 0xffffffffffffffff)
RR(15, mulh, 0x100000000, 0x100000000, 1)
RR(16, mulh, 0x8000000000000000, 0x7fffffffffffffff, 0xc000000000000000)

// ------------------------------------------------------------- mulhu (u*u)
RR(17, mulhu, -1, -1, 0xfffffffffffffffe)
RR(18, mulhu, 0x8000000000000000, 2, 1)
RR(19, mulhu, 0x100000001, 0x100000001, 1)
RR(20, mulhu, 0x8000000000000000, 0x8000000000000000, 0x4000000000000000)
RR(21, mulhu, 5, 7, 0)

// ------------------------------------------------------------- mulhsu (s*u)
RR(22, mulhsu, -1, -1, 0xffffffffffffffff)
RR(23, mulhsu, -2, 0x8000000000000000, 0xffffffffffffffff)
RR(24, mulhsu, 0x7fffffffffffffff, -1, 0x7ffffffffffffffe)
RR(25, mulhsu, 1, -1, 0)
RR(26, mulhsu, 0x8000000000000000, -1, 0x8000000000000000)
RR(27, mulhsu, -1, 1, 0xffffffffffffffff)
RR(28, mulhsu, 0, -1, 0)

// ------------------------------------------------------------- mulw
RR(29, mulw, 0x7fffffff, 2, 0xfffffffffffffffe)
RR(30, mulw, 0x100000003, 0x100000005, 15)
RR(31, mulw, 0x10000, 0x10000, 0)
RR(32, mulw, -1, -1, 1)
RR(33, mulw, 0x8000, 0x10000, 0xffffffff80000000)
RR(34, mulw, 0xffffffff00000007, 0x00000000fffffffd, 0xffffffffffffffeb)

// ------------------------------------------------------------- div / rem
RR(35, div, 20, 6, 3)
RR(36, div, -20, 6, -3)
RR(37, div, 20, -6, -3)
RR(38, div, -20, -6, 3)
RR(39, rem, 20, 6, 2)
RR(40, rem, -20, 6, -2)
RR(41, rem, 20, -6, 2)
RR(42, rem, -20, -6, -2)
RR(43, div, 0x8000000000000000, 2, 0xc000000000000000)
RR(44, rem, -7, 2, -1)
// division by zero
RR(45, div, 20, 0, 0xffffffffffffffff)
RR(46, div, -20, 0, 0xffffffffffffffff)
RR(47, rem, 20, 0, 20)
RR(48, rem, -20, 0, -20)
RR(49, div, 0, 0, 0xffffffffffffffff)
RR(50, rem, 0, 0, 0)
// overflow
RR(51, div, 0x8000000000000000, -1, 0x8000000000000000)
RR(52, rem, 0x8000000000000000, -1, 0)
RR(53, div, 0x8000000000000000, 1, 0x8000000000000000)
RR(54, rem, 0x8000000000000000, 0x7fffffffffffffff, -1)

// ------------------------------------------------------------- divu / remu
RR(55, divu, 20, 6, 3)
RR(56, divu, -20, 6, 0x2aaaaaaaaaaaaaa7)
RR(57, remu, -20, 6, 2)
RR(58, divu, 0x8000000000000000, 2, 0x4000000000000000)
RR(59, remu, -7, 2, 1)
RR(60, divu, 20, -1, 0)
RR(61, remu, 20, -1, 20)
RR(62, divu, -1, -1, 1)
RR(63, divu, 20, 0, 0xffffffffffffffff)
RR(64, remu, 20, 0, 20)
RR(65, remu, -20, 0, -20)
RR(66, divu, 0x8000000000000000, -1, 0)

// ------------------------------------------------------------- divw / remw
RR(67, divw, 0x12345678ffffffec, 0xabcdef0000000006, 0xfffffffffffffffd)
RR(68, remw, 0x12345678ffffffec, 0xabcdef0000000006, 0xfffffffffffffffe)
RR(69, divw, 0x0000000080000000, 0x00000000ffffffff, 0xffffffff80000000)
RR(70, remw, 0x0000000080000000, 0x00000000ffffffff, 0)
RR(71, divw, 0x123456789abcdef0, 0x1234567800000000, 0xffffffffffffffff)
RR(72, remw, 0x123456789abcdef0, 0x1234567800000000, 0xffffffff9abcdef0)
RR(73, divw, 20, 6, 3)
RR(74, remw, -20, 6, -2)
RR(75, divw, 0x7fffffff, -1, 0xffffffff80000001)

// ------------------------------------------------------------- divuw / remuw
RR(76, divuw, 0x00000000ffffffec, 6, 0x000000002aaaaaa7)
RR(77, remuw, 0x00000000ffffffec, 6, 2)
RR(78, divuw, 0x00000000ffffffff, 2, 0x000000007fffffff)
RR(79, divuw, 0x00000000fffffffe, 1, 0xfffffffffffffffe)
RR(80, divuw, 0x1234567800000005, 0, 0xffffffffffffffff)
RR(81, remuw, 0x0000000080000001, 0, 0xffffffff80000001)
RR(82, remuw, 0xabcdef0000000007, 0x1234567800000000, 7)
RR(83, divuw, 0x0000000080000000, 0x00000000ffffffff, 0)
RR(84, remuw, 0x0000000080000000, 0x00000000ffffffff, 0xffffffff80000000)

// ------------------------------------------------------------- rd aliasing
TEST_CASE(85, a0, 49, li a0, 7; mul a0, a0, a0)
TEST_CASE(86, a0, 1, li a0, -7; div a0, a0, a0)
TEST_CASE(87, a0, 0, li a0, 0x8000000000000000; rem a0, a0, a0)
TEST_CASE(88, a0, 0, li a1, 5; li a2, 0; div zero, a1, a2; mv a0, zero)

TEST_END
