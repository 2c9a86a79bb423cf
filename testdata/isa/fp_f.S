// fp_f.S - F extension (single precision) on an FLEN=64 machine.
//
// Arithmetic with every static rounding mode and through frm (DYN), frm
// values 5/6 and static rm 5/6 are illegal, fflags accumulation (sticky,
// exact ops add nothing, fsflags returns the old value), fcsr layout and
// reserved bits, the fcvt saturation table (NaN, +-inf, out of range,
// negative to unsigned), int->float rounding, fmin/fmax with -0/+0 and
// sNaN/qNaN, feq/flt/fle NV rules, fclass of every class, canonical NaN
// results, FMA single rounding and inf*0 with a qNaN addend, NaN-boxing
// (results boxed, an unboxed input reads as the canonical NaN for
// arithmetic, fsgnj, fclass, compares and fcvt.d.s; transfers fmv.x.w/fsw
// do not check), fmv.x.w sign extension, flw/fsw, mstatus.FS (Off traps,
// writes make it Dirty and set SD).
#include "common.h"

#define NV 0x10
#define DZ 0x08
#define OF 0x04
#define UF 0x02
#define NX 0x01

#define BOX(x) (0xffffffff00000000 | (x))

#define ONE    0x3f800000
#define NONE   0xbf800000
#define TWO    0x40000000
#define THREE  0x40400000
#define HALF   0x3f000000
#define INF    0x7f800000
#define NINF   0xff800000
#define QNAN   0x7fc00000
#define NQNAN  0xffc00000
#define SNAN   0x7f800001
#define PZERO  0x00000000
#define NZERO  0x80000000
#define MAXF   0x7f7fffff
#define NMAXF  0xff7fffff
#define MINN   0x00800000
#define MINSUB 0x00000001

// fa0 = insn(fa1, fa2, fa3) (the instruction is the last argument); checks the boxed result bits and fflags.
#define FT(n, a, b, c, exp, flags, ...) \
    SET_TEST(n); li t0, a; fmv.w.x fa1, t0; li t0, b; fmv.w.x fa2, t0; li t0, c; fmv.w.x fa3, t0; \
    fsflags zero; __VA_ARGS__; frflags t1; fmv.x.d t2, fa0; CHECK(t2, BOX(exp)); CHECK(t1, flags)
// a0 = inst(fa1, fa2); checks the integer result and fflags.
#define FI(n, a, b, exp, flags, ...) \
    SET_TEST(n); li t0, a; fmv.w.x fa1, t0; li t0, b; fmv.w.x fa2, t0; \
    fsflags zero; __VA_ARGS__; frflags t1; CHECK(a0, exp); CHECK(t1, flags)
// fa0 = inst(a1); integer source.
#define FX(n, a, exp, flags, ...) \
    SET_TEST(n); li a1, a; fsflags zero; __VA_ARGS__; frflags t1; fmv.x.d t2, fa0; \
    CHECK(t2, BOX(exp)); CHECK(t1, flags)

TEST_BEGIN

