package gdbstub

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// frameAll feeds a stream to a framer and describes what came out.
func frameAll(max int, stream string) []string {
	f := newFramer(max)
	var got []string
	for i := 0; i < len(stream); i++ {
		switch f.feed(stream[i]) {
		case framePacket:
			s := "pkt:" + string(f.body)
			if f.overflow {
				s += "(overflow)"
			}
			got = append(got, s)
		case frameBadSum:
			got = append(got, "badsum:"+string(f.body))
		case frameAck:
			got = append(got, "+")
		case frameNak:
			got = append(got, "-")
		case frameInterrupt:
			got = append(got, "^C")
		}
	}
	return got
}

func frame(body string) string { return string(appendFrame(nil, []byte(body))) }

func TestFramer(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []string
	}{
		{"packet", "$qC#b4", []string{"pkt:qC"}},
		{"upper-case checksum", "$X#58", []string{"pkt:X"}},
		{"checksum A-F", "$qSupported#37", []string{"pkt:qSupported"}},
		{"empty packet", "$#00", []string{"pkt:"}},
		{"bad checksum", "$qC#b5", []string{"badsum:qC"}},
		{"non-hex checksum", "$qC#zz", []string{"badsum:qC"}},
		{"acks and interrupt", "+-\x03", []string{"+", "-", "^C"}},
		{"junk between packets", "hello\x00\xff$qC#b4 more junk #12 $?#3f", []string{"pkt:qC", "pkt:?"}},
		{"dollar resyncs mid-body", "$m1234$qC#b4", []string{"pkt:qC"}},
		{"dollar resyncs in checksum", "$qC#$qC#b4", []string{"pkt:qC"}},
		{"dollar resyncs after one digit", "$qC#b$qC#b4", []string{"pkt:qC"}},
		{"interrupt inside a packet is data", "$X\x03#5b", []string{"pkt:X\x03"}},
		{"plus inside a packet is data", "$+#2b", []string{"pkt:+"}},
		{"truncated at end", "$qC#b", nil},
		{"oversized", "$" + strings.Repeat("a", 20) + "#" + fmt.Sprintf("%02x", checksum(bytes.Repeat([]byte("a"), 20))), []string{"pkt:aaaaaaaaaaaaaaaa(overflow)"}},
		{"oversized bad checksum", "$" + strings.Repeat("a", 20) + "#00", []string{"badsum:aaaaaaaaaaaaaaaa"}},
		{"after overflow next packet is clean", "$" + strings.Repeat("a", 40) + "$qC#b4", []string{"pkt:qC"}},
		{"escaped bytes stay raw", frame("X0,1:}]"), []string{"pkt:X0,1:}]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := frameAll(16, tt.stream)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("frames of %q (-want +got):\n%s", tt.stream, diff)
			}
		})
	}
}

