#!/usr/bin/env bash
# Runs the benchmarks that BENCHMARKS.md reports, in one go, on this machine.
# Needs the Linux guest (REWIND_GUEST, default ../shared/guest) and, for the
# side-by-side figures, qemu-system-riscv64.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(go version) $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
command -v qemu-system-riscv64 >/dev/null && qemu-system-riscv64 --version | head -1
go test -run '^$' -bench 'InterpreterSv39' -count 5 -benchtime 2s ./internal/cpu/
go test -run '^$' -bench 'LinuxBoot|QEMUBoot' -count 1 -benchtime 5x ./internal/machine/
