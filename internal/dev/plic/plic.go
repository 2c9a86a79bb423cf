// Package plic models the SiFive Platform-Level Interrupt Controller of
// QEMU's virt board for one to eight harts, with two contexts per hart
// numbered as QEMU numbers them: context 2i is hart i M-mode (drives hart
// i's mip.MEIP), context 2i+1 is hart i S-mode (drives hart i's mip.SEIP).
// The enable, threshold and claim registers of contexts beyond the last
// hart's read 0 and ignore writes.
//
// Register map (RISC-V PLIC spec 1.0.0, chapter "Memory Map"), all
// registers 32 bits wide:
//
//	0x000000 + 4*n          priority of source n (n = 1..95; 0 is reserved)
//	0x001000 + 4*w          pending bits of sources 32w..32w+31 (read-only)
//	0x002000 + 0x80*c + 4*w enable bits of context c
//	0x200000 + 0x1000*c     priority threshold of context c
//	0x200004 + 0x1000*c     claim (read) / complete (write) of context c
//
// Sources are level-triggered with the gateway of the PLIC spec's
// "Interrupt Gateways" section: the first assertion of a level becomes a
// pending request; no further request is forwarded until the claimed
// interrupt is completed; on completion a still-high level becomes pending
// again. A request already forwarded stays pending if the device lowers its
// line before the claim ("the gateway does not have the facility to retract
// an interrupt request"); the driver then sees a spurious interrupt, which
// Linux tolerates.
//
// A context's notification (MEIP/SEIP) is raised while some pending,
// enabled source has a priority above the context's threshold. A claim
// returns the highest-priority pending enabled source with a nonzero
// priority, regardless of the threshold: the spec's "Interrupt Claim
// Process" says "the claim operation is not affected by the setting of the
// priority threshold register" (QEMU applies the threshold to claims too;
// Linux runs with threshold 0 and cannot tell the difference).
//
// Pending and claimed bits belong to the source, not to a context: a
// source enabled in several contexts (say, every hart's S-mode, as Linux
// sets up an interrupt with an affinity of several CPUs) notifies all of
// them, the first context to claim it gets it, and the others' claims no
// longer see it until a completion lets the gateway forward it again.
package plic

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/rewindvm/rewind/internal/bus"
)

// Hart is the interrupt input of one hart the PLIC's contexts belong to.
type Hart interface {
	// SetPending sets (level true) or clears the hardware-driven mip bits
	// in mask.
	SetPending(mask uint64, level bool)
}

// mip bits driven by the PLIC (Privileged spec §3.1.9).
const (
	MEIP = 1 << 11 // context 2i: hart i M-mode
	SEIP = 1 << 9  // context 2i+1: hart i S-mode
)

// Geometry of QEMU virt's PLIC ("riscv,ndev" = 95).
const (
	// NumSources counts interrupt IDs including the reserved ID 0, so
	// valid sources are 1..NumSources-1.
	NumSources = 96
	// ContextsPerHart is the number of contexts of each hart: M-mode and
	// S-mode. Hart i's are ContextsPerHart*i and ContextsPerHart*i+1.
	ContextsPerHart = 2
	// MaxPriority is the largest priority and threshold value; priority
	// and threshold registers are WARL and keep only 3 bits (QEMU virt
	// uses 7 priority levels as well).
	MaxPriority = 7
	// Size is the MMIO window size (QEMU virt: base 0xc000000).
	Size = 0x600000
)

// Register offsets.
const (
	RegPriority      = 0x000000
	RegPending       = 0x001000
	RegEnable        = 0x002000
	EnableStride     = 0x80
	RegContext       = 0x200000
	ContextStride    = 0x1000
	ctxThreshold     = 0x0
	ctxClaimComplete = 0x4
)

const words = (NumSources + 31) / 32

// bitmap is one bit per source.
type bitmap [words]uint32

func (b *bitmap) get(n int) bool { return b[n/32]>>(n%32)&1 != 0 }
func (b *bitmap) set(n int, v bool) {
	if v {
		b[n/32] |= 1 << (n % 32)
	} else {
		b[n/32] &^= 1 << (n % 32)
	}
}

// contextBit is the mip bit a context drives, by ctx%ContextsPerHart.
var contextBit = [ContextsPerHart]uint64{MEIP, SEIP}

