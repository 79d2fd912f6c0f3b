#!/usr/bin/python3
"""Many WebSocket clients subscribed to meters at 30 Hz on a running `soundstar serve`.

    ./build/release/soundstar serve --port 7860 --device null &
    bench/serve_meters_load.py [CLIENTS] [SECONDS] [URL] [SERVER_PID]   # default 200 clients, 60 s

Prints the messages each client got (min, median, max against 30 a second), the connections that
dropped, the engine's overruns and late commands over the run, and (with SERVER_PID) the server's
resident memory at the start and the end. It reports; the tests assert nothing about time.
"""
import json
import select
import sys
import time
import urllib.request

import websocket

clients = int(sys.argv[1]) if len(sys.argv) > 1 else 200
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
url = sys.argv[3] if len(sys.argv) > 3 else "ws://127.0.0.1:7860/v1/ws"
pid = sys.argv[4] if len(sys.argv) > 4 else None
base = url.replace("ws://", "http://").rsplit("/v1/ws", 1)[0]


def status():
    with urllib.request.urlopen(base + "/v1/status") as r:
        return json.load(r)["result"]


def rss_kib():
    if not pid:
        return None
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


socks = []
for i in range(clients):
    ws = websocket.create_connection(url, timeout=10)
    ws.send(json.dumps({"id": i, "op": "subscribe", "args": {"streams": ["meters"], "rate_hz": 30}}))
    socks.append(ws)
counts = {ws.sock.fileno(): 0 for ws in socks}
by_fd = {ws.sock.fileno(): ws for ws in socks}
before, rss0 = status(), rss_kib()
dropped = set()
end = time.time() + seconds
while time.time() < end:
    ready, _, _ = select.select([ws.sock for ws in socks if ws.sock and ws.sock.fileno() not in dropped], [], [], 0.5)
    for s in ready:
        fd = s.fileno()
        try:
            by_fd[fd].recv()
            counts[fd] += 1
        except Exception:
            dropped.add(fd)
after, rss1 = status(), rss_kib()
got = sorted(counts.values())
print(f"{clients} clients x {seconds:g} s of meters at 30 Hz: messages per client min {got[0]}, median {got[len(got) // 2]}, "
      f"max {got[-1]} (expected about {30 * seconds:.0f}); dropped connections {len(dropped)}; "
      f"overruns {after['xruns'] - before['xruns']}, late commands {after['late_commands'] - before['late_commands']}"
      + (f"; server RSS {rss0} KiB -> {rss1} KiB ({100.0 * (rss1 - rss0) / rss0:+.1f}%)" if rss0 else ""))
