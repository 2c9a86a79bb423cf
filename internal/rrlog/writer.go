package rrlog

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// DefaultFlushInterval is how long an appended event may wait in memory
// before the background goroutine writes it: the most a recorder killed
// with SIGKILL can lose.
const DefaultFlushInterval = 100 * time.Millisecond

// Option configures a Writer.
type Option func(*writerOptions)

type writerOptions struct {
	chunkSize     int
	flushInterval time.Duration
}

// WithChunkSize sets the uncompressed size (bytes of encoded events) at
// which the writer seals a chunk and writes it without waiting for the
// flush timer. Default DefaultChunkSize; clamped to [1, MaxChunkSize].
// Tests use tiny sizes to get many chunks.
func WithChunkSize(n int) Option {
	return func(o *writerOptions) { o.chunkSize = min(max(n, 1), MaxChunkSize) }
}

// WithFlushInterval sets the longest time an event waits in memory before
// it is written. Default DefaultFlushInterval; d <= 0 keeps the default.
func WithFlushInterval(d time.Duration) Option {
	return func(o *writerOptions) {
		if d > 0 {
			o.flushInterval = d
		}
	}
}

// prefixRoom is reserved at the start of every chunk buffer for the
// chunk's first icount and event count, which are known only when the
// chunk is sealed.
const prefixRoom = 2 * binary.MaxVarintLen64

// maxFreeBufs bounds the chunk buffers kept for reuse.
const maxFreeBufs = 4

// chunkBuf accumulates the encoded events of one chunk.
type chunkBuf struct {
	b     []byte // prefixRoom reserved bytes, then the encoded events
	first uint64 // icount of the first event
	prev  uint64 // icount of the last event
	n     int    // events in b
	// packed counts the bytes of snapshot pieces in b: data compressed
	// already, which a compressor would only search and copy.
	packed int
}

func (c *chunkBuf) size() int { return len(c.b) - prefixRoom }

// Writer appends events to a recording. Append is meant for the machine
// goroutine and never touches the disk; a background goroutine compresses
// and writes sealed chunks, and the pending events at least every flush
// interval. Close must be called to stop that goroutine and write the End
// record. All methods are safe for concurrent use.
type Writer struct {
	name string
	f    *os.File
	enc  *zstd.Encoder
	opts writerOptions

	wake     chan struct{} // capacity 1: something to seal-write or a timer to arm
	quit     chan struct{} // closed by Close to stop loop
	loopDone chan struct{} // closed when loop returns

	// writeMu serializes chunk writes (loop, Flush, Close) so chunks reach
	// the file in order. Taken before mu, never while holding it.
	writeMu sync.Mutex
	off     int64    // guarded by writeMu: bytes in the file
	synced  int64    // guarded by writeMu: bytes in the file at the last fsync
	chunks  int      // guarded by writeMu: chunks written
	out     []byte   // guarded by writeMu: scratch for one framed chunk
	vec     [][]byte // guarded by writeMu: scratch for writeStored

	mu     sync.Mutex
	cur    *chunkBuf   // guarded by mu: the chunk being filled
	sealed []*chunkBuf // guarded by mu: full chunks waiting to be written
	free   []*chunkBuf // guarded by mu: buffers for reuse
	last   uint64      // guarded by mu: icount of the last appended event
	err    error       // guarded by mu: first write error (sticky)
	closed bool        // guarded by mu
	events uint64      // guarded by mu: events appended
	warpNs uint64      // guarded by mu: sum of warps appended
	byKind [256]uint64 // guarded by mu: events appended per kind
}

