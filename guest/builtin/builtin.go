// Package builtin holds the default guest that `rewind run` boots when no
// kernel is given: a small bare-metal RV64 program (sources and build
// script in this directory, see README.md) for Rewind's QEMU-virt
// compatible board. It prints a banner over the NS16550A UART, probes the
// virtio-mmio slots for a virtio-blk disk, prints the first bytes of
// sector 0, keeps a boot counter in sector 1, and then runs a tiny echo
// shell ("help", "disk", "quit" / Ctrl-D powers off through the test
// finisher).
//
// The ELF is committed and embedded, so building Rewind needs no RISC-V
// cross compiler; guest/builtin/build.sh regenerates it reproducibly.
package builtin

import _ "embed"

// ELF is the built-in guest image: a statically linked RV64GC ELF whose
// code starts at 0x80000000. Load it like any -kernel ELF and start hart 0
// at its entry point in M-mode with a0 = hart id and a1 = the DTB address
// (the guest ignores the DTB).
//
//go:embed builtin.elf
var ELF []byte
