#!/usr/bin/env bash
# Times the Go standard-library suite (TestGoStdlibSuite: 24 packages' own
# tests, cross-compiled for riscv64, run in the Linux guest) under Rewind's
# record and replay, and the same disk under QEMU: TCG, and -icount shift=0
# (the instruction-counting mode QEMU records in). BENCHMARKS.md reports
# the figures. Needs the Linux guest (REWIND_GUEST, default
# ../shared/guest), qemu-system-riscv64, mkfs.ext4. About 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/sbin:/usr/sbin"
GUEST=${REWIND_GUEST:-$PWD/../shared/guest}
export REWIND_GUEST=$GUEST
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(go version) $(nproc) cores"

# Rewind: the test prints record and replay wall times and keeps the disk.
REWIND_SUITE_DISK=$work/suite.img go test -count=1 -run 'TestGoStdlibSuite$' -v -timeout 60m ./internal/cli/ |
  grep -E 'record:|replay:|built|PASS|FAIL|ok'

# QEMU on the same disk: boot, mount, run the suite, power off.
qemu() {
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  if ! (sleep 5; printf 'mount -t ext4 /dev/vda /mnt && gosh /mnt/run.sh\n') |
      timeout 900 qemu-system-riscv64 -M virt -m 512M -nographic "$@" \
        -bios "$GUEST/fw_jump.bin" -kernel "$GUEST/Image" -initrd "$GUEST/initramfs.cpio" \
        -append console=ttyS0 -global virtio-mmio.force-legacy=false \
        -drive "file=$work/suite.img,format=raw,if=none,id=d0,snapshot=on" \
        -device virtio-blk-device,drive=d0 >"$work/$label.log" 2>&1; then :; fi
  end=$(date +%s.%N)
  local passed
  passed=$(grep -ac 'SUITE .* exit 0' "$work/$label.log" || true)
  if grep -aq SUITE-DONE "$work/$label.log"; then
    printf '%s: %.1f s, %s packages passed\n' "$label" "$(echo "$end - $start" | bc)" "$passed"
  else
    printf '%s: did not finish within 900 s (%s packages passed; last line: %s)\n' "$label" "$passed" \
      "$(grep -a SUITE "$work/$label.log" | tail -1)"
  fi
}
qemu "qemu TCG"
qemu "qemu -icount shift=0" -icount shift=0
