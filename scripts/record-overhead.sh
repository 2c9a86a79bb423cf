#!/usr/bin/env bash
# Measures what recording costs over a plain run: the CPU-bound Linux
# session (boot, gowork ×3, poweroff, typed ahead; --fast-idle) under
# `rewind run`, `rewind record --snapshot-every 0` (inputs only) and
# `rewind record` (default embedded snapshots), ROUNDS rounds with the
# three runs interleaved so that a change in the machine's load hits all
# three alike. Prints the wall time of each process (median and minimum)
# and the overhead of each record mode over run.
#   scripts/record-overhead.sh [ROUNDS]     default 10
# Needs the Linux guest (REWIND_GUEST, default ../shared/guest).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
GUEST=${REWIND_GUEST:-$PWD/../shared/guest}
rounds=${1:-10}
if [ ! -x /usr/bin/time ]; then
  echo "record-overhead.sh needs GNU time (/usr/bin/time): apt-get install time" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/rewind" ./cmd/rewind

# one MODE ARGS...: runs the session once, prints "seconds peak-RSS-KiB".
one() {
  printf 'gowork\ngowork\ngowork\npoweroff\n' |
    /usr/bin/time -f '%e %M' -o "$work/time" "$work/rewind" "$@" --fast-idle --rng-seed 00 \
      -serial stdio -bios "$GUEST/fw_jump.bin" -kernel "$GUEST/Image" \
      -initrd "$GUEST/initramfs.cpio" -append console=ttyS0 >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  cat "$work/time"
}

names=(run record-inputs record-snapshots)
for ((i = 0; i < rounds; i++)); do
  one run >>"$work/run"
  one record -o "$work/r0.rwd" --snapshot-every 0 >>"$work/record-inputs"
  one record -o "$work/r1.rwd" >>"$work/record-snapshots"
done

# median FILE: the median of column 1; min FILE: its minimum.
median() { sort -n "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minimum() { sort -n "$1" | head -1 | cut -d' ' -f1; }
rss() { sort -n -k2 "$1" | tail -1 | awk '{printf "%d", $2 / 1024}'; }

base=$(median "$work/run")
basemin=$(minimum "$work/run")
echo "# record overhead, $rounds interleaved rounds, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
printf '%-18s %8s %8s %10s %10s %10s %8s\n' mode median min "+median" "+min" "+paired" "RSS MB"
for n in "${names[@]}"; do
  m=$(median "$work/$n")
  mn=$(minimum "$work/$n")
  paste -d' ' "$work/$n" "$work/run" | awk '{print $1 / $3}' >"$work/ratio"
  awk -v n="$n" -v m="$m" -v mn="$mn" -v b="$base" -v bm="$basemin" -v p="$(median "$work/ratio")" -v r="$(rss "$work/$n")" \
    'BEGIN {printf "%-18s %8.3f %8.3f %9.1f%% %9.1f%% %9.1f%% %8s\n", n, m, mn, (m / b - 1) * 100, (mn / bm - 1) * 100, (p - 1) * 100, r}'
done
