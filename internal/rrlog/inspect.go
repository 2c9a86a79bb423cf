package rrlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of Verify.
type Report struct {
	// File is the path given to Verify.
	File string
	// Size is the file size in bytes.
	Size int64
	// Header is the recording's header (zero if it could not be read).
	Header Header
	// Chunks counts the complete chunks, including the End chunk.
	Chunks int
	// Events counts the events in the complete chunks (End excluded).
	Events uint64
	// ByKind counts those events per kind; Bytes sums their payload
	// sizes (uncompressed) per kind.
	ByKind map[Kind]uint64
	Bytes  map[Kind]uint64
	// Unknown counts events of kinds this rewind does not know (a newer
	// writer); they are not a structural problem.
	Unknown uint64
	// LastICount is the icount of the last event (or of the End record).
	LastICount uint64
	// WarpNs sums the warps.
	WarpNs uint64
	// NetFrames and NetBytes count the frames (and their bytes) that
	// net-frame events delivered to the guest; NetDropped sums the host
	// frames they report dropped.
	NetFrames, NetBytes, NetDropped uint64
	// CompressedBytes and UncompressedBytes sum the chunk payloads as
	// stored and as decompressed.
	CompressedBytes   int64
	UncompressedBytes int64
	// Snapshots lists the complete embedded snapshots, in order.
	Snapshots []SnapshotInfo
	// End is the End record, nil when the recording has none.
	End *EndInfo
	// Problem is the first problem found (the error Verify returns): a
	// *TruncatedError, a malformed payload, trailing data after the End
	// record, or a header error. Nil for a complete, well-formed file.
	Problem error
}

// String summarizes the report on one line, e.g. "run.rwd: ok: 2 chunks,
// 10 events up to icount 200000000, clean end" or "run.rwd: damaged:
// <first problem>".
func (r Report) String() string {
	status := "ok"
	if r.Problem != nil {
		status = "damaged"
		var te *TruncatedError
		if errors.As(r.Problem, &te) && (te.Reason == TruncNoEnd || te.Reason == TruncShortChunk) {
			status = "truncated"
		}
	}
	s := fmt.Sprintf("%s: %s: %d chunks, %d events up to icount %d", r.File, status, r.Chunks, r.Events, r.LastICount)
	switch {
	case r.End == nil:
		s += ", no end record"
	case r.End.Clean:
		s += ", clean end"
	default:
		s += ", end not clean"
	}
	if r.Unknown > 0 {
		s += fmt.Sprintf(", %d events of unknown kinds", r.Unknown)
	}
	if r.Problem != nil {
		s += "; first problem: " + r.Problem.Error()
	}
	return s
}

// Verify checks the structure of the recording at path without replaying
// it: header (Header.Validate), every chunk's framing, CRC and
// compression, every known event's payload, the End record's totals and
// that nothing follows it (the Reader's check, which replay shares).
// It returns the report and its first problem (nil if there is none);
// on a header error the report holds only File.
func Verify(path string) (Report, error) {
	rep := Report{File: path}
	r, err := Open(path)
	if err != nil {
		rep.Problem = err
		return rep, err
	}
	defer r.Close()
	scan(r, &rep, nil)
	return rep, rep.Problem
}

// scan reads every event of r into rep, calling each (if non-nil) for
// every event. It records the first problem.
// SnapshotInfo describes one embedded snapshot.
type SnapshotInfo struct {
	Seq    uint64
	ICount uint64
	Bytes  int // the compressed blob
}

