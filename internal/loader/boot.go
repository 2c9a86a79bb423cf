package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Boot layout constants.
const (
	// DefaultTextOffset is where an RV64 kernel goes relative to the RAM
	// base when its Image header does not say (or it has none): 2 MiB, the
	// address fw_jump jumps to (0x80200000 on virt).
	DefaultTextOffset = 0x200000

	// DefaultMaxDTBSize is the space kept for the device tree when
	// Config.MaxDTBSize is 0. QEMU 7.2 also reserves 1 MiB ("fdt" ROM
	// blob of 0x100000 bytes).
	DefaultMaxDTBSize = 1 << 20

	// FWDynamicInfoSize is the size of OpenSBI's struct fw_dynamic_info
	// on RV64: six unsigned longs.
	FWDynamicInfoSize = 6 * 8

	// fw_dynamic_info field values (OpenSBI include/sbi/fw_dynamic.h).
	fwDynamicMagic     = 0x4942534f // "OSBI"
	fwDynamicVersion   = 2          // has boot_hart
	fwDynamicNextModeS = 1

	pageSize     = 0x1000
	initrdMaxOff = 128 << 20 // QEMU: initrd at kernel + min(RAM/2, 128 MiB)
	fdtAlign     = 2 << 20   // QEMU: fdt address aligned down to 2 MiB
	fdtCeiling   = 3 << 30   // QEMU: fdt below 3 GiB (32-bit addressable)
)

// Config lists the images to boot. Only RAM and at least one of Firmware or
// Kernel are required.
type Config struct {
	// RAM is the guest RAM window.
	RAM RAM
	// Firmware is loaded first and gets control: an ELF (loaded at its
	// segments' physical addresses, entered at its entry point) or a flat
	// binary such as fw_jump.bin / fw_dynamic.bin (loaded at and entered
	// at the RAM base). nil: the hart starts in the kernel.
	Firmware []byte
	// Kernel is a Linux Image (its header's text_offset and image_size
	// are honoured) or any flat binary (loaded at RAM base +
	// DefaultTextOffset).
	Kernel []byte
	// Initrd is an initramfs (cpio, optionally compressed); needs Kernel.
	Initrd []byte
	// DynamicInfo writes an OpenSBI fw_dynamic_info (next stage: the
	// kernel, in S-mode) and passes its address in a2. Set it for
	// fw_dynamic; fw_jump ignores a2.
	DynamicInfo bool
	// HartID is the boot hart: a0 and fw_dynamic_info.boot_hart.
	HartID uint64
	// MaxDTBSize bounds the device tree blob given to Layout.Load; 0 means
	// DefaultMaxDTBSize.
	MaxDTBSize uint64
}

// Layout is where everything goes, and the boot hart's initial registers.
// Ranges are zero for images that are not used.
type Layout struct {
	// Entry is the boot hart's initial pc (firmware entry, or the kernel
	// when there is no firmware).
	Entry uint64
	// A0 is the hart id, A1 the DTB address, A2 the fw_dynamic_info
	// address (0 without Config.DynamicInfo).
	A0, A1, A2 uint64

	Firmware Range
	// Kernel spans the Image's memory footprint: the larger of its file
	// size and its header's image_size (which includes bss).
	Kernel Range
	Initrd Range
	// DTB is the space kept for the device tree: the blob goes at
	// DTB.Start. Memory above it up to RAM end or 3 GiB is left free,
	// which lets firmware grow the tree in place.
	DTB Range
	// DynamicInfo is the fw_dynamic_info structure.
	DynamicInfo Range

	cfg   Config
	fwELF *elfFile
}

