package rrlog

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Kind identifies what an event records and how its payload is encoded.
// Values are part of the format: never renumber or reuse one.
type Kind uint8

// Event kinds. Kind 0 is never valid. To add a kind: a constant here, one
// line in the kinds table (init below), and its codec.
const (
	// KindSerialInput: host bytes entering a guest UART.
	KindSerialInput Kind = 1
	// KindBlockComplete: a block request (or flush) completed.
	KindBlockComplete Kind = 2
	// KindWarp: virtual time added while the hart idled.
	KindWarp Kind = 3
	// KindShutdown: the host asked the machine to stop or reset.
	KindShutdown Kind = 4
	// KindDigest: a state digest, checked during replay.
	KindDigest Kind = 5
	// KindImageData: a piece of an embedded image (self-contained mode).
	KindImageData Kind = 6
	// KindEntropy: host random bytes filling a virtio-rng device's buffers.
	KindEntropy Kind = 7
	// KindNetFrame: a network frame entering the guest through a
	// virtio-net device (and host frames dropped before it).
	KindNetFrame Kind = 8
	// KindSnapshot: a piece of a machine snapshot embedded at record time
	// (an annotation: see Kind.Annotation).
	KindSnapshot Kind = 0x80
	// KindEnd: the end record with totals; written by Writer.Close only.
	KindEnd Kind = 0xFF
)

// kindInfo is one row of the kinds table.
type kindInfo struct {
	name string
	// check validates a payload without keeping anything; the returned
	// message is wrapped with the kind and icount by Event.Validate.
	check func(data []byte) error
	// format renders a valid payload for Dump.
	format func(data []byte) string
}

// kinds holds every known kind. Filled in init to keep the codecs free to
// call Kind.String without an initialization cycle.
var kinds [256]kindInfo

func init() {
	kinds[KindSerialInput] = kindInfo{"serial-input", checkSerialInput, formatSerialInput}
	kinds[KindBlockComplete] = kindInfo{"block-complete", checkBlockComplete, formatBlockComplete}
	kinds[KindWarp] = kindInfo{"warp", checkWarp, formatWarp}
	kinds[KindShutdown] = kindInfo{"shutdown", checkShutdown, formatShutdown}
	kinds[KindDigest] = kindInfo{"digest", checkDigest, formatDigest}
	kinds[KindImageData] = kindInfo{"image-data", checkImageData, formatImageData}
	kinds[KindEntropy] = kindInfo{"entropy", checkEntropy, formatEntropy}
	kinds[KindNetFrame] = kindInfo{"net-frame", checkNetFrame, formatNetFrame}
	kinds[KindSnapshot] = kindInfo{"snapshot", checkSnapshotPiece, formatSnapshotPiece}
	kinds[KindEnd] = kindInfo{"end", checkEnd, formatEnd}
}

// Annotation reports whether k is in the annotation range 0x80–0xFE:
// events that help tools (embedded snapshots, indexes) but never change
// what a replay computes. A reader that does not know an annotation kind
// skips it; an unknown kind below 0x80 stops a replay.
func (k Kind) Annotation() bool { return k >= 0x80 && k < KindEnd }

// Known reports whether k is a kind this package can decode.
func (k Kind) Known() bool { return kinds[k].name != "" }

// String returns the kind's name as Dump prints it ("serial-input"), or
// "kind-0x42" for an unknown kind.
func (k Kind) String() string {
	if n := kinds[k].name; n != "" {
		return n
	}
	return fmt.Sprintf("kind-%#02x", uint8(k))
}

// Kinds returns every known kind in ascending order.
func Kinds() []Kind {
	var ks []Kind
	for k := range kinds {
		if kinds[k].name != "" {
			ks = append(ks, Kind(k))
		}
	}
	return ks
}

// ErrUnknownKind is wrapped by Event.Validate for a kind this package does
// not know: replay must stop there (the recording is from a newer rewind),
// while Dump shows the payload in hex.
var ErrUnknownKind = errors.New("unknown event kind")

// ErrWrongKind is wrapped by an accessor called on an event of another kind.
var ErrWrongKind = errors.New("wrong event kind")

