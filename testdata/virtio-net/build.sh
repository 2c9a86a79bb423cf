#!/bin/sh
# Regenerates net.elf from net.c (reproducibly: no build id, no timestamps).
set -eu
cd "$(dirname "$0")"
CC=${CC:-riscv64-unknown-elf-gcc}
$CC -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -g0 -ffreestanding -nostdlib -nostartfiles -static \
	-T ../isa/link.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments -o net.elf net.c
echo "built net.elf"