// ================================================================ add/sub
FT(1, ONE, TWO, 0, THREE, 0, fadd.s fa0, fa1, fa2)
FT(2, ONE, ONE, 0, PZERO, 0, fsub.s fa0, fa1, fa2)
FT(3, ONE, ONE, 0, NZERO, 0, fsub.s fa0, fa1, fa2, rdn)      // x-x = -0 in RDN only
FT(4, NZERO, NZERO, 0, NZERO, 0, fadd.s fa0, fa1, fa2)
FT(5, NZERO, PZERO, 0, PZERO, 0, fadd.s fa0, fa1, fa2)
FT(6, NZERO, PZERO, 0, NZERO, 0, fadd.s fa0, fa1, fa2, rdn)
// 1 + 2^-24: exactly half an ulp above 1.0
FT(7, ONE, 0x33800000, 0, 0x3f800000, NX, fadd.s fa0, fa1, fa2, rne)
FT(8, ONE, 0x33800000, 0, 0x3f800000, NX, fadd.s fa0, fa1, fa2, rtz)
FT(9, ONE, 0x33800000, 0, 0x3f800000, NX, fadd.s fa0, fa1, fa2, rdn)
FT(10, ONE, 0x33800000, 0, 0x3f800001, NX, fadd.s fa0, fa1, fa2, rup)
FT(11, ONE, 0x33800000, 0, 0x3f800001, NX, fadd.s fa0, fa1, fa2, rmm)
// -(1 + 2^-24)
FT(12, NONE, 0xb3800000, 0, 0xbf800000, NX, fadd.s fa0, fa1, fa2, rne)
FT(13, NONE, 0xb3800000, 0, 0xbf800000, NX, fadd.s fa0, fa1, fa2, rtz)
FT(14, NONE, 0xb3800000, 0, 0xbf800001, NX, fadd.s fa0, fa1, fa2, rdn)
FT(15, NONE, 0xb3800000, 0, 0xbf800000, NX, fadd.s fa0, fa1, fa2, rup)
FT(16, NONE, 0xb3800000, 0, 0xbf800001, NX, fadd.s fa0, fa1, fa2, rmm)
// (1 + 2^-23) + 2^-24: tie between an odd and an even neighbour
FT(17, 0x3f800001, 0x33800000, 0, 0x3f800002, NX, fadd.s fa0, fa1, fa2, rne)
FT(18, 0x3f800001, 0x33800000, 0, 0x3f800001, NX, fadd.s fa0, fa1, fa2, rtz)
FT(19, 0x3f800001, 0x33800000, 0, 0x3f800002, NX, fadd.s fa0, fa1, fa2, rmm)
// 1 + 0.75 ulp
FT(20, ONE, 0x33c00000, 0, 0x3f800001, NX, fadd.s fa0, fa1, fa2, rne)
FT(21, ONE, 0x33c00000, 0, 0x3f800000, NX, fadd.s fa0, fa1, fa2, rdn)
FT(22, INF, NINF, 0, QNAN, NV, fadd.s fa0, fa1, fa2)
FT(23, INF, MAXF, 0, INF, 0, fadd.s fa0, fa1, fa2)
FT(24, SNAN, ONE, 0, QNAN, NV, fadd.s fa0, fa1, fa2)
FT(25, QNAN, ONE, 0, QNAN, 0, fadd.s fa0, fa1, fa2)
FT(26, 0x7fc12345, ONE, 0, QNAN, 0, fadd.s fa0, fa1, fa2)    // result NaN is canonical
FT(27, ONE, NQNAN, 0, QNAN, 0, fsub.s fa0, fa1, fa2)

// ================================================================ mul/div/sqrt
FT(28, 0x3fc00000, TWO, 0, THREE, 0, fmul.s fa0, fa1, fa2)
FT(29, NONE, NZERO, 0, PZERO, 0, fmul.s fa0, fa1, fa2)
FT(30, MAXF, TWO, 0, INF, OF | NX, fmul.s fa0, fa1, fa2, rne)
FT(31, MAXF, TWO, 0, MAXF, OF | NX, fmul.s fa0, fa1, fa2, rtz)
FT(32, MAXF, TWO, 0, MAXF, OF | NX, fmul.s fa0, fa1, fa2, rdn)
FT(33, MAXF, TWO, 0, INF, OF | NX, fmul.s fa0, fa1, fa2, rup)
FT(34, NMAXF, TWO, 0, NINF, OF | NX, fmul.s fa0, fa1, fa2, rdn)
FT(35, NMAXF, TWO, 0, NMAXF, OF | NX, fmul.s fa0, fa1, fa2, rup)
FT(36, MINN, HALF, 0, 0x00400000, 0, fmul.s fa0, fa1, fa2)    // exact subnormal: no UF
FT(37, MINSUB, HALF, 0, PZERO, UF | NX, fmul.s fa0, fa1, fa2, rne)
FT(38, MINSUB, HALF, 0, MINSUB, UF | NX, fmul.s fa0, fa1, fa2, rup)
FT(39, INF, PZERO, 0, QNAN, NV, fmul.s fa0, fa1, fa2)
FT(40, ONE, PZERO, 0, INF, DZ, fdiv.s fa0, fa1, fa2)
FT(41, NONE, PZERO, 0, NINF, DZ, fdiv.s fa0, fa1, fa2)
FT(42, ONE, NZERO, 0, NINF, DZ, fdiv.s fa0, fa1, fa2)
FT(43, PZERO, PZERO, 0, QNAN, NV, fdiv.s fa0, fa1, fa2)
FT(44, INF, INF, 0, QNAN, NV, fdiv.s fa0, fa1, fa2)
FT(45, ONE, THREE, 0, 0x3eaaaaab, NX, fdiv.s fa0, fa1, fa2)
FT(46, ONE, THREE, 0, 0x3eaaaaaa, NX, fdiv.s fa0, fa1, fa2, rtz)
FT(47, THREE, TWO, 0, 0x3fc00000, 0, fdiv.s fa0, fa1, fa2)
FT(48, ONE, INF, 0, PZERO, 0, fdiv.s fa0, fa1, fa2)
FT(49, 0x40800000, 0, 0, TWO, 0, fsqrt.s fa0, fa1)
FT(50, NONE, 0, 0, QNAN, NV, fsqrt.s fa0, fa1)
FT(51, NZERO, 0, 0, NZERO, 0, fsqrt.s fa0, fa1)
FT(52, TWO, 0, 0, 0x3fb504f3, NX, fsqrt.s fa0, fa1, rne)
FT(53, TWO, 0, 0, 0x3fb504f4, NX, fsqrt.s fa0, fa1, rup)
FT(54, INF, 0, 0, INF, 0, fsqrt.s fa0, fa1)
FT(55, NINF, 0, 0, QNAN, NV, fsqrt.s fa0, fa1)
FT(56, SNAN, 0, 0, QNAN, NV, fsqrt.s fa0, fa1)

