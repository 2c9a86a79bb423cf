//go:build !(linux && amd64)

package cpu

import (
	"fmt"
	"io"
	"runtime"
)

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

// EnableJIT returns an error: this host has no compiled engine.
func (c *CPU) EnableJIT(codeBytes int) error {
	return fmt.Errorf("no compiled engine for %s/%s", runtime.GOOS, runtime.GOARCH)
}

// ShareJIT reports false: this host has no compiled engine.
func (c *CPU) ShareJIT(o *CPU) bool { return false }

// SameJIT reports false: this host has no compiled engine.
func (c *CPU) SameJIT(o *CPU) bool { return false }

// JITStats returns zero counters.
func (c *CPU) JITStats() JITStats { return JITStats{} }

// JITDump writes a header saying the engine is off: this host has none.
func (c *CPU) JITDump(w io.Writer) error {
	_, err := fmt.Fprintf(w, "# hart %d: the compiled engine is off\n", c.HartID)
	return err
}

func (c *CPU) jitRun()                                { c.step() }
func (c *CPU) jitBreakpoints()                        {}
func (c *CPU) jitInvalidate(page, first, last uint64) {}

func (c *CPU) setJITHot(n uint32) {}
