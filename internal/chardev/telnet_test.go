package chardev

import (
	"bytes"
	"testing"
)

func TestTelnetDecode(t *testing.T) {
	const (
		IAC  = "\xff"
		WILL = "\xfb"
		WONT = "\xfc"
		DO   = "\xfd"
		DONT = "\xfe"
		SB   = "\xfa"
		SE   = "\xf0"
		NOP  = "\xf1"
		BRK  = "\xf3"
	)
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello", "hello"},
		{"IAC IAC is 0xff", "a" + IAC + IAC + "b", "a\xffb"},
		{"two literal 0xff", IAC + IAC + IAC + IAC, "\xff\xff"},
		{"client answers to init", IAC + DO + "\x01" + IAC + DO + "\x03" + IAC + WILL + "\x00" + IAC + DO + "\x00" + "x", "x"},
		{"wont and dont", "a" + IAC + WONT + "\x01" + IAC + DONT + "\x03" + "b", "ab"},
		{"option byte 0xff is not data", IAC + WILL + IAC + "z", "z"},
		{"subnegotiation", "a" + IAC + SB + "\x18\x00xterm" + IAC + SE + "b", "ab"},
		{"NAWS with escaped 0xff", "a" + IAC + SB + "\x1f\x00" + IAC + IAC + "\x00\x18" + IAC + SE + "b", "ab"},
		{"two-byte commands", "a" + IAC + NOP + "b" + IAC + BRK + "c", "abc"},
		{"stray SE", IAC + SE + "a", "a"},
		{"CR NUL before binary", "a\r\x00b", "a\rb"},
		{"CR LF kept", "a\r\nb", "a\r\nb"},
		{"NUL alone kept", "a\x00b", "a\x00b"},
		{"CR NUL in binary mode", IAC + WILL + "\x00" + "\r\x00", "\r\x00"},
		{"binary then refused", IAC + WILL + "\x00" + IAC + WONT + "\x00" + "\r\x00", "\r"},
		{"CR IAC IAC NUL", "\r" + IAC + IAC + "\x00", "\r\xff\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and split at every position (state must span reads).
			for split := 0; split <= len(tt.in); split++ {
				var d telnetDecoder
				a := []byte(tt.in[:split])
				b := []byte(tt.in[split:])
				got := string(d.decode(a)) + string(d.decode(b))
				if got != tt.want {
					t.Fatalf("split at %d: decode(%q) = %q, want %q", split, tt.in, got, tt.want)
				}
			}
			// Byte by byte.
			var d telnetDecoder
			var got []byte
			for i := 0; i < len(tt.in); i++ {
				got = append(got, d.decode([]byte{tt.in[i]})...)
			}
			if string(got) != tt.want {
				t.Errorf("byte by byte: decode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTelnetEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"\xff", "\xff\xff"},
		{"a\xffb\xff\xff", "a\xff\xffb\xff\xff\xff\xff"},
	}
	for _, tt := range tests {
		if got := appendTelnetEscaped([]byte("junk")[:0], []byte(tt.in)); string(got) != tt.want {
			t.Errorf("appendTelnetEscaped(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Escaping then decoding is the identity (outside CR NUL handling).
		var d telnetDecoder
		if got := d.decode(appendTelnetEscaped(nil, []byte(tt.in))); !bytes.Equal(got, []byte(tt.in)) {
			t.Errorf("decode(escape(%q)) = %q", tt.in, got)
		}
	}
}