// maxHarts is the largest hart count of the virt board.
const maxHarts = 8

// PLIC is the interrupt controller. It is not safe for concurrent use; only
// the machine goroutine touches it.
type PLIC struct {
	// Logf, if set, receives messages about unusual guest accesses.
	Logf func(format string, args ...any)

	harts     []Hart
	priority  [NumSources]uint32
	level     bitmap   // current input levels
	pending   bitmap   // IP bits
	claimed   bitmap   // claimed and not yet completed
	enable    []bitmap // per context
	threshold []uint32 // per context
}

var _ bus.Device = (*PLIC)(nil)

// New returns a PLIC with two contexts for each of harts: harts[i] (hart i)
// has its MEIP driven by context 2i and its SEIP by context 2i+1. There must
// be 1 to 8 harts; New panics otherwise (a wiring bug, not a guest error).
// At reset all priorities, enables and thresholds are zero and no source is
// pending.
func New(harts []Hart) *PLIC {
	if len(harts) < 1 || len(harts) > maxHarts {
		panic(fmt.Sprintf("plic: %d harts, want 1..%d", len(harts), maxHarts))
	}
	n := ContextsPerHart * len(harts)
	p := &PLIC{
		harts:     append([]Hart(nil), harts...),
		enable:    make([]bitmap, n),
		threshold: make([]uint32, n),
	}
	p.update()
	return p
}

// contexts returns the number of contexts.
func (p *PLIC) contexts() int { return len(p.enable) }

// Line is the interrupt input of one source. Devices hold it through their
// own IRQ interface (SetLevel(bool)).
type Line struct {
	p *PLIC
	n int
}

// Line returns the input of source n (1..NumSources-1). It panics for an
// invalid n: that is a board-wiring bug, not a guest error.
func (p *PLIC) Line(n int) Line {
	if n < 1 || n >= NumSources {
		panic(fmt.Sprintf("plic: no interrupt source %d", n))
	}
	return Line{p, n}
}

// SetLevel drives the source's input level.
func (l Line) SetLevel(high bool) { l.p.setLevel(l.n, high) }

func (p *PLIC) setLevel(n int, high bool) {
	if p.level.get(n) == high {
		return
	}
	p.level.set(n, high)
	p.gateway(n)
}

// gateway forwards a request for source n if its level is high and no
// request is pending or in service (PLIC spec §5).
func (p *PLIC) gateway(n int) {
	if p.level.get(n) && !p.pending.get(n) && !p.claimed.get(n) {
		p.pending.set(n, true)
		p.update()
	}
}

// best returns the pending, enabled source of ctx with the highest
// priority above floor, or 0. Ties go to the lowest ID (PLIC spec,
// "Interrupt Priorities" and "Interrupt Identifiers").
func (p *PLIC) best(ctx int, floor uint32) int {
	id, prio := 0, floor
	for w := 0; w < words; w++ {
		set := p.pending[w] & p.enable[ctx][w]
		for set != 0 {
			b := bits.TrailingZeros32(set)
			set &^= 1 << b
			n := 32*w + b
			if p.priority[n] > prio {
				id, prio = n, p.priority[n]
			}
		}
	}
	return id
}

// update drives each context's notification: EIP is set while a pending
// enabled source has a priority above the threshold (PLIC spec,
// "Interrupt Notifications" and "Priority Thresholds").
func (p *PLIC) update() {
	for ctx := range p.enable {
		h := p.harts[ctx/ContextsPerHart]
		h.SetPending(contextBit[ctx%ContextsPerHart], p.best(ctx, p.threshold[ctx]) != 0)
	}
}

// Read implements bus.Device. Only aligned 32-bit reads are defined; other
// widths read 0. Reading a claim register claims the interrupt it returns.
func (p *PLIC) Read(off uint64, size int) uint64 {
	if size != 4 || off%4 != 0 {
		p.logf("plic: ignored %d-byte read at offset %#x", size, off)
		return 0
	}
	switch {
	case off < RegPending:
		if n := off / 4; n < NumSources {
			return uint64(p.priority[n])
		}
	case off < RegEnable:
		if w := (off - RegPending) / 4; w < words {
			return uint64(p.pending[w])
		}
	case off < RegContext:
		ctx, w := (off-RegEnable)/EnableStride, (off-RegEnable)%EnableStride/4
		if ctx < uint64(p.contexts()) && w < words {
			return uint64(p.enable[ctx][w])
		}
	case off < Size:
		ctx, r := (off-RegContext)/ContextStride, (off-RegContext)%ContextStride
		if ctx >= uint64(p.contexts()) {
			return 0
		}
		switch r {
		case ctxThreshold:
			return uint64(p.threshold[ctx])
		case ctxClaimComplete:
			return uint64(p.claim(int(ctx)))
		}
	}
	return 0
}

