package chardev

// Telnet protocol bytes (RFC 854, RFC 856 binary, RFC 857 echo, RFC 858
// suppress-go-ahead).
const (
	telnetSE   = 240
	telnetSB   = 250
	telnetWILL = 251
	telnetWONT = 252
	telnetDO   = 253
	telnetDONT = 254
	telnetIAC  = 255

	telnetOptBinary = 0
	telnetOptEcho   = 1
	telnetOptSGA    = 3
)

// telnetInit is sent to each new client, as QEMU does: the server echoes
// (so the client does not), go-aheads are suppressed (character at a time),
// and both directions are 8-bit clean.
var telnetInit = []byte{
	telnetIAC, telnetWILL, telnetOptEcho,
	telnetIAC, telnetWILL, telnetOptSGA,
	telnetIAC, telnetWILL, telnetOptBinary,
	telnetIAC, telnetDO, telnetOptBinary,
}

// telnetDecoder strips telnet commands from client input. Its state spans
// reads, so a command split across TCP segments is handled. One decoder per
// connection.
type telnetDecoder struct {
	state  telnetState
	verb   byte // WILL/WONT/DO/DONT awaiting its option byte
	cr     bool // the last data byte was CR
	binary bool // the client agreed to send binary (IAC WILL BINARY)
}

type telnetState uint8

const (
	tnData   telnetState = iota
	tnIAC                // after IAC
	tnOption             // after IAC WILL/WONT/DO/DONT
	tnSub                // inside IAC SB ... IAC SE
	tnSubIAC             // after IAC inside a subnegotiation
)

// decode removes telnet commands from p in place and returns the data.
// IAC IAC is a literal 0xff. Option negotiation and subnegotiation are
// dropped (the client's answers to telnetInit need no reply). Outside binary
// mode a client sends CR NUL for a bare carriage return (RFC 854); the NUL
// is dropped.
func (d *telnetDecoder) decode(p []byte) []byte {
	out := p[:0]
	for _, b := range p {
		switch d.state {
		case tnData:
			if b == telnetIAC {
				d.state = tnIAC
				continue
			}
			if b == 0 && d.cr && !d.binary {
				d.cr = false
				continue
			}
			d.cr = b == '\r'
			out = append(out, b)
		case tnIAC:
			switch {
			case b == telnetIAC:
				out = append(out, telnetIAC)
				d.cr = false
				d.state = tnData
			case b >= telnetWILL && b <= telnetDONT:
				d.verb = b
				d.state = tnOption
			case b == telnetSB:
				d.state = tnSub
			default: // NOP, GA, BRK, IP, AYT, ... and a stray SE: ignored
				d.state = tnData
			}
		case tnOption:
			if b == telnetOptBinary {
				switch d.verb {
				case telnetWILL:
					d.binary = true
				case telnetWONT:
					d.binary = false
				}
			}
			d.state = tnData
		case tnSub:
			if b == telnetIAC {
				d.state = tnSubIAC
			}
		case tnSubIAC:
			if b == telnetSE {
				d.state = tnData
			} else {
				d.state = tnSub // IAC IAC: an escaped 0xff inside SB
			}
		}
	}
	return out
}

// appendTelnetEscaped appends p to dst with each 0xff doubled (IAC IAC).
func appendTelnetEscaped(dst, p []byte) []byte {
	for _, b := range p {
		dst = append(dst, b)
		if b == telnetIAC {
			dst = append(dst, telnetIAC)
		}
	}
	return dst
}
