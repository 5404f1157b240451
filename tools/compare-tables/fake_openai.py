#!/usr/bin/env python3
"""A deterministic OpenAI-compatible embeddings stand-in on loopback (stdlib only).

POST /v1/embeddings: each input's vector depends only on its text: DIMS floats from SHA-256 of the UTF-8 text
(2 bytes per float, mapped to [-1, 1]), L2-normalised, rounded to 8 decimals, in OpenAI's response shape
(object=list, data[{object=embedding, index, embedding}], model, usage{prompt_tokens,total_tokens}).
A request with any input containing the marker word (case-insensitive, whole word) answers HTTP 400,
invalid_request_error (not retried by the job), a one-line JSON error body. x-request-id is a hash of the request's
inputs, so it is the same on every run. Every request is appended to --log as one JSON line.

Usage: fake_openai.py --port-file FILE [--marker WORD] [--dims 16] [--log FILE]
Binds 127.0.0.1 on an ephemeral port, writes the port to --port-file once listening; stops on SIGTERM/SIGINT.
"""
import argparse
import base64
import hashlib
import json
import math
import os
import re
import signal
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def vector(text: str, dims: int) -> list:
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    raw = b""
    counter = 0
    while len(raw) < 2 * dims:  # more than 16 dims: extend the stream deterministically
        raw += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest() if counter else seed
        counter += 1
    xs = [int.from_bytes(raw[2 * i:2 * i + 2], "big") / 65535.0 * 2.0 - 1.0 for i in range(dims)]
    norm = math.sqrt(sum(x * x for x in xs)) or 1.0
    return [round(x / norm, 8) for x in xs]


def tokens(text: str) -> int:
    return max(1, len(text.split()))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"

    def log_message(self, fmt, *args):  # quiet: the request log is the record
        pass

    def send_json(self, status, obj, request_id):
        body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", request_id)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/embeddings":
            self.send_json(404, {"error": {"message": "unknown path " + self.path, "type": "invalid_request_error",
                                           "param": None, "code": "unknown_url"}}, "req-404")
            return
        try:
            req = json.loads(raw)
            inputs = req["input"]
            if isinstance(inputs, str):
                inputs = [inputs]
            texts = [t if isinstance(t, str) else json.dumps(t) for t in inputs]
        except Exception as e:  # noqa: BLE001 - a stand-in: any malformed body is a 400
            self.send_json(400, {"error": {"message": "malformed request: " + str(e), "type": "invalid_request_error",
                                           "param": None, "code": None}}, "req-bad")
            return
        dims = int(req.get("dimensions") or self.server.dims)
        request_id = "req-" + hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
        bad = [i for i, t in enumerate(texts) if self.server.marker and self.server.marker.search(t)]
        n_tokens = sum(tokens(t) for t in texts)
        with self.server.lock:
            self.server.log.write(json.dumps({"request_id": request_id, "inputs": len(texts), "tokens": n_tokens,
                                              "status": 400 if bad else 200}) + "\n")
            self.server.log.flush()
        if bad:
            self.send_json(400, {"error": {"message": "input %d contains the forbidden word %r" % (bad[0], self.server.marker_word),
                                           "type": "invalid_request_error", "param": "input", "code": None}}, request_id)
            return
        b64 = req.get("encoding_format") == "base64"
        data = []
        for i, t in enumerate(texts):
            v = vector(t, dims)
            emb = base64.b64encode(struct.pack("<%df" % dims, *v)).decode("ascii") if b64 else v
            data.append({"object": "embedding", "index": i, "embedding": emb})
        self.send_json(200, {"object": "list", "data": data, "model": req.get("model", "fake"),
                             "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens}}, request_id)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--marker", default="")
    ap.add_argument("--dims", type=int, default=16)
    ap.add_argument("--log", default="/dev/null")
    a = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.dims = a.dims
    server.marker_word = a.marker
    server.marker = re.compile(r"\b" + re.escape(a.marker) + r"\b", re.I) if a.marker else None
    server.lock = threading.Lock()
    server.log = open(a.log, "a", encoding="utf-8")
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    server.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
