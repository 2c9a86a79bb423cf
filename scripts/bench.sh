#!/usr/bin/env bash
# Runs the benchmarks that BENCHMARKS.md reports, in one go, on this machine.
# Needs the Linux guest (REWIND_GUEST, default ../shared/guest) and, for the
# side-by-side figures, qemu-system-riscv64 (and its record/replay baseline
# driver from the guest's recipe folder). Takes about 15 minutes.
#   scripts/bench.sh            everything
#   scripts/bench.sh quick      interpreter and boot only
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
GUEST=${REWIND_GUEST:-$PWD/../shared/guest}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(go version) $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
command -v qemu-system-riscv64 >/dev/null && qemu-system-riscv64 --version | head -1

# CPU speed, next to QEMU; Linux boot to the prompt, next to QEMU.
go test -run '^$' -bench 'InterpreterSv39|JITSv39' -count 5 -benchtime 2s ./internal/cpu/
# The same loop as a bare-metal program from the command line, next to QEMU.
go test -run '^$' -bench 'Sv39Guest' -count 3 -benchtime 1x ./internal/cli/
go test -run '^$' -bench 'LinuxBoot|QEMUBoot' -count 1 -benchtime 5x ./internal/machine/
go test -run '^$' -bench 'LinuxGowork|QEMUGowork' -count 2 -benchtime 1x ./internal/machine/
[ "${1:-}" = quick ] && exit 0

# Record / replay: CPU-bound session, then the interactive session next to
# QEMU's own record/replay (qemu-baseline.sh from the guest recipe).
go test -run '^$' -bench 'Session' -count 3 -benchtime 1x ./internal/replay/
go test -run '^$' -bench 'CLISession' -count 1 -benchtime 1x ./internal/cli/
if [ -x "$GUEST/recipe/qemu-baseline.sh" ]; then
  out=$(mktemp -d)
  SKIP_APT=1 REPS=1 "$GUEST/recipe/qemu-baseline.sh" "$out" --modes plain,record,replay >/dev/null
  cat "$out/results.md"
fi

# Guest download throughput on the user network, next to QEMU -netdev user.
go test -run '^$' -bench 'NetDownload' -count 3 -benchtime 1x ./internal/cli/

# Record overhead over a plain run: wall time, runs interleaved.
scripts/record-overhead.sh 60

# Reverse execution on a 5-billion-instruction recording.
go test -run '^$' -bench 'ReverseStep' -benchtime 1x -timeout 30m -v ./internal/debugger/ | grep -E 'Benchmark|bench_test'
# Reverse-continue through a whole recording with a breakpoint armed.
go test -run '^$' -bench 'ReverseContinue' -benchtime 1x ./internal/debugger/
