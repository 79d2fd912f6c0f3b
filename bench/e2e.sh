#!/usr/bin/env bash
# End-to-end speed as a user sees it: the `soundstar render` command, start-up to exit, for
# 1 s, 30 s and 180 s mastered renders of four prompts that pick different style profiles.
# Prints the median wall time of N runs (after one warm-up) and the multiple of real time.
#
#   bench/e2e.sh [-n RUNS] [-b BINARY] [-B BASELINE] [-l "1 30 180"] [-p PAUSE] [-- EXTRA RENDER OPTIONS]
#   SOUNDSTAR_THREADS=1 bench/e2e.sh -n 3     # the same on one core
#   bench/e2e.sh -B /tmp/old/soundstar        # side by side with another build: the two run in turn
#                                             # (A B A B ...); both medians and the median of the
#                                             # pair-by-pair ratios, which the host's drift moves least
#   bench/e2e.sh -p 3                         # 3 s idle before every run, as a user's one-off command
#                                             # meets the machine (fresh memory is not yet recycled)
set -euo pipefail
export LC_ALL=C  # printf's decimal point

runs=5
bin="$(dirname "$0")/../build/release/soundstar"
lengths="1 30 180"
baseline=""
pause=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) runs="$2"; shift 2 ;;
        -b) bin="$2"; shift 2 ;;
        -B) baseline="$2"; shift 2 ;;
        -l) lengths="$2"; shift 2 ;;
        -p) pause="$2"; shift 2 ;;
        --) shift; break ;;
        *) echo "e2e.sh: unknown option '$1' (allowed: -n RUNS, -b BINARY, -B BASELINE, -l LENGTHS, -p PAUSE, -- RENDER OPTIONS)" >&2; exit 2 ;;
    esac
done
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 && "$runs" -le 100 ]] || { echo "e2e.sh: -n must be 1-100, not '$runs'" >&2; exit 2; }
[[ "$pause" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v p="$pause" 'BEGIN {exit !(p <= 60)}' ||
    { echo "e2e.sh: -p must be 0-60 seconds, not '$pause'" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "e2e.sh: no soundstar binary at $bin (build the release preset or pass -b)" >&2; exit 2; }
if [[ -n "$baseline" ]]; then
    [[ -x "$baseline" ]] || { echo "e2e.sh: no baseline binary at $baseline" >&2; exit 2; }
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

# Wall milliseconds of one render by binary $1 of prompt $2 for $3 s into $4, after the pause.
timed() {
    local bin="$1" prompt="$2" len="$3" file="$4"
    shift 4
    sleep "$pause"
    local t0 t1
    t0=$(ms)
    # (inside $(...) set -e is off: a failed render must say so, not pass for a fast one)
    "$bin" render "$prompt" -d "$len" -q -o "$file" "$@" >&2 || { echo "e2e.sh: $bin failed on '$prompt' -d $len" >&2; return 1; }
    t1=$(ms)
    echo $((t1 - t0))
}

# -B: this build (A) and the baseline (B) in turn, one warm-up pair first; every other pair runs
# B first, so neither build always runs second.
if [[ -n "$baseline" ]]; then
    printf '%-8s %6s %10s %10s %9s %9s\n' profile length "A ms" "B ms" "A/B wall" "A x-real"
    for p in "${profiles[@]}"; do
        name="${p%%|*}"
        prompt="${p#*|}"
        for len in $lengths; do
            as=() bs=() ratios=()
            for ((i = 0; i <= runs; ++i)); do
                if (( i % 2 == 0 )); then
                    a=$(timed "$bin" "$prompt" "$len" "$out/a.wav" "$@")
                    b=$(timed "$baseline" "$prompt" "$len" "$out/b.wav" "$@")
                else
                    b=$(timed "$baseline" "$prompt" "$len" "$out/b.wav" "$@")
                    a=$(timed "$bin" "$prompt" "$len" "$out/a.wav" "$@")
                fi
                (( i > 0 )) || continue
                as+=("$a") bs+=("$b")
                ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.4f", (b > 0) ? a / b : 0}')")
            done
            a=$(printf '%s\n' "${as[@]}" | median)
            b=$(printf '%s\n' "${bs[@]}" | median)
            r=$(printf '%s\n' "${ratios[@]}" | median)
            printf '%-8s %5ss %10.0f %10.0f %9.3f %8.1fx\n' "$name" "$len" "$a" "$b" "$r" \
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
            t=$(timed "$bin" "$prompt" "$len" "$out/x.wav" "$@")
            (( i > 0 )) && times+=("$t")
        done
        med=$(printf '%s\n' "${times[@]}" | median)
        lo=$(printf '%s\n' "${times[@]}" | sort -n | head -1)
        hi=$(printf '%s\n' "${times[@]}" | sort -n | tail -1)
        printf '%-8s %5ss %10s %10s %10s %8.1fx\n' "$name" "$len" "$med" "$lo" "$hi" \
            "$(awk -v l="$len" -v m="$med" 'BEGIN {print (m > 0) ? l * 1000 / m : 0}')"
    done
done
