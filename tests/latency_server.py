"""An HTTP/1.1 keep-alive server on 127.0.0.1 that answers each path after a known, injected delay.

Each path has a cycle of delays in milliseconds: the n-th request to the path waits cycle[n % len]
before any byte of the answer is sent. A cycle of one value is a constant latency; (30,) * 9 + (250,)
makes exactly every tenth request slow, so the latency distribution is known, not random. The server
records every delay it injected, per path, so a test can compare what a load tool reports with the
truth. Unknown paths are answered 404 at once.

Runs in a thread of the test process (counting_server.BackgroundServer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

from counting_server import BackgroundServer, KeepAliveHandler

BODY = b'{"ok": true}'


def _handler(server: LatencyServer) -> type[KeepAliveHandler]:
    class Handler(KeepAliveHandler):
        # One send per answer matters here above all: a Nagle stall would be added to every "known" latency.
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?")[0]
            delay_ms = server.next_delay_ms(path)
            if delay_ms is None:
                self.reply(404, b'{"detail": "no such path"}')
                return
            time.sleep(delay_ms / 1000)  # time.sleep never returns early, so responses take >= delay
            self.reply(200, BODY)

    return Handler


class LatencyServer(BackgroundServer):
    """The server in a daemon thread, on a free 127.0.0.1 port; one handler thread per connection."""

    def __init__(self, cycles: Mapping[str, Sequence[int]]) -> None:
        if not cycles or any(not cycle or min(cycle) < 0 for cycle in cycles.values()):
            raise ValueError(f"every path needs a non-empty cycle of non-negative delays: {cycles}")
        self._cycles = {path: tuple(cycle) for path, cycle in cycles.items()}
        self._injected: dict[str, list[int]] = {path: [] for path in cycles}
        self._lock = threading.Lock()
        super().__init__(_handler(self))

    def next_delay_ms(self, path: str) -> int | None:
        """The delay for the next request to `path`, recorded as injected; None for an unknown path."""
        cycle = self._cycles.get(path)
        if cycle is None:
            return None
        with self._lock:  # handler threads share the per-path counters
            injected = self._injected[path]
            delay = cycle[len(injected) % len(cycle)]
            injected.append(delay)
        return delay

    def injected(self, path: str) -> list[int]:
        """Every delay injected for `path` so far, in arrival order."""
        with self._lock:
            return list(self._injected[path])
