package rrlog

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Payload codecs, one section per kind. Each kind has a constructor
// (New*), an accessor on Event, a check used by Validate, and a format
// used by Dump. docs/LOG-FORMAT.md gives the byte layouts.

// Limits of payload fields.
const (
	maxPort       = 1<<16 - 1
	maxDevice     = 1<<16 - 1
	maxNameLen    = 255
	maxReasonLen  = 4096
	digestSumSize = 32
	pageHashSize  = 8
)

// ---- KindSerialInput: uvarint port | bytes ----

// NewSerialInput returns a KindSerialInput event: data entered the guest
// UART numbered port (0 = the console) at icount.
func NewSerialInput(icount uint64, port int, data []byte) Event {
	b := make([]byte, 0, uvarintLen(uint64(port))+len(data))
	b = putUvarint(b, uint64(port))
	b = append(b, data...)
	return Event{ICount: icount, Kind: KindSerialInput, Data: b}
}

// SerialInput decodes a KindSerialInput event. data aliases ev.Data.
func (ev Event) SerialInput() (port int, data []byte, err error) {
	if err := ev.want(KindSerialInput); err != nil {
		return 0, nil, err
	}
	port, data, err = parseSerialInput(ev.Data)
	if err != nil {
		return 0, nil, ev.wrap(err)
	}
	return port, data, nil
}

func parseSerialInput(b []byte) (int, []byte, error) {
	d := decoder{b: b}
	port := d.int("port", maxPort)
	data := d.rest()
	return port, data, d.done()
}

func checkSerialInput(b []byte) error {
	_, _, err := parseSerialInput(b)
	return err
}

func formatSerialInput(b []byte) string {
	port, data, _ := parseSerialInput(b)
	return fmt.Sprintf("port=%d %s", port, quoteBytes(data))
}

// ---- KindBlockComplete: uvarint device | uvarint request | status | data ----

// BlockComplete is the payload of a KindBlockComplete event: the block
// request (or flush) Request on virtio-blk device Device completed with
// Status at the event's icount.
type BlockComplete struct {
	// Device is the guest disk index (disk0 = 0).
	Device int
	// Request identifies the request on that device (assigned by the
	// blkreplay filter in submission order).
	Request uint64
	// Status is the virtio-blk status byte (0 OK, 1 IOERR, 2 UNSUPP).
	Status byte
	// Data holds the bytes a read returned, in self-contained recordings
	// only; nil otherwise. An empty Data and a nil Data encode the same.
	Data []byte
}

// NewBlockComplete returns a KindBlockComplete event.
func NewBlockComplete(icount uint64, c BlockComplete) Event {
	b := make([]byte, 0, uvarintLen(uint64(c.Device))+uvarintLen(c.Request)+1+len(c.Data))
	b = putUvarint(b, uint64(c.Device))
	b = putUvarint(b, c.Request)
	b = append(b, c.Status)
	b = append(b, c.Data...)
	return Event{ICount: icount, Kind: KindBlockComplete, Data: b}
}

// BlockComplete decodes a KindBlockComplete event. Data aliases ev.Data
// and is nil when the event carries no data.
func (ev Event) BlockComplete() (BlockComplete, error) {
	if err := ev.want(KindBlockComplete); err != nil {
		return BlockComplete{}, err
	}
	c, err := parseBlockComplete(ev.Data)
	if err != nil {
		return BlockComplete{}, ev.wrap(err)
	}
	return c, nil
}

func parseBlockComplete(b []byte) (BlockComplete, error) {
	d := decoder{b: b}
	var c BlockComplete
	c.Device = d.int("device", maxDevice)
	c.Request = d.uvarint("request id")
	c.Status = d.byte("status")
	if data := d.rest(); len(data) > 0 {
		c.Data = data
	}
	if err := d.done(); err != nil {
		return BlockComplete{}, err
	}
	return c, nil
}

func checkBlockComplete(b []byte) error {
	_, err := parseBlockComplete(b)
	return err
}