// Plan computes the boot layout without touching memory, mirroring QEMU
// 7.2's virt board (hw/riscv/boot.c):
//
//   - firmware at the RAM base (or its ELF addresses);
//   - kernel at RAM base + text_offset (0x80200000), which must be past the
//     end of the firmware;
//   - initrd at kernel + min(RAM/2, 128 MiB) (0x88200000 for 256 MiB and
//     more, 0x84200000 for 128 MiB); when the kernel's footprint reaches
//     past that point (tiny RAM, where QEMU would overlap them), right
//     after the kernel, page aligned;
//   - DTB at min(RAM end, 3 GiB) - MaxDTBSize, aligned down to 2 MiB
//     (0x8fe00000 for 256 MiB; QEMU computes the same with the blob's
//     size, which for any blob under 2 MiB gives the same address);
//   - fw_dynamic_info one page below the DTB (QEMU puts it in its reset
//     ROM after the reset vector; we have no ROM). OpenSBI reads it while
//     it initialises, before the kernel runs, so the kernel may reuse
//     that page.
//
// The initrd must end below fw_dynamic_info / the DTB.
//
// Caveat shared with QEMU: fw_jump (generic platform) copies the DTB to
// RAM base + 0x2200000 (0x82200000) before jumping to the kernel. With
// 64 MiB of RAM that is exactly where the initrd starts; use fw_dynamic
// there.
func Plan(cfg Config) (*Layout, error) {
	ram := cfg.RAM
	if ram.Size == 0 || ram.End() < ram.Base || ram.Base%pageSize != 0 {
		return nil, fmt.Errorf("loader: bad RAM window %#x+%#x", ram.Base, ram.Size)
	}
	if cfg.Firmware == nil && cfg.Kernel == nil {
		return nil, fmt.Errorf("loader: nothing to boot (no firmware, no kernel)")
	}
	if cfg.Initrd != nil && cfg.Kernel == nil {
		return nil, fmt.Errorf("loader: an initrd needs a kernel")
	}
	if cfg.DynamicInfo && (cfg.Firmware == nil || cfg.Kernel == nil) {
		return nil, fmt.Errorf("loader: fw_dynamic_info needs both firmware and a kernel")
	}
	if cfg.MaxDTBSize == 0 {
		cfg.MaxDTBSize = DefaultMaxDTBSize
	}
	l := &Layout{cfg: cfg, A0: cfg.HartID}

	if cfg.Firmware != nil {
		if err := l.planFirmware(); err != nil {
			return nil, err
		}
	}

	if cfg.Kernel != nil {
		if err := l.planKernel(); err != nil {
			return nil, err
		}
	}
	if cfg.Firmware == nil {
		l.Entry = l.Kernel.Start
	}
	low := max(ram.Base, l.Firmware.End, l.Kernel.End) // first byte above the low images

	// DTB and fw_dynamic_info, top down.
	top := ram.End()
	if ram.Base < fdtCeiling && top > fdtCeiling {
		top = fdtCeiling
	}
	below := uint64(0) // what goes below the DTB
	if cfg.DynamicInfo {
		below = pageSize
	}
	if top-ram.Base < cfg.MaxDTBSize+below {
		return nil, fmt.Errorf("loader: RAM %s has no room for a %d-byte device tree", ram, cfg.MaxDTBSize)
	}
	dtb := alignDown(top-cfg.MaxDTBSize, fdtAlign)
	if dtb < ram.Base+below || dtb-below < low {
		// Tiny RAM: page alignment instead of QEMU's 2 MiB.
		dtb = alignDown(top-cfg.MaxDTBSize, pageSize)
	}
	l.DTB = Range{dtb, dtb + cfg.MaxDTBSize}
	l.A1 = dtb
	high := dtb // first byte used by the high images
	if cfg.DynamicInfo {
		info := dtb - pageSize
		l.DynamicInfo = Range{info, info + FWDynamicInfoSize}
		l.A2 = info
		high = info
	}
	if high < low {
		return nil, fmt.Errorf("loader: RAM %s too small: the images end at %#x, the device tree needs %#x and up",
			ram, low, high)
	}

	// Initrd.
	if cfg.Initrd != nil {
		size := uint64(len(cfg.Initrd))
		start := l.Kernel.Start + min(ram.Size/2, initrdMaxOff)
		if start < low {
			start = alignUp(low, pageSize)
		}
		if start > high || size > high-start {
			return nil, fmt.Errorf("loader: initrd (%d bytes) does not fit in RAM at %#x (free up to %#x, RAM %s)",
				size, start, high, ram)
		}
		l.Initrd = Range{start, start + size}
	}
	return l, nil
}

