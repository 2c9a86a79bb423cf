package rrlog

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/rewindvm/rewind/internal/hugemem"
)

// zstdDecoder is shared by all readers: DecodeAll is safe for concurrent
// use, and the decoder starts no goroutines without a stream.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderMaxMemory(MaxChunkData))
})

// Reader reads a recording's events back in order. It is not safe for
// concurrent use.
type Reader struct {
	name   string
	ra     io.ReaderAt
	size   int64
	closer io.Closer
	hdr    Header
	body   int64 // offset of the first chunk

	off        int64  // offset of the next chunk to read
	chunkOff   int64  // offset of the chunk whose events are buffered
	chunks     int    // complete chunks decoded (including the End chunk)
	events     uint64 // events in the complete chunks (End excluded)
	last       uint64 // icount of the last event in the complete chunks
	warpNs     uint64 // sum of the warps in the complete chunks
	byKind     [256]uint64
	compressed int64 // chunk payload bytes as stored
	rawBytes   int64 // chunk payload bytes decompressed
	trailing   int64 // bytes after the End chunk
	lastKind   Kind  // kind of the last event in the complete chunks

	payload []byte       // buffer for compressed chunk bytes
	slab    hugemem.Slab // where large chunks are decompressed

	// The read-ahead goroutine (Open): chunks decoded ahead, and how
	// Close stops it.
	ahead       chan fetched
	stop        chan struct{}
	fetcherDone chan struct{}

	buf []Event // events of the current chunk not yet returned
	end EndInfo
	ok  bool  // end is valid
	err error // terminal: io.EOF, *TruncatedError or an I/O error
}

// Open opens the recording at path and validates its header. It fails
// with a *HeaderError (wrapping ErrNotRecording for a file that is not a
// recording), a *VersionError for a newer format, or an I/O error. Close
// the Reader when done.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rrlog: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("rrlog: %w", err)
	}
	r, err := OpenReader(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	r.prefetch()
	return r, nil
}

// OpenReader is Open for a recording held in r (size bytes, e.g. a
// bytes.Reader); name is used in error messages and may be empty.
func OpenReader(r io.ReaderAt, size int64, name string) (*Reader, error) {
	rd := &Reader{name: name, ra: r, size: size}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// Close closes the file opened by Open and stops its read-ahead. It is a
// no-op for OpenReader.
func (r *Reader) Close() error {
	if r.stop != nil {
		close(r.stop)
		<-r.fetcherDone
		r.stop = nil
	}
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c.Close()
}

// Header returns the recording's header.
func (r *Reader) Header() Header { return r.hdr }

// End returns the End record once Next has returned its terminal error;
// ok is false before that and when the file has no valid End record. A
// file with data after a valid End record (TruncTrailingData) has one.
func (r *Reader) End() (EndInfo, bool) { return r.end, r.ok }

// Position is where an event is stored in a recording: the file, the
// index of its chunk and the byte offset at which that chunk starts.
type Position struct {
	File   string
	Chunk  int
	Offset int64
}

// String returns e.g. "run.rwd: chunk 3 at byte 4567".
func (p Position) String() string {
	return fmt.Sprintf("%schunk %d at byte %d", filePrefix(p.File), p.Chunk, p.Offset)
}

// Position returns where the event Next returned last is stored.
func (r *Reader) Position() Position {
	return Position{File: r.name, Chunk: r.chunks - 1, Offset: r.chunkOff}
}

// Next returns the next event. After the last event it returns io.EOF if
// the recording ends with an End record and nothing after it, or a
// *TruncatedError describing where and why the readable part ends (for
// TruncTrailingData: that bytes follow the End record); every event of
// every complete chunk has been returned by then. The error is sticky.
func (r *Reader) Next() (Event, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return Event{}, r.err
		}
		r.readChunk()
	}
	ev := r.buf[0]
	r.buf = r.buf[1:]
	return ev, nil
}

func (r *Reader) headerErr(off int64, err error, format string, args ...any) error {
	return &HeaderError{File: r.name, Offset: off, Msg: fmt.Sprintf(format, args...), Err: err}
}

// readFull reads len(p) bytes at off; an early EOF is an error (the size
// given to OpenReader was checked before every read).
func (r *Reader) readFull(p []byte, off int64) error {
	n, err := r.ra.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("rrlog: %sreading %d bytes at byte %d: %w", filePrefix(r.name), len(p), off, err)
}