func formatBlockComplete(b []byte) string {
	c, _ := parseBlockComplete(b)
	s := fmt.Sprintf("dev=%d req=%d status=%d", c.Device, c.Request, c.Status)
	if len(c.Data) > 0 {
		s += fmt.Sprintf(" data=%d bytes", len(c.Data))
	}
	return s
}

// ---- KindWarp: uvarint ns ----

// NewWarp returns a KindWarp event: the hart idled and virtual time
// jumped ahead by ns nanoseconds at icount.
func NewWarp(icount, ns uint64) Event {
	return Event{ICount: icount, Kind: KindWarp, Data: putUvarint(make([]byte, 0, uvarintLen(ns)), ns)}
}

// Warp decodes a KindWarp event.
func (ev Event) Warp() (ns uint64, err error) {
	if err := ev.want(KindWarp); err != nil {
		return 0, err
	}
	ns, err = parseWarp(ev.Data)
	if err != nil {
		return 0, ev.wrap(err)
	}
	return ns, nil
}

func parseWarp(b []byte) (uint64, error) {
	d := decoder{b: b}
	ns := d.uvarint("ns")
	return ns, d.done()
}

func checkWarp(b []byte) error {
	_, err := parseWarp(b)
	return err
}

func formatWarp(b []byte) string {
	ns, _ := parseWarp(b)
	return formatNs(ns)
}

// formatNs renders a duration in nanoseconds ("12.5ms").
func formatNs(ns uint64) string {
	if ns > math.MaxInt64 {
		return fmt.Sprintf("%dns", ns)
	}
	return time.Duration(ns).String()
}

// ---- KindShutdown: reason byte ----

// ShutdownReason says why the host stopped (or reset) the machine.
// Values are part of the format.
type ShutdownReason uint8

// Shutdown reasons. Readers accept any value, so new reasons need no
// format change; Dump shows an unknown one in hex.
const (
	// ShutdownQuitKey: the console escape key's quit command.
	ShutdownQuitKey ShutdownReason = 1
	// ShutdownInterrupt: SIGINT.
	ShutdownInterrupt ShutdownReason = 2
	// ShutdownTerminate: SIGTERM.
	ShutdownTerminate ShutdownReason = 3
	// ShutdownHangup: SIGHUP (the controlling terminal went away).
	ShutdownHangup ShutdownReason = 4
	// ShutdownReset: the host requested a machine reset (reboot).
	ShutdownReset ShutdownReason = 5
	// ShutdownDebugger: the debugger killed the session.
	ShutdownDebugger ShutdownReason = 6
	// ShutdownLimit: a host-side limit ran out (e.g. a wall-clock timeout).
	ShutdownLimit ShutdownReason = 7
	// ShutdownConsoleMatch: the guest printed what record --until-console
	// waited for.
	ShutdownConsoleMatch ShutdownReason = 8
)

var shutdownNames = [...]string{
	ShutdownQuitKey:      "quit-key",
	ShutdownInterrupt:    "sigint",
	ShutdownTerminate:    "sigterm",
	ShutdownHangup:       "sighup",
	ShutdownReset:        "reset",
	ShutdownDebugger:     "debugger",
	ShutdownLimit:        "limit",
	ShutdownConsoleMatch: "console-match",
}

// String returns the reason's name ("sigint"), or "reason-0x2a".
func (r ShutdownReason) String() string {
	if int(r) < len(shutdownNames) && shutdownNames[r] != "" {
		return shutdownNames[r]
	}
	return fmt.Sprintf("reason-%#02x", uint8(r))
}

// NewShutdown returns a KindShutdown event: the host asked the machine to
// stop (or reset) for reason at icount.
func NewShutdown(icount uint64, reason ShutdownReason) Event {
	return Event{ICount: icount, Kind: KindShutdown, Data: []byte{byte(reason)}}
}

// Shutdown decodes a KindShutdown event.
func (ev Event) Shutdown() (ShutdownReason, error) {
	if err := ev.want(KindShutdown); err != nil {
		return 0, err
	}
	r, err := parseShutdown(ev.Data)
	if err != nil {
		return 0, ev.wrap(err)
	}
	return r, nil
}