func scan(r *Reader, rep *Report, each func(Event)) {
	var asm SnapshotAssembler
	rep.Size = r.size
	rep.Header = r.hdr
	rep.ByKind = make(map[Kind]uint64)
	rep.Bytes = make(map[Kind]uint64)
	if err := r.hdr.Validate(); err != nil {
		rep.Problem = fmt.Errorf("%s%w", filePrefix(r.name), err)
	}
	for {
		ev, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && rep.Problem == nil {
				rep.Problem = err
			}
			break
		}
		if each != nil {
			each(ev)
		}
		rep.Events++
		rep.ByKind[ev.Kind]++
		rep.Bytes[ev.Kind] += uint64(len(ev.Data))
		rep.LastICount = ev.ICount
		if !ev.Kind.Known() {
			rep.Unknown++
			continue
		}
		if err := ev.Validate(); err != nil && rep.Problem == nil {
			rep.Problem = fmt.Errorf("%schunk %d at byte %d: %w", filePrefix(r.name), r.chunks-1, r.chunkOff, err)
		}
		if ev.Kind == KindSnapshot {
			blob, seq, err := asm.Add(ev)
			if err != nil && rep.Problem == nil {
				rep.Problem = fmt.Errorf("%schunk %d at byte %d: embedded snapshot damaged: %w", filePrefix(r.name), r.chunks-1, r.chunkOff, err)
			}
			if blob != nil {
				rep.Snapshots = append(rep.Snapshots, SnapshotInfo{Seq: seq, ICount: ev.ICount, Bytes: blob.Len()})
			}
		}
		if ev.Kind == KindWarp {
			ns, _ := ev.Warp()
			rep.WarpNs += ns
		}
		if ev.Kind == KindNetFrame {
			_, dropped, frame, _ := ev.NetFrame()
			if len(frame) > 0 {
				rep.NetFrames++
				rep.NetBytes += uint64(len(frame))
			}
			rep.NetDropped += dropped
		}
	}
	rep.Chunks = r.chunks
	rep.CompressedBytes = r.compressed
	rep.UncompressedBytes = r.rawBytes
	if e, ok := r.End(); ok {
		rep.End = &e
		rep.LastICount = e.ICount
	}
}

// Info writes a summary of the recording at path to w: the header, the
// duration in instructions and guest time, event counts and payload bytes
// by kind, compressed size and ratio, and how the recording ends (clean,
// not clean, or where it is truncated). A damaged or truncated recording
// is reported, not returned as an error; Info fails only if the file
// cannot be opened as a recording or w fails.
func Info(w io.Writer, path string) error {
	r, err := Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	var rep Report
	scan(r, &rep, nil)
	return writeInfo(w, path, &rep)
}

func writeInfo(out io.Writer, path string, rep *Report) error {
	var buf bytes.Buffer
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&buf, "%-16s%s\n", label, fmt.Sprintf(format, args...))
	}
	h := rep.Header
	line("file", "%s (%d bytes)", path, rep.Size)
	line("format", "version %d", h.FormatVersion)
	line("emulator", "%s", h.Emulator)
	line("created", "%s", h.Created)
	line("icount shift", "%d (%s per instruction)", h.ICountShift, shiftNs(h.ICountShift))
	line("rtc base", "%s (%d ns since the epoch)", rtcTime(h.RTCBaseUnixNs), h.RTCBaseUnixNs)
	line("self-contained", "%s", yesNo(h.SelfContained))
	if len(h.Images) == 0 {
		line("images", "none")
	} else {
		var ib bytes.Buffer
		tw := tabwriter.NewWriter(&ib, 0, 8, 2, ' ', 0)
		for _, im := range h.Images {
			emb := ""
			if im.Embedded {
				emb = "embedded"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d bytes\tsha256 %s\t%s\n", im.Role, im.Path, im.Size, im.SHA256, emb)
		}
		tw.Flush()
		label := "images"
		for _, l := range strings.Split(strings.TrimSuffix(ib.String(), "\n"), "\n") {
			line(label, "%s", strings.TrimRight(l, " "))
			label = ""
		}
	}
	if len(h.Config) > 0 {
		var ind bytes.Buffer
		if err := json.Indent(&ind, h.Config, "  ", "  "); err != nil {
			line("config", "(not valid JSON: %v) %s", err, h.Config)
		} else {
			fmt.Fprintf(&buf, "config\n  %s\n", ind.Bytes())
		}
	}
	line("duration", "%s", duration(rep.LastICount, h.ICountShift, rep.WarpNs))
	line("events", "%d", rep.Events)
	if rep.Events > 0 {
		fmt.Fprintf(&buf, "  %-16s%10s%14s\n", "kind", "count", "bytes")
		for k := range 256 {
			if n := rep.ByKind[Kind(k)]; n > 0 {
				fmt.Fprintf(&buf, "  %-16s%10d%14d\n", Kind(k), n, rep.Bytes[Kind(k)])
			}
		}
	}
	if len(rep.Snapshots) > 0 {
		total := 0
		for _, sn := range rep.Snapshots {
			total += sn.Bytes
		}
		line("snapshots", "%d embedded, %d bytes (segments for replay --verify / --segment: %d)", len(rep.Snapshots), total, len(rep.Snapshots)+1)
		fmt.Fprintf(&buf, "  %-6s%16s%14s\n", "seq", "icount", "bytes")
		for _, sn := range rep.Snapshots {
			fmt.Fprintf(&buf, "  %-6d%16d%14d\n", sn.Seq, sn.ICount, sn.Bytes)
		}
	}
	if rep.ByKind[KindNetFrame] > 0 {
		line("network", "%d frames received (%d bytes), %d dropped", rep.NetFrames, rep.NetBytes, rep.NetDropped)
	}
	ratio := "n/a"
	if rep.CompressedBytes > 0 {
		ratio = fmt.Sprintf("%.2f", float64(rep.UncompressedBytes)/float64(rep.CompressedBytes))
	}
	line("chunks", "%d (%d bytes compressed, %d uncompressed, ratio %s)",
		rep.Chunks, rep.CompressedBytes, rep.UncompressedBytes, ratio)
	line("end", "%s", endStatus(rep))
	_, err := out.Write(buf.Bytes())
	return err
}