// ================================================================ fused multiply-add
FT(57, TWO, THREE, ONE, 0x40e00000, 0, fmadd.s  fa0, fa1, fa2, fa3)
FT(58, TWO, THREE, ONE, 0x40a00000, 0, fmsub.s  fa0, fa1, fa2, fa3)
FT(59, TWO, THREE, ONE, 0xc0a00000, 0, fnmsub.s fa0, fa1, fa2, fa3)
FT(60, TWO, THREE, ONE, 0xc0e00000, 0, fnmadd.s fa0, fa1, fa2, fa3)
// (1+2^-12)^2 - (1+2^-11) = 2^-24 exactly, only with a single rounding
FT(61, 0x3f800800, 0x3f800800, 0xbf801000, 0x33800000, 0, fmadd.s  fa0, fa1, fa2, fa3)
FT(62, INF, PZERO, QNAN, QNAN, NV, fmadd.s  fa0, fa1, fa2, fa3)  // inf*0 is NV even with a qNaN addend
FT(63, ONE, ONE, SNAN, QNAN, NV, fmadd.s  fa0, fa1, fa2, fa3)
FT(64, INF, ONE, NINF, QNAN, NV, fmadd.s  fa0, fa1, fa2, fa3)
FT(65, ONE, PZERO, PZERO, NZERO, 0, fnmadd.s fa0, fa1, fa2, fa3)  // -(+0) - (+0) = -0
FT(66, ONE, ONE, 0x33000000, 0x3f7fffff, NX, fmsub.s  fa0, fa1, fa2, fa3, rdn)   // 1 - 2^-25

// ================================================================ sign injection
FT(67, ONE, NONE, 0, NONE, 0, fsgnj.s  fa0, fa1, fa2)
FT(68, ONE, NONE, 0, ONE, 0, fsgnjn.s fa0, fa1, fa2)
FT(69, NONE, NONE, 0, ONE, 0, fsgnjx.s fa0, fa1, fa2)
FT(70, NONE, ONE, 0, NONE, 0, fsgnjx.s fa0, fa1, fa2)
FT(71, SNAN, NONE, 0, 0xff800001, 0, fsgnj.s  fa0, fa1, fa2)  // no canonicalisation, no NV
FT(72, PZERO, 0, 0, NZERO, 0, fneg.s   fa0, fa1)
FT(73, NINF, 0, 0, INF, 0, fabs.s   fa0, fa1)

// ================================================================ min/max
FT(74, NZERO, PZERO, 0, NZERO, 0, fmin.s fa0, fa1, fa2)
FT(75, PZERO, NZERO, 0, NZERO, 0, fmin.s fa0, fa1, fa2)
FT(76, NZERO, PZERO, 0, PZERO, 0, fmax.s fa0, fa1, fa2)
FT(77, PZERO, NZERO, 0, PZERO, 0, fmax.s fa0, fa1, fa2)
FT(78, QNAN, ONE, 0, ONE, 0, fmin.s fa0, fa1, fa2)
FT(79, ONE, QNAN, 0, ONE, 0, fmin.s fa0, fa1, fa2)
FT(80, SNAN, ONE, 0, ONE, NV, fmin.s fa0, fa1, fa2)
FT(81, NONE, SNAN, 0, NONE, NV, fmax.s fa0, fa1, fa2)
FT(82, QNAN, QNAN, 0, QNAN, 0, fmax.s fa0, fa1, fa2)
FT(83, SNAN, QNAN, 0, QNAN, NV, fmin.s fa0, fa1, fa2)
FT(84, 0x7fc12345, 0x7fc54321, 0, QNAN, 0, fmin.s fa0, fa1, fa2)
FT(85, ONE, TWO, 0, TWO, 0, fmax.s fa0, fa1, fa2)
FT(86, NINF, NMAXF, 0, NINF, 0, fmin.s fa0, fa1, fa2)
FT(87, NONE, NINF, 0, NONE, 0, fmax.s fa0, fa1, fa2)