func parseShutdown(b []byte) (ShutdownReason, error) {
	d := decoder{b: b}
	r := ShutdownReason(d.byte("reason"))
	return r, d.done()
}

func checkShutdown(b []byte) error {
	_, err := parseShutdown(b)
	return err
}

func formatShutdown(b []byte) string {
	r, _ := parseShutdown(b)
	return r.String()
}

// ---- KindDigest ----
//
//	32-byte SHA-256 of the whole state
//	uvarint C, then C × (uvarint name length | name | 32-byte SHA-256)
//	uvarint P, then P × (uvarint page gap | 8-byte hash, little-endian)
//	  gap = page for the first entry, page - previous page - 1 after it
//	uvarint H, then H bytes of raw hart state (H = 0: none)

// Digest is the payload of a KindDigest event: a fingerprint of the whole
// machine state at the event's icount, with enough detail for replay to
// say what differs.
type Digest struct {
	// Sum is the SHA-256 over the whole guest-visible state.
	Sum [32]byte
	// Components are digests of parts of the state ("hart", "clint",
	// "uart", "ram", ...), in the machine's fixed order. Names are unique
	// and 1..255 bytes long.
	Components []ComponentDigest
	// Pages lists the RAM pages written since the previous digest with a
	// hash of each page's content, in strictly ascending page order.
	Pages []PageHash
	// HartState optionally holds the hart's raw architectural state in
	// the machine's own encoding (opaque to rrlog), so that replay can
	// name the registers that differ. Empty when not recorded.
	HartState []byte
}

// ComponentDigest is one named part of a Digest.
type ComponentDigest struct {
	// Name is the component ("hart", "clint", "ram", ...), 1..255 bytes.
	Name string
	// Sum is the SHA-256 of the component's state.
	Sum [32]byte
}

// PageHash is the content hash of one RAM page. Page numbering and the
// hash function belong to the machine; rrlog only stores them.
type PageHash struct {
	// Page is the page number (the machine defines it, e.g. the offset
	// into RAM divided by 4096).
	Page uint64
	// Hash is a 64-bit hash of the page's content.
	Hash uint64
}

// NewDigest returns a KindDigest event. It fails if a component name is
// empty, longer than 255 bytes or repeated, or if Pages are not in
// strictly ascending order.
func NewDigest(icount uint64, dg Digest) (Event, error) {
	seen := make(map[string]bool, len(dg.Components))
	size := digestSumSize + 2*binary.MaxVarintLen64
	for _, c := range dg.Components {
		if c.Name == "" || len(c.Name) > maxNameLen {
			return Event{}, fmt.Errorf("rrlog: digest at icount %d: component name %q must be 1..%d bytes", icount, c.Name, maxNameLen)
		}
		if seen[c.Name] {
			return Event{}, fmt.Errorf("rrlog: digest at icount %d: component %q appears twice", icount, c.Name)
		}
		seen[c.Name] = true
		size += 1 + len(c.Name) + digestSumSize
	}
	for i, p := range dg.Pages {
		if i > 0 && p.Page <= dg.Pages[i-1].Page {
			return Event{}, fmt.Errorf("rrlog: digest at icount %d: pages not in ascending order (%#x after %#x)", icount, p.Page, dg.Pages[i-1].Page)
		}
	}
	size += len(dg.Pages)*(3+pageHashSize) + binary.MaxVarintLen64 + len(dg.HartState)
	b := make([]byte, 0, size)
	b = append(b, dg.Sum[:]...)
	b = putUvarint(b, uint64(len(dg.Components)))
	for _, c := range dg.Components {
		b = putUvarint(b, uint64(len(c.Name)))
		b = append(b, c.Name...)
		b = append(b, c.Sum[:]...)
	}
	b = putUvarint(b, uint64(len(dg.Pages)))
	for i, p := range dg.Pages {
		gap := p.Page
		if i > 0 {
			gap = p.Page - dg.Pages[i-1].Page - 1
		}
		b = putUvarint(b, gap)
		b = binary.LittleEndian.AppendUint64(b, p.Hash)
	}
	b = putUvarint(b, uint64(len(dg.HartState)))
	b = append(b, dg.HartState...)
	return Event{ICount: icount, Kind: KindDigest, Data: b}, nil
}