func (l *Layout) planFirmware() error {
	ram, fw := l.cfg.RAM, l.cfg.Firmware
	if !IsELF(fw) {
		if !ram.Contains(ram.Base, uint64(len(fw))) {
			return notFit("firmware", uint64(len(fw)), uint64(len(fw)), ram.Base, ram)
		}
		l.Firmware = Range{ram.Base, ram.Base + uint64(len(fw))}
		l.Entry = ram.Base
		return nil
	}
	f, err := parseELF(fw)
	if err != nil {
		return fmt.Errorf("loader: firmware: %w", err)
	}
	if len(f.segs) == 0 {
		return fmt.Errorf("loader: firmware ELF has no loadable segment")
	}
	r := Range{^uint64(0), 0}
	for _, s := range f.segs {
		if !ram.Contains(s.Paddr, s.MemSize) {
			return notFit("firmware segment", s.FileSize, s.MemSize, s.Paddr, ram)
		}
		r.Start = min(r.Start, s.Paddr)
		r.End = max(r.End, s.Paddr+s.MemSize)
	}
	l.Firmware, l.Entry, l.fwELF = r, f.entry, f
	return nil
}

func (l *Layout) planKernel() error {
	ram, k := l.cfg.RAM, l.cfg.Kernel
	h, ok, err := ParseImageHeader(k)
	if err != nil {
		return err
	}
	off, size := uint64(DefaultTextOffset), uint64(len(k))
	if ok {
		off = h.TextOffset
		size = max(size, h.ImageSize)
	}
	start := ram.Base + off
	if start < ram.Base || !ram.Contains(start, size) {
		return notFit("kernel Image", uint64(len(k)), size, start, ram)
	}
	l.Kernel = Range{start, start + size}
	if l.Kernel.overlaps(l.Firmware) {
		return fmt.Errorf("loader: firmware %s overlaps the kernel at %s", l.Firmware, l.Kernel)
	}
	return nil
}

// Load writes the firmware, kernel, initrd, device tree and fw_dynamic_info
// to mem at the planned addresses. The kernel's bss beyond its file size is
// not written: RAM starts zeroed and the kernel clears its own bss.
func (l *Layout) Load(mem Memory, dtb []byte) error {
	cfg := l.cfg
	if len(dtb) < 4 || binary.BigEndian.Uint32(dtb) != 0xd00dfeed {
		return fmt.Errorf("loader: device tree blob has no DTB magic")
	}
	if uint64(len(dtb)) > l.DTB.Size() {
		return fmt.Errorf("loader: device tree (%d bytes) is larger than the %d bytes kept at %#x",
			len(dtb), l.DTB.Size(), l.DTB.Start)
	}
	if l.fwELF != nil {
		if err := l.fwELF.load(mem); err != nil {
			return fmt.Errorf("loader: firmware: %w", err)
		}
	} else if cfg.Firmware != nil {
		if err := LoadRaw(mem, cfg.RAM, "firmware", l.Firmware.Start, cfg.Firmware); err != nil {
			return err
		}
	}
	if cfg.Kernel != nil {
		if err := LoadRaw(mem, cfg.RAM, "kernel Image", l.Kernel.Start, cfg.Kernel); err != nil {
			return err
		}
	}
	if cfg.Initrd != nil {
		if err := LoadRaw(mem, cfg.RAM, "initrd", l.Initrd.Start, cfg.Initrd); err != nil {
			return err
		}
	}
	if err := LoadRaw(mem, cfg.RAM, "device tree", l.DTB.Start, dtb); err != nil {
		return err
	}
	if cfg.DynamicInfo {
		info := FWDynamicInfo(l.Kernel.Start, cfg.HartID)
		if err := LoadRaw(mem, cfg.RAM, "fw_dynamic_info", l.DynamicInfo.Start, info); err != nil {
			return err
		}
	}
	return nil
}

// FWDynamicInfo encodes OpenSBI's struct fw_dynamic_info (version 2, RV64,
// little-endian): magic, version, next_addr, next_mode (S), options (0),
// boot_hart.
func FWDynamicInfo(next, bootHart uint64) []byte {
	var b []byte
	for _, v := range []uint64{fwDynamicMagic, fwDynamicVersion, next, fwDynamicNextModeS, 0, bootHart} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// IsELF reports whether data starts with the ELF magic number (whether
// Plan and LoadELF treat it as an ELF file rather than a flat binary).
func IsELF(data []byte) bool { return bytes.HasPrefix(data, []byte(elfMagic)) }