// ================================================================ compares
FI(88, ONE, ONE, 1, 0, feq.s a0, fa1, fa2)
FI(89, NZERO, PZERO, 1, 0, feq.s a0, fa1, fa2)
FI(90, QNAN, ONE, 0, 0, feq.s a0, fa1, fa2)              // quiet compare
FI(91, QNAN, QNAN, 0, 0, feq.s a0, fa1, fa2)
FI(92, SNAN, ONE, 0, NV, feq.s a0, fa1, fa2)
FI(93, ONE, TWO, 1, 0, flt.s a0, fa1, fa2)
FI(94, TWO, ONE, 0, 0, flt.s a0, fa1, fa2)
FI(95, NZERO, PZERO, 0, 0, flt.s a0, fa1, fa2)
FI(96, QNAN, ONE, 0, NV, flt.s a0, fa1, fa2)             // signalling compares
FI(97, ONE, QNAN, 0, NV, fle.s a0, fa1, fa2)
FI(98, NZERO, PZERO, 1, 0, fle.s a0, fa1, fa2)
FI(99, TWO, ONE, 0, 0, fle.s a0, fa1, fa2)
FI(100, NINF, NMAXF, 1, 0, flt.s a0, fa1, fa2)
FI(101, SNAN, SNAN, 0, NV, fle.s a0, fa1, fa2)

// ================================================================ fclass
FI(102, NINF, 0, 0x001, 0, fclass.s a0, fa1)
FI(103, NONE, 0, 0x002, 0, fclass.s a0, fa1)
FI(104, 0x80000001, 0, 0x004, 0, fclass.s a0, fa1)
FI(105, NZERO, 0, 0x008, 0, fclass.s a0, fa1)
FI(106, PZERO, 0, 0x010, 0, fclass.s a0, fa1)
FI(107, 0x007fffff, 0, 0x020, 0, fclass.s a0, fa1)
FI(108, MINN, 0, 0x040, 0, fclass.s a0, fa1)
FI(109, INF, 0, 0x080, 0, fclass.s a0, fa1)
FI(110, SNAN, 0, 0x100, 0, fclass.s a0, fa1)
FI(111, QNAN, 0, 0x200, 0, fclass.s a0, fa1)
FI(112, 0xffbfffff, 0, 0x100, 0, fclass.s a0, fa1)        // negative sNaN
FI(113, NQNAN, 0, 0x200, 0, fclass.s a0, fa1)

