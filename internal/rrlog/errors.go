package rrlog

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotRecording is wrapped by the error Open returns for a file that
// does not start with Magic.
var ErrNotRecording = errors.New("not a rewind recording")

// ErrClosed is returned by Writer methods after Close.
var ErrClosed = errors.New("rrlog: writer is closed")

// HeaderError reports a header that cannot be used: not a recording
// (wraps ErrNotRecording), a file too short for its header, a CRC
// mismatch, an unsupported old version or a malformed JSON body.
type HeaderError struct {
	// File is the recording's name ("" for OpenReader without a name).
	File string
	// Offset is the byte offset of the offending field.
	Offset int64
	// Msg describes the problem.
	Msg string
	// Err is the underlying error, if any.
	Err error
}

// Error returns e.g. "run.rwd: header at byte 14: CRC mismatch (...)".
func (e *HeaderError) Error() string {
	return fmt.Sprintf("%sheader at byte %d: %s", filePrefix(e.File), e.Offset, e.Msg)
}

// Unwrap returns the underlying error.
func (e *HeaderError) Unwrap() error { return e.Err }

// VersionError reports a recording written in a newer format than this
// package reads. Nothing after the version field is parsed.
type VersionError struct {
	File      string
	Version   int // the file's format version
	Supported int // the newest version this package reads (FormatVersion)
}

// Error returns e.g. "run.rwd: recording format version 7 is newer than
// this rewind (supports up to 1); upgrade rewind".
func (e *VersionError) Error() string {
	return fmt.Sprintf("%srecording format version %d is newer than this rewind (supports up to %d); upgrade rewind",
		filePrefix(e.File), e.Version, e.Supported)
}

// TruncReason says why a recording's readable part ends before an End
// record.
type TruncReason int

// Reasons for a TruncatedError.
const (
	// TruncNoEnd: the file ends at a chunk boundary without an End record
	// (the recorder was killed between two chunks).
	TruncNoEnd TruncReason = iota + 1
	// TruncShortChunk: the file ends inside a chunk (killed mid-write).
	TruncShortChunk
	// TruncBadMagic: a chunk does not start with "CHNK".
	TruncBadMagic
	// TruncBadLength: a chunk's length field is zero or over the limit.
	TruncBadLength
	// TruncBadCRC: a chunk's payload does not match its CRC32C.
	TruncBadCRC
	// TruncBadCompression: a chunk's payload is not a valid zstd frame.
	TruncBadCompression
	// TruncBadContents: a chunk passed its CRC but its events are
	// malformed (a writer bug or a forged file), or the End record
	// disagrees with the events.
	TruncBadContents
	// TruncTrailingData: bytes follow a valid End record. Every event and
	// the End record were read (Reader.End returns it), but the file is
	// not what the recorder wrote: it was appended to or damaged.
	TruncTrailingData
)

var truncNames = [...]string{
	TruncNoEnd:          "no end record",
	TruncShortChunk:     "EOF inside a chunk",
	TruncBadMagic:       "bad chunk magic",
	TruncBadLength:      "bad chunk length",
	TruncBadCRC:         "CRC mismatch",
	TruncBadCompression: "zstd error",
	TruncBadContents:    "malformed chunk contents",
	TruncTrailingData:   "data after the end record",
}

// String names the reason ("CRC mismatch").
func (r TruncReason) String() string {
	if r > 0 && int(r) < len(truncNames) {
		return truncNames[r]
	}
	return fmt.Sprintf("TruncReason(%d)", int(r))
}

// TruncatedError reports a recording whose readable part ends before its
// End record: the events of every complete chunk were returned, and
// nothing after Offset can be trusted. A recorder killed with SIGKILL
// leaves such a file (TruncNoEnd or TruncShortChunk); any other reason
// means the file was damaged. TruncTrailingData is the one case with a
// valid End record: the damage is after it.
type TruncatedError struct {
	File string
	// Offset is the byte offset of the first missing or damaged chunk: the
	// length of the readable prefix.
	Offset int64
	// Chunk is that chunk's index, which is also the number of complete
	// chunks before it.
	Chunk int
	// Events is the number of events in the complete chunks.
	Events uint64
	// ICount is the icount of the last readable event (0 if none); for
	// TruncTrailingData, that of the End record.
	ICount uint64
	// Reason classifies the problem; Detail gives the specifics, e.g.
	// "CRC mismatch (stored 0x1234abcd, computed 0x9e3779b9)".
	Reason TruncReason
	Detail string
	// Err is an underlying error (from zstd), if any.
	Err error
}

// Error returns e.g. "run.rwd: chunk 12 at byte 48211 (icount 81234567):
// CRC mismatch (stored 0x1234abcd, computed 0x9e3779b9); recording
// truncated: readable up to icount 81234567 (12 complete chunks, 3456
// events)".
func (e *TruncatedError) Error() string {
	var b strings.Builder
	b.WriteString(filePrefix(e.File))
	if e.Reason == TruncTrailingData {
		fmt.Fprintf(&b, "byte %d: %s; the recording before it is complete (%d chunks, %d events, up to icount %d), but the file was appended to or damaged",
			e.Offset, e.Detail, e.Chunk, e.Events, e.ICount)
		return b.String()
	}
	fmt.Fprintf(&b, "chunk %d at byte %d", e.Chunk, e.Offset)
	if e.Events > 0 {
		fmt.Fprintf(&b, " (icount %d)", e.ICount)
	}
	b.WriteString(": ")
	b.WriteString(e.Detail)
	fmt.Fprintf(&b, "; recording truncated: readable up to icount %d (%d complete chunks, %d events)", e.ICount, e.Chunk, e.Events)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *TruncatedError) Unwrap() error { return e.Err }

func filePrefix(name string) string {
	if name == "" {
		return ""
	}
	return name + ": "
}
