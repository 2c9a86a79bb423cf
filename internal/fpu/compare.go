package fpu

import "math"

// Min64 returns the smaller of a and b as the RISC-V FMIN.D instruction
// defines it (IEEE 754-2019 minimumNumber): -0 is less than +0, a single
// NaN operand is ignored, two NaN operands give the canonical NaN, and NV is
// raised only for a signaling NaN operand.
func Min64(a, b uint64) (uint64, Flags) {
	if isNaN64(a) || isNaN64(b) {
		return minMaxNaN64(a, b)
	}
	x, y := math.Float64frombits(a), math.Float64frombits(b)
	switch {
	case x < y:
		return a, 0
	case y < x:
		return b, 0
	}
	return a | b, 0 // equal: identical, or ±0 where -0 wins
}

// Max64 returns the larger of a and b as the RISC-V FMAX.D instruction
// defines it (IEEE 754-2019 maximumNumber): +0 is greater than -0, a single
// NaN operand is ignored, two NaN operands give the canonical NaN, and NV is
// raised only for a signaling NaN operand.
func Max64(a, b uint64) (uint64, Flags) {
	if isNaN64(a) || isNaN64(b) {
		return minMaxNaN64(a, b)
	}
	x, y := math.Float64frombits(a), math.Float64frombits(b)
	switch {
	case x > y:
		return a, 0
	case y > x:
		return b, 0
	}
	return a & b, 0 // equal: identical, or ±0 where +0 wins
}

func minMaxNaN64(a, b uint64) (uint64, Flags) {
	fl := nvIf(isSNaN64(a) || isSNaN64(b))
	switch {
	case !isNaN64(a):
		return a, fl
	case !isNaN64(b):
		return b, fl
	}
	return CanonicalNaN64, fl
}

// Eq64 reports whether a == b (FEQ.D, a quiet comparison: NaN operands
// compare unequal and raise NV only if signaling; -0 equals +0).
func Eq64(a, b uint64) (bool, Flags) {
	if isNaN64(a) || isNaN64(b) {
		return false, nvIf(isSNaN64(a) || isSNaN64(b))
	}
	return math.Float64frombits(a) == math.Float64frombits(b), 0
}

// Lt64 reports whether a < b (FLT.D, a signaling comparison: any NaN
// operand gives false and raises NV).
func Lt64(a, b uint64) (bool, Flags) {
	if isNaN64(a) || isNaN64(b) {
		return false, NV
	}
	return math.Float64frombits(a) < math.Float64frombits(b), 0
}

// Le64 reports whether a <= b (FLE.D, a signaling comparison: any NaN
// operand gives false and raises NV).
func Le64(a, b uint64) (bool, Flags) {
	if isNaN64(a) || isNaN64(b) {
		return false, NV
	}
	return math.Float64frombits(a) <= math.Float64frombits(b), 0
}

// The FCLASS result bits.
const (
	classNegInf       = 1 << 0
	classNegNormal    = 1 << 1
	classNegSubnormal = 1 << 2
	classNegZero      = 1 << 3
	classPosZero      = 1 << 4
	classPosSubnormal = 1 << 5
	classPosNormal    = 1 << 6
	classPosInf       = 1 << 7
	classSNaN         = 1 << 8
	classQNaN         = 1 << 9
)

// classify returns the FCLASS mask given the sign, whether the exponent
// field is all zeros or all ones, and whether the trailing significand is
// zero and its top (quiet) bit.
func classify(neg, expZero, expOnes, mantZero, quiet bool) uint64 {
	var pos, negc uint64
	switch {
	case expOnes && mantZero:
		pos, negc = classPosInf, classNegInf
	case expOnes:
		if quiet {
			return classQNaN
		}
		return classSNaN
	case expZero && mantZero:
		pos, negc = classPosZero, classNegZero
	case expZero:
		pos, negc = classPosSubnormal, classNegSubnormal
	default:
		pos, negc = classPosNormal, classNegNormal
	}
	if neg {
		return negc
	}
	return pos
}

// Class64 returns the FCLASS.D mask of a: exactly one of bits 0-9 is set
// (-inf, negative normal, negative subnormal, -0, +0, positive subnormal,
// positive normal, +inf, signaling NaN, quiet NaN).
func Class64(a uint64) uint64 {
	e := (a >> 52) & 0x7ff
	return classify(a&sign64 != 0, e == 0, e == 0x7ff, a&mant64 == 0, a&quiet64 != 0)
}

// Min32 is Min64 for binary32 (FMIN.S).
func Min32(a, b uint32) (uint32, Flags) {
	if isNaN32(a) || isNaN32(b) {
		return minMaxNaN32(a, b)
	}
	x, y := math.Float32frombits(a), math.Float32frombits(b)
	switch {
	case x < y:
		return a, 0
	case y < x:
		return b, 0
	}
	return a | b, 0
}

// Max32 is Max64 for binary32 (FMAX.S).
func Max32(a, b uint32) (uint32, Flags) {
	if isNaN32(a) || isNaN32(b) {
		return minMaxNaN32(a, b)
	}
	x, y := math.Float32frombits(a), math.Float32frombits(b)
	switch {
	case x > y:
		return a, 0
	case y > x:
		return b, 0
	}
	return a & b, 0
}

func minMaxNaN32(a, b uint32) (uint32, Flags) {
	fl := nvIf(isSNaN32(a) || isSNaN32(b))
	switch {
	case !isNaN32(a):
		return a, fl
	case !isNaN32(b):
		return b, fl
	}
	return CanonicalNaN32, fl
}

// Eq32 is Eq64 for binary32 (FEQ.S, quiet).
func Eq32(a, b uint32) (bool, Flags) {
	if isNaN32(a) || isNaN32(b) {
		return false, nvIf(isSNaN32(a) || isSNaN32(b))
	}
	return math.Float32frombits(a) == math.Float32frombits(b), 0
}

// Lt32 is Lt64 for binary32 (FLT.S, signaling).
func Lt32(a, b uint32) (bool, Flags) {
	if isNaN32(a) || isNaN32(b) {
		return false, NV
	}
	return math.Float32frombits(a) < math.Float32frombits(b), 0
}

// Le32 is Le64 for binary32 (FLE.S, signaling).
func Le32(a, b uint32) (bool, Flags) {
	if isNaN32(a) || isNaN32(b) {
		return false, NV
	}
	return math.Float32frombits(a) <= math.Float32frombits(b), 0
}

// Class32 returns the FCLASS.S mask of a (see Class64).
func Class32(a uint32) uint64 {
	e := (a >> 23) & 0xff
	return classify(a&sign32 != 0, e == 0, e == 0xff, a&mant32 == 0, a&quiet32 != 0)
}