// Create creates (or truncates) the recording at path, writes the header
// and fsyncs it, and starts the background flush goroutine. It sets
// h.FormatVersion, and h.Created to the current time if it is empty.
func Create(path string, h Header, opts ...Option) (*Writer, error) {
	o := writerOptions{chunkSize: DefaultChunkSize, flushInterval: DefaultFlushInterval}
	for _, opt := range opts {
		opt(&o)
	}
	h.FormatVersion = FormatVersion
	if h.Created == "" {
		h.Created = time.Now().UTC().Format(time.RFC3339)
	}
	hdr, err := encodeHeader(h)
	if err != nil {
		return nil, fmt.Errorf("rrlog: %s: %w", path, err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, fmt.Errorf("rrlog: %s: zstd encoder: %w", path, err)
	}

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("rrlog: %w", err)
	}
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		enc.Close()
		return nil, fmt.Errorf("rrlog: %s: writing header: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		enc.Close()
		return nil, fmt.Errorf("rrlog: %s: fsync header: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	w := &Writer{
		name:     path,
		f:        f,
		enc:      enc,
		opts:     o,
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		loopDone: make(chan struct{}),
		off:      int64(len(hdr)),
		synced:   int64(len(hdr)),
	}
	w.cur = w.newBufLocked()
	go w.loop()
	return w, nil
}

// syncDir fsyncs a directory so a new file's entry survives a power loss.
// Best effort: some systems cannot fsync directories.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Append adds ev to the recording. It copies ev.Data, validates the
// payload, and returns at once: the event reaches the file within the
// flush interval. It fails if ev's icount is below the previous event's,
// if the kind is unknown or KindEnd, if the payload is malformed or over
// MaxEventData, after Close, or after a write error (which it returns).
func (w *Writer) Append(ev Event) error {
	if err := w.check(ev); err != nil {
		return err
	}
	var warp uint64
	if ev.Kind == KindWarp {
		warp, _ = parseWarp(ev.Data)
	}
	w.mu.Lock()
	signal, err := w.appendLocked(ev, warp)
	w.mu.Unlock()
	if signal {
		w.signal()
	}
	return err
}

// AppendSnapshot appends blob, an embedded snapshot's bytes, as the
// KindSnapshot events NewSnapshotEvents(icount, seq, blob) returns, each
// part in a stored chunk of its own. Unlike Append it writes them itself,
// after the events appended before it and straight from blob (which is not
// copied, and may be reused once it returns), so it blocks on the disk: it
// is meant for a goroutine other than the machine's. Events appended while
// it runs follow the snapshot in the file.
func (w *Writer) AppendSnapshot(icount, seq uint64, blob []byte) error {
	sum := sha256.Sum256(blob)
	parts := max(1, (len(blob)+SnapshotPart-1)/SnapshotPart)
	if parts > maxSnapshotParts {
		return fmt.Errorf("rrlog: %s: snapshot of %d bytes exceeds the limit of %d parts", w.name, len(blob), maxSnapshotParts)
	}
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.mu.Lock()
	if err := w.acceptLocked(icount, KindSnapshot); err != nil {
		w.mu.Unlock()
		return err
	}
	bufs := w.takeLocked(true)
	w.countLocked(icount, KindSnapshot, uint64(parts))
	w.mu.Unlock()

	err := w.writeBufs(bufs)
	var head [5*binary.MaxVarintLen64 + 1 + 3*binary.MaxVarintLen64 + sha256.Size]byte
	for i := 0; i < parts && err == nil; i++ {
		piece := blob[i*SnapshotPart : min(len(blob), (i+1)*SnapshotPart)]
		// The chunk's payload: its first icount and event count, then
		// the one event (icount delta 0, kind, length, payload).
		var snap [3*binary.MaxVarintLen64 + sha256.Size]byte
		sh := snapshotHead(snap[:0], seq, i, parts, &sum)
		h := putUvarint(head[:0], icount)
		h = putUvarint(h, 1)
		h = putUvarint(h, 0)
		h = append(h, byte(KindSnapshot))
		h = putUvarint(h, uint64(len(sh)+len(piece)))
		h = append(h, sh...)
		err = w.writeStored(h, piece)
	}
	if err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	return err
}

// appendLocked adds ev (valid) to the current chunk. It reports whether
// the background goroutine has something new to do (w.signal, once w.mu is
// released). w.mu is held.
func (w *Writer) appendLocked(ev Event, warp uint64) (signal bool, err error) {
	if err := w.acceptLocked(ev.ICount, ev.Kind); err != nil {
		return false, err
	}
	c := w.cur
	size := uvarintLen(ev.ICount-c.prev) + 1 + uvarintLen(uint64(len(ev.Data))) + len(ev.Data)
	if c.n > 0 && c.size()+size > w.opts.chunkSize {
		w.sealLocked()
		c = w.cur
		signal = true
	}
	if c.n == 0 {
		c.first, c.prev = ev.ICount, ev.ICount
		signal = true // arm the flush timer
	}
	c.b = putUvarint(c.b, ev.ICount-c.prev)
	c.b = append(c.b, byte(ev.Kind))
	c.b = putUvarint(c.b, uint64(len(ev.Data)))
	c.b = append(c.b, ev.Data...)
	if ev.Kind == KindSnapshot {
		c.packed += len(ev.Data)
	}
	c.prev = ev.ICount
	c.n++
	w.countLocked(ev.ICount, ev.Kind, 1)
	w.warpNs += warp
	if c.size() >= w.opts.chunkSize {
		w.sealLocked()
		signal = true
	}
	return signal, nil
}

// acceptLocked returns why an event of kind at icount cannot be appended
// now, if it cannot. w.mu is held.
func (w *Writer) acceptLocked(icount uint64, kind Kind) error {
	if err := w.usableLocked(); err != nil {
		return err
	}
	if w.events > 0 && icount < w.last {
		return fmt.Errorf("rrlog: %s: %s event at icount %d after an event at icount %d: icounts must not decrease", w.name, kind, icount, w.last)
	}
	return nil
}

// countLocked accounts for n events of kind at icount appended. w.mu is
// held.
func (w *Writer) countLocked(icount uint64, kind Kind, n uint64) {
	w.last = icount
	w.events += n
	w.byKind[kind] += n
}

// signal wakes the background goroutine.
func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// check validates ev before it is appended.
func (w *Writer) check(ev Event) error {
	if ev.Kind == KindEnd || !ev.Kind.Known() {
		return fmt.Errorf("rrlog: %s: cannot append an event of kind %s", w.name, ev.Kind)
	}
	if len(ev.Data) > MaxEventData {
		return fmt.Errorf("rrlog: %s: %s event at icount %d: payload of %d bytes exceeds the limit of %d", w.name, ev.Kind, ev.ICount, len(ev.Data), MaxEventData)
	}
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("rrlog: %s: %w", w.name, err)
	}
	return nil
}