// Write implements bus.Device. Only aligned 32-bit writes are defined;
// others are ignored.
func (p *PLIC) Write(off uint64, size int, val uint64) {
	if size != 4 || off%4 != 0 {
		p.logf("plic: ignored %d-byte write of %#x at offset %#x", size, val, off)
		return
	}
	v := uint32(val)
	switch {
	case off < RegPending:
		if n := off / 4; n >= 1 && n < NumSources {
			p.priority[n] = v & MaxPriority
			p.update()
		}
	case off < RegEnable:
		// Pending bits are read-only: a pending bit is cleared only by a
		// claim (PLIC spec, "Interrupt Pending Bits").
	case off < RegContext:
		ctx, w := (off-RegEnable)/EnableStride, (off-RegEnable)%EnableStride/4
		if ctx >= uint64(p.contexts()) {
			p.logf("plic: ignored enable write of %#x at offset %#x: no context %d", v, off, ctx)
			return
		}
		if w < words {
			if w == 0 {
				v &^= 1 // source 0 does not exist
			}
			if w == words-1 && NumSources%32 != 0 {
				v &= 1<<(NumSources%32) - 1
			}
			p.enable[ctx][w] = v
			p.update()
		}
	case off < Size:
		ctx, r := (off-RegContext)/ContextStride, (off-RegContext)%ContextStride
		if ctx >= uint64(p.contexts()) {
			p.logf("plic: ignored write of %#x at offset %#x: no context %d", v, off, ctx)
			return
		}
		switch r {
		case ctxThreshold:
			p.threshold[ctx] = v & MaxPriority
			p.update()
		case ctxClaimComplete:
			p.complete(int(ctx), v)
		}
	}
}

// claim implements a claim-register read (PLIC spec, "Interrupt Claim
// Process"): it returns the highest-priority pending enabled source of ctx
// (0 if none; priority 0 means "never interrupt"), ignoring the threshold,
// and clears its pending bit.
func (p *PLIC) claim(ctx int) uint32 {
	n := p.best(ctx, 0)
	if n == 0 {
		return 0
	}
	p.pending.set(n, false)
	p.claimed.set(n, true)
	p.update()
	return uint32(n)
}

// complete implements a completion write (PLIC spec, "Interrupt
// Completion"). A completion for a source that is not enabled for ctx is
// ignored, as the spec requires (Linux's plic_irq_eoi enables a masked
// source around its completion write for this reason), and so is one for a
// source that is not in service.
func (p *PLIC) complete(ctx int, id uint32) {
	if id == 0 || id >= NumSources {
		p.logf("plic: context %d completed nonexistent source %d", ctx, id)
		return
	}
	n := int(id)
	if !p.enable[ctx].get(n) || !p.claimed.get(n) {
		p.logf("plic: context %d completion of source %d ignored (enabled %v, claimed %v)", ctx, n, p.enable[ctx].get(n), p.claimed.get(n))
		return
	}
	p.claimed.set(n, false)
	p.gateway(n)
}

func (p *PLIC) logf(format string, args ...any) {
	if p.Logf != nil {
		p.Logf(format, args...)
	}
}

// State is the snapshot form of a PLIC. Bitmaps hold one bit per source
// (bit n%32 of word n/32).
//
// Enable and Threshold are contexts 0 and 1 (hart 0), as they were when the
// PLIC served one hart; MoreEnable and MoreThreshold hold contexts 2.. in
// order and are nil on a one-hart machine. So a State gob-encoded by a
// single-hart Rewind decodes unchanged, and a single-hart State prints (and
// digests) as it always did (see GoString).
type State struct {
	Priority  [NumSources]uint32
	Level     [words]uint32
	Pending   [words]uint32
	Claimed   [words]uint32
	Enable    [ContextsPerHart][words]uint32
	Threshold [ContextsPerHart]uint32
	// MoreEnable[c-2] and MoreThreshold[c-2] belong to context c.
	MoreEnable    [][words]uint32
	MoreThreshold []uint32
}