func (r *Reader) readHeader() error {
	var pre [HeaderPrefixSize]byte
	n := int(min(r.size, HeaderPrefixSize))
	if r.size < 0 {
		n = 0
	}
	if err := r.readFull(pre[:n], 0); err != nil {
		return err
	}
	if n < len(Magic) || string(pre[:len(Magic)]) != Magic {
		return r.headerErr(0, ErrNotRecording, "%v (file starts with %q, want %q)", ErrNotRecording, pre[:min(n, len(Magic))], Magic)
	}
	if n < 10 {
		return r.headerErr(int64(n), nil, "file is only %d bytes: it ends inside the header", r.size)
	}
	version := int(binary.LittleEndian.Uint16(pre[8:]))
	if version > FormatVersion {
		return &VersionError{File: r.name, Version: version, Supported: FormatVersion}
	}
	if version < minFormatVersion {
		return r.headerErr(8, nil, "format version %d is not a valid version (this rewind reads %d to %d)", version, minFormatVersion, FormatVersion)
	}
	if n < HeaderPrefixSize {
		return r.headerErr(int64(n), nil, "file is only %d bytes: it ends inside the header", r.size)
	}
	length := binary.LittleEndian.Uint32(pre[10:])
	if length > MaxHeaderSize {
		return r.headerErr(10, nil, "header length %d exceeds the limit of %d (damaged header?)", length, MaxHeaderSize)
	}
	if int64(length) > r.size-HeaderPrefixSize {
		return r.headerErr(HeaderPrefixSize, nil, "file ends inside the header (%d of %d header bytes present)", r.size-HeaderPrefixSize, length)
	}
	body := make([]byte, length)
	if err := r.readFull(body, HeaderPrefixSize); err != nil {
		return err
	}
	stored := binary.LittleEndian.Uint32(pre[14:])
	if got := headerCRC(pre[8:14], body); got != stored {
		return r.headerErr(14, nil, "header CRC mismatch (stored %#08x, computed %#08x): the header is damaged", stored, got)
	}
	if err := json.Unmarshal(body, &r.hdr); err != nil {
		return r.headerErr(HeaderPrefixSize, err, "malformed header JSON: %v", err)
	}
	if r.hdr.FormatVersion != version {
		return r.headerErr(HeaderPrefixSize, nil, "header body says format version %d, the version field says %d", r.hdr.FormatVersion, version)
	}
	r.body = HeaderPrefixSize + int64(length)
	r.off = r.body
	return nil
}

// truncated ends the readable part at the chunk starting at off.
func (r *Reader) truncated(off int64, reason TruncReason, err error, format string, args ...any) {
	r.err = &TruncatedError{
		File:   r.name,
		Offset: off,
		Chunk:  r.chunks,
		Events: r.events,
		ICount: r.last,
		Reason: reason,
		Detail: fmt.Sprintf(format, args...),
		Err:    err,
	}
}

// fetched is a chunk read, checked and decompressed, not yet
// interpreted: what needs no state but the chunk's offset, so that it
// can be done ahead on another goroutine (Open).
type fetched struct {
	start, length int64
	data          []byte
	first         uint64
	evs           []Event
	// A chunk that cannot be used: trunc != 0 (with truncErr and
	// detail), or an I/O error ioErr.
	trunc    TruncReason
	truncErr error
	detail   string
	ioErr    error
}

func (f *fetched) fail(reason TruncReason, err error, format string, args ...any) fetched {
	f.trunc, f.truncErr, f.detail = reason, err, fmt.Sprintf(format, args...)
	return *f
}

// last reports whether nothing follows f: an unusable chunk or the End
// record.
func (f *fetched) last() bool {
	return f.trunc != 0 || f.ioErr != nil || f.evs[0].Kind == KindEnd || f.evs[len(f.evs)-1].Kind == KindEnd
}