// endStatus says how a recording ends, for Info.
func endStatus(rep *Report) string {
	var s string
	switch {
	case rep.End == nil:
		s = "TRUNCATED"
	case rep.End.Clean:
		s = "clean"
	default:
		s = "not clean"
	}
	if rep.End != nil && rep.End.Reason != "" {
		s += " (" + quoteBytes([]byte(rep.End.Reason)) + ")"
	}
	if rep.Problem != nil {
		s += ": " + rep.Problem.Error()
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// shiftNs renders 2^shift ns.
func shiftNs(shift uint) string {
	if shift >= 63 {
		return fmt.Sprintf("2^%d ns", shift)
	}
	return formatNs(1 << shift)
}

// rtcTime renders the RTC base as UTC RFC 3339.
func rtcTime(ns uint64) string {
	if ns > 1<<63-1 {
		return "out of range"
	}
	return time.Unix(0, int64(ns)).UTC().Format(time.RFC3339Nano)
}

// duration renders a recording's length: instructions and guest time
// (icount << shift + warp).
func duration(icount uint64, shift uint, warp uint64) string {
	s := fmt.Sprintf("%d instructions", icount)
	if shift >= 64 || (icount != 0 && bits.LeadingZeros64(icount) < int(shift)) {
		return s + ", guest time overflows 64 bits"
	}
	exec := icount << shift
	total, carry := bits.Add64(exec, warp, 0)
	if carry != 0 {
		return s + ", guest time overflows 64 bits"
	}
	return fmt.Sprintf("%s, %s guest time (%s executing + %s idle warp)", s, formatNs(total), formatNs(exec), formatNs(warp))
}

// Dump writes every event of the recording at path to w, one per line:
// icount, kind, decoded payload (hex for unknown kinds), then the End
// record. For a truncated or damaged recording it writes every readable
// event and returns the *TruncatedError (without printing it).
func Dump(w io.Writer, path string) error {
	r, err := Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	return dump(w, r)
}

func dump(w io.Writer, r *Reader) error {
	var b strings.Builder
	flush := func() error {
		_, err := io.WriteString(w, b.String())
		b.Reset()
		return err
	}
	for {
		ev, err := r.Next()
		if err != nil {
			if e, ok := r.End(); ok {
				fmt.Fprintf(&b, "%12d  %-14s  %s\n", e.ICount, KindEnd, endString(e))
			}
			if ferr := flush(); ferr != nil {
				return ferr
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		fmt.Fprintf(&b, "%12d  %-14s  %s\n", ev.ICount, ev.Kind, formatPayload(ev.Kind, ev.Data))
		if b.Len() >= 64<<10 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
