// fp_d.S - D extension (double precision).
//
// Arithmetic with every static rounding mode and through frm (DYN), fflags
// accumulation, the fcvt saturation table for double -> int (NaN, +-inf,
// out of range, negative to unsigned, rounding into overflow), int ->
// double, double <-> single conversions (overflow, underflow, NaN
// canonicalisation, NaN-boxed single results), fmin/fmax with -0/+0 and
// sNaN/qNaN, feq/flt/fle NV rules, fclass of every class, FMA single
// rounding, fsgnj, fmv.x.d/fmv.d.x, fld/fsd.
#include "common.h"

#define NV 0x10
#define DZ 0x08
#define OF 0x04
#define UF 0x02
#define NX 0x01

#define ONE    0x3ff0000000000000
#define NONE   0xbff0000000000000
#define TWO    0x4000000000000000
#define THREE  0x4008000000000000
#define HALF   0x3fe0000000000000
#define INF    0x7ff0000000000000
#define NINF   0xfff0000000000000
#define QNAN   0x7ff8000000000000
#define NQNAN  0xfff8000000000000
#define SNAN   0x7ff0000000000001
#define PZERO  0x0000000000000000
#define NZERO  0x8000000000000000
#define MAXD   0x7fefffffffffffff
#define NMAXD  0xffefffffffffffff
#define MINN   0x0010000000000000
#define MINSUB 0x0000000000000001
#define TWOM53 0x3ca0000000000000    /* 2^-53 */

// fa0 = insn(fa1, fa2, fa3) (the instruction is the last argument)
#define DT(n, a, b, c, exp, flags, ...) \
    SET_TEST(n); li t0, a; fmv.d.x fa1, t0; li t0, b; fmv.d.x fa2, t0; li t0, c; fmv.d.x fa3, t0; \
    fsflags zero; __VA_ARGS__; frflags t1; fmv.x.d t2, fa0; CHECK(t2, exp); CHECK(t1, flags)
// a0 = insn(fa1, fa2)
#define DI(n, a, b, exp, flags, ...) \
    SET_TEST(n); li t0, a; fmv.d.x fa1, t0; li t0, b; fmv.d.x fa2, t0; \
    fsflags zero; __VA_ARGS__; frflags t1; CHECK(a0, exp); CHECK(t1, flags)
// fa0 = insn(a1)
#define DX(n, a, exp, flags, ...) \
    SET_TEST(n); li a1, a; fsflags zero; __VA_ARGS__; frflags t1; fmv.x.d t2, fa0; \
    CHECK(t2, exp); CHECK(t1, flags)

TEST_BEGIN

// ================================================================ add/sub
DT(1,  ONE, TWO, 0, THREE, 0, fadd.d fa0, fa1, fa2)
DT(2,  THREE, ONE, 0, TWO, 0, fsub.d fa0, fa1, fa2)
DT(3,  ONE, ONE, 0, PZERO, 0, fsub.d fa0, fa1, fa2)
DT(4,  ONE, ONE, 0, NZERO, 0, fsub.d fa0, fa1, fa2, rdn)
DT(5,  NZERO, NZERO, 0, NZERO, 0, fadd.d fa0, fa1, fa2)
DT(6,  NZERO, PZERO, 0, PZERO, 0, fadd.d fa0, fa1, fa2, rup)
// 1 + 2^-53: exactly half an ulp
DT(7,  ONE, TWOM53, 0, ONE, NX, fadd.d fa0, fa1, fa2, rne)
DT(8,  ONE, TWOM53, 0, ONE, NX, fadd.d fa0, fa1, fa2, rtz)
DT(9,  ONE, TWOM53, 0, ONE, NX, fadd.d fa0, fa1, fa2, rdn)
DT(10, ONE, TWOM53, 0, 0x3ff0000000000001, NX, fadd.d fa0, fa1, fa2, rup)
DT(11, ONE, TWOM53, 0, 0x3ff0000000000001, NX, fadd.d fa0, fa1, fa2, rmm)
DT(12, NONE, 0xbca0000000000000, 0, NONE, NX, fadd.d fa0, fa1, fa2, rne)
DT(13, NONE, 0xbca0000000000000, 0, 0xbff0000000000001, NX, fadd.d fa0, fa1, fa2, rdn)
DT(14, NONE, 0xbca0000000000000, 0, NONE, NX, fadd.d fa0, fa1, fa2, rup)
DT(15, NONE, 0xbca0000000000000, 0, 0xbff0000000000001, NX, fadd.d fa0, fa1, fa2, rmm)
DT(16, NONE, 0xbca0000000000000, 0, NONE, NX, fadd.d fa0, fa1, fa2, rtz)
// (1 + 2^-52) + 2^-53: tie, odd neighbour below
DT(17, 0x3ff0000000000001, TWOM53, 0, 0x3ff0000000000002, NX, fadd.d fa0, fa1, fa2, rne)
DT(18, 0x3ff0000000000001, TWOM53, 0, 0x3ff0000000000001, NX, fadd.d fa0, fa1, fa2, rdn)
DT(19, INF, NINF, 0, QNAN, NV, fadd.d fa0, fa1, fa2)
DT(20, SNAN, ONE, 0, QNAN, NV, fadd.d fa0, fa1, fa2)
DT(21, 0x7ff8000000012345, ONE, 0, QNAN, 0, fadd.d fa0, fa1, fa2)
DT(22, ONE, NQNAN, 0, QNAN, 0, fsub.d fa0, fa1, fa2)
DT(23, NINF, MAXD, 0, NINF, 0, fsub.d fa0, fa1, fa2)

