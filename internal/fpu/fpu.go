// Package fpu implements the arithmetic of the RISC-V "F" and "D" standard
// extensions (RISC-V Unprivileged ISA 20191213, chapters 11 and 12) on raw
// IEEE 754 binary32 / binary64 bit patterns.
//
// Every operation returns the exactly specified result together with the
// accrued-exception flags (fflags) it raises, for all five static rounding
// modes, independently of the host FPU's state:
//
//   - NaN results are always the canonical NaN (RISC-V does not propagate
//     NaN payloads); signaling NaN operands raise NV.
//   - Subnormals are fully supported (no flush-to-zero).
//   - Tininess is detected after rounding, as RISC-V requires; UF is raised
//     only when the result is both tiny and inexact (IEEE 754 default
//     exception handling).
//
// # Strategy
//
// Go's floating-point operators always round to nearest, ties to even (the
// Go runtime never changes the host rounding mode, and Go does not flush
// subnormals). The fast paths therefore compute the round-to-nearest-even
// result r with one host instruction and then learn the sign of the exact
// rounding error (exact - r) from an error-free transformation:
//
//   - add/sub: TwoSum (Knuth), the error is a float64;
//   - mul:     math.FMA(x, y, -r) is the exact error;
//   - div:     math.FMA(-r, y, x) = x - r*y is exact, error sign = its sign times sign(y);
//   - sqrt:    math.FMA(-r, r, x) = x - r*r is exact, error sign = its sign;
//   - fma:     TwoProduct + TwoSum, falling back to a Shewchuk expansion.
//
// Each transformation is exact only away from the overflow and underflow
// thresholds, so every fast path is guarded by a cheap range check on the
// bit patterns; outside it, or for special operands, a software
// implementation on integer significands (math/bits, no allocation) is used.
// A zero error means the operation was exact (no flags). Otherwise NX is
// raised and, for the directed rounding modes, r is moved by one unit in the
// last place when the error points the "wrong" way. Because the guards
// exclude the overflow and tininess regions, no other flag can arise in a fast
// path. RMM differs from RNE only on an exact tie, which is detected from the
// exact error where it is available (add, mul), cannot happen (div and sqrt
// with normal results), or sends the operation to the software path (fma).
//
// Binary32 operations are computed in binary64 together with the sign of the
// binary64 rounding error, and then narrowed to binary32 by a software rounder
// that treats that error as a sticky bit; see narrow. This makes every
// rounding mode, the overflow rule and tininess-after-rounding exact without
// relying on the "double rounding is innocuous" theorem.
//
// Go may fuse x*y+z into a single fused multiply-add on some architectures
// (arm64, ppc64le, s390x, riscv64). Every product whose rounding matters is
// therefore wrapped in an explicit float64(...) conversion, which the Go
// specification guarantees prevents fusion.
package fpu

import (
	"math"
	"math/bits"
)

// Flags is a set of RISC-V accrued floating-point exception flags, laid out
// as in the fflags CSR.
type Flags uint8

// The fflags bits.
const (
	// NX is the inexact flag: the rounded result differs from the exact one.
	NX Flags = 1 << 0
	// UF is the underflow flag: the result is tiny (after rounding) and inexact.
	UF Flags = 1 << 1
	// OF is the overflow flag: the rounded result exceeds the largest finite number.
	OF Flags = 1 << 2
	// DZ is the divide-by-zero flag: a finite nonzero number was divided by zero.
	DZ Flags = 1 << 3
	// NV is the invalid-operation flag.
	NV Flags = 1 << 4
)

// Rounding modes as encoded in an instruction's rm field and in the frm CSR.
// The dynamic mode (7) must be resolved by the caller; the values 5 to 7 are
// reserved and, if passed anyway, behave like RNE.
const (
	// RNE rounds to nearest, ties to even.
	RNE = 0
	// RTZ rounds towards zero.
	RTZ = 1
	// RDN rounds down, towards negative infinity.
	RDN = 2
	// RUP rounds up, towards positive infinity.
	RUP = 3
	// RMM rounds to nearest, ties to max magnitude (away from zero).
	RMM = 4
)

// CanonicalNaN32 is the binary32 canonical quiet NaN every NaN-producing
// single-precision operation returns.
const CanonicalNaN32 uint32 = 0x7fc00000

// CanonicalNaN64 is the binary64 canonical quiet NaN every NaN-producing
// double-precision operation returns.
const CanonicalNaN64 uint64 = 0x7ff8000000000000

