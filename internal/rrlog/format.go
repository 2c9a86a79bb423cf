package rrlog

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
)

// FormatVersion is the recording format version this package writes, and
// the newest one it reads. It changes only when the framing or the meaning
// of existing bytes changes; new event kinds and new optional header
// fields do not change it (docs/LOG-FORMAT.md, "Versioning").
const FormatVersion = 1

// minFormatVersion is the oldest format version this package reads.
const minFormatVersion = 1

// Magic opens every recording. It never changes, whatever the version.
const Magic = "RWNDLOG\n"

// Sizes and limits of the format. A reader rejects anything larger, so a
// damaged length field cannot make it allocate without bound.
const (
	// HeaderPrefixSize is the fixed part before the JSON header body:
	// magic (8), version (2), body length (4), CRC32C (4).
	HeaderPrefixSize = 18
	// MaxHeaderSize bounds the JSON header body.
	MaxHeaderSize = 4 << 20
	// ChunkHeaderSize is the framing before each chunk's zstd payload:
	// "CHNK" (4), payload length (4), CRC32C of the payload (4).
	ChunkHeaderSize = 12
	// MaxEventData bounds one event's payload.
	MaxEventData = 8 << 20
	// MaxChunkSize bounds the chunk-size option (uncompressed events per
	// chunk before the writer seals it).
	MaxChunkSize = 8 << 20
	// MaxChunkData bounds a chunk's uncompressed payload: a full chunk
	// plus one maximal event that did not fit, plus framing.
	MaxChunkData = MaxChunkSize + MaxEventData + 64<<10
	// MaxChunkPayload bounds a chunk's compressed payload.
	MaxChunkPayload = MaxChunkData + 1<<20
	// DefaultChunkSize is the uncompressed size at which the writer seals
	// a chunk without waiting for the flush timer.
	DefaultChunkSize = 256 << 10
	// MaxImagePiece is the largest piece AppendImage puts in one
	// KindImageData event.
	MaxImagePiece = 64 << 10
)

// chunkMagic opens every chunk.
const chunkMagic = "CHNK"

// castagnoli is the CRC32C table (iSCSI polynomial) used for the header
// and every chunk.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the JSON body of a recording's header: everything besides the
// event stream that replay needs to rebuild the same machine. Unknown JSON
// fields are ignored, so newer writers may add optional fields without a
// version change.
type Header struct {
	// FormatVersion repeats the binary version field; Create sets it.
	FormatVersion int `json:"format_version"`
	// Emulator names the program that recorded, e.g. "rewind 0.1.0".
	// Informational: replay does not require the same version.
	Emulator string `json:"emulator"`
	// Created is the host wall-clock time the recording started, RFC 3339.
	// Informational only: nothing the guest sees depends on it (the RTC
	// uses RTCBaseUnixNs). Create fills it in when empty.
	Created string `json:"created"`
	// Config is the full machine configuration, opaque to rrlog (the
	// recorder encodes it, replay decodes it).
	Config json.RawMessage `json:"config,omitempty"`
	// Images lists every image the machine was built from, with digests,
	// so replay refuses a different image with a clear message.
	Images []Image `json:"images,omitempty"`
	// ICountShift sets virtual time: each instruction advances it by
	// 2^ICountShift ns (QEMU's -icount shift=N).
	ICountShift uint `json:"icount_shift"`
	// RTCBaseUnixNs is the wall-clock time (ns since the Unix epoch) that
	// the guest RTC reads at virtual time zero. It exceeds 2^53: readers
	// in other languages must parse it as a 64-bit integer.
	RTCBaseUnixNs uint64 `json:"rtc_base_unix_ns"`
	// SelfContained is true when the recording replays without the disk
	// images: block read completions carry the data read, and images
	// marked Embedded travel as KindImageData events.
	SelfContained bool `json:"self_contained,omitempty"`
}

// Image describes one input image of the recorded machine.
type Image struct {
	// Role says what the image is: "firmware", "kernel", "initrd",
	// "dtb", "disk0", "disk1", ...
	Role string `json:"role"`
	// Path is the host path at record time (informational; replay may
	// be given the image elsewhere and checks SHA256).
	Path string `json:"path,omitempty"`
	// Size is the image size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the lowercase hex SHA-256 of the whole image.
	SHA256 string `json:"sha256"`
	// Embedded is true when the image's bytes are in the recording as
	// KindImageData events at the start of the stream (Writer.AppendImage).
	Embedded bool `json:"embedded,omitempty"`
}

// encodeHeader returns the complete binary header for h.
func encodeHeader(h Header) ([]byte, error) {
	body, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encoding header: %w", err)
	}
	if len(body) > MaxHeaderSize {
		return nil, fmt.Errorf("header is %d bytes, more than the limit of %d", len(body), MaxHeaderSize)
	}
	b := make([]byte, HeaderPrefixSize, HeaderPrefixSize+len(body))
	copy(b, Magic)
	binary.LittleEndian.PutUint16(b[8:], uint16(h.FormatVersion))
	binary.LittleEndian.PutUint32(b[10:], uint32(len(body)))
	b = append(b, body...)
	binary.LittleEndian.PutUint32(b[14:], headerCRC(b[8:14], body))
	return b, nil
}

// headerCRC is the CRC32C of the version and length fields followed by the
// header body.
func headerCRC(versionAndLength, body []byte) uint32 {
	c := crc32.Update(0, castagnoli, versionAndLength)
	return crc32.Update(c, castagnoli, body)
}

// Validate checks the header fields this package defines: every image has
// a role that no other image has (at most 255 bytes, the longest an
// image-data event can name), a size that is not negative, and a SHA-256
// of 64 lowercase hex digits. Readers do not call it (a file with a bad
// image entry can still be dumped); Verify and replay do.
func (h Header) Validate() error {
	roles := make(map[string]bool, len(h.Images))
	for i, im := range h.Images {
		switch {
		case im.Role == "" || len(im.Role) > maxNameLen:
			return fmt.Errorf("header: image %d: role %q must be 1..%d bytes", i, im.Role, maxNameLen)
		case roles[im.Role]:
			return fmt.Errorf("header: image %d: role %q appears twice", i, im.Role)
		case im.Size < 0:
			return fmt.Errorf("header: %s image: size %d is negative", im.Role, im.Size)
		case !isSHA256Hex(im.SHA256):
			return fmt.Errorf("header: %s image: sha256 %q is not 64 lowercase hex digits", im.Role, im.SHA256)
		}
		roles[im.Role] = true
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