// AppendImage appends data, the bytes of the embedded image named role,
// as KindImageData events of at most MaxImagePiece bytes at icount
// (normally 0, before the guest runs). The header's Image for role should
// have Embedded set.
func (w *Writer) AppendImage(icount uint64, role string, data []byte) error {
	for off := 0; off < len(data); off += MaxImagePiece {
		piece := data[off:min(off+MaxImagePiece, len(data))]
		if err := w.Append(NewImageData(icount, ImageData{Role: role, Offset: uint64(off), Data: piece})); err != nil {
			return err
		}
	}
	return nil
}

// sealLocked moves the current chunk to the write queue. w.mu is held.
func (w *Writer) sealLocked() {
	w.sealed = append(w.sealed, w.cur)
	w.cur = w.newBufLocked()
}

// newBufLocked returns an empty chunk buffer. w.mu is held (or w is not
// yet shared).
func (w *Writer) newBufLocked() *chunkBuf {
	if n := len(w.free); n > 0 {
		c := w.free[n-1]
		w.free = w.free[:n-1]
		return c
	}
	// Room for a full chunk and a last event that overflows it: a chunk
	// of network frames then never grows (and copies) on its way to full.
	return &chunkBuf{b: make([]byte, prefixRoom, prefixRoom+w.opts.chunkSize+min(w.opts.chunkSize, 64<<10))}
}

// loop is the background goroutine: it writes sealed chunks as soon as
// Append signals them, and the partly filled chunk when the flush timer
// (armed when the chunk received its first event) expires.
func (w *Writer) loop() {
	defer close(w.loopDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	for {
		select {
		case <-w.wake:
		case <-timer.C:
			armed = false
			_ = w.flush(true) // a write error is sticky: Append and Close report it
		case <-w.quit:
			timer.Stop()
			return
		}
		w.mu.Lock()
		sealed, pending := len(w.sealed) > 0, w.cur.n > 0
		w.mu.Unlock()
		if sealed {
			_ = w.flush(false)
		}
		if pending && !armed {
			timer.Reset(w.opts.flushInterval)
			armed = true
		}
	}
}

// Flush writes every pending event now (blocking on the disk, so not for
// the machine goroutine). It does not fsync.
func (w *Writer) Flush() error {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return w.flush(true)
}

// flush writes the sealed chunks and, if all is set, the current one.
func (w *Writer) flush(all bool) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	bufs := w.takeLocked(all)
	w.mu.Unlock()
	return w.writeBufs(bufs)
}

// usableLocked returns why nothing more can be appended, if so. w.mu is
// held.
func (w *Writer) usableLocked() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// takeLocked removes the sealed chunk buffers from the write queue, and
// with all the current one too if it holds events, and returns them in
// file order. w.mu is held (and w.writeMu, so that they are written in
// that order).
func (w *Writer) takeLocked(all bool) []*chunkBuf {
	bufs := w.sealed
	w.sealed = nil
	if all && w.cur.n > 0 {
		bufs = append(bufs, w.cur)
		w.cur = w.newBufLocked()
	}
	return bufs
}

