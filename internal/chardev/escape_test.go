package chardev

import (
	"strings"
	"testing"
)

// runEscape feeds chunks through a filter and returns a transcript: guest
// data as-is, commands as <quit> and <help>, chunk boundaries of emitted
// data as |.
func runEscape(esc byte, chunks ...string) string {
	f := escapeFilter{esc: esc}
	var sb strings.Builder
	for _, c := range chunks {
		f.filter([]byte(c),
			func(p []byte) { sb.WriteString(string(p) + "|") },
			func() { sb.WriteString("<quit>") },
			func() { sb.WriteString("<help>") })
	}
	return sb.String()
}

func TestEscapeFilter(t *testing.T) {
	tests := []struct {
		name   string
		esc    byte
		chunks []string
		want   string
	}{
		{"plain", 1, []string{"hello"}, "hello|"},
		{"quit", 1, []string{"ab\x01xcd"}, "ab|<quit>cd|"},
		{"quit only", 1, []string{"\x01x"}, "<quit>"},
		{"help h", 1, []string{"\x01h"}, "<help>"},
		{"help ?", 1, []string{"a\x01?b"}, "a|<help>b|"},
		{"literal escape", 1, []string{"a\x01\x01b"}, "a\x01b|"},
		{"double literal", 1, []string{"\x01\x01\x01\x01"}, "\x01\x01|"},
		{"reserved c ignored", 1, []string{"a\x01cb"}, "ab|"},
		{"unknown key swallowed", 1, []string{"a\x01zb"}, "ab|"},
		{"capital X is not quit", 1, []string{"\x01X"}, ""},
		{"escape split across reads", 1, []string{"ab\x01", "xcd"}, "ab|<quit>cd|"},
		{"literal split across reads", 1, []string{"\x01", "\x01"}, "\x01|"},
		{"escape at end stays armed", 1, []string{"a\x01"}, "a|"},
		{"x alone is data", 1, []string{"x"}, "x|"},
		{"other control keys pass", 1, []string{"\x03\x04\x1b[A"}, "\x03\x04\x1b[A|"},
		{"custom escape Ctrl-]", 0x1d, []string{"\x01x\x1dx"}, "\x01x|<quit>"},
		{"custom escape literal", 0x1d, []string{"\x1d\x1d"}, "\x1d|"},
		{"commands in a row", 1, []string{"\x01h\x01x"}, "<help><quit>"},
		{"data around commands keeps order", 1, []string{"1\x01h2\x01x3"}, "1|<help>2|<quit>3|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runEscape(tt.esc, tt.chunks...); got != tt.want {
				t.Errorf("transcript = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEscapeHelp(t *testing.T) {
	tests := []struct {
		esc  byte
		want []string
	}{
		{0x01, []string{"C-a h", "C-a x", "C-a c", "C-a C-a  send C-a"}},
		{0x1d, []string{"C-] x"}},
		{0x00, []string{"C-@ x"}},
		{'~', []string{"~ x"}},
	}
	for _, tt := range tests {
		got := escapeHelp(tt.esc)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("escapeHelp(%#x) = %q, want it to contain %q", tt.esc, got, w)
			}
		}
		if strings.Contains(strings.ReplaceAll(got, "\r\n", ""), "\n") {
			t.Errorf("escapeHelp(%#x) has a bare LF; the terminal is raw", tt.esc)
		}
	}
}