// fetch reads the chunk at start. payload is a buffer it may reuse for
// the compressed bytes; it returns the one it used.
func (r *Reader) fetch(start int64, payload []byte) (fetched, []byte) {
	f := fetched{start: start}
	remain := r.size - start
	if remain <= 0 {
		return f.fail(TruncNoEnd, nil, "file ends with no end record (was the recorder killed?)"), payload
	}
	if remain < ChunkHeaderSize {
		return f.fail(TruncShortChunk, nil, "file ends %d bytes into the %d-byte chunk header", remain, ChunkHeaderSize), payload
	}
	var hb [ChunkHeaderSize]byte
	if err := r.readFull(hb[:], start); err != nil {
		f.ioErr = err
		return f, payload
	}
	if string(hb[:4]) != chunkMagic {
		return f.fail(TruncBadMagic, nil, "bad chunk magic %q (want %q)", hb[:4], chunkMagic), payload
	}
	length := int64(binary.LittleEndian.Uint32(hb[4:]))
	if length == 0 || length > MaxChunkPayload {
		return f.fail(TruncBadLength, nil, "bad chunk length %d (must be 1..%d)", length, MaxChunkPayload), payload
	}
	if length > remain-ChunkHeaderSize {
		return f.fail(TruncShortChunk, nil, "file ends %d bytes into a chunk of %d bytes", remain, ChunkHeaderSize+length), payload
	}
	f.length = length
	if int64(cap(payload)) < length {
		payload = make([]byte, length)
	}
	payload = payload[:length]
	if err := r.readFull(payload, start+ChunkHeaderSize); err != nil {
		f.ioErr = err
		return f, payload
	}
	stored := binary.LittleEndian.Uint32(hb[8:])
	if got := crc32.Checksum(payload, castagnoli); got != stored {
		return f.fail(TruncBadCRC, nil, "CRC mismatch (stored %#08x, computed %#08x)", stored, got), payload
	}
	dec, err := zstdDecoder()
	if err != nil {
		f.ioErr = fmt.Errorf("rrlog: zstd decoder: %w", err)
		return f, payload
	}
	data, err := dec.DecodeAll(payload, r.dst(payload))
	if err != nil {
		return f.fail(TruncBadCompression, err, "zstd: %v", err), payload
	}
	if len(data) > MaxChunkData {
		return f.fail(TruncBadContents, nil, "chunk decompresses to %d bytes, over the limit of %d", len(data), MaxChunkData), payload
	}
	first, evs, err := parseChunk(data)
	if err != nil {
		return f.fail(TruncBadContents, err, "%v", err), payload
	}
	f.data, f.first, f.evs = data, first, evs
	return f, payload
}

// dst returns the buffer the chunk with compressed bytes payload is
// decompressed into: for a large chunk (embedded snapshots) a piece of a
// huge-page slab, sized by the frame's content size; nil (the decoder
// allocates) otherwise. Used by one goroutine at a time (the fetcher).
func (r *Reader) dst(payload []byte) []byte {
	var h zstd.Header
	if h.Decode(payload) != nil || !h.HasFCS || h.FrameContentSize < 64<<10 || h.FrameContentSize > MaxChunkData {
		return nil
	}
	// The decoder may write a few bytes past the content size.
	return r.slab.Take(int(h.FrameContentSize) + 64)
}

// prefetchDepth is how many chunks a file reader decodes ahead.
const prefetchDepth = 4

// prefetch reads, checks and decompresses chunks from off on, ahead of
// Next, on its own goroutine, until a chunk that ends the readable part
// or Close. Decompressing is most of the cost of reading a recording;
// this way it overlaps with what the caller does with the events.
func (r *Reader) prefetch() {
	r.ahead = make(chan fetched, prefetchDepth)
	r.stop = make(chan struct{})
	r.fetcherDone = make(chan struct{})
	go func(off int64) {
		defer close(r.fetcherDone)
		defer close(r.ahead)
		var payload []byte
		for {
			var f fetched
			f, payload = r.fetch(off, payload)
			select {
			case r.ahead <- f:
			case <-r.stop:
				return
			}
			if f.last() {
				return
			}
			off = f.start + ChunkHeaderSize + f.length
		}
	}(r.off)
}

