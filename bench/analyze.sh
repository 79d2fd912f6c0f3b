#!/usr/bin/env bash
# `soundstar analyze` speed, start-up to exit: a 30 s and a 180 s render of one prompt (seed 7),
# each analysed N times after a warm-up; prints the median wall time and the multiple of real time.
#
#   bench/analyze.sh [-n RUNS] [-b BINARY]
set -euo pipefail

runs=5
bin="$(dirname "$0")/../build/release/soundstar"
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) runs="$2"; shift 2 ;;
        -b) bin="$2"; shift 2 ;;
        *) echo "analyze.sh: unknown option '$1' (allowed: -n RUNS, -b BINARY)" >&2; exit 2 ;;
    esac
done
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 && "$runs" -le 100 ]] || { echo "analyze.sh: -n must be 1-100, not '$runs'" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "analyze.sh: no soundstar binary at $bin (build the release preset or pass -b)" >&2; exit 2; }

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
for len in 30 180; do
    "$bin" render "minimal techno at night" --seed 7 -d "$len" -q -o "$dir/$len.wav"
    times=()
    "$bin" analyze --json "$dir/$len.wav" >/dev/null
    for ((i = 0; i < runs; i++)); do
        start=$(date +%s.%N)
        "$bin" analyze --json "$dir/$len.wav" >/dev/null
        times+=("$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf 'analyze %4d s: median %.3f s wall (%.0fx real time, %d runs)\n' "$len" "$median" "$(awk -v l="$len" -v m="$median" 'BEGIN {print l / m}')" "$runs"
done