// Digest decodes a KindDigest event.
func (ev Event) Digest() (Digest, error) {
	if err := ev.want(KindDigest); err != nil {
		return Digest{}, err
	}
	dg, err := parseDigest(ev.Data, true)
	if err != nil {
		return Digest{}, ev.wrap(err)
	}
	return dg, nil
}

// parseDigest decodes a digest payload; with keep false it only
// validates it. HartState aliases b.
func parseDigest(b []byte, keep bool) (Digest, error) {
	d := decoder{b: b}
	var dg Digest
	copy(dg.Sum[:], d.bytes(digestSumSize, "overall digest"))
	// Every component takes at least 1+1+32 bytes and every page 1+8, so
	// the counts are bounded by the payload before anything is allocated.
	nc := d.int("component count", uint64(len(d.b)/(2+digestSumSize)))
	if keep && nc > 0 {
		dg.Components = make([]ComponentDigest, 0, nc)
	}
	var names map[string]bool
	for i := 0; i < nc && d.err == nil; i++ {
		n := d.int("component name length", maxNameLen)
		if n == 0 && d.err == nil {
			d.fail("component %d: empty name", i)
		}
		name := d.bytes(n, "component name")
		sum := d.bytes(digestSumSize, "component digest")
		if d.err != nil {
			break
		}
		if names == nil {
			names = make(map[string]bool, nc)
		}
		if names[string(name)] {
			d.fail("component %q appears twice", name)
			break
		}
		names[string(name)] = true
		if keep {
			c := ComponentDigest{Name: string(name)}
			copy(c.Sum[:], sum)
			dg.Components = append(dg.Components, c)
		}
	}
	np := d.int("page count", uint64(len(d.b)/(1+pageHashSize)))
	if keep && np > 0 {
		dg.Pages = make([]PageHash, 0, np)
	}
	var prev uint64
	for i := 0; i < np && d.err == nil; i++ {
		gap := d.uvarint("page gap")
		h := d.bytes(pageHashSize, "page hash")
		if d.err != nil {
			break
		}
		page := gap
		if i > 0 {
			if prev == math.MaxUint64 || gap > math.MaxUint64-prev-1 {
				d.fail("page %d: page number overflows", i)
				break
			}
			page = prev + 1 + gap
		}
		prev = page
		if keep {
			dg.Pages = append(dg.Pages, PageHash{Page: page, Hash: binary.LittleEndian.Uint64(h)})
		}
	}
	if hs := d.bytes(d.int("hart state length", uint64(len(d.b))), "hart state"); len(hs) > 0 {
		dg.HartState = hs
	}
	if err := d.done(); err != nil {
		return Digest{}, err
	}
	return dg, nil
}

func checkDigest(b []byte) error {
	_, err := parseDigest(b, false)
	return err
}

func formatDigest(b []byte) string {
	dg, _ := parseDigest(b, true)
	var s strings.Builder
	s.WriteString(hex.EncodeToString(dg.Sum[:6]))
	s.WriteString("  (")
	for _, c := range dg.Components {
		fmt.Fprintf(&s, "%s %s, ", c.Name, hex.EncodeToString(c.Sum[:4]))
	}
	fmt.Fprintf(&s, "%d pages", len(dg.Pages))
	if len(dg.HartState) > 0 {
		fmt.Fprintf(&s, ", hart state %d bytes", len(dg.HartState))
	}
	s.WriteString(")")
	return s.String()
}

