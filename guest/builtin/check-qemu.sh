#!/bin/sh
# Runs builtin.elf under QEMU's virt machine (the oracle for Rewind's board)
# with and without a virtio-blk disk and checks what it prints.
set -u
cd "$(dirname "$0")"
QEMU=${QEMU:-qemu-system-riscv64}
img=$(mktemp)
trap 'rm -f "$img"' EXIT
truncate -s 1M "$img"

fails=0
run() { # name, input, expected-substring..., -- qemu args
	name=$1; input=$2; shift 2
	exp=""
	while [ "$1" != "--" ]; do exp="$exp
$1"; shift; done
	shift
	out=$(printf "$input" | timeout 20 "$QEMU" -machine virt -bios none -nographic \
		-kernel builtin.elf "$@" 2>&1 | tr -d '\r')
	rc=$?
	ok=1
	[ $rc -eq 0 ] || ok=0
	echo "$exp" | while IFS= read -r e; do
		[ -z "$e" ] && continue
		printf '%s\n' "$out" | grep -qF -- "$e" || { echo "  missing: $e"; exit 1; }
	done || ok=0
	if [ $ok -eq 1 ]; then echo "PASS  $name"; else
		echo "FAIL  $name (exit $rc)"; printf '%s\n' "$out" | sed 's/^/      /'
		fails=$((fails + 1))
	fi
}
disk="-global virtio-mmio.force-legacy=false -drive file=$img,if=none,format=raw,id=d0 -device virtio-blk-device,drive=d0"

# shellcheck disable=SC2086
run "disk, first boot" 'hello\nhelp\ndisk\nquit\n' \
	"Rewind built-in guest" "disk: virtio-blk at 0x10008000, 2048 sectors (1024 KiB)" \
	"sector 0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00" "boot count 1" \
	"> hello" "you typed: hello" "commands:" "> disk" "bye" -- $disk
# shellcheck disable=SC2086
run "disk, second boot" 'quit\n' "boot count 2" "bye" -- $disk
run "no disk" 'ab\177c\nquit\n' "Rewind built-in guest" "no disk" "you typed: ac" "bye" --
run "ctrl-d" 'x\004' "no disk" "bye" --
echo "$((4 - fails)) passed, $fails failed"
[ $fails -eq 0 ]