// ================================================================ mul/div/sqrt
DT(24, 0x3ff8000000000000, TWO, 0, THREE, 0, fmul.d fa0, fa1, fa2)
DT(25, MAXD, TWO, 0, INF, OF | NX, fmul.d fa0, fa1, fa2, rne)
DT(26, MAXD, TWO, 0, MAXD, OF | NX, fmul.d fa0, fa1, fa2, rtz)
DT(27, MAXD, TWO, 0, MAXD, OF | NX, fmul.d fa0, fa1, fa2, rdn)
DT(28, MAXD, TWO, 0, INF, OF | NX, fmul.d fa0, fa1, fa2, rup)
DT(29, NMAXD, TWO, 0, NINF, OF | NX, fmul.d fa0, fa1, fa2, rmm)
DT(30, NMAXD, TWO, 0, NMAXD, OF | NX, fmul.d fa0, fa1, fa2, rtz)
DT(31, MINN, HALF, 0, 0x0008000000000000, 0, fmul.d fa0, fa1, fa2)
DT(32, MINSUB, HALF, 0, PZERO, UF | NX, fmul.d fa0, fa1, fa2, rne)
DT(33, MINSUB, HALF, 0, MINSUB, UF | NX, fmul.d fa0, fa1, fa2, rup)
DT(34, 0x8000000000000001, HALF, 0, 0x8000000000000001, UF | NX, fmul.d fa0, fa1, fa2, rdn)
DT(35, NINF, PZERO, 0, QNAN, NV, fmul.d fa0, fa1, fa2)
DT(36, ONE, PZERO, 0, INF, DZ, fdiv.d fa0, fa1, fa2)
DT(37, ONE, NZERO, 0, NINF, DZ, fdiv.d fa0, fa1, fa2)
DT(38, NZERO, PZERO, 0, QNAN, NV, fdiv.d fa0, fa1, fa2)
DT(39, ONE, THREE, 0, 0x3fd5555555555555, NX, fdiv.d fa0, fa1, fa2, rne)
DT(40, ONE, THREE, 0, 0x3fd5555555555556, NX, fdiv.d fa0, fa1, fa2, rup)
DT(41, ONE, THREE, 0, 0x3fd5555555555555, NX, fdiv.d fa0, fa1, fa2, rmm)
DT(42, NONE, THREE, 0, 0xbfd5555555555556, NX, fdiv.d fa0, fa1, fa2, rdn)
DT(43, NONE, THREE, 0, 0xbfd5555555555555, NX, fdiv.d fa0, fa1, fa2, rup)
DT(44, TWO, THREE, 0, 0x3fe5555555555555, NX, fdiv.d fa0, fa1, fa2)
DT(45, INF, ONE, 0, INF, 0, fdiv.d fa0, fa1, fa2)
DT(46, 0x4010000000000000, 0, 0, TWO, 0, fsqrt.d fa0, fa1)
DT(47, TWO, 0, 0, 0x3ff6a09e667f3bcd, NX, fsqrt.d fa0, fa1, rne)
DT(48, TWO, 0, 0, 0x3ff6a09e667f3bcc, NX, fsqrt.d fa0, fa1, rtz)
DT(49, TWO, 0, 0, 0x3ff6a09e667f3bcd, NX, fsqrt.d fa0, fa1, rup)
DT(50, NONE, 0, 0, QNAN, NV, fsqrt.d fa0, fa1)
DT(51, NZERO, 0, 0, NZERO, 0, fsqrt.d fa0, fa1)
DT(52, INF, 0, 0, INF, 0, fsqrt.d fa0, fa1)

