package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// ImageHeader is the 64-byte header at the start of a RISC-V Linux kernel
// Image (Linux Documentation/riscv/boot-image-header.rst):
//
//	0x00 code0, code1   u32 x2  executable code (a jump over the header)
//	0x08 text_offset    u64     load offset from the start of RAM
//	0x10 image_size     u64     effective size, including bss
//	0x18 flags          u64     bit 0: endianness, 0 = little
//	0x20 version        u32     major << 16 | minor
//	0x24 res1, res2     u32, u64
//	0x30 magic          "RISCV\0\0\0" (deprecated)
//	0x38 magic2         "RSC\x05"
//	0x3c res3           u32
//
// All fields are little-endian.
type ImageHeader struct {
	TextOffset uint64
	ImageSize  uint64
	Flags      uint64
	Version    uint32
}

const imageHeaderSize = 64

var (
	imageMagic  = []byte("RISCV\x00\x00\x00")
	imageMagic2 = []byte("RSC\x05")
)

// ParseImageHeader decodes the header of a Linux Image. ok is false when
// data does not carry either magic (then it is not a Linux Image and the
// caller treats it as a flat binary). A header that is present but unusable
// (big-endian, text_offset not 4 KiB aligned) is an error.
func ParseImageHeader(data []byte) (h ImageHeader, ok bool, err error) {
	if len(data) < imageHeaderSize {
		return h, false, nil
	}
	if !bytes.Equal(data[0x30:0x38], imageMagic) && !bytes.Equal(data[0x38:0x3c], imageMagic2) {
		return h, false, nil
	}
	le := binary.LittleEndian
	h = ImageHeader{
		TextOffset: le.Uint64(data[0x08:]),
		ImageSize:  le.Uint64(data[0x10:]),
		Flags:      le.Uint64(data[0x18:]),
		Version:    le.Uint32(data[0x20:]),
	}
	if h.Flags&1 != 0 {
		return h, true, fmt.Errorf("loader: kernel Image is big-endian (flags %#x)", h.Flags)
	}
	if h.TextOffset%pageSize != 0 {
		return h, true, fmt.Errorf("loader: kernel Image text_offset %#x is not page aligned", h.TextOffset)
	}
	return h, true, nil
}
