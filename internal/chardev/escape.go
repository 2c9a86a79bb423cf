package chardev

import "fmt"

// escapeFilter is the console escape key state machine (QEMU's mux escape,
// -echr). It sees raw terminal input one byte at a time:
//
//	ESC x    quit
//	ESC h    help (also ESC ?)
//	ESC ESC  a literal ESC for the guest
//	ESC c    reserved (QEMU's monitor switch): ignored
//	ESC any  ignored, as QEMU does for keys it does not know
//
// where ESC is the escape key (Ctrl-a by default). The state survives across
// reads, so an escape key at the end of one read pairs with the next read.
type escapeFilter struct {
	esc   byte
	armed bool // the previous byte was the escape key
}

// escAction says what to do with one input byte.
type escAction uint8

const (
	escSwallow escAction = iota // consumed by the escape machinery
	escData                     // pass the byte to the guest
	escQuit
	escHelp
)

// step consumes one input byte.
func (f *escapeFilter) step(b byte) escAction {
	if f.armed {
		f.armed = false
		switch b {
		case f.esc:
			return escData
		case 'x':
			return escQuit
		case 'h', '?':
			return escHelp
		default: // 'c' (reserved) and unknown keys
			return escSwallow
		}
	}
	if b == f.esc {
		f.armed = true
		return escSwallow
	}
	return escData
}

// filter runs p through the state machine, compacting guest data in place.
// Data preceding a command is flushed through emit before the command runs,
// so input order is kept. emit is called only with non-empty data.
func (f *escapeFilter) filter(p []byte, emit func([]byte), quit, help func()) {
	out := p[:0]
	flush := func() {
		if len(out) > 0 {
			emit(out)
			out = p[:0]
		}
	}
	for _, b := range p {
		switch f.step(b) {
		case escData:
			out = append(out, b)
		case escQuit:
			flush()
			quit()
		case escHelp:
			flush()
			help()
		}
	}
	flush()
}

// keyName renders a key as QEMU's help does: "C-a" for control keys.
func keyName(b byte) string {
	if b < 0x20 {
		c := b + '@'
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		return "C-" + string(rune(c))
	}
	return string(rune(b))
}

// escapeHelp is printed for ESC h. Lines end in CRLF: the terminal is raw.
func escapeHelp(esc byte) string {
	k := keyName(esc)
	return fmt.Sprintf("\r\n"+
		"%[1]s h    print this help\r\n"+
		"%[1]s x    exit emulator\r\n"+
		"%[1]s c    (reserved: monitor, not available)\r\n"+
		"%[1]s %[1]s  send %[1]s to the guest\r\n", k)
}