// ================================================================ fused multiply-add
DT(53, TWO, THREE, ONE, 0x401c000000000000, 0, fmadd.d  fa0, fa1, fa2, fa3)
DT(54, TWO, THREE, ONE, 0x4014000000000000, 0, fmsub.d  fa0, fa1, fa2, fa3)
DT(55, TWO, THREE, ONE, 0xc014000000000000, 0, fnmsub.d fa0, fa1, fa2, fa3)
DT(56, TWO, THREE, ONE, 0xc01c000000000000, 0, fnmadd.d fa0, fa1, fa2, fa3)
// (1+2^-27)^2 - (1+2^-26) = 2^-54, only with a single rounding
DT(57, 0x3ff0000002000000, 0x3ff0000002000000, 0xbff0000004000000, 0x3c90000000000000, 0, fmadd.d fa0, fa1, fa2, fa3)
DT(58, PZERO, INF, QNAN, QNAN, NV, fmadd.d fa0, fa1, fa2, fa3)
DT(59, ONE, ONE, SNAN, QNAN, NV, fmsub.d fa0, fa1, fa2, fa3)
DT(60, MAXD, TWO, MAXD, NMAXD, 0, fnmsub.d fa0, fa1, fa2, fa3, rtz)   // -(2max)+max: no intermediate overflow

// ================================================================ sign injection / moves
DT(61, ONE, NONE, 0, NONE, 0, fsgnj.d  fa0, fa1, fa2)
DT(62, ONE, NONE, 0, ONE, 0, fsgnjn.d fa0, fa1, fa2)
DT(63, NONE, NONE, 0, ONE, 0, fsgnjx.d fa0, fa1, fa2)
DT(64, SNAN, NONE, 0, 0xfff0000000000001, 0, fsgnj.d fa0, fa1, fa2)
DT(65, NINF, 0, 0, INF, 0, fabs.d fa0, fa1)
DT(66, PZERO, 0, 0, NZERO, 0, fneg.d fa0, fa1)
DI(67, SNAN, 0, SNAN, 0, fmv.x.d a0, fa1)
DX(68, 0x7ff4000000000000, 0x7ff4000000000000, 0, fmv.d.x fa0, a1)

// ================================================================ min/max
DT(69, NZERO, PZERO, 0, NZERO, 0, fmin.d fa0, fa1, fa2)
DT(70, PZERO, NZERO, 0, NZERO, 0, fmin.d fa0, fa1, fa2)
DT(71, NZERO, PZERO, 0, PZERO, 0, fmax.d fa0, fa1, fa2)
DT(72, PZERO, NZERO, 0, PZERO, 0, fmax.d fa0, fa1, fa2)
DT(73, QNAN, ONE, 0, ONE, 0, fmin.d fa0, fa1, fa2)
DT(74, SNAN, ONE, 0, ONE, NV, fmax.d fa0, fa1, fa2)
DT(75, NONE, SNAN, 0, NONE, NV, fmin.d fa0, fa1, fa2)
DT(76, QNAN, NQNAN, 0, QNAN, 0, fmin.d fa0, fa1, fa2)
DT(77, SNAN, SNAN, 0, QNAN, NV, fmax.d fa0, fa1, fa2)
DT(78, ONE, TWO, 0, ONE, 0, fmin.d fa0, fa1, fa2)
DT(79, INF, MAXD, 0, INF, 0, fmax.d fa0, fa1, fa2)

// ================================================================ compares
DI(80, ONE, ONE, 1, 0, feq.d a0, fa1, fa2)
DI(81, NZERO, PZERO, 1, 0, feq.d a0, fa1, fa2)
DI(82, QNAN, ONE, 0, 0, feq.d a0, fa1, fa2)
DI(83, SNAN, ONE, 0, NV, feq.d a0, fa1, fa2)
DI(84, ONE, TWO, 1, 0, flt.d a0, fa1, fa2)
DI(85, NZERO, PZERO, 0, 0, flt.d a0, fa1, fa2)
DI(86, QNAN, ONE, 0, NV, flt.d a0, fa1, fa2)
DI(87, ONE, QNAN, 0, NV, fle.d a0, fa1, fa2)
DI(88, NZERO, PZERO, 1, 0, fle.d a0, fa1, fa2)
DI(89, TWO, ONE, 0, 0, fle.d a0, fa1, fa2)
DI(90, NINF, INF, 1, 0, flt.d a0, fa1, fa2)

