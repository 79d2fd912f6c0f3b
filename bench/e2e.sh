#!/usr/bin/env bash
# End-to-end speed as a user sees it: the `soundstar render` command, start-up to exit, for
# 1 s, 30 s and 180 s mastered renders of four prompts that pick different style profiles.
# Prints the median wall time of N runs (after one warm-up) and the multiple of real time.
#
#   bench/e2e.sh [-n RUNS] [-b BINARY] [-B BASELINE] [-l "1 30 180"] [-- EXTRA RENDER OPTIONS]
#   SOUNDSTAR_THREADS=1 bench/e2e.sh -n 3     # the same on one core
#   bench/e2e.sh -B /tmp/old/soundstar        # side by side with another build: farm-bench --vs runs
#                                             # them in turn and prints both medians and the paired ratio
set -euo pipefail

runs=5
bin="$(dirname "$0")/../build/release/soundstar"
lengths="1 30 180"
baseline=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) runs="$2"; shift 2 ;;
        -b) bin="$2"; shift 2 ;;
        -B) baseline="$2"; shift 2 ;;
        -l) lengths="$2"; shift 2 ;;
        --) shift; break ;;
        *) echo "e2e.sh: unknown option '$1' (allowed: -n RUNS, -b BINARY, -B BASELINE, -l LENGTHS, -- RENDER OPTIONS)" >&2; exit 2 ;;
    esac
done
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 && "$runs" -le 100 ]] || { echo "e2e.sh: -n must be 1-100, not '$runs'" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "e2e.sh: no soundstar binary at $bin (build the release preset or pass -b)" >&2; exit 2; }
if [[ -n "$baseline" ]]; then
    [[ -x "$baseline" ]] || { echo "e2e.sh: no baseline binary at $baseline" >&2; exit 2; }
    command -v farm-bench >/dev/null || { echo "e2e.sh: -B needs farm-bench on PATH" >&2; exit 2; }
fi

# name|prompt: each prompt selects a different profile (checked with `soundstar interpret`).
profiles=(
    "jazz|jazz cafe at midnight"
    "techno|minimal techno at night"
    "lofi|lofi study beats"
    "ambient|ambient drone over a frozen lake"
)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# -B: each length of each prompt as one farm-bench --vs call (this build A, the baseline B, in turn).
if [[ -n "$baseline" ]]; then
    printf '%-8s %6s %10s %10s %9s %9s\n' profile length "A ms" "B ms" "A/B wall" "A x-real"
    for p in "${profiles[@]}"; do
        name="${p%%|*}"
        prompt="${p#*|}"
        for len in $lengths; do
            report=$(farm-bench -n "$runs" --timeout 3600 \
                --vs "$baseline render '$prompt' -d $len -q -o $out/b.wav $*" \
                -- "$bin" render "$prompt" -d "$len" -q -o "$out/a.wav" "$@" 2>&1)
            a=$(awk '$1 == "A" && $2 == "wall" {print $5 * 1000}' <<<"$report")
            b=$(awk '$1 == "B" && $2 == "wall" {print $5 * 1000}' <<<"$report")
            r=$(awk '$1 == "A/B" && $2 == "wall" {print $4}' <<<"$report")
            [[ -n "$a" && -n "$b" ]] || { echo "e2e.sh: farm-bench gave no figures for '$prompt' -d $len:" >&2; echo "$report" >&2; exit 1; }
            printf '%-8s %5ss %10.0f %10.0f %9s %8.1fx\n' "$name" "$len" "$a" "$b" "$r" \
                "$(awk -v l="$len" -v m="$a" 'BEGIN {print (m > 0) ? l * 1000 / m : 0}')"
        done
    done
    exit 0
fi

printf '%-8s %6s %10s %10s %10s %9s\n' profile length "median ms" "min ms" "max ms" "x-real"
for p in "${profiles[@]}"; do
    name="${p%%|*}"
    prompt="${p#*|}"
    for len in $lengths; do
        times=()
        for ((i = 0; i <= runs; ++i)); do  # run 0 warms the caches and is not counted
            t0=$(ms)
            "$bin" render "$prompt" -d "$len" -q -o "$out/x.wav" "$@"
            t1=$(ms)
            (( i > 0 )) && times+=($((t1 - t0)))
        done
        med=$(printf '%s\n' "${times[@]}" | median)
        lo=$(printf '%s\n' "${times[@]}" | sort -n | head -1)
        hi=$(printf '%s\n' "${times[@]}" | sort -n | tail -1)
        printf '%-8s %5ss %10s %10s %10s %8.1fx\n' "$name" "$len" "$med" "$lo" "$hi" \
            "$(awk -v l="$len" -v m="$med" 'BEGIN {print (m > 0) ? l * 1000 / m : 0}')"
    done
done