// stateV1 is State as it was before the PLIC served several harts.
type stateV1 struct {
	Priority  [NumSources]uint32
	Level     [words]uint32
	Pending   [words]uint32
	Claimed   [words]uint32
	Enable    [ContextsPerHart][words]uint32
	Threshold [ContextsPerHart]uint32
}

// stateFields is State without its methods, for printing it in full.
type stateFields State

// GoString implements fmt.GoStringer, which the %#v verb uses. State
// digests hash the %#v text of every device's State, so a one-hart State
// prints exactly as the single-hart State without the More fields did: a
// recording made before multi-hart machines keeps matching its digests.
func (s State) GoString() string {
	if len(s.MoreEnable) == 0 && len(s.MoreThreshold) == 0 {
		v1 := stateV1{s.Priority, s.Level, s.Pending, s.Claimed, s.Enable, s.Threshold}
		return "plic.State" + strings.TrimPrefix(fmt.Sprintf("%#v", v1), "plic.stateV1")
	}
	return "plic.State" + strings.TrimPrefix(fmt.Sprintf("%#v", stateFields(s)), "plic.stateFields")
}

// Save returns the PLIC state.
func (p *PLIC) Save() State {
	s := State{
		Priority: p.priority,
		Level:    p.level,
		Pending:  p.pending,
		Claimed:  p.claimed,
	}
	for c := range p.enable {
		if c < ContextsPerHart {
			s.Enable[c], s.Threshold[c] = p.enable[c], p.threshold[c]
			continue
		}
		s.MoreEnable = append(s.MoreEnable, p.enable[c])
		s.MoreThreshold = append(s.MoreThreshold, p.threshold[c])
	}
	return s
}

// Load restores s, which must have as many contexts as the PLIC, and
// re-drives every hart's MEIP and SEIP. Device models re-drive their own
// lines on Load; those calls are idempotent.
func (p *PLIC) Load(s State) error {
	if len(s.MoreEnable) != len(s.MoreThreshold) {
		return fmt.Errorf("plic: load: %d extra enable sets but %d extra thresholds", len(s.MoreEnable), len(s.MoreThreshold))
	}
	if n := ContextsPerHart + len(s.MoreEnable); n != p.contexts() {
		return fmt.Errorf("plic: load: the state has %d contexts, the PLIC %d (%d harts)", n, p.contexts(), len(p.harts))
	}
	if s.Priority[0] != 0 {
		return fmt.Errorf("plic: load: source 0 has priority %d", s.Priority[0])
	}
	for n, pr := range s.Priority {
		if pr > MaxPriority {
			return fmt.Errorf("plic: load: source %d priority %d > %d", n, pr, MaxPriority)
		}
	}
	enable := append(s.Enable[:], s.MoreEnable...)
	threshold := append(s.Threshold[:], s.MoreThreshold...)
	for c, th := range threshold {
		if th > MaxPriority {
			return fmt.Errorf("plic: load: context %d threshold %d > %d", c, th, MaxPriority)
		}
	}
	valid := bitmap{}
	for n := 1; n < NumSources; n++ {
		valid.set(n, true)
	}
	check := func(name string, b [words]uint32) error {
		for w := range b {
			if b[w]&^valid[w] != 0 {
				return fmt.Errorf("plic: load: %s word %d has bits for nonexistent sources: %#x", name, w, b[w]&^valid[w])
			}
		}
		return nil
	}
	if err := check("level", s.Level); err != nil {
		return err
	}
	if err := check("pending", s.Pending); err != nil {
		return err
	}
	if err := check("claimed", s.Claimed); err != nil {
		return err
	}
	for c := range enable {
		if err := check(fmt.Sprintf("enable[%d]", c), enable[c]); err != nil {
			return err
		}
	}
	p.priority = s.Priority
	p.level, p.pending, p.claimed = s.Level, s.Pending, s.Claimed
	for c := range p.enable {
		p.enable[c], p.threshold[c] = enable[c], threshold[c]
	}
	p.update()
	return nil
}