// ================================================================ fclass
DI(91,  NINF, 0, 0x001, 0, fclass.d a0, fa1)
DI(92,  NONE, 0, 0x002, 0, fclass.d a0, fa1)
DI(93,  0x800fffffffffffff, 0, 0x004, 0, fclass.d a0, fa1)
DI(94,  NZERO, 0, 0x008, 0, fclass.d a0, fa1)
DI(95,  PZERO, 0, 0x010, 0, fclass.d a0, fa1)
DI(96,  MINSUB, 0, 0x020, 0, fclass.d a0, fa1)
DI(97,  MAXD, 0, 0x040, 0, fclass.d a0, fa1)
DI(98,  INF, 0, 0x080, 0, fclass.d a0, fa1)
DI(99,  SNAN, 0, 0x100, 0, fclass.d a0, fa1)
DI(100, QNAN, 0, 0x200, 0, fclass.d a0, fa1)
DI(101, 0xfff7ffffffffffff, 0, 0x100, 0, fclass.d a0, fa1)
DI(102, 0xffffffffffffffff, 0, 0x200, 0, fclass.d a0, fa1)

// ================================================================ double -> int
DI(103, 0x4004000000000000, 0, 2, NX, fcvt.w.d a0, fa1, rne)        // 2.5
DI(104, 0x4004000000000000, 0, 3, NX, fcvt.w.d a0, fa1, rmm)
DI(105, 0xc004000000000000, 0, -3, NX, fcvt.w.d a0, fa1, rdn)
DI(106, 0xc004000000000000, 0, -2, NX, fcvt.w.d a0, fa1, rup)
DI(107, 0xc004000000000000, 0, -2, NX, fcvt.w.d a0, fa1, rtz)
DI(108, QNAN, 0, 0x000000007fffffff, NV, fcvt.w.d a0, fa1, rtz)
DI(109, NQNAN, 0, 0x000000007fffffff, NV, fcvt.w.d a0, fa1, rtz)
DI(110, INF, 0, 0x000000007fffffff, NV, fcvt.w.d a0, fa1, rtz)
DI(111, NINF, 0, 0xffffffff80000000, NV, fcvt.w.d a0, fa1, rtz)
DI(112, 0x41e0000000000000, 0, 0x000000007fffffff, NV, fcvt.w.d a0, fa1, rtz)   // 2^31
DI(113, 0xc1e0000000000000, 0, 0xffffffff80000000, 0, fcvt.w.d a0, fa1, rtz)    // -2^31
DI(114, 0xc1e0000000200000, 0, 0xffffffff80000000, NV, fcvt.w.d a0, fa1, rtz)   // -2^31-1
DI(115, 0x41dfffffffe00000, 0, 0x000000007fffffff, NX, fcvt.w.d a0, fa1, rtz)   // 2^31-0.5
DI(116, 0x41dfffffffe00000, 0, 0x000000007fffffff, NV, fcvt.w.d a0, fa1, rne)   // rounds to 2^31
DI(117, 0x41efffffffe00000, 0, 0xffffffffffffffff, 0, fcvt.wu.d a0, fa1, rtz)   // 2^32-1
DI(118, 0x41f0000000000000, 0, 0xffffffffffffffff, NV, fcvt.wu.d a0, fa1, rtz)  // 2^32
DI(119, 0x41e0000000000000, 0, 0xffffffff80000000, 0, fcvt.wu.d a0, fa1, rtz)   // 2^31, sign-extended
DI(120, QNAN, 0, 0xffffffffffffffff, NV, fcvt.wu.d a0, fa1, rtz)
DI(121, NINF, 0, 0, NV, fcvt.wu.d a0, fa1, rtz)
DI(122, 0xbfe8000000000000, 0, 0, NX, fcvt.wu.d a0, fa1, rtz)     // -0.75 -> -0
DI(123, 0xbfe8000000000000, 0, 0, NV, fcvt.wu.d a0, fa1, rdn)     // -0.75 -> -1
DI(124, QNAN, 0, 0x7fffffffffffffff, NV, fcvt.l.d a0, fa1, rtz)
DI(125, INF, 0, 0x7fffffffffffffff, NV, fcvt.l.d a0, fa1, rtz)
DI(126, NINF, 0, 0x8000000000000000, NV, fcvt.l.d a0, fa1, rtz)
DI(127, 0x43e0000000000000, 0, 0x7fffffffffffffff, NV, fcvt.l.d a0, fa1, rtz)   // 2^63
DI(128, 0xc3e0000000000000, 0, 0x8000000000000000, 0, fcvt.l.d a0, fa1, rtz)    // -2^63
DI(129, 0x43dfffffffffffff, 0, 0x7ffffffffffffc00, 0, fcvt.l.d a0, fa1, rtz)    // 2^63-1024
DI(130, 0xbff8000000000000, 0, -2, NX, fcvt.l.d a0, fa1, rne)                   // -1.5
DI(131, QNAN, 0, 0xffffffffffffffff, NV, fcvt.lu.d a0, fa1, rtz)
DI(132, INF, 0, 0xffffffffffffffff, NV, fcvt.lu.d a0, fa1, rtz)
DI(133, NINF, 0, 0, NV, fcvt.lu.d a0, fa1, rtz)
DI(134, 0x43f0000000000000, 0, 0xffffffffffffffff, NV, fcvt.lu.d a0, fa1, rtz)  // 2^64
DI(135, 0x43efffffffffffff, 0, 0xfffffffffffff800, 0, fcvt.lu.d a0, fa1, rtz)   // 2^64-2048
DI(136, NONE, 0, 0, NV, fcvt.lu.d a0, fa1, rtz)
DI(137, 0x3fe0000000000001, 0, 1, NX, fcvt.lu.d a0, fa1, rup)

