#!/usr/bin/python3
"""Time from starting `soundstar live --device null --stdout s16` to its first non-silent sample
on the pipe (process start, interpreter, session and device included). Prints each run and the
median. Usage: bench/first_audio.py [BINARY] [RUNS] [VIBE]"""
import statistics
import subprocess
import sys
import time

binary = sys.argv[1] if len(sys.argv) > 1 else "build/release/soundstar"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
vibe = sys.argv[3] if len(sys.argv) > 3 else "morning coffee"
times = []
for _ in range(runs):
    start = time.monotonic()
    p = subprocess.Popen([binary, "live", vibe, "--device", "null", "--stdout", "s16", "-q"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = None
    while first is None:
        chunk = p.stdout.read1(4096)
        if not chunk:
            break
        if any(chunk):
            first = time.monotonic() - start
    p.stdin.write(b"q\n")
    p.stdin.flush()
    p.wait(timeout=10)
    if first is None:
        sys.exit("no audio came out")
    times.append(first * 1000.0)
    print(f"first audio after {times[-1]:.1f} ms")
print(f"median {statistics.median(times):.1f} ms over {runs} runs")