// Diff compares a recorded digest (d) with the one replay computed at the
// same icount and describes every difference, one per line: components
// that differ or exist on one side only, then RAM pages whose hash
// differs or that were written on one side only, then the raw hart state
// (whose layout rrlog does not know). It returns nil when the digests are
// identical.
func (d Digest) Diff(replay Digest) []string {
	var out []string
	if d.Sum != replay.Sum {
		out = append(out, fmt.Sprintf("state digest: recorded %x, replay %x", d.Sum[:8], replay.Sum[:8]))
	}
	rep := make(map[string][32]byte, len(replay.Components))
	for _, c := range replay.Components {
		rep[c.Name] = c.Sum
	}
	rec := make(map[string]bool, len(d.Components))
	for _, c := range d.Components {
		rec[c.Name] = true
		s, ok := rep[c.Name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: recorded %x, missing in replay", c.Name, c.Sum[:8]))
		case s != c.Sum:
			out = append(out, fmt.Sprintf("%s: recorded %x, replay %x", c.Name, c.Sum[:8], s[:8]))
		}
	}
	for _, c := range replay.Components {
		if !rec[c.Name] {
			out = append(out, fmt.Sprintf("%s: missing in recording, replay %x", c.Name, c.Sum[:8]))
		}
	}
	i, j := 0, 0
	for i < len(d.Pages) || j < len(replay.Pages) {
		switch {
		case j == len(replay.Pages) || (i < len(d.Pages) && d.Pages[i].Page < replay.Pages[j].Page):
			out = append(out, fmt.Sprintf("ram page %#x: written in recording (hash %016x), not in replay", d.Pages[i].Page, d.Pages[i].Hash))
			i++
		case i == len(d.Pages) || replay.Pages[j].Page < d.Pages[i].Page:
			out = append(out, fmt.Sprintf("ram page %#x: written in replay (hash %016x), not in recording", replay.Pages[j].Page, replay.Pages[j].Hash))
			j++
		default:
			if d.Pages[i].Hash != replay.Pages[j].Hash {
				out = append(out, fmt.Sprintf("ram page %#x: recorded hash %016x, replay %016x", d.Pages[i].Page, d.Pages[i].Hash, replay.Pages[j].Hash))
			}
			i++
			j++
		}
	}
	if !bytes.Equal(d.HartState, replay.HartState) {
		out = append(out, fmt.Sprintf("raw hart state differs (%d bytes recorded, %d in replay)", len(d.HartState), len(replay.HartState)))
	}
	return out
}

// ---- KindImageData: uvarint role length | role | uvarint offset | bytes ----

// ImageData is the payload of a KindImageData event: bytes Offset..
// Offset+len(Data) of the embedded image named by Role (an Image.Role in
// the header).
type ImageData struct {
	// Role names the image, 1..255 bytes.
	Role string
	// Offset is the byte offset of Data in the image. Readers should
	// check Offset+len(Data) against the header's Image.Size before
	// allocating.
	Offset uint64
	// Data is the piece's bytes.
	Data []byte
}

// NewImageData returns a KindImageData event.
func NewImageData(icount uint64, p ImageData) Event {
	b := make([]byte, 0, 1+len(p.Role)+uvarintLen(p.Offset)+len(p.Data))
	b = putUvarint(b, uint64(len(p.Role)))
	b = append(b, p.Role...)
	b = putUvarint(b, p.Offset)
	b = append(b, p.Data...)
	return Event{ICount: icount, Kind: KindImageData, Data: b}
}

// ImageData decodes a KindImageData event. Data aliases ev.Data.
func (ev Event) ImageData() (ImageData, error) {
	if err := ev.want(KindImageData); err != nil {
		return ImageData{}, err
	}
	p, err := parseImageData(ev.Data)
	if err != nil {
		return ImageData{}, ev.wrap(err)
	}
	return p, nil
}

func parseImageData(b []byte) (ImageData, error) {
	d := decoder{b: b}
	n := d.int("role length", maxNameLen)
	if n == 0 && d.err == nil {
		d.fail("empty role")
	}
	role := d.bytes(n, "role")
	off := d.uvarint("offset")
	data := d.rest()
	if err := d.done(); err != nil {
		return ImageData{}, err
	}
	if off > math.MaxInt64-uint64(len(data)) {
		return ImageData{}, fmt.Errorf("offset %d overflows", off)
	}
	return ImageData{Role: string(role), Offset: off, Data: data}, nil
}