// Event is one recorded input: Kind says what happened at guest
// instruction count ICount; Data is the kind's payload, built by a New*
// constructor and decoded by the matching accessor.
//
// Events returned by a Reader share their chunk's buffer; Data stays
// valid (the reader never reuses it) but must not be modified.
type Event struct {
	// ICount is the guest instruction count at which the event happened:
	// it is applied after ICount instructions and before the next one.
	ICount uint64
	// Kind says what happened and how Data is encoded.
	Kind Kind
	// Data is the kind's payload.
	Data []byte
}

// Validate decodes ev's payload and reports whether it is well formed. An
// unknown kind wraps ErrUnknownKind.
func (ev Event) Validate() error {
	info := &kinds[ev.Kind]
	if info.check == nil {
		return fmt.Errorf("rrlog: event at icount %d: %w %#02x (written by a newer rewind?)", ev.ICount, ErrUnknownKind, uint8(ev.Kind))
	}
	if err := info.check(ev.Data); err != nil {
		return ev.wrap(err)
	}
	return nil
}

// String renders ev as one line of Dump: icount, kind, payload.
func (ev Event) String() string {
	return fmt.Sprintf("%d  %s  %s", ev.ICount, ev.Kind, formatPayload(ev.Kind, ev.Data))
}

// formatPayload renders a payload for Dump: decoded if valid, hex if the
// kind is unknown or the payload is malformed.
func formatPayload(k Kind, data []byte) string {
	info := &kinds[k]
	if info.check == nil {
		return "payload " + hexString(data, 64)
	}
	if err := info.check(data); err != nil {
		return fmt.Sprintf("MALFORMED (%v) payload %s", err, hexString(data, 64))
	}
	return info.format(data)
}

// hexString renders up to max bytes of b in hex, noting how many more
// there are.
func hexString(b []byte, max int) string {
	if len(b) == 0 {
		return "(empty)"
	}
	if len(b) <= max {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("%s... (%d bytes)", hex.EncodeToString(b[:max]), len(b))
}

// wrap adds the event's kind and icount to a payload error.
func (ev Event) wrap(err error) error {
	return fmt.Errorf("rrlog: %s event at icount %d: %w", ev.Kind, ev.ICount, err)
}

// want checks that ev has kind k before an accessor decodes it.
func (ev Event) want(k Kind) error {
	if ev.Kind != k {
		return fmt.Errorf("rrlog: event at icount %d is %s, not %s: %w", ev.ICount, ev.Kind, k, ErrWrongKind)
	}
	return nil
}

// decoder reads payload fields with a sticky error: after the first
// failure every read returns zero values and done reports the failure.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	d.b = nil
}

// uvarint reads an unsigned LEB128 varint (encoding/binary's Uvarint).
func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := uvarint(d.b)
	if n <= 0 {
		if n == 0 {
			d.fail("%s: payload ends inside a varint", what)
		} else {
			d.fail("%s: varint overflows 64 bits", what)
		}
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a uvarint that must fit in [0, max].
func (d *decoder) int(what string, max uint64) int {
	v := d.uvarint(what)
	if v > max {
		d.fail("%s %d out of range (max %d)", what, v, max)
		return 0
	}
	return int(v)
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("%s: payload ends early", what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("%s: needs %d bytes, payload has %d left", what, n, len(d.b))
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// rest returns the remaining bytes (possibly empty).
func (d *decoder) rest() []byte {
	if d.err != nil {
		return nil
	}
	p := d.b[:len(d.b):len(d.b)]
	d.b = nil
	return p
}

// done reports the first error, or trailing bytes after the last field.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d unexpected bytes after the last field", len(d.b))
	}
	return d.err
}

// uvarint is binary.Uvarint: value and bytes used, 0 if b ends inside
// the varint, negative on 64-bit overflow.
func uvarint(b []byte) (uint64, int) { return binary.Uvarint(b) }

// putUvarint appends v as a uvarint.
func putUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// uvarintLen returns the encoded size of v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// quoteBytes renders bytes as a Go string literal (Dump).
func quoteBytes(b []byte) string {
	var s strings.Builder
	s.Grow(len(b) + 2)
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\r':
			s.WriteString(`\r`)
		case c == '\t':
			s.WriteString(`\t`)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			fmt.Fprintf(&s, `\x%02x`, c)
		}
	}
	s.WriteByte('"')
	return s.String()
}
