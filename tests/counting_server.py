"""A plain HTTP server that is not the demo target: answers every request 200 and counts it by path.

Used two ways: in a thread of a test (`CountingServer`, on 127.0.0.1), and as a script in a container
on a Docker network of a test's own (`python3 counting_server.py PORT`). GET /_count returns the
counts as JSON and is not counted itself.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections import Counter
from typing import Self

COUNT_PATH = "/_count"


class KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    """What the tests' servers share: HTTP/1.1 keep-alive, as a real API does, each answer in one send
    with no Nagle (headers and body written apart make a reused connection wait ~40 ms for the
    client's delayed ACK, and every latency a test reads would be inflated), and no access log."""

    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024  # flushed once per request by BaseHTTPRequestHandler
    disable_nagle_algorithm = True

    def reply(self, status: int, body: bytes = b"", *headers: tuple[str, str]) -> None:
        self.send_response(status)
        for name, value in (("Content-Type", "application/json"), *headers, ("Content-Length", str(len(body)))):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


class BackgroundServer:
    """An http.server in a daemon thread of this process (a free 127.0.0.1 port unless told): start
    load from a child process, never by forking this one."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler], bind: str = "127.0.0.1", port: int = 0):
        self.server = http.server.ThreadingHTTPServer((bind, port), handler)
        self.url = f"http://{bind}:{self.server.server_address[1]}"

    def start(self) -> Self:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def handler_counting_into(counts: Counter[str], lock: threading.Lock) -> type[KeepAliveHandler]:
    class Handler(KeepAliveHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            with lock:
                if path == COUNT_PATH:
                    body = json.dumps(counts).encode()
                else:
                    counts[path] += 1
                    body = b'{"ok": true}'
            self.reply(200, body)

        do_GET = do_POST = do_PUT = do_DELETE = answer

    return Handler


class CountingServer(BackgroundServer):
    """The counting server, in a thread of this process."""

    def __init__(self, bind: str = "127.0.0.1", port: int = 0) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        super().__init__(handler_counting_into(self.counts, self._lock), bind, port)

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def count(self, path: str) -> int:
        with self._lock:
            return self.counts[path]


if __name__ == "__main__":
    CountingServer("0.0.0.0", int(sys.argv[1])).server.serve_forever()
