"""serve(): run one demo target on gevent's WSGI server until SIGTERM or SIGINT.

serve() owns its process: it monkey-patches, may set up logging and raises the open-file limit.
None of that happens on import, so the CLI can import the package for TargetSettings and stay an
ordinary process.

Every accepted connection gets TCP_NODELAY. gevent's pywsgi (26.x, `WSGIHandler._write_with_headers`)
sends a response's status line and headers with one send() and its body with a second one, on purpose
(it avoids copying the body). With Nagle's algorithm on, the kernel holds that second small segment
until the first is acknowledged, and a keep-alive client that is still waiting for the body delays
that ACK (40 ms on Linux): every request after the first on a reused connection took ~44 ms instead
of ~1 ms. With TCP_NODELAY the body leaves at once. Fresh connections hid the bug because Linux ACKs
at once early in a connection, and curl opens one per request.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from typing import Any

import gevent

from loadcluster.target.app import create_app
from loadcluster.target.settings import TargetSettings

_LOG = logging.getLogger("loadcluster.target")

_STOP_GRACE_S = 2.0


def _configure_logging() -> None:
    # serve() owns its process, so it may set up logging if nobody else has.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)


def _raise_open_file_limit() -> None:
    """Every Locust user holds a connection open; the usual soft limit of 1024 is too few."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            _LOG.warning("could not raise the open file limit from %d", soft)


def _disable_nagle(sock: socket.socket) -> None:
    """TCP_NODELAY on one accepted connection, so a response's body is not held back (see the module doc)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the client may already have gone; the handler will find that out itself
            pass


def _wsgi_server(settings: TargetSettings, application: Any) -> Any:
    """A gevent WSGIServer whose connections have Nagle's algorithm off.

    Built here rather than at import because gevent.pywsgi is imported only after monkey-patching.
    `handle(sock, address)` is StreamServer's documented per-connection entry point.
    """
    from gevent.pywsgi import WSGIServer

    class _NoDelayWSGIServer(WSGIServer):
        def handle(self, sock: socket.socket, address: Any) -> None:
            _disable_nagle(sock)
            super().handle(sock, address)

    # log=None: no access log, which at thousands of requests a second would cost more than the app.
    return _NoDelayWSGIServer((settings.host, settings.port), application, log=None, backlog=2048)


def serve(settings: TargetSettings) -> None:
    """Serve the demo target until SIGTERM or SIGINT; blocks, then returns."""
    # Patched here, not at import: the CLI imports this package for TargetSettings and must stay an
    # ordinary process. Patching makes any blocking call inside the app cooperate with the hub.
    from gevent import monkey

    monkey.patch_all()
    from gevent.event import Event

    _configure_logging()
    _raise_open_file_limit()
    server = _wsgi_server(settings, create_app(settings))
    server.start()
    host, port = server.address[:2]
    _LOG.info("demo target listening on http://%s:%d", host, port)
    stop = Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stop.set)
    stop.wait()
    server.stop(timeout=_STOP_GRACE_S)