// ================================================================ int -> double
DX(138, -1, NONE, 0, fcvt.d.w fa0, a1)
DX(139, 0xffffffff00000003, THREE, 0, fcvt.d.w fa0, a1)
DX(140, 0x0000000080000000, 0xc1e0000000000000, 0, fcvt.d.w fa0, a1)
DX(141, 0xffffffff, 0x41efffffffe00000, 0, fcvt.d.wu fa0, a1)
DX(142, 0xffffffff00000001, ONE, 0, fcvt.d.wu fa0, a1)
DX(143, 0x7fffffffffffffff, 0x43e0000000000000, NX, fcvt.d.l fa0, a1)
DX(144, 0x7fffffffffffffff, 0x43dfffffffffffff, NX, fcvt.d.l fa0, a1, rtz)
DX(145, 0x8000000000000000, 0xc3e0000000000000, 0, fcvt.d.l fa0, a1)
DX(146, 0x0020000000000001, 0x4340000000000000, NX, fcvt.d.l fa0, a1, rne)     // 2^53+1
DX(147, 0x0020000000000001, 0x4340000000000001, NX, fcvt.d.l fa0, a1, rup)
DX(148, -1, 0x43f0000000000000, NX, fcvt.d.lu fa0, a1)
DX(149, -1, 0x43efffffffffffff, NX, fcvt.d.lu fa0, a1, rdn)
DX(150, 0, PZERO, 0, fcvt.d.lu fa0, a1)

// ================================================================ double <-> single
// fcvt.s.d: results are NaN-boxed singles
DT(151, ONE, 0, 0, 0xffffffff3f800000, 0, fcvt.s.d fa0, fa1)
DT(152, MAXD, 0, 0, 0xffffffff7f800000, OF | NX, fcvt.s.d fa0, fa1, rne)
DT(153, MAXD, 0, 0, 0xffffffff7f7fffff, OF | NX, fcvt.s.d fa0, fa1, rtz)
DT(154, 0x3ff0000000000001, 0, 0, 0xffffffff3f800000, NX, fcvt.s.d fa0, fa1, rne)
DT(155, 0x3ff0000000000001, 0, 0, 0xffffffff3f800001, NX, fcvt.s.d fa0, fa1, rup)
DT(156, SNAN, 0, 0, 0xffffffff7fc00000, NV, fcvt.s.d fa0, fa1)
DT(157, 0xfff8000012345678, 0, 0, 0xffffffff7fc00000, 0, fcvt.s.d fa0, fa1)
DT(158, 0x35f0000000000000, 0, 0, 0xffffffff00000000, UF | NX, fcvt.s.d fa0, fa1, rne)   // 2^-160
DT(159, 0x35f0000000000000, 0, 0, 0xffffffff00000001, UF | NX, fcvt.s.d fa0, fa1, rup)
DT(160, 0x36a0000000000000, 0, 0, 0xffffffff00000001, 0, fcvt.s.d fa0, fa1)              // 2^-149 exact
DT(161, 0x3fd5555555555555, 0, 0, 0xffffffff3eaaaaab, NX, fcvt.s.d fa0, fa1)
DT(162, NINF, 0, 0, 0xffffffffff800000, 0, fcvt.s.d fa0, fa1)
DT(163, NZERO, 0, 0, 0xffffffff80000000, 0, fcvt.s.d fa0, fa1)
// fcvt.d.s: exact
SET_TEST(164)
    li     t0, 0x3f800000
    fmv.w.x fa1, t0
    fsflags zero
    fcvt.d.s fa0, fa1
    fmv.x.d a0, fa0
    CHECK(a0, ONE)