// ================================================================ float -> int
FI(114, 0x3fc00000, 0, 2, NX, fcvt.w.s a0, fa1, rne)        // 1.5
FI(115, 0x40200000, 0, 2, NX, fcvt.w.s a0, fa1, rne)        // 2.5
FI(116, 0x40200000, 0, 3, NX, fcvt.w.s a0, fa1, rmm)
FI(117, 0x40200000, 0, 3, NX, fcvt.w.s a0, fa1, rup)
FI(118, 0x40200000, 0, 2, NX, fcvt.w.s a0, fa1, rdn)
FI(119, 0x40200000, 0, 2, NX, fcvt.w.s a0, fa1, rtz)
FI(120, 0xc0200000, 0, -2, NX, fcvt.w.s a0, fa1, rne)       // -2.5
FI(121, 0xc0200000, 0, -3, NX, fcvt.w.s a0, fa1, rmm)
FI(122, 0xc0200000, 0, -2, NX, fcvt.w.s a0, fa1, rup)
FI(123, 0xc0200000, 0, -3, NX, fcvt.w.s a0, fa1, rdn)
FI(124, 0xc0200000, 0, -2, NX, fcvt.w.s a0, fa1, rtz)
FI(125, NONE, 0, 0xffffffffffffffff, 0, fcvt.w.s a0, fa1, rtz)
FI(126, QNAN, 0, 0x000000007fffffff, NV, fcvt.w.s a0, fa1, rtz)
FI(127, SNAN, 0, 0x000000007fffffff, NV, fcvt.w.s a0, fa1, rtz)
FI(128, NQNAN, 0, 0x000000007fffffff, NV, fcvt.w.s a0, fa1, rtz)
FI(129, INF, 0, 0x000000007fffffff, NV, fcvt.w.s a0, fa1, rtz)
FI(130, NINF, 0, 0xffffffff80000000, NV, fcvt.w.s a0, fa1, rtz)
FI(131, 0x4f32d05e, 0, 0x000000007fffffff, NV, fcvt.w.s a0, fa1, rtz)   // 3e9
FI(132, 0xcf32d05e, 0, 0xffffffff80000000, NV, fcvt.w.s a0, fa1, rtz)   // -3e9
FI(133, 0xcf000000, 0, 0xffffffff80000000, 0, fcvt.w.s a0, fa1, rtz)    // -2^31 fits
FI(134, 0x4f32d05e, 0, 0xffffffffb2d05e00, 0, fcvt.wu.s a0, fa1, rtz)   // 3e9 fits, sign-extended
FI(135, 0x50000000, 0, 0xffffffffffffffff, NV, fcvt.wu.s a0, fa1, rtz)  // 2^33
FI(136, QNAN, 0, 0xffffffffffffffff, NV, fcvt.wu.s a0, fa1, rtz)
FI(137, INF, 0, 0xffffffffffffffff, NV, fcvt.wu.s a0, fa1, rtz)
FI(138, NINF, 0, 0, NV, fcvt.wu.s a0, fa1, rtz)
FI(139, NONE, 0, 0, NV, fcvt.wu.s a0, fa1, rtz)
FI(140, 0xbf400000, 0, 0, NX, fcvt.wu.s a0, fa1, rtz)        // -0.75 truncates to -0: in range
FI(141, 0xbf400000, 0, 0, NV, fcvt.wu.s a0, fa1, rne)        // -0.75 rounds to -1: invalid
FI(142, QNAN, 0, 0x7fffffffffffffff, NV, fcvt.l.s a0, fa1, rtz)
FI(143, INF, 0, 0x7fffffffffffffff, NV, fcvt.l.s a0, fa1, rtz)
FI(144, NINF, 0, 0x8000000000000000, NV, fcvt.l.s a0, fa1, rtz)
FI(145, 0x5f000000, 0, 0x7fffffffffffffff, NV, fcvt.l.s a0, fa1, rtz)   // 2^63
FI(146, 0xdf000000, 0, 0x8000000000000000, 0, fcvt.l.s a0, fa1, rtz)    // -2^63
FI(147, 0x4f32d05e, 0, 3000000000, 0, fcvt.l.s a0, fa1, rtz)
FI(148, 0xbfc00000, 0, -2, NX, fcvt.l.s a0, fa1, rne)                   // -1.5
FI(149, QNAN, 0, 0xffffffffffffffff, NV, fcvt.lu.s a0, fa1, rtz)
FI(150, INF, 0, 0xffffffffffffffff, NV, fcvt.lu.s a0, fa1, rtz)
FI(151, NINF, 0, 0, NV, fcvt.lu.s a0, fa1, rtz)
FI(152, 0x5f800000, 0, 0xffffffffffffffff, NV, fcvt.lu.s a0, fa1, rtz)  // 2^64
FI(153, 0x5f000000, 0, 0x8000000000000000, 0, fcvt.lu.s a0, fa1, rtz)   // 2^63
FI(154, NONE, 0, 0, NV, fcvt.lu.s a0, fa1, rtz)
FI(155, 0x3f000001, 0, 1, NX, fcvt.lu.s a0, fa1, rup)

// ================================================================ int -> float
FX(156, -1, NONE, 0, fcvt.s.w fa0, a1)
FX(157, 0xffffffff00000003, THREE, 0, fcvt.s.w fa0, a1)      // only the low word counts
FX(158, 0x80000000, 0xcf000000, 0, fcvt.s.w fa0, a1)         // low word = -2^31
FX(159, 16777217, 0x4b800000, NX, fcvt.s.w fa0, a1, rne)     // 2^24+1 ties to even
FX(160, 16777217, 0x4b800001, NX, fcvt.s.w fa0, a1, rup)
FX(161, 0xffffffff, 0x4f800000, NX, fcvt.s.wu fa0, a1, rne)
FX(162, 0xffffffff, 0x4f7fffff, NX, fcvt.s.wu fa0, a1, rtz)
FX(163, 0xffffffff00000001, ONE, 0, fcvt.s.wu fa0, a1)
FX(164, 0x7fffffffffffffff, 0x5f000000, NX, fcvt.s.l fa0, a1)
FX(165, 0x8000000000000000, 0xdf000000, 0, fcvt.s.l fa0, a1)
FX(166, 0, PZERO, 0, fcvt.s.l fa0, a1)
FX(167, -1, 0x5f800000, NX, fcvt.s.lu fa0, a1)
FX(168, -1, 0x5f7fffff, NX, fcvt.s.lu fa0, a1, rtz)
FX(169, 0x8000000000000000, 0x5f000000, 0, fcvt.s.lu fa0, a1)