// readChunk decodes the chunk at r.off into r.buf, or sets r.err.
func (r *Reader) readChunk() {
	if r.ok {
		r.err = io.EOF
		return
	}
	var f fetched
	if r.ahead != nil {
		var ok bool
		if f, ok = <-r.ahead; !ok || f.start != r.off {
			r.err = fmt.Errorf("rrlog: %sinternal error: chunk read ahead out of order", filePrefix(r.name))
			return
		}
	} else {
		f, r.payload = r.fetch(r.off, r.payload)
	}
	start, length, data, first, evs := f.start, f.length, f.data, f.first, f.evs
	if f.ioErr != nil {
		r.err = f.ioErr
		return
	}
	if f.trunc != 0 {
		r.truncated(start, f.trunc, f.truncErr, "%s", f.detail)
		return
	}
	end := start + ChunkHeaderSize + length
	isEnd := evs[len(evs)-1].Kind == KindEnd || evs[0].Kind == KindEnd
	if first < r.last {
		if isEnd && len(evs) == 1 {
			r.truncated(start, TruncBadContents, nil, "end record at icount %d is before the last event (%s at icount %d): the end record's icount is where recording stopped, never before an event", evs[0].ICount, r.lastKind, r.last)
		} else {
			r.truncated(start, TruncBadContents, nil, "chunk starts at icount %d, before the previous chunk's last event at icount %d", first, r.last)
		}
		return
	}
	if isEnd {
		if err := r.takeEnd(evs); err != nil {
			r.truncated(start, TruncBadContents, err, "%v", err)
			return
		}
		r.chunks++
		r.off = end
		r.compressed += length
		r.rawBytes += int64(len(data))
		r.trailing = r.size - end
		r.err = io.EOF
		if r.trailing > 0 {
			r.truncated(end, TruncTrailingData, nil, "%d bytes of unexpected data after the end record", r.trailing)
			r.err.(*TruncatedError).ICount = r.end.ICount
		}
		return
	}
	for _, ev := range evs {
		if ev.Kind == KindEnd {
			r.truncated(start, TruncBadContents, nil, "end record in the middle of a chunk")
			return
		}
	}
	for _, ev := range evs {
		r.byKind[ev.Kind]++
		if ev.Kind == KindWarp {
			if ns, err := parseWarp(ev.Data); err == nil {
				r.warpNs += ns
			}
		}
	}
	r.events += uint64(len(evs))
	r.last = evs[len(evs)-1].ICount
	r.lastKind = evs[len(evs)-1].Kind
	r.chunks++
	r.chunkOff = start
	r.off = end
	r.compressed += length
	r.rawBytes += int64(len(data))
	r.buf = evs
}

// takeEnd checks the End chunk against the events read before it.
func (r *Reader) takeEnd(evs []Event) error {
	if len(evs) != 1 {
		return fmt.Errorf("the end record shares its chunk with %d other events", len(evs)-1)
	}
	e, err := parseEnd(evs[0].Data)
	if err != nil {
		return fmt.Errorf("end record: %w", err)
	}
	e.ICount = evs[0].ICount
	if e.Events != r.events {
		return fmt.Errorf("end record counts %d events, the chunks hold %d", e.Events, r.events)
	}
	for k, n := range r.byKind {
		if e.ByKind[Kind(k)] != n {
			return fmt.Errorf("end record counts %d %s events, the chunks hold %d", e.ByKind[Kind(k)], Kind(k), n)
		}
	}
	if e.WarpNs != r.warpNs {
		return fmt.Errorf("end record totals %d ns of warp, the chunks hold %d", e.WarpNs, r.warpNs)
	}
	r.end, r.ok = e, true
	return nil
}

// parseChunk decodes a chunk's uncompressed payload. Events alias data.
// It returns the chunk's first icount too, which the caller checks
// against the previous chunk's last event.
func parseChunk(data []byte) (uint64, []Event, error) {
	d := decoder{b: data}
	first := d.uvarint("first icount")
	// Every event takes at least 3 bytes: delta, kind, length.
	n := d.int("event count", uint64(len(d.b)/3))
	if d.err != nil {
		return 0, nil, d.err
	}
	if n == 0 {
		return 0, nil, errors.New("chunk holds no events")
	}
	evs := make([]Event, 0, n)
	ic := first
	for i := 0; i < n; i++ {
		delta := d.uvarint("icount delta")
		kind := Kind(d.byte("kind"))
		p := d.bytes(d.int("payload length", MaxEventData), "payload")
		if d.err != nil {
			return 0, nil, fmt.Errorf("event %d: %w", i, d.err)
		}
		if delta > math.MaxUint64-ic {
			return 0, nil, fmt.Errorf("event %d: icount overflows", i)
		}
		ic += delta
		if kind == 0 {
			return 0, nil, fmt.Errorf("event %d at icount %d: kind 0 is invalid", i, ic)
		}
		evs = append(evs, Event{ICount: ic, Kind: kind, Data: p})
	}
	if err := d.done(); err != nil {
		return 0, nil, err
	}
	return first, evs, nil
}
