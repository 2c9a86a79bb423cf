package machine

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
)

// Digest returns a SHA-256 over the machine's whole guest-visible state:
// the harts (registers, CSRs, instruction counts), the scheduler, every device model's
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
	s := m.Harts[0].Save()
	if err := binary.Write(h, binary.LittleEndian, &s); err != nil {
		panic(fmt.Sprintf("machine: hashing hart state: %v", err)) // fixed-size struct: cannot fail
	}
	for _, c := range m.componentStates() {
		fmt.Fprintf(h, "%s %d\n", c.name, len(c.text))
		h.Write(c.text)
	}
}