// writeBufs writes the chunk buffers taken by takeLocked, keeps some for
// reuse, and makes the first write error sticky. w.writeMu is held.
func (w *Writer) writeBufs(bufs []*chunkBuf) error {
	var err error
	for _, c := range bufs {
		if err == nil {
			err = w.writeChunk(c)
		}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range bufs {
		if len(w.free) < maxFreeBufs && cap(c.b) <= 2*prefixRoom+2*w.opts.chunkSize {
			c.b, c.n, c.packed = c.b[:prefixRoom], 0, 0
			w.free = append(w.free, c)
		}
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	return err
}

// writeChunk frames and writes one chunk. w.writeMu is held.
func (w *Writer) writeChunk(c *chunkBuf) error {
	var pre [prefixRoom]byte
	p := putUvarint(pre[:0], c.first)
	p = putUvarint(p, uint64(c.n))
	start := prefixRoom - len(p)
	copy(c.b[start:], p)
	enc := w.enc
	if 2*c.packed > c.size() {
		// Mostly an embedded snapshot, which is zstd already: a
		// compressor would spend its time finding nothing.
		enc = nil
	}
	return w.writeFrame(c.b[start:], enc)
}

// writeFrame compresses payload with enc (nil: stores it, see
// storedFrame) and appends it as one chunk with a single write, so a
// killed process leaves either the whole chunk or a torn tail that
// readers recognise. w.writeMu is held.
func (w *Writer) writeFrame(payload []byte, enc *zstd.Encoder) error {
	// Room for the worst case (incompressible data: snapshot pieces are
	// compressed already), so the encoder never grows the buffer. It is
	// kept for the next chunk up to the size of a snapshot piece's chunk.
	out := slices.Grow(w.out[:0], ChunkHeaderSize+len(payload)+len(payload)/128+1024)
	out = frameChunk(out, enc, payload)
	w.out = out[:0]
	if cap(w.out) > 4*SnapshotPart {
		w.out = nil // do not keep a buffer sized for one huge chunk
	}
	_, err := w.f.Write(out)
	return w.wrote(len(out), err)
}

// writeStored writes one chunk whose payload is the concatenation of
// segs, stored (see storedFrame), with one writev call that reads segs in
// place: a snapshot part is not copied on its way to the file. w.writeMu
// is held.
func (w *Writer) writeStored(segs ...[]byte) error {
	n := 0
	for _, s := range segs {
		n += len(s)
	}
	// The chunk header, the frame header and three bytes per block, in
	// one buffer that does not move while the vector points into it.
	blocks := max(1, (n+maxRawBlock-1)/maxRawBlock)
	small := make([]byte, ChunkHeaderSize, ChunkHeaderSize+storedFrameHead+3*blocks)
	copy(small, chunkMagic)
	vec := append(w.vec[:0], small[:ChunkHeaderSize:ChunkHeaderSize])
	vec = appendStoredFrame(vec, small[ChunkHeaderSize:ChunkHeaderSize], segs)
	crc, body := uint32(0), 0
	for _, b := range vec[1:] {
		crc = crc32.Update(crc, castagnoli, b)
		body += len(b)
	}
	binary.LittleEndian.PutUint32(small[4:], uint32(body))
	binary.LittleEndian.PutUint32(small[8:], crc)
	err := writev(w.f, vec)
	clear(vec) // keep no references to the caller's data
	w.vec = vec[:0]
	return w.wrote(ChunkHeaderSize+body, err)
}

// wrote accounts for a chunk of n bytes just written (err: the write
// failed), and fsyncs every syncEvery bytes. w.writeMu is held.
func (w *Writer) wrote(n int, err error) error {
	if err != nil {
		// Cut off a torn chunk so the file still ends at a chunk
		// boundary; the writer stops here (the error is sticky).
		_ = w.f.Truncate(w.off)
		return fmt.Errorf("rrlog: %s: writing chunk %d at byte %d: %w", w.name, w.chunks, w.off, err)
	}
	w.off += int64(n)
	w.chunks++
	if w.off-w.synced >= syncEvery {
		// Most of a large recording reaches the disk while it is being
		// made, not in Close's fsync, which the recorder waits for.
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("rrlog: %s: fsync: %w", w.name, err)
		}
		w.synced = w.off
	}
	return nil
}

// syncEvery is how many bytes the writer writes between two fsyncs before
// Close.
const syncEvery = 8 << 20

// Close stops the background goroutine, writes every pending event and
// the End record, fsyncs and closes the file. The Writer computes
// end.Events, end.WarpNs and end.ByKind itself; end.ICount below the last
// event's icount (e.g. zero) is raised to it. After a write error Close
// writes no End record (the file stays a readable truncated recording)
// and returns that error.
func (w *Writer) Close(end EndInfo) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	w.mu.Unlock()
	close(w.quit)
	<-w.loopDone

	err := w.flush(true)
	if err == nil {
		err = w.writeEnd(end)
	}
	if err == nil {
		if serr := w.f.Sync(); serr != nil {
			err = fmt.Errorf("rrlog: %s: fsync: %w", w.name, serr)
		}
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("rrlog: %s: %w", w.name, cerr)
	}
	w.enc.Close()
	return err
}

