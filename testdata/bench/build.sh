#!/bin/sh
# Regenerates sv39loop.elf from sv39loop.S (reproducibly: no build id).
set -eu
cd "$(dirname "$0")"
CC=${CC:-riscv64-unknown-elf-gcc}
$CC -march=rv64gc -mabi=lp64d -mcmodel=medany -g0 -nostdlib -nostartfiles -static \
	-T ../isa/link.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments -o sv39loop.elf sv39loop.S
echo "built sv39loop.elf"
