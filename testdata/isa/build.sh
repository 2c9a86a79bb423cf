#!/bin/sh
# Regenerates the test ELFs from the .S sources (reproducibly: no build id,
# no timestamps; the output depends only on the sources and toolchain).
#
#   ./build.sh                 build every program
#   ./build.sh rv64i fp_d      build some
#
# Each program is built twice:
#   <name>.elf        Rewind's behaviour choices (what the emulator must pass)
#   qemu/<name>.elf   -DQEMU_ORACLE: the few checks where QEMU 7.2 differs
#                     are switched to QEMU's behaviour or skipped (README.md)
# Extra switches can be passed as CPPFLAGS=... (applied to both builds).
set -eu
cd "$(dirname "$0")"

CC=${CC:-riscv64-unknown-elf-gcc}
ASFLAGS="-march=rv64gc -mabi=lp64d -mcmodel=medany -g0"
LDFLAGS="-march=rv64gc -mabi=lp64d -nostdlib -nostartfiles -static -T link.ld \
 -Wl,--build-id=none -Wl,--no-warn-rwx-segments"
# Objects go to a scratch dir under a fixed name (the ELF's FILE symbol is
# the object name, so a random temp name would make builds differ).
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT

# Programs that report through the QEMU-virt test finisher + UART instead of
# HTIF (they need the CLINT, which the spike machine lacks rdtime for).
VIRT_PROGS="priv_irq wfi"

progs="$*"
if [ -z "$progs" ]; then
	progs=$(ls *.S | sed 's/\.S$//')
fi

for p in $progs; do
	extra=""
	for v in $VIRT_PROGS; do
		[ "$p" = "$v" ] && extra="-DREPORT_FINISHER"
	done
	mkdir -p qemu
	mkdir -p "$obj/rewind" "$obj/qemu"
	# shellcheck disable=SC2086
	$CC $ASFLAGS $extra ${CPPFLAGS:-} -c -o "$obj/rewind/$p.o" "$p.S"
	# shellcheck disable=SC2086
	$CC $LDFLAGS -o "$p.elf" "$obj/rewind/$p.o"
	# shellcheck disable=SC2086
	$CC $ASFLAGS $extra -DQEMU_ORACLE ${CPPFLAGS:-} -c -o "$obj/qemu/$p.o" "$p.S"
	# shellcheck disable=SC2086
	$CC $LDFLAGS -o "qemu/$p.elf" "$obj/qemu/$p.o"
	echo "built $p.elf qemu/$p.elf"
done