func TestChecksumRoundTrip(t *testing.T) {
	for _, body := range []string{"", "g", "qSupported:multiprocess+;swbreak+", "m80000000,40", strings.Repeat("~", 300)} {
		got := frameAll(MaxPacketSize, frame(body))
		if diff := cmp.Diff([]string{"pkt:" + body}, got); diff != "" {
			t.Errorf("round trip of %q (-want +got):\n%s", body, diff)
		}
	}
	if got := string(appendFrame(nil, []byte("OK"))); got != "$OK#9a" {
		t.Errorf("frame(OK) = %q, want $OK#9a", got)
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, data := range [][]byte{nil, []byte("plain"), []byte("#$}*"), all} {
		esc := appendEscaped(nil, data)
		for i := 0; i < len(esc); i++ {
			if esc[i] == '#' || esc[i] == '$' || esc[i] == '*' {
				t.Fatalf("escaped data %q has raw %q", esc, esc[i])
			}
			if esc[i] == '}' {
				i++ // the escaped byte
			}
		}
		got, err := unescape(esc)
		if err != nil {
			t.Fatalf("unescape(%q): %v", esc, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("unescape(escape(%q)) = %q", data, got)
		}
		// And through a framed packet.
		pkt := frameAll(MaxPacketSize, string(appendFrame(nil, esc)))
		if len(pkt) != 1 || pkt[0] != "pkt:"+string(esc) {
			t.Errorf("framing escaped data %q: %q", esc, pkt)
		}
	}
	if got, want := appendEscaped(nil, []byte("a#b$c}d*e")), "a}\x03b}\x04c}]d}\x0ae"; string(got) != want {
		t.Errorf("escape = %q, want %q", got, want)
	}
	if _, err := unescape([]byte("ab}")); err == nil {
		t.Error("unescape of a trailing '}' succeeded")
	}
}

func TestExpandRLE(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "plain", want: "plain"},
		{in: "0* ", want: "0000"},        // ' ' = 32: 3 more
		{in: "000*\"", want: "00000000"}, // '"' = 34: 5 more
		{in: "a*~", want: "a" + strings.Repeat("a", 97)},
		{in: "ab*!c", want: "abbbbbc"},
		{in: "}** ", want: "}****"}, // "}*" is an escaped byte, then "* " repeats the '*' 3 times
		{in: "*a", wantErr: true},
		{in: "a*", wantErr: true},
		{in: "a*\x01", wantErr: true},
		{in: "x*~x*~x*~", wantErr: true}, // longer than max (200)
	}
	for _, tt := range tests {
		got, err := expandRLE([]byte(tt.in), 200)
		if tt.wantErr {
			if err == nil {
				t.Errorf("expandRLE(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("expandRLE(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestHexHelpers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"80000000", 0x80000000, true}, {"FfFf", 0xffff, true},
		{"ffffffffffffffff", ^uint64(0), true}, {"0000000000000000001", 1, true},
		{"10000000000000000", 0, false}, {"", 0, false}, {"12g", 0, false}, {"-1", 0, false},
	} {
		got, ok := parseHexU64([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseHexU64(%q) = %#x, %v; want %#x, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := string(appendLE(nil, 0x1122334455667788, 8)); got != "8877665544332211" {
		t.Errorf("appendLE = %s", got)
	}
	if v, ok := parseLE([]byte("8877665544332211"), 8); !ok || v != 0x1122334455667788 {
		t.Errorf("parseLE = %#x, %v", v, ok)
	}
	if _, ok := parseLE([]byte("887766"), 4); ok {
		t.Error("parseLE accepted a short value")
	}
	if _, ok := decodeHex([]byte("abc")); ok {
		t.Error("decodeHex accepted an odd length")
	}
}

// FuzzPacketParser feeds random byte streams to the framer: it must not
// panic, only report packets whose checksum matches and that fit, and
// always resync on '$': a good packet after any junk is recognised.
func FuzzPacketParser(f *testing.F) {
	for _, s := range []string{
		"$qC#b4", "$m80000000,4#c5+", "junk\x03$X#58", "$" + strings.Repeat("a", 100),
		"$a*}#00", "$}#", "$$$###", "-+\x03\x03", "$qC#b", "$X\x03#5b",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 64
		fr := newFramer(max)
		start := -1 // index of the last '$'
		for i, c := range data {
			if c == '$' {
				start = i
			}
			k := fr.feed(c)
			if k != framePacket && k != frameBadSum {
				continue
			}
			if start < 0 || i-start < 3 {
				t.Fatalf("packet reported at %d without a '$...#xx' before it", i)
			}
			raw := data[start+1 : i+1] // body '#' x y
			body := raw[:len(raw)-3]
			if raw[len(raw)-3] != '#' || bytes.IndexByte(body, '#') >= 0 {
				t.Fatalf("packet boundaries wrong in %q", raw)
			}
			if len(fr.body) > max || fr.overflow != (len(body) > max) ||
				!bytes.Equal(fr.body, body[:min(len(body), max)]) {
				t.Fatalf("body %q (overflow %v), want %q", fr.body, fr.overflow, body)
			}
			want := fmt.Sprintf("%02x", checksum(body))
			if good := strings.EqualFold(string(raw[len(raw)-2:]), want); good != (k == framePacket) {
				t.Fatalf("packet %q: kind %v, checksum should be %s", raw, k, want)
			}
			// Decoders must not panic on any body, and respect max.
			if b, err := expandRLE(fr.body, max); err == nil && len(b) > max {
				t.Fatalf("expandRLE gave %d bytes, max %d", len(b), max)
			}
			unescape(fr.body)
		}
		// Resync: whatever came before, a '$' starts a fresh packet.
		var got []frameKind
		for _, c := range []byte("$qC#b4") {
			if k := fr.feed(c); k != frameNone {
				got = append(got, k)
			}
		}
		if len(got) != 1 || got[0] != framePacket || string(fr.body) != "qC" || fr.overflow {
			t.Fatalf("after %q the framer did not resync: %v %q", data, got, fr.body)
		}
	})
}
