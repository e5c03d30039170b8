"""Benchmark: trimap's HttpClient POSTing 1 KB JSON documents to a local receiver.

Run: ``.venv/bin/python bench/http_client.py [--requests 5000] [--repeat 3]``

Two ways of sending the same sequential POSTs (as one webhook sender does, one at a time):

* ``keep-alive``: one connection carries every request (the client's default);
* ``new connection``: ``max_idle_per_origin=0``, so every request connects, sends, reads and
  closes, as a client without a pool would.

The receiver runs in a child process (so it does not share the client's GIL): a minimal
blocking HTTP/1.1 server that reads each request (head and ``Content-Length`` body) and
answers ``204 No Content``.  It is kept minimal so that the figures are the client's.
Requests/s and per-request latency percentiles, best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from functools import partial

import trio

from trimap.httpclient import HttpClient

ANSWER = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


def serve_forever() -> None:
    """The receiver (child process): one connection at a time, keep-alive, 204 to everything."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    print(listener.getsockname()[1], flush=True)
    while True:
        connection, _ = listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        with connection:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = connection.recv(65536)
                    if not data:
                        break
                    buffer += data
                else:
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    while len(buffer) < length:
                        buffer += connection.recv(65536)
                    buffer = buffer[length:]
                    connection.sendall(ANSWER)
                    continue
                break  # the client closed the connection


def document(n: int) -> bytes:
    """About 1 KB of JSON, like a messageNew webhook."""
    body = {
        "account": "account-0001",
        "date": "2026-11-24T03:41:43.000Z",
        "event": "messageNew",
        "id": f"event-{n:012d}",
        "data": {
            "id": "AAAAAQAAAAI",
            "uid": n,
            "path": "INBOX",
            "subject": "Quarterly figures and the plan for next year " * 3,
            "from": {"name": "Ada Lovelace", "address": "ada@example.test"},
            "to": [{"name": "Team", "address": f"team{i}@example.test"} for i in range(6)],
            "flags": ["\\Seen"],
            "size": 48213,
        },
    }
    encoded = json.dumps(body, separators=(",", ":")).encode()
    return encoded + b" " * max(0, 1024 - len(encoded))


async def run(url: str, requests: int, *, keep_alive: bool) -> tuple[float, list[float], int]:
    """Seconds for `requests` sequential POSTs, each request's latency, connections opened."""
    latencies: list[float] = []
    headers = {"Content-Type": "application/json", "X-Trimap-Event-Id": "event"}
    async with HttpClient(max_idle_per_origin=4 if keep_alive else 0) as client:
        started = time.perf_counter()
        for n in range(requests):
            sent = time.perf_counter()
            response = await client.request("POST", url, headers=headers, body=document(n))
            latencies.append(time.perf_counter() - sent)
            assert response.status == 204
        elapsed = time.perf_counter() - started
        return elapsed, latencies, client.connections_opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever()
        return
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert receiver.stdout is not None
        url = f"http://127.0.0.1:{int(receiver.stdout.readline())}/webhook"
        print(f"{args.requests} sequential POSTs of {len(document(0))} bytes of JSON, "
              f"best of {args.repeat}")  # fmt: skip
        for label, keep_alive in (("keep-alive", True), ("new connection", False)):
            best: tuple[float, list[float], int] | None = None
            for _ in range(args.repeat):
                result = trio.run(partial(run, url, args.requests, keep_alive=keep_alive))
                if best is None or result[0] < best[0]:
                    best = result
            assert best is not None
            elapsed, latencies, opened = best
            cuts = statistics.quantiles(latencies, n=100)
            print(
                f"  {label:15} {args.requests / elapsed:8.0f} requests/s   "
                f"p50 {cuts[49] * 1e6:6.0f} µs   p99 {cuts[98] * 1e6:6.0f} µs   "
                f"{opened} connection(s)"
            )
    finally:
        receiver.kill()
        receiver.wait()


if __name__ == "__main__":
    main()