func checkImageData(b []byte) error {
	_, err := parseImageData(b)
	return err
}

func formatImageData(b []byte) string {
	p, _ := parseImageData(b)
	return fmt.Sprintf("%s +%#x %d bytes", p.Role, p.Offset, len(p.Data))
}

// ---- KindEnd ----
//
//	flags byte (bit 0: clean; other bits zero)
//	uvarint total events | uvarint total warp ns
//	uvarint K, then K × (kind byte | uvarint count), kinds ascending, counts > 0
//	uvarint reason length | reason

// EndInfo is the End record that closes a complete recording.
type EndInfo struct {
	// ICount is the guest instruction count when recording stopped (at
	// least the icount of every event). It is the End record's icount.
	ICount uint64
	// Clean is true when the session ended in an orderly way (guest
	// poweroff, host quit); false when the recorder stopped on an error.
	Clean bool
	// Reason optionally says how it ended ("guest poweroff",
	// "emulator error: ..."), at most 4096 bytes.
	Reason string
	// Events is the number of events before the End record. Computed by
	// the Writer; the value passed to Close is ignored.
	Events uint64
	// WarpNs is the sum of all warps. Computed by the Writer.
	WarpNs uint64
	// ByKind counts the events of each kind. Computed by the Writer.
	ByKind map[Kind]uint64
}

const endClean = 1

func encodeEnd(e EndInfo) []byte {
	var b []byte
	var flags byte
	if e.Clean {
		flags |= endClean
	}
	b = append(b, flags)
	b = putUvarint(b, e.Events)
	b = putUvarint(b, e.WarpNs)
	ks := make([]int, 0, len(e.ByKind))
	for k, n := range e.ByKind {
		if n > 0 {
			ks = append(ks, int(k))
		}
	}
	sort.Ints(ks)
	b = putUvarint(b, uint64(len(ks)))
	for _, k := range ks {
		b = append(b, byte(k))
		b = putUvarint(b, e.ByKind[Kind(k)])
	}
	reason := e.Reason
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	b = putUvarint(b, uint64(len(reason)))
	return append(b, reason...)
}

func parseEnd(b []byte) (EndInfo, error) {
	d := decoder{b: b}
	var e EndInfo
	flags := d.byte("flags")
	if flags&^endClean != 0 {
		d.fail("unknown flags %#02x", flags)
	}
	e.Clean = flags&endClean != 0
	e.Events = d.uvarint("event count")
	e.WarpNs = d.uvarint("warp total")
	nk := d.int("kind count", 255)
	e.ByKind = make(map[Kind]uint64, nk)
	last := -1
	for i := 0; i < nk && d.err == nil; i++ {
		k := d.byte("kind")
		n := d.uvarint("kind total")
		if d.err != nil {
			break
		}
		if int(k) <= last || n == 0 || Kind(k) == KindEnd {
			d.fail("kind totals: entry %d (kind %#02x, %d events) out of order, zero or the end kind", i, k, n)
			break
		}
		last = int(k)
		e.ByKind[Kind(k)] = n
	}
	e.Reason = string(d.bytes(d.int("reason length", maxReasonLen), "reason"))
	if err := d.done(); err != nil {
		return EndInfo{}, err
	}
	return e, nil
}

func checkEnd(b []byte) error {
	_, err := parseEnd(b)
	return err
}

func formatEnd(b []byte) string {
	e, _ := parseEnd(b)
	return endString(e)
}

// endString renders an End record for Dump.
func endString(e EndInfo) string {
	s := "not clean"
	if e.Clean {
		s = "clean"
	}
	s += fmt.Sprintf(", %d events, %s warped", e.Events, formatNs(e.WarpNs))
	if e.Reason != "" {
		s += ", " + quoteBytes([]byte(e.Reason))
	}
	return s
}