// Bit-pattern constants.
const (
	sign64  uint64 = 1 << 63
	inf64   uint64 = 0x7ff0000000000000
	mant64  uint64 = 1<<52 - 1
	quiet64 uint64 = 1 << 51
	one64   uint64 = 0x3ff0000000000000

	sign32  uint32 = 1 << 31
	inf32   uint32 = 0x7f800000
	mant32  uint32 = 1<<23 - 1
	quiet32 uint32 = 1 << 22
)

func isNaN64(a uint64) bool  { return a&^sign64 > inf64 }
func isSNaN64(a uint64) bool { return isNaN64(a) && a&quiet64 == 0 }
func isNaN32(a uint32) bool  { return a&^sign32 > inf32 }
func isSNaN32(a uint32) bool { return isNaN32(a) && a&quiet32 == 0 }

// nvIf returns NV when b is true.
func nvIf(b bool) Flags {
	if b {
		return NV
	}
	return 0
}

// nxIf returns NX when b is true.
func nxIf(b bool) Flags {
	if b {
		return NX
	}
	return 0
}

// format describes an IEEE 754 binary interchange format for the software
// rounder.
type format struct {
	prec  uint   // significand precision p, including the hidden bit
	mbits uint   // stored trailing significand bits, p-1
	emin  int    // exponent of the smallest normal number
	emax  int    // exponent of the largest finite number
	bias  int    // exponent bias
	sign  uint64 // sign bit
	inf   uint64 // +infinity
}

var (
	binary64 = format{prec: 53, mbits: 52, emin: -1022, emax: 1023, bias: 1023, sign: sign64, inf: inf64}
	binary32 = format{prec: 24, mbits: 23, emin: -126, emax: 127, bias: 127, sign: uint64(sign32), inf: uint64(inf32)}
)

// The software rounder works on "unpacked" values: a sign, an exponent exp
// and a 64-bit significand sig normalized to [2^62, 2^63), meaning the value
// sig * 2^(exp-62), i.e. 1.f * 2^exp. Bits shifted out of sig are not
// dropped but OR-ed into bit 0 ("jamming", a sticky bit). Since binary64 keeps
// only 53 of the 63 significant bits, the rounding position is at least 10
// bits above the sticky bit, so the round bit and the sticky information are
// both exact: a jammed significand rounds exactly like the exact value in
// every rounding mode (the jammed value lies strictly between the same two
// neighbouring multiples of 2 units as the exact one and is never itself a
// rounding boundary at precision <= 61).

// shiftRightJam shifts sig right by n bits, OR-ing any bit shifted out into
// bit 0.
func shiftRightJam(sig uint64, n int) uint64 {
	if n <= 0 {
		return sig
	}
	if n >= 63 {
		if sig != 0 {
			return 1
		}
		return 0
	}
	r := sig >> uint(n)
	if sig<<(64-uint(n)) != 0 {
		r |= 1
	}
	return r
}

// roundSig drops the low shift (1..63) bits of sig, rounding the remaining
// integer according to rm for a value of sign neg. It reports whether any
// dropped bit was nonzero. The result may carry into a new top bit.
func roundSig(sig uint64, shift uint, neg bool, rm uint8) (uint64, bool) {
	k := sig >> shift
	rest := sig & (1<<shift - 1)
	if rest == 0 {
		return k, false
	}
	half := uint64(1) << (shift - 1)
	switch rm {
	case RTZ:
	case RDN:
		if neg {
			k++
		}
	case RUP:
		if !neg {
			k++
		}
	case RMM:
		if rest >= half {
			k++
		}
	default: // RNE
		if rest > half || rest == half && k&1 != 0 {
			k++
		}
	}
	return k, true
}

// overflowResult returns the result of an overflowing operation of sign neg
// in format f: infinity for the round-to-nearest modes and for the directed
// mode rounding away from zero for that sign, otherwise the largest finite
// number. OF and NX are always raised.
func overflowResult(f *format, neg bool, rm uint8) (uint64, Flags) {
	var s uint64
	if neg {
		s = f.sign
	}
	toMax := false
	switch rm {
	case RTZ:
		toMax = true
	case RDN:
		toMax = !neg
	case RUP:
		toMax = neg
	}
	if toMax {
		return s | (f.inf - 1), OF | NX
	}
	return s | f.inf, OF | NX
}