// ================================================================ moves
FI(170, NONE, 0, 0xffffffffbf800000, 0, fmv.x.w a0, fa1)     // sign-extends
FI(171, ONE, 0, 0x000000003f800000, 0, fmv.x.w a0, fa1)
FI(172, SNAN, 0, 0x000000007f800001, 0, fmv.x.w a0, fa1)
FX(173, 0x123456787f800001, SNAN, 0, fmv.w.x fa0, a1)        // low word, boxed, no flags

// ================================================================ rounding via frm (DYN)
SET_TEST(174)
    fsrmi  1                              // RTZ
    li     t0, ONE
    fmv.w.x fa1, t0
    li     t0, 0x33c00000
    fmv.w.x fa2, t0
    fadd.s fa0, fa1, fa2                  // dyn
    fmv.x.w a0, fa0
    CHECK(a0, ONE)
SET_TEST(175)
    fsrmi  t1, 3                          // RUP; returns the old frm
    CHECK(t1, 1)
    fadd.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    CHECK(a0, 0x3f800001)
SET_TEST(176)
    fadd.s fa0, fa1, fa2, rtz             // static rm overrides frm
    fmv.x.w a0, fa0
    CHECK(a0, ONE)
SET_TEST(177)
    li     t0, 4                          // RMM through csrw frm
    csrw   frm, t0
    li     t0, 0x33800000
    fmv.w.x fa2, t0
    fadd.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    CHECK(a0, 0x3f800001)
SET_TEST(178)
    fsrmi  2                              // RDN on 1/3 and -1/3
    li     t0, THREE
    fmv.w.x fa2, t0
    fdiv.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    CHECK(a0, 0x3eaaaaaa)
    fneg.s fa1, fa1
    fdiv.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    CHECK(a0, 0xffffffffbeaaaaab)
SET_TEST(179)                             // dyn rounding for conversions too
    li     t0, 0x40200000                 // 2.5
    fmv.w.x fa1, t0
    fcvt.w.s a0, fa1                      // dyn = RDN
    CHECK(a0, 2)
    fsrmi  3
    fcvt.w.s a0, fa1
    CHECK(a0, 3)
    fsrmi  0
    fcvt.w.s a0, fa1
    CHECK(a0, 2)
// invalid rounding modes
SET_TEST(180)
    fsrmi  5
    EXPECT_TRAP(1f)
    fadd.s fa0, fa1, fa1                  // dyn with frm = 5: illegal
    j      fail_notrap
1:  CHECK(TCAUSE, CAUSE_ILLEGAL)
SET_TEST(181)
    fadd.s fa0, fa1, fa1, rne             // static rm still fine
    fmv.x.w a0, fa0
    CHECK(a0, 0x40a00000)
SET_TEST(182)
    fsrmi  6
    EXPECT_TRAP(1f)
    fcvt.w.s a0, fa1                      // dyn
    j      fail_notrap
1:  CHECK(TCAUSE, CAUSE_ILLEGAL)
    fsrmi  0
TEST_TRAP(183, CAUSE_ILLEGAL, .word 0x00c5d553)     // fadd.s fa0, fa1, fa2 with rm = 5
    CHECK_TVAL(0x00c5d553)
TEST_TRAP(184, CAUSE_ILLEGAL, .word 0x00c5e553)     // rm = 6
SET_TEST(185)                             // sign-injection has no rm: funct3 picks the op
    fsgnj.s fa0, fa1, fa1
    CHECK(zero, 0)

// ================================================================ fflags / fcsr
SET_TEST(186)
    fscsr  zero
    li     t0, ONE
    fmv.w.x fa1, t0
    li     t0, THREE
    fmv.w.x fa2, t0
    fdiv.s fa0, fa1, fa2                  // NX
    frflags a0
    CHECK(a0, NX)
