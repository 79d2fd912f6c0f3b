#!/usr/bin/python3
"""Set-and-acknowledge round trips of `soundstar serve` over the WebSocket (python3-websocket).

    ./build/release/soundstar serve --port 7860 --device null &
    bench/serve_roundtrip.py [URL] [N]     # default ws://127.0.0.1:7860/v1/ws, 2000 round trips

Creates a track, then sends N set_mix messages one at a time (each waits for its answer) and
prints p50, p99 and max in milliseconds. It reports; the tests assert nothing about time.
"""
import json
import sys
import time

import websocket

url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:7860/v1/ws"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
ws = websocket.create_connection(url, timeout=10)
ws.send(json.dumps({"id": 0, "op": "create_track", "args": {"name": "bench", "preset": "pad_warm"}}))
ws.recv()
times = []
for i in range(n):
    t0 = time.perf_counter()
    ws.send(json.dumps({"id": i + 1, "op": "set_mix", "args": {"target": "bench", "gain_db": -(i % 12)}}))
    reply = json.loads(ws.recv())
    times.append((time.perf_counter() - t0) * 1000.0)
    assert reply["id"] == i + 1 and "result" in reply, reply
ws.send(json.dumps({"id": n + 1, "op": "free_track", "args": {"track": "bench"}}))
ws.recv()
times.sort()
print(f"{n} set_mix round trips: p50 {times[n // 2]:.3f} ms, p99 {times[int(n * 0.99)]:.3f} ms, max {times[-1]:.3f} ms")
