package chardev

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		spec string
		want Spec
	}{
		{"null", Spec{Kind: KindNull}},
		{"stdio", Spec{Kind: KindStdio}},
		{"pty", Spec{Kind: KindPTY}},
		{"file:out.log", Spec{Kind: KindFile, Path: "out.log"}},
		{"file:/tmp/a,b:c", Spec{Kind: KindFile, Path: "/tmp/a,b:c"}},
		{"tcp::4444,server", Spec{Kind: KindTCP, Port: 4444, Server: true, Wait: true}},
		{"tcp::4444,server,nowait", Spec{Kind: KindTCP, Port: 4444, Server: true}},
		{"tcp::4444,server,wait", Spec{Kind: KindTCP, Port: 4444, Server: true, Wait: true}},
		{"tcp::4444,server=on,wait=off", Spec{Kind: KindTCP, Port: 4444, Server: true}},
		{"tcp::4444,server=yes,wait=no", Spec{Kind: KindTCP, Port: 4444, Server: true}},
		{"tcp::4444,server=ON,wait=True", Spec{Kind: KindTCP, Port: 4444, Server: true, Wait: true}},
		{"tcp::4444,nowait,server", Spec{Kind: KindTCP, Port: 4444, Server: true}},
		{"tcp:localhost:4444,server,nodelay", Spec{Kind: KindTCP, Host: "localhost", Port: 4444, Server: true, Wait: true}},
		{"tcp:0.0.0.0:0,server,delay=off", Spec{Kind: KindTCP, Host: "0.0.0.0", Server: true, Wait: true}},
		{"tcp:[::1]:4444,server", Spec{Kind: KindTCP, Host: "::1", Port: 4444, Server: true, Wait: true}},
		{"tcp:192.168.0.2:4444", Spec{Kind: KindTCP, Host: "192.168.0.2", Port: 4444}},
		{"tcp::4444,server=off", Spec{Kind: KindTCP, Port: 4444}},
		{"tcp::4444,noserver", Spec{Kind: KindTCP, Port: 4444}},
		{"telnet::4444,server", Spec{Kind: KindTelnet, Port: 4444, Server: true, Wait: true}},
		{"telnet:127.0.0.1:65535,server,nowait", Spec{Kind: KindTelnet, Host: "127.0.0.1", Port: 65535, Server: true}},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.spec)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.spec, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseSpec(%q) mismatch (-want +got):\n%s", tt.spec, diff)
		}
		// The canonical form parses back to the same spec.
		again, err := ParseSpec(got.String())
		if err != nil {
			t.Errorf("ParseSpec(%q.String() = %q): %v", tt.spec, got.String(), err)
		} else if diff := cmp.Diff(got, again); diff != "" {
			t.Errorf("round trip of %q via %q (-first +second):\n%s", tt.spec, got.String(), diff)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string // substring of the error
	}{
		{"", "empty"},
		{"vc", "unknown or unsupported backend"},
		{"unix:/tmp/sock,server", "unknown or unsupported backend"},
		{"mon:stdio", "unknown or unsupported backend"},
		{"udp::4555", "unknown or unsupported backend"},
		{"file:", "missing file path"},
		{"stdio,signal=off", "stdio takes no options"},
		{"null,x", "null takes no options"},
		{"pty,path=/dev/x", "pty takes no options"},
		{"tcp:", "want [HOST]:PORT"},
		{"tcp:4444", "want [HOST]:PORT"},
		{"tcp:::1:4444,server", "IPv6 in brackets"},
		{"tcp:localhost:,server", "missing port"},
		{"tcp::http,server", "want a number from 0 to 65535"},
		{"tcp::65536,server", "want a number from 0 to 65535"},
		{"tcp::-1,server", "want a number"},
		{"tcp::4444,server,", "empty option"},
		{"tcp::4444,,server", "empty option"},
		{"tcp::4444,server,bogus", `unknown option "bogus"`},
		{"tcp::4444,server,reconnect=5", `unknown option "reconnect=5"`},
		{"tcp::4444,server=maybe", `value "maybe" is not on or off`},
		{"tcp::4444,server,server", `option "server" given twice`},
		{"tcp::4444,server,wait,nowait", `option "wait" given twice`},
		{"tcp::4444,nowait", "needs server mode"},
		{"tcp::4444,wait=on", "needs server mode"},
		{"telnet::4444", "telnet supports only server mode"},
		{"telnet::4444,server=off", "telnet supports only server mode"},
	}
	for _, tt := range tests {
		_, err := ParseSpec(tt.spec)
		if err == nil {
			t.Errorf("ParseSpec(%q) succeeded, want error containing %q", tt.spec, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSpec(%q) error = %q, want it to contain %q", tt.spec, err, tt.want)
		}
		if !strings.Contains(err.Error(), "chardev: spec ") {
			t.Errorf("ParseSpec(%q) error = %q does not name the spec", tt.spec, err)
		}
	}
}

func TestSpecString(t *testing.T) {
	tests := []struct {
		spec, want string
	}{
		{"null", "null"},
		{"file:a b", "file:a b"},
		{"tcp::4444,server", "tcp::4444,server=on"},
		{"tcp::4444,server,nowait", "tcp::4444,server=on,wait=off"},
		{"tcp:[::1]:1", "tcp:[::1]:1"},
		{"telnet:localhost:23,server,nodelay", "telnet:localhost:23,server=on"},
	}
	for _, tt := range tests {
		s, err := ParseSpec(tt.spec)
		if err != nil {
			t.Fatalf("ParseSpec(%q): %v", tt.spec, err)
		}
		if got := s.String(); got != tt.want {
			t.Errorf("ParseSpec(%q).String() = %q, want %q", tt.spec, got, tt.want)
		}
	}
	if got := Kind(99).String(); got != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
}