SET_TEST(187)
    fmv.w.x fa3, zero
    fdiv.s fa0, fa1, fa3                  // DZ accumulates
    frflags a0
    CHECK(a0, NX | DZ)
SET_TEST(188)
    fadd.s fa0, fa1, fa1                  // exact: nothing added, nothing cleared
    frflags a0
    CHECK(a0, NX | DZ)
SET_TEST(189)
    fneg.s fa4, fa1
    fsqrt.s fa0, fa4                      // NV
    fmul.s fa0, fa1, fa1
    frflags a0
    CHECK(a0, NX | DZ | NV)
SET_TEST(190)
    csrr   a0, fcsr                       // frm = 0 in bits 7:5
    CHECK(a0, NX | DZ | NV)
SET_TEST(191)
    fsflags a0, zero                      // returns old flags, clears
    CHECK(a0, NX | DZ | NV)
    frflags a0
    CHECK(a0, 0)
SET_TEST(192)
    li     t0, 0x1ff                      // bits above 7 are reserved: read 0
    fscsr  t0
    csrr   a0, fcsr
    CHECK(a0, 0xff)
    frrm   a0
    CHECK(a0, 7)
    frflags a0
    CHECK(a0, 0x1f)
SET_TEST(193)
    li     t0, 0xfa                       // frm takes the low 3 bits
    csrw   frm, t0
    csrr   a0, fcsr
    CHECK(a0, 0x5f)
    fsflagsi 0x3
    csrr   a0, fcsr
    CHECK(a0, 0x43)
    csrwi  fflags, 0x1c                   // fflags keeps 5 bits
    csrr   a0, fflags
    CHECK(a0, 0x1c)
    fscsr  zero
SET_TEST(194)                             // an NV-raising compare on NaN inputs
    li     t0, SNAN
    fmv.w.x fa1, t0
    feq.s  a0, fa1, fa1
    frflags a0
    CHECK(a0, NV)
    fscsr  zero

// ================================================================ NaN boxing
SET_TEST(195)                             // flw result is boxed
    la     a1, fdata
    flw    fa0, 0(a1)
    fmv.x.d a0, fa0
    CHECK(a0, 0xffffffffbf800000)
SET_TEST(196)                             // arithmetic result boxed
    fadd.s fa0, fa0, fa0
    fmv.x.d a0, fa0
    CHECK(a0, 0xffffffffc0000000)
SET_TEST(197)                             // unboxed input = canonical NaN
    li     t0, 0x000000003f800000
    fmv.d.x fa1, t0
    fsflags zero
    fadd.s fa0, fa1, fa1
    fmv.x.d a0, fa0
    CHECK(a0, 0xffffffff7fc00000)
    frflags a0
    CHECK(a0, 0)                          // the canonical NaN is quiet
SET_TEST(198)
    li     t0, 0xfffffffe3f800000         // one upper bit clear is enough
    fmv.d.x fa1, t0
    li     t0, ONE
    fmv.w.x fa2, t0
    fmul.s fa0, fa2, fa1
    fmv.x.d a0, fa0
    CHECK(a0, 0xffffffff7fc00000)
SET_TEST(199)                             // fsgnj: magnitude of the canonical NaN
    li     t0, NONE
    fmv.w.x fa2, t0
    fsgnj.s fa0, fa1, fa2
    fmv.x.d a0, fa0
    CHECK(a0, 0xffffffffffc00000)
SET_TEST(200)                             // ... and an unboxed sign source
    li     t0, ONE
    fmv.w.x fa2, t0
    fsgnjn.s fa0, fa2, fa1                // sign of canonical NaN is 0 -> negate
    fmv.x.d a0, fa0
    CHECK(a0, 0xffffffffbf800000)
SET_TEST(201)
    fclass.s a0, fa1
    CHECK(a0, 0x200)
SET_TEST(202)
    fsflags zero
    feq.s  a0, fa2, fa1
    CHECK(a0, 0)
    frflags a0
    CHECK(a0, 0)
SET_TEST(203)
    fcvt.d.s fa0, fa1
    fmv.x.d a0, fa0
    CHECK(a0, 0x7ff8000000000000)
SET_TEST(204)                             // transfers do not check boxing
    li     t0, 0x12345678bf800000
    fmv.d.x fa1, t0
    fmv.x.w a0, fa1
    CHECK(a0, 0xffffffffbf800000)