// writeEnd writes the End record in its own chunk.
func (w *Writer) writeEnd(end EndInfo) error {
	w.mu.Lock()
	end.ICount = max(end.ICount, w.last)
	end.Events = w.events
	end.WarpNs = w.warpNs
	end.ByKind = make(map[Kind]uint64)
	for k, n := range w.byKind {
		if n > 0 {
			end.ByKind[Kind(k)] = n
		}
	}
	w.mu.Unlock()
	data := encodeEnd(end)
	p := putUvarint(nil, end.ICount)
	p = putUvarint(p, 1)
	p = putUvarint(p, 0)
	p = append(p, byte(KindEnd))
	p = putUvarint(p, uint64(len(data)))
	p = append(p, data...)
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	return w.writeFrame(p, w.enc)
}

// frameChunk appends the framing and the payload to dst, compressed by
// enc, or stored when enc is nil.
func frameChunk(dst []byte, enc *zstd.Encoder, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, chunkMagic...)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	if enc != nil {
		dst = enc.EncodeAll(payload, dst)
	} else {
		dst = storedFrame(dst, payload)
	}
	body := dst[start+ChunkHeaderSize:]
	binary.LittleEndian.PutUint32(dst[start+4:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+8:], crc32.Checksum(body, castagnoli))
	return dst
}

// maxRawBlock is the largest block of a zstd frame (RFC 8878 §3.1.1.2.3).
const maxRawBlock = 128 << 10

// storedFrame appends payload to dst as one zstd frame made of raw blocks
// (RFC 8878 §3.1.1), which any decoder reads back as payload: for data
// compressed already, which a compressor would only search and copy. The
// frame is a single segment that declares its content size in four bytes
// and has no content checksum: the chunk's CRC32C covers the payload
// bytes themselves.
func storedFrame(dst, payload []byte) []byte {
	blocks := max(1, (len(payload)+maxRawBlock-1)/maxRawBlock)
	for _, b := range appendStoredFrame(nil, make([]byte, 0, storedFrameHead+3*blocks), [][]byte{payload}) {
		dst = append(dst, b...)
	}
	return dst
}

// storedFrameHead is the size of a stored frame's header: the magic, the
// frame header descriptor and a four-byte content size.
const storedFrameHead = 9

// appendStoredFrame appends to vec the pieces of a stored frame (see
// storedFrame) whose payload is the concatenation of segs: its headers,
// written into small (which must have room for storedFrameHead bytes and
// three per block, so that it never moves), and sub-slices of segs.
func appendStoredFrame(vec [][]byte, small []byte, segs [][]byte) [][]byte {
	n := 0
	for _, s := range segs {
		n += len(s)
	}
	i, off := 0, 0 // where the payload continues: segs[i][off:]
	// piece appends the bytes fn appends to small.
	piece := func(fn func([]byte) []byte) {
		start := len(small)
		small = fn(small)
		vec = append(vec, small[start:len(small):len(small)])
	}
	piece(func(b []byte) []byte {
		b = binary.LittleEndian.AppendUint32(b, zstdMagic)
		// Frame header descriptor: Frame_Content_Size_Flag 2 (four
		// bytes), Single_Segment_Flag, no checksum, no dictionary.
		b = append(b, 2<<6|1<<5)
		return binary.LittleEndian.AppendUint32(b, uint32(n))
	})
	for {
		k := min(n, maxRawBlock)
		h := uint32(k) << 3 // Block_Type 0: Raw_Block
		if k == n {
			h |= 1 // Last_Block
		}
		piece(func(b []byte) []byte { return append(b, byte(h), byte(h>>8), byte(h>>16)) })
		n -= k
		for k > 0 {
			if off == len(segs[i]) {
				i, off = i+1, 0
				continue
			}
			m := min(k, len(segs[i])-off)
			vec = append(vec, segs[i][off:off+m])
			off += m
			k -= m
		}
		if h&1 != 0 {
			return vec
		}
	}
}

// zstdMagic starts every zstd frame.
const zstdMagic = 0xFD2FB528

// skipBytes drops the first n bytes of the concatenation of vec.
func skipBytes(vec [][]byte, n int) [][]byte {
	for n > 0 && len(vec) > 0 {
		if n < len(vec[0]) {
			vec[0] = vec[0][n:]
			return vec
		}
		n -= len(vec[0])
		vec = vec[1:]
	}
	return vec
}
