package replay

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"sort"
	"testing"

	"github.com/rewindvm/rewind/internal/rrlog"
)

// An independent writer of recording files, written from
// docs/LOG-FORMAT.md, for tests that need files the rrlog.Writer refuses
// to produce (unknown kinds, misplaced events, inconsistent end records).
// Chunks are stored as zstd frames of raw (uncompressed) blocks, so a
// fuzzer that changes a byte of an event changes that event, and
// repairCRCs can make the file pass its checksums again.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recFile is a recording to encode.
type recFile struct {
	hdr    rrlog.Header
	chunks [][]rrlog.Event
	// end is the End record; nil writes none (a truncated recording).
	// Its totals are computed from the chunks; end.ICount is kept as
	// given.
	end *rrlog.EndInfo
	// trailing is appended after the last chunk.
	trailing []byte
}

func (f recFile) bytes(t testing.TB) []byte {
	t.Helper()
	h := f.hdr
	h.FormatVersion = 1
	body, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := []byte(rrlog.Magic)
	out = binary.LittleEndian.AppendUint16(out, 1)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	crc := crc32.Update(0, castagnoli, out[8:14])
	crc = crc32.Update(crc, castagnoli, body)
	out = binary.LittleEndian.AppendUint32(out, crc)
	out = append(out, body...)
	var all []rrlog.Event
	for _, c := range f.chunks {
		out = appendChunk(out, encodeEvents(c))
		all = append(all, c...)
	}
	if f.end != nil {
		end := rrlog.Event{ICount: f.end.ICount, Kind: rrlog.KindEnd, Data: encodeEnd(*f.end, all)}
		out = appendChunk(out, encodeEvents([]rrlog.Event{end}))
	}
	return append(out, f.trailing...)
}

// encodeEvents is a chunk's uncompressed payload.
func encodeEvents(evs []rrlog.Event) []byte {
	first := uint64(0)
	if len(evs) > 0 {
		first = evs[0].ICount
	}
	b := binary.AppendUvarint(nil, first)
	b = binary.AppendUvarint(b, uint64(len(evs)))
	prev := first
	for _, ev := range evs {
		b = binary.AppendUvarint(b, ev.ICount-prev)
		b = append(b, byte(ev.Kind))
		b = binary.AppendUvarint(b, uint64(len(ev.Data)))
		b = append(b, ev.Data...)
		prev = ev.ICount
	}
	return b
}

// encodeEnd is the End record's payload with the totals of evs.
func encodeEnd(e rrlog.EndInfo, evs []rrlog.Event) []byte {
	var warp uint64
	counts := map[rrlog.Kind]uint64{}
	for _, ev := range evs {
		counts[ev.Kind]++
		if ev.Kind == rrlog.KindWarp {
			ns, _ := ev.Warp()
			warp += ns
		}
	}
	flags := byte(0)
	if e.Clean {
		flags = 1
	}
	b := []byte{flags}
	b = binary.AppendUvarint(b, uint64(len(evs)))
	b = binary.AppendUvarint(b, warp)
	var kinds []int
	for k := range counts {
		kinds = append(kinds, int(k))
	}
	sort.Ints(kinds)
	b = binary.AppendUvarint(b, uint64(len(kinds)))
	for _, k := range kinds {
		b = append(b, byte(k))
		b = binary.AppendUvarint(b, counts[rrlog.Kind(k)])
	}
	b = binary.AppendUvarint(b, uint64(len(e.Reason)))
	return append(b, e.Reason...)
}

// appendChunk frames payload as a chunk holding one zstd frame of raw
// blocks (RFC 8878 §3.1.1: single segment, 8-byte content size, no
// checksum).
func appendChunk(out, payload []byte) []byte {
	z := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe0}
	z = binary.LittleEndian.AppendUint64(z, uint64(len(payload)))
	for rest := payload; ; {
		n := min(len(rest), 128<<10)
		hdr := uint32(n) << 3 // block type 0: raw
		if n == len(rest) {
			hdr |= 1 // last block
		}
		z = append(z, byte(hdr), byte(hdr>>8), byte(hdr>>16))
		z = append(z, rest[:n]...)
		rest = rest[n:]
		if len(rest) == 0 {
			break
		}
	}
	out = append(out, "CHNK"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(z)))
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(z, castagnoli))
	return append(out, z...)
}

// repairCRCs returns a copy of data with the header CRC and the CRC of
// every chunk it can frame recomputed, so that changes behind them reach
// the rest of the reader.
func repairCRCs(data []byte) []byte {
	d := append([]byte(nil), data...)
	if len(d) < rrlog.HeaderPrefixSize || string(d[:8]) != rrlog.Magic {
		return d
	}
	n := int64(binary.LittleEndian.Uint32(d[10:]))
	if rrlog.HeaderPrefixSize+n > int64(len(d)) {
		return d
	}
	crc := crc32.Update(0, castagnoli, d[8:14])
	crc = crc32.Update(crc, castagnoli, d[rrlog.HeaderPrefixSize:rrlog.HeaderPrefixSize+n])
	binary.LittleEndian.PutUint32(d[14:], crc)
	for off := rrlog.HeaderPrefixSize + n; off+rrlog.ChunkHeaderSize <= int64(len(d)); {
		if string(d[off:off+4]) != "CHNK" {
			break
		}
		l := int64(binary.LittleEndian.Uint32(d[off+4:]))
		body := off + rrlog.ChunkHeaderSize
		if l == 0 || body+l > int64(len(d)) {
			break
		}
		binary.LittleEndian.PutUint32(d[off+8:], crc32.Checksum(d[body:body+l], castagnoli))
		off = body + l
	}
	return d
}

// readRecording returns a recording's header, events and End record.
func readRecording(t testing.TB, path string) (rrlog.Header, []rrlog.Event, rrlog.EndInfo) {
	t.Helper()
	r, err := rrlog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []rrlog.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	end, ok := r.End()
	if !ok {
		t.Fatal("no end record")
	}
	return r.Header(), evs, end
}

// split cuts evs into chunks of at most n events.
func split(evs []rrlog.Event, n int) [][]rrlog.Event {
	var out [][]rrlog.Event
	for len(evs) > n {
		out = append(out, evs[:n:n])
		evs = evs[n:]
	}
	if len(evs) > 0 {
		out = append(out, evs)
	}
	return out
}
