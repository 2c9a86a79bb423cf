#!/bin/sh
# Regenerates revdebug.elf from revdebug.c: -O0 with DWARF, for debugging
# at source level. Reproducible: no build id, and the source directory is
# "." in the debug info, so the output depends only on the source and the
# toolchain (the tests rebuild it into OUT and compare, when the compiler
# is installed).
#
#   ./build.sh                    writes revdebug.elf
#   OUT=/tmp/x.elf ./build.sh     writes /tmp/x.elf
set -eu
cd "$(dirname "$0")"
CC=${CC:-riscv64-unknown-elf-gcc}
OUT=${OUT:-revdebug.elf}
$CC -march=rv64gc -mabi=lp64d -mcmodel=medany -O0 -g -ffreestanding -nostdlib -nostartfiles -static \
	-fdebug-prefix-map="$(pwd)"=. \
	-T ../isa/link.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments -o "$OUT" revdebug.c
echo "built $OUT"
