//go:build !(linux && amd64)

package cpu

// The compiled engine exists only on linux/amd64; elsewhere the hart
// always interprets.

// DefaultJITCodeBytes is the compiled engine's code-cache budget.
const DefaultJITCodeBytes = 64 << 20

type jitState struct{}

// JITStats counts what the compiled tier did.
type JITStats struct {
	Blocks, Flushes, Invalidated, Calls, InterpExits, Chains uint64
	CodeBytes                                                uint64
}

// EnableJIT reports false: this host has no compiled engine.
func (c *CPU) EnableJIT(codeBytes int) bool { return false }

// JITStats returns zero counters.
func (c *CPU) JITStats() JITStats { return JITStats{} }

func (c *CPU) jitRun()                                { c.step() }
func (c *CPU) jitInvalidate(page, first, last uint64) {}

func (c *CPU) setJITHot(n uint32) {}