SET_TEST(205)
    la     a1, fdata
    li     t0, -1
    sd     t0, 8(a1)
    fsw    fa1, 8(a1)                     // stores the low 32 bits as they are
    ld     a0, 8(a1)
    CHECK(a0, 0xffffffffbf800000)
SET_TEST(206)
    fmv.s  fa0, fa1                       // fsgnj.s fa0, fa1, fa1: unboxed -> canonical NaN
    fmv.x.d a0, fa0
    CHECK(a0, 0xffffffff7fc00000)
SET_TEST(207)
    li     t0, 0x000000003f800000
    fmv.d.x fa1, t0
    fcvt.w.s a0, fa1, rtz                 // canonical NaN -> max int, NV
    CHECK(a0, 0x7fffffff)

// ================================================================ loads / stores
SET_TEST(208)
    la     a1, fdata
    flw    fa0, 4(a1)
    fsw    fa0, 20(a1)
    lwu    a0, 20(a1)
    CHECK(a0, 0x7f800001)
    lwu    a0, 16(a1)                     // neighbour untouched
    CHECK(a0, 0x11111111)
    lwu    a0, 24(a1)
    CHECK(a0, 0x22222222)
SET_TEST(209)
    addi   a2, a1, 2047
    flw    fa0, -2047(a2)
    fmv.x.w a0, fa0
    CHECK(a0, 0xffffffffbf800000)
SET_TEST(210)                             // flw keeps an sNaN bit pattern, no flags
    fsflags zero
    flw    fa0, 4(a1)
    fmv.x.d a0, fa0
    CHECK(a0, 0xffffffff7f800001)
    frflags a0
    CHECK(a0, 0)

// ================================================================ mstatus.FS
SET_TEST(211)                             // a write to an f register makes FS Dirty
    li     t0, MSTATUS_FS
    csrc   mstatus, t0
    li     t0, MSTATUS_FS_CLEAN
    csrs   mstatus, t0
    fmv.w.x fa0, zero
    csrr   a0, mstatus
    li     t0, MSTATUS_FS
    and    a1, a0, t0
    CHECK(a1, MSTATUS_FS_DIRTY)
    srli   a1, a0, 63                     // SD summarises FS == Dirty
    CHECK(a1, 1)
SET_TEST(212)                             // fflags changes dirty it as well
    li     t0, MSTATUS_FS
    csrc   mstatus, t0
    li     t0, MSTATUS_FS_CLEAN
    csrs   mstatus, t0
    csrr   a0, mstatus
    srli   a1, a0, 63
    CHECK(a1, 0)
    fsflagsi 1
    csrr   a0, mstatus
    li     t0, MSTATUS_FS
    and    a1, a0, t0
    CHECK(a1, MSTATUS_FS_DIRTY)
    fscsr  zero
SET_TEST(213)                             // FS = Off: FP instructions and fcsr trap
    li     t0, MSTATUS_FS
    csrc   mstatus, t0
    EXPECT_TRAP(1f)
    .option push
    .option norvc
2:  fadd.s fa0, fa1, fa2
    .option pop
    j      fail_notrap
1:  CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_EPC(2b)
SET_TEST(214)
    EXPECT_TRAP(1f)
    frflags a0
    j      fail_notrap
1:  CHECK(TCAUSE, CAUSE_ILLEGAL)
SET_TEST(215)
    la     a1, fdata
    EXPECT_TRAP(1f)
2:  c.fld  fa0, 0(a1)                     // mtval: the 16-bit encoding
    j      fail_notrap
1:  CHECK(TCAUSE, CAUSE_ILLEGAL)
    CHECK_EPC(2b)
    CHECK_TVAL(0x2188)                    // c.fld fa0, 0(a1)
    la     t0, 2b
    lhu    t1, 0(t0)
    CHECK(t1, 0x2188)
SET_TEST(216)
    EXPECT_TRAP(1f)
    fmv.w.x fa0, zero
    j      fail_notrap
1:  CHECK(TCAUSE, CAUSE_ILLEGAL)
    li     t0, MSTATUS_FS_INITIAL
    csrs   mstatus, t0
SET_TEST(217)                             // and back on
    fmv.w.x fa0, zero
    CHECK(zero, 0)

TEST_END

    .data
    .align 3
fdata:
    .word 0xbf800000        // 0: -1.0
    .word 0x7f800001        // 4: sNaN
    .word 0, 0              // 8
    .word 0x11111111        // 16
    .word 0                 // 20
    .word 0x22222222        // 24
    .word 0
