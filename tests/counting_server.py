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

COUNT_PATH = "/_count"


def handler_counting_into(counts: Counter[str], lock: threading.Lock) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real API does
        # Headers and body in one send, and no Nagle: otherwise a reused connection waits ~40 ms for
        # the client's delayed ACK before the body goes, and every latency a test reads is inflated.
        wbufsize = 64 * 1024
        disable_nagle_algorithm = True

        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            with lock:
                if path == COUNT_PATH:
                    body = json.dumps(counts).encode()
                else:
                    counts[path] += 1
                    body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = answer

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


class CountingServer:
    """The server in a thread of this process, on a free 127.0.0.1 port."""

    def __init__(self, bind: str = "127.0.0.1", port: int = 0) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer((bind, port), handler_counting_into(self.counts, self._lock))
        self.url = f"http://{bind}:{self.server.server_address[1]}"

    def start(self) -> CountingServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def count(self, path: str) -> int:
        with self._lock:
            return self.counts[path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    CountingServer("0.0.0.0", int(sys.argv[1])).server.serve_forever()
