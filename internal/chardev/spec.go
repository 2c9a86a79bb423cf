package chardev

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Kind selects a backend implementation.
type Kind int

// The backend kinds.
const (
	KindNull   Kind = iota + 1 // "null"
	KindStdio                  // "stdio"
	KindPTY                    // "pty"
	KindFile                   // "file:PATH"
	KindTCP                    // "tcp:HOST:PORT,..."
	KindTelnet                 // "telnet:HOST:PORT,server,..."
)

var kindNames = map[Kind]string{
	KindNull:   "null",
	KindStdio:  "stdio",
	KindPTY:    "pty",
	KindFile:   "file",
	KindTCP:    "tcp",
	KindTelnet: "telnet",
}

// String returns the spec keyword of k.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Spec is a parsed backend specification.
type Spec struct {
	Kind Kind

	// Path is the output file (KindFile).
	Path string

	// Host and Port are the socket address (KindTCP, KindTelnet). An empty
	// Host means 127.0.0.1 (QEMU uses 0.0.0.0; Rewind does not expose the
	// console to the network unless asked, e.g. with tcp:0.0.0.0:4444,server).
	Host string
	Port int

	// Server selects listening for clients; otherwise Open connects to
	// Host:Port as a client (tcp only).
	Server bool

	// Wait makes Start block until the first client connects (server only).
	// QEMU's default, and ours, is to wait.
	Wait bool
}

const specGrammar = "null, stdio, pty, file:PATH, tcp:[HOST]:PORT[,server[,wait|nowait]], telnet:[HOST]:PORT,server[,wait|nowait]"

// ParseSpec parses a QEMU-compatible backend spec:
//
//	null
//	stdio
//	pty
//	file:PATH                        (PATH verbatim, commas included; truncated)
//	tcp:[HOST]:PORT[,OPT...]         (client mode unless "server")
//	telnet:[HOST]:PORT,server[,OPT...]
//
// HOST is a name, an IPv4 address or a bracketed IPv6 address; PORT is
// numeric (0 picks a free port). OPT is one of the boolean options server,
// wait and delay, written NAME (on), NAME=on|off (also yes/no, true/false) or
// noNAME (off). wait defaults to on in server mode and is an error in client
// mode. delay/nodelay is accepted for compatibility and ignored: TCP_NODELAY
// is always set, because the output queue already batches writes.
func ParseSpec(spec string) (Spec, error) {
	fail := func(format string, args ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("chardev: spec %q: %s", spec, fmt.Sprintf(format, args...))
	}
	if spec == "" {
		return fail("empty; want one of %s", specGrammar)
	}
	if path, ok := strings.CutPrefix(spec, "file:"); ok {
		if path == "" {
			return fail("missing file path after \"file:\"")
		}
		return Spec{Kind: KindFile, Path: path}, nil
	}
	name, rest, hasColon := strings.Cut(spec, ":")
	simple, opts, hasOpts := strings.Cut(spec, ",")
	switch simple {
	case "null", "stdio", "pty":
		if hasOpts {
			return fail("%s takes no options (got %q)", simple, opts)
		}
		return Spec{Kind: map[string]Kind{"null": KindNull, "stdio": KindStdio, "pty": KindPTY}[simple]}, nil
	}
	if !hasColon || (name != "tcp" && name != "telnet") {
		return fail("unknown or unsupported backend; want one of %s", specGrammar)
	}
	s, msg := parseSocket(name, rest)
	if msg != "" {
		return fail("%s", msg)
	}
	return s, nil
}

// parseSocket parses "[HOST]:PORT[,OPT...]" for tcp and telnet. It returns a
// message instead of an error so ParseSpec can add the spec text once.
func parseSocket(name, rest string) (Spec, string) {
	s := Spec{Kind: KindTCP}
	if name == "telnet" {
		s.Kind = KindTelnet
	}
	parts := strings.Split(rest, ",")
	host, portText, err := net.SplitHostPort(parts[0])
	if err != nil {
		return Spec{}, fmt.Sprintf("address %q: want [HOST]:PORT (IPv6 in brackets, e.g. [::1]:4444)", parts[0])
	}
	if portText == "" {
		return Spec{}, fmt.Sprintf("address %q: missing port", parts[0])
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return Spec{}, fmt.Sprintf("port %q: want a number from 0 to 65535", portText)
	}
	s.Host, s.Port = host, int(port)

	set := map[string]bool{}
	for _, opt := range parts[1:] {
		key, on, msg := parseBoolOption(opt)
		if msg != "" {
			return Spec{}, msg
		}
		if _, dup := set[key]; dup {
			return Spec{}, fmt.Sprintf("option %q given twice", key)
		}
		set[key] = on
	}
	s.Server = set["server"]
	wait, waitGiven := set["wait"]
	switch {
	case waitGiven && !s.Server:
		return Spec{}, "option \"wait\" needs server mode (add \",server\")"
	case s.Kind == KindTelnet && !s.Server:
		return Spec{}, "telnet supports only server mode (add \",server\")"
	case s.Server:
		s.Wait = wait || !waitGiven
	}
	return s, ""
}

// socketOptions are the boolean options accepted after tcp: and telnet:.
var socketOptions = []string{"server", "wait", "delay"}

// parseBoolOption parses NAME, NAME=VALUE or noNAME for a known boolean
// option; msg is non-empty on error.
func parseBoolOption(opt string) (key string, on bool, msg string) {
	known := func(k string) bool {
		for _, o := range socketOptions {
			if o == k {
				return true
			}
		}
		return false
	}
	if opt == "" {
		return "", false, "empty option (stray comma?)"
	}
	key, val, hasVal := strings.Cut(opt, "=")
	switch {
	case hasVal && known(key):
		switch strings.ToLower(val) {
		case "on", "yes", "true":
			return key, true, ""
		case "off", "no", "false":
			return key, false, ""
		}
		return "", false, fmt.Sprintf("option %q: value %q is not on or off", key, val)
	case !hasVal && known(key):
		return key, true, ""
	case !hasVal && strings.HasPrefix(key, "no") && known(key[2:]):
		return key[2:], false, ""
	}
	return "", false, fmt.Sprintf("unknown option %q (accepted: %s, each as NAME, NAME=on|off or noNAME)",
		opt, strings.Join(socketOptions, ", "))
}

// String returns the canonical spec text; ParseSpec(s.String()) == s.
func (s Spec) String() string {
	switch s.Kind {
	case KindFile:
		return "file:" + s.Path
	case KindTCP, KindTelnet:
		t := s.Kind.String() + ":" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
		if s.Server {
			t += ",server=on"
			if !s.Wait {
				t += ",wait=off"
			}
		}
		return t
	}
	return s.Kind.String()
}

// listenAddr returns the address to listen on or dial.
func (s Spec) listenAddr() string {
	host := s.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(s.Port))
}
