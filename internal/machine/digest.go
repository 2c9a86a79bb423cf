package machine

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
)

// Digest returns a SHA-256 over the machine's whole guest-visible state:
// the hart (registers, CSRs, instruction count), every device model's
// state, virtual time and all of RAM. Two runs that agree on it are in
// the same state.
func (m *Machine) Digest() [32]byte {
	h := sha256.New()
	m.hashState(h)
	h.Write(m.Bus.RAM)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func (m *Machine) hashState(h hash.Hash) {
	s := m.CPU.Save()
	if err := binary.Write(h, binary.LittleEndian, &s); err != nil {
		panic(fmt.Sprintf("machine: hashing hart state: %v", err)) // fixed-size struct: cannot fail
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], m.Clock.WarpTotal())
	h.Write(b[:])
	fmt.Fprintf(h, "clint %#v\n", m.CLINT.Save())
	fmt.Fprintf(h, "plic %#v\n", m.PLIC.Save())
	fmt.Fprintf(h, "uart %#v\n", m.UART.Save())
	fmt.Fprintf(h, "rtc %#v\n", m.RTC.Save())
	for i, v := range m.Virtio {
		fmt.Fprintf(h, "virtio%d %#v\n", i, v.Save())
	}
}