SET_TEST(165)
    li     t0, 0x00000001                 // 2^-149: a normal double
    fmv.w.x fa1, t0
    fcvt.d.s fa0, fa1
    fmv.x.d a0, fa0
    CHECK(a0, 0x36a0000000000000)
SET_TEST(166)
    li     t0, 0x7f800001                 // sNaN -> canonical, NV
    fmv.w.x fa1, t0
    fcvt.d.s fa0, fa1
    fmv.x.d a0, fa0
    CHECK(a0, QNAN)
    frflags a0
    CHECK(a0, NV)
SET_TEST(167)
    li     t0, 0xff800000
    fmv.w.x fa1, t0
    fcvt.d.s fa0, fa1
    fmv.x.d a0, fa0
    CHECK(a0, NINF)

// ================================================================ rounding via frm
SET_TEST(168)
    li     t0, ONE
    fmv.d.x fa1, t0
    li     t0, THREE
    fmv.d.x fa2, t0
    fsrmi  3                              // RUP
    fdiv.d fa0, fa1, fa2
    fmv.x.d a0, fa0
    CHECK(a0, 0x3fd5555555555556)
SET_TEST(169)
    fsrmi  1                              // RTZ
    fdiv.d fa0, fa1, fa2
    fmv.x.d a0, fa0
    CHECK(a0, 0x3fd5555555555555)
SET_TEST(170)
    fsrmi  4                              // RMM: conversion tie goes away from zero
    li     t0, 0xc004000000000000
    fmv.d.x fa3, t0
    fcvt.l.d a0, fa3
    CHECK(a0, -3)
SET_TEST(171)
    fsrmi  7                              // frm = 7 is invalid for DYN
    EXPECT_TRAP(1f)
    fadd.d fa0, fa1, fa2
    j      fail_notrap
1:  CHECK(TCAUSE, CAUSE_ILLEGAL)
    fsrmi  0

// ================================================================ fflags accumulation
SET_TEST(172)
    fsflags zero
    li     t0, MAXD
    fmv.d.x fa1, t0
    fmul.d fa0, fa1, fa1                  // OF|NX
    fmv.d.x fa2, zero
    fdiv.d fa0, fa2, fa2                  // NV
    li     t0, MINSUB
    fmv.d.x fa3, t0
    fmul.d fa0, fa3, fa3                  // UF|NX
    frflags a0
    CHECK(a0, OF | NX | NV | UF)
    fsflags zero

// ================================================================ loads / stores
SET_TEST(173)
    la     a1, ddata
    fld    fa0, 0(a1)
    fmv.x.d a0, fa0
    CHECK(a0, 0x7ff0000000000001)
SET_TEST(174)
    fsd    fa0, 16(a1)
    ld     a0, 16(a1)
    CHECK(a0, 0x7ff0000000000001)
    ld     a0, 8(a1)
    CHECK(a0, 0x1111111111111111)
    ld     a0, 24(a1)
    CHECK(a0, 0x2222222222222222)
SET_TEST(175)
    addi   a2, a1, 2040
    fld    ft11, -2032(a2)               // = ddata + 8
    fmv.x.d a0, ft11
    CHECK(a0, 0x1111111111111111)
SET_TEST(176)                             // fld of a single-looking value: no boxing games
    li     t0, 0x000000003f800000
    sd     t0, 32(a1)
    fld    fa0, 32(a1)
    fmv.x.d a0, fa0
    CHECK(a0, 0x000000003f800000)

TEST_END

    .data
    .align 3
ddata:
    .dword 0x7ff0000000000001     // 0
    .dword 0x1111111111111111     // 8
    .dword 0                      // 16
    .dword 0x2222222222222222     // 24
    .dword 0                      // 32
