#!/bin/sh
# Runs the test programs under QEMU (the oracle) and reports pass/fail per
# program.  HTIF programs run on -machine spike, the programs listed in
# VIRT_PROGS (CLINT / test finisher) on -machine virt.
#
#   ./check-qemu.sh            all programs (the qemu/<name>.elf builds)
#   ./check-qemu.sh rv64i sv39 some
#   STRICT=1 ./check-qemu.sh   run <name>.elf (Rewind's choices) instead:
#                              the QEMU_ORACLE checks then fail on QEMU 7.2
#
# A program passes when QEMU exits 0 AND the program printed "PASS"
# (exit codes are truncated to 8 bits, so check 256 would otherwise look
# like a pass).
set -u
cd "$(dirname "$0")"

QEMU=${QEMU:-qemu-system-riscv64}
# QEMU 7.2's default rv64 CPU has H and Sstc; Rewind is RV64IMAFDC + S + U.
CPU=${QEMU_CPU:-rv64,h=false,sstc=false}
TIMEOUT=${TIMEOUT:-30}
VIRT_PROGS="priv_irq wfi"

dir=qemu/
[ -n "${STRICT:-}" ] && dir=
progs="$*"
if [ -z "$progs" ]; then
	progs=$(ls *.S | sed 's/\.S$//')
fi

npass=0
nfail=0
for p in $progs; do
	machine=spike
	for v in $VIRT_PROGS; do
		[ "$p" = "$v" ] && machine=virt
	done
	out=$(timeout "$TIMEOUT" "$QEMU" -machine "$machine" -cpu "$CPU" -m 128M \
		-bios none -nographic -monitor none -serial stdio \
		-kernel "$dir$p.elf" </dev/null 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q '^PASS'; then
		echo "PASS  $p"
		npass=$((npass + 1))
	else
		if [ $rc -eq 124 ]; then why="timeout"; else why="exit $rc"; fi
		echo "FAIL  $p ($why)"
		printf '%s\n' "$out" | sed 's/^/      /'
		nfail=$((nfail + 1))
	fi
done
echo "$npass passed, $nfail failed"
[ $nfail -eq 0 ]
