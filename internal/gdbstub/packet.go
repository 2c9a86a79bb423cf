package gdbstub

import "errors"

// This file owns the wire format of the GDB Remote Serial Protocol (GDB
// manual, appendix E.1 "Overview"): a packet is '$' data '#' cc, where cc is
// the two-hex-digit modulo-256 sum of the data bytes as transmitted. Outside
// packets the client sends '+' (ack), '-' (nak) and 0x03 (interrupt).

// MaxPacketSize is the PacketSize the stub advertises in qSupported: the
// largest packet body (between '$' and '#', before run-length decoding) it
// accepts, and a bound on the packets it sends.
const MaxPacketSize = 0x4000

// frameKind is what the framer recognised.
type frameKind int

const (
	frameNone      frameKind = iota // nothing complete yet
	framePacket                     // a packet with a good checksum
	frameBadSum                     // a packet whose checksum did not match
	frameAck                        // '+'
	frameNak                        // '-'
	frameInterrupt                  // 0x03 outside a packet
)

// framer states.
const (
	stIdle = iota // between packets
	stBody        // after '$'
	stSum1        // after '#'
	stSum2        // after the first checksum digit
)

// framer splits a byte stream into packets and out-of-band bytes. It never
// fails: junk between packets is skipped, and a '$' anywhere starts a new
// packet, discarding an unfinished one, so the framer always resyncs.
type framer struct {
	max      int    // body bytes kept; longer bodies are flagged, not stored
	state    int    // stIdle...
	body     []byte // raw body (still escaped and run-length encoded)
	sum      byte   // running checksum of the body
	hi       byte   // first checksum digit
	overflow bool   // the body exceeded max; body holds its first max bytes
}

func newFramer(max int) *framer {
	return &framer{max: max}
}

// feed consumes one byte. When it completes something it returns its kind;
// for framePacket and frameBadSum the body is in f.body (valid until the
// next feed) and f.overflow tells whether it was cut.
func (f *framer) feed(c byte) frameKind {
	if c == '$' {
		f.state = stBody
		f.body = f.body[:0]
		f.sum = 0
		f.overflow = false
		return frameNone
	}
	switch f.state {
	case stIdle:
		switch c {
		case '+':
			return frameAck
		case '-':
			return frameNak
		case 0x03:
			return frameInterrupt
		}
		return frameNone // junk between packets
	case stBody:
		if c == '#' {
			f.state = stSum1
			return frameNone
		}
		f.sum += c
		if len(f.body) < f.max {
			f.body = append(f.body, c)
		} else {
			f.overflow = true
		}
		return frameNone
	case stSum1:
		f.hi = c
		f.state = stSum2
		return frameNone
	default: // stSum2
		f.state = stIdle
		hi, ok1 := unhex(f.hi)
		lo, ok2 := unhex(c)
		if !ok1 || !ok2 || hi<<4|lo != f.sum {
			return frameBadSum
		}
		return framePacket
	}
}

// inPacket reports whether the framer is inside a packet.
func (f *framer) inPacket() bool { return f.state != stIdle }

// Errors from decoding a packet body.
var (
	errMalformedRLE = errors.New("malformed run-length encoding")
	errTooLong      = errors.New("packet too long")
	errBadEscape    = errors.New("bad binary escape")
)

// expandRLE undoes run-length encoding (GDB manual E.1): "X*n" stands for X
// repeated n-29+1 times in all. An escaped byte ('}' and the byte after it)
// is copied as is, never taken as a run marker. The result is at most max
// bytes long. Bodies without '*' are returned unchanged, without copying.
func expandRLE(raw []byte, max int) ([]byte, error) {
	star := false
	for _, c := range raw {
		if c == '*' {
			star = true
			break
		}
	}
	if !star {
		if len(raw) > max {
			return nil, errTooLong
		}
		return raw, nil
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '}':
			if i+1 >= len(raw) {
				return nil, errBadEscape
			}
			out = append(out, c, raw[i+1])
			i++
		case '*':
			if len(out) == 0 || i+1 >= len(raw) {
				return nil, errMalformedRLE
			}
			n := int(raw[i+1]) - 29
			if n < 0 {
				return nil, errMalformedRLE
			}
			if len(out)+n > max {
				return nil, errTooLong
			}
			prev := out[len(out)-1]
			for ; n > 0; n-- {
				out = append(out, prev)
			}
			i++
		default:
			out = append(out, c)
		}
		if len(out) > max {
			return nil, errTooLong
		}
	}
	return out, nil
}

// needsEscape reports whether b must be escaped in binary data
// (GDB manual E.1: '#', '$', '}' and '*').
func needsEscape(b byte) bool {
	return b == '#' || b == '$' || b == '}' || b == '*'
}

// appendEscaped appends data to dst in the binary encoding: bytes that
// need it become '}' followed by the byte XOR 0x20.
func appendEscaped(dst, data []byte) []byte {
	for _, b := range data {
		if needsEscape(b) {
			dst = append(dst, '}', b^0x20)
		} else {
			dst = append(dst, b)
		}
	}
	return dst
}

// unescape decodes binary data ('}' x stands for x^0x20).
func unescape(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		b := data[i]
		if b == '}' {
			i++
			if i >= len(data) {
				return nil, errBadEscape
			}
			b = data[i] ^ 0x20
		}
		out = append(out, b)
	}
	return out, nil
}

// checksum is the modulo-256 sum of data.
func checksum(data []byte) byte {
	var s byte
	for _, b := range data {
		s += b
	}
	return s
}

const hexDigits = "0123456789abcdef"

// appendFrame appends the framed packet "$payload#cc" to dst. payload must
// not contain '$' or '#' (binary data must have been escaped).
func appendFrame(dst, payload []byte) []byte {
	dst = append(dst, '$')
	dst = append(dst, payload...)
	s := checksum(payload)
	return append(dst, '#', hexDigits[s>>4], hexDigits[s&15])
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendHex appends the hex encoding of data.
func appendHex(dst, data []byte) []byte {
	for _, b := range data {
		dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
	}
	return dst
}

// decodeHex decodes an even-length hex string.
func decodeHex(s []byte) ([]byte, bool) {
	if len(s)%2 != 0 {
		return nil, false
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		out[i] = hi<<4 | lo
	}
	return out, true
}

// parseHexU64 parses a non-empty hex number that fits in 64 bits.
func parseHexU64(s []byte) (uint64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	if len(s) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		d, ok := unhex(c)
		if !ok {
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// appendLE appends v as size little-endian bytes, hex encoded (the target
// byte order of RISC-V).
func appendLE(dst []byte, v uint64, size int) []byte {
	for i := 0; i < size; i++ {
		b := byte(v >> (8 * i))
		dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
	}
	return dst
}

// parseLE decodes a little-endian hex value of exactly size bytes.
func parseLE(s []byte, size int) (uint64, bool) {
	if len(s) != 2*size {
		return 0, false
	}
	b, ok := decodeHex(s)
	if !ok {
		return 0, false
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, true
}
