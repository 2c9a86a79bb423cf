#!/usr/bin/env bash
# Measures what recording costs over a plain run: the CPU-bound Linux
# session (boot, gowork ×3, poweroff, typed ahead; --fast-idle) under
# `rewind run`, `rewind record --snapshot-every 0` (inputs only) and
# `rewind record` (default embedded snapshots), ROUNDS rounds with the
# three runs interleaved so that a change in the machine's load hits all
# three alike; the order of the three rotates from round to round, and
# each recording goes to a new file, as a user's would. Prints the wall
# time of each process (median and minimum, timed to the microsecond)
# and the overhead of each record mode over run.
#   scripts/record-overhead.sh [ROUNDS]     default 10
# Needs the Linux guest (REWIND_GUEST, default ../shared/guest).
set -euo pipefail
export LC_ALL=C # a decimal point in $EPOCHREALTIME
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
GUEST=${REWIND_GUEST:-$PWD/../shared/guest}
rounds=${1:-10}
if [ -z "${EPOCHREALTIME:-}" ]; then
  echo "record-overhead.sh needs bash 5 or newer (\$EPOCHREALTIME)" >&2
  exit 1
fi
if [ ! -x /usr/bin/time ]; then
  echo "record-overhead.sh needs GNU time (/usr/bin/time): apt-get install time" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/rewind" ./cmd/rewind

# one MODE ARGS...: runs the session once, prints "seconds peak-RSS-KiB".
# GNU time gives the peak RSS; its wall time has only 10 ms steps, about
# 1.4 % of this session, so the shell's microsecond clock times it.
one() {
  rm -f "$work/rec.rwd"
  local t0=$EPOCHREALTIME
  printf 'gowork\ngowork\ngowork\npoweroff\n' |
    /usr/bin/time -f '%M' -o "$work/time" "$work/rewind" "$@" --fast-idle --rng-seed 00 \
      -serial stdio -bios "$GUEST/fw_jump.bin" -kernel "$GUEST/Image" \
      -initrd "$GUEST/initramfs.cpio" -append console=ttyS0 >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  local t1=$EPOCHREALTIME
  echo "$t0 $t1 $(cat "$work/time")" | awk '{printf "%.6f %d\n", $2 - $1, $3}'
}

# mode N: runs mode N of names once, appending to its file.
names=(run record-inputs record-snapshots)
mode() {
  case $1 in
  0) one run ;;
  1) one record -o "$work/rec.rwd" --snapshot-every 0 ;;
  2) one record -o "$work/rec.rwd" ;;
  esac >>"$work/${names[$1]}"
}
for ((i = 0; i < rounds; i++)); do
  for ((k = 0; k < 3; k++)); do mode $(((i + k) % 3)); done
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
