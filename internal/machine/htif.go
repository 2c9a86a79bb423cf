package machine

import "encoding/binary"

// HTIF ("host-target interface") is the convention bare-metal RISC-V test
// programs use to talk to the host through two memory words found by ELF
// symbol: tohost and fromhost. Rewind supports the two commands such
// programs use:
//
//   - device 0, command 0, value (code<<1)|1: exit with code (0 = pass);
//   - device 1, command 1: write the low byte to the console; the host
//     acknowledges by writing a nonzero value to fromhost.
//
// The hart reports stores to tohost through cpu.WatchStore; nothing polls.
type htif struct {
	tohost, fromhost uint64
}

func (m *Machine) onHTIF(pa uint64) {
	off := pa - m.Bus.RAMBase
	v := binary.LittleEndian.Uint64(m.Bus.RAM[off:])
	if v == 0 {
		return
	}
	dev, cmd := v>>56, (v>>48)&0xff
	switch {
	case dev == 0 && cmd == 0 && v&1 == 1:
		code := int(v >> 1 & 0x7fffffff)
		if code == 0 {
			m.halt(HaltPowerOff, 0)
		} else {
			m.halt(HaltFail, code)
		}
	case dev == 1 && cmd == 1:
		m.consoleOut([]byte{byte(v)})
		m.ackHTIF(v)
	default:
		m.ackHTIF(v)
	}
	// The store is consumed: clear tohost as a real host would.
	m.guardRAM(pa, 8)
	binary.LittleEndian.PutUint64(m.Bus.RAM[off:], 0)
}

func (m *Machine) ackHTIF(v uint64) {
	if m.htif.fromhost == 0 || !m.Bus.InRAM(m.htif.fromhost, 8) {
		return
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v>>48<<48|1)
	_ = m.Bus.WriteBytes(m.htif.fromhost, b[:])
}
