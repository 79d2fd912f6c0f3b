#!/usr/bin/env python3
"""A stand-in OpenAI-compatible endpoint for the assistant's tool-call test: it answers every
chat completion with the fixed assistant message in REPLY (a JSON file) and keeps each request
body it got as request-N.json beside it, so the test can check what the server asked. Only the
LLM's side is faked; the server under test is the real one.

usage: fake_tool_calls_server.py REPLY.json PORTFILE   (listens on 127.0.0.1, a free port)
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

reply_path, port_path = sys.argv[1], sys.argv[2]
folder = os.path.dirname(os.path.abspath(reply_path))
count = 0


class Handler(BaseHTTPRequestHandler):
    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        count += 1
        with open(os.path.join(folder, f"request-{count}.json"), "wb") as f:
            f.write(body)
        with open(reply_path) as f:
            message = json.load(f)
        self.answer({"id": "fake", "object": "chat.completion", "model": "fake",
                     "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}]})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_path + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_path + ".tmp", port_path)
server.serve_forever()