// roundPack rounds the unpacked value (-1)^neg * sig * 2^(exp-62), sig in
// [2^62, 2^63) possibly with a sticky bit 0, to format f under rm and returns
// its bit pattern and the NX/UF/OF flags.
//
// Tininess is detected after rounding: the value is tiny if rounding it to
// f.prec bits with an unbounded exponent range gives a magnitude below
// 2^emin. That can only be avoided below 2^emin when exp == emin-1 and the
// rounding carries into 2^emin.
func roundPack(f *format, neg bool, exp int, sig uint64, rm uint8) (uint64, Flags) {
	shift := 63 - f.prec
	var s uint64
	if neg {
		s = f.sign
	}
	if exp < f.emin {
		tiny := true
		if exp == f.emin-1 {
			if k, _ := roundSig(sig, shift, neg, rm); k>>f.prec != 0 {
				tiny = false
			}
		}
		// Denormalize: the representable numbers below 2^emin are the
		// multiples of 2^(emin-prec+1); k is that multiple. If rounding
		// carries k to 2^(prec-1), the pattern s|k is exactly the smallest
		// normal number, so no special case is needed.
		k, inexact := roundSig(shiftRightJam(sig, f.emin-exp), shift, neg, rm)
		var fl Flags
		if inexact {
			fl = NX
			if tiny {
				fl |= UF
			}
		}
		return s | k, fl
	}
	k, inexact := roundSig(sig, shift, neg, rm)
	if k>>f.prec != 0 { // carried to 2^prec
		k >>= 1
		exp++
	}
	if exp > f.emax {
		return overflowResult(f, neg, rm)
	}
	// k has its hidden bit (bit prec-1) set, which adds the missing 1 to
	// the biased exponent field.
	return s | (uint64(exp+f.bias-1)<<f.mbits + k), nxIf(inexact)
}

// unpack64 returns the exponent and normalized significand of the finite,
// nonzero binary64 pattern a (the sign is ignored).
func unpack64(a uint64) (int, uint64) {
	e := int(a>>52) & 0x7ff
	m := a & mant64
	if e == 0 {
		lz := bits.LeadingZeros64(m) // 12..63
		return 63 - lz - 1074, m << uint(lz-1)
	}
	return e - 1023, (m | 1<<52) << 10
}

// normalize64 converts the nonzero magnitude v, whose value is v * 2^lsb,
// into the unpacked form (exp, sig), jamming a shifted-out bit.
func normalize64(v uint64, lsb int) (int, uint64) {
	lz := bits.LeadingZeros64(v)
	if lz == 0 {
		return lsb + 63, v>>1 | v&1
	}
	return lsb + 63 - lz, v << uint(lz-1)
}

// twoSum returns s = RN(a+b) and the exact error t = a+b-s (Knuth's TwoSum,
// six operations, valid for any a, b as long as nothing overflows; exact
// also for subnormal operands).
func twoSum(a, b float64) (s, t float64) {
	s = a + b
	bb := s - a
	t = (a - (s - bb)) + (b - bb)
	return
}

// halfULP64 returns the bit pattern of half a unit in the last place of the
// positive-exponent binade of the binary64 pattern rb (sign ignored), or 0 if
// that quantity is not representable (then no tie can have an exact
// binary64 error).
func halfULP64(rb uint64) uint64 {
	e := (rb >> 52) & 0x7ff
	switch {
	case e > 53:
		return (e - 53) << 52
	case e >= 2:
		return 1 << (e - 2)
	}
	return 0
}

// stepDirected corrects the round-to-nearest-even result rb, a nonzero finite
// binary64 pattern away from the overflow threshold and not below the
// smallest normal number when inexact, for the rounding mode rm, given the
// rounding error err = exact - r (nonzero; only its sign is used except
// for RMM). For RMM, err must be the exact error, so that a tie (|err| equal
// to half an ulp, with |exact| > |r|) can be recognized and rounded away from
// zero instead of to even.
func stepDirected(rb uint64, err float64, rm uint8) uint64 {
	neg := rb>>63 != 0
	switch rm {
	case RTZ:
		if (err < 0) != neg { // |exact| < |r|
			rb--
		}
	case RDN:
		if err < 0 {
			if neg {
				rb++
			} else {
				rb--
			}
		}
	case RUP:
		if err > 0 {
			if neg {
				rb--
			} else {
				rb++
			}
		}
	case RMM:
		if (err > 0) != neg && bitsAbs(err) == halfULP64(rb) {
			rb++
		}
	}
	return rb
}

// bitsAbs returns the bit pattern of |x|.
func bitsAbs(x float64) uint64 { return math.Float64bits(x) &^ sign64 }
