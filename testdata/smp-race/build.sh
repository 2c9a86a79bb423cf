#!/bin/sh
# Regenerates race.elf (unlocked) and locked.elf (-DLOCKED) from race.c
# (reproducibly: no build id, no timestamps).
set -eu
cd "$(dirname "$0")"
CC=${CC:-riscv64-unknown-elf-gcc}
for v in race: locked:-DLOCKED; do
	name=${v%%:*}
	def=${v#*:}
	$CC -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -g0 -ffreestanding -nostdlib -nostartfiles -static \
		-T ../isa/link.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments $def -o $name.elf race.c
	echo "built $name.elf"
done
