#!/bin/sh
# Regenerates guest/builtin/builtin.elf from the sources, reproducibly (no
# build id, objects under fixed names so the ELF's FILE symbols are stable).
set -eu
cd "$(dirname "$0")"

CC=${CC:-riscv64-unknown-elf-gcc}
ARCH="-march=rv64gc -mabi=lp64d"
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT

objs=""
for s in start uart virtio_blk main; do
	$CC $ARCH -mcmodel=medany -g0 -c -o "$obj/$s.o" "$s.S"
	objs="$objs $obj/$s.o"
done
# shellcheck disable=SC2086
$CC $ARCH -nostdlib -nostartfiles -static -T link.ld -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -o builtin.elf $objs
echo "built builtin.elf ($(wc -c <builtin.elf) bytes)"
