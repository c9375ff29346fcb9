"""serve(): run one demo target on gevent's WSGI server until SIGTERM or SIGINT.

serve() owns its process: it monkey-patches, may set up logging and raises the open-file limit.
None of that happens on import, so the CLI can import the package for TargetSettings and stay an
ordinary process.
"""

from __future__ import annotations

import logging
import signal
import sys

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


def serve(settings: TargetSettings) -> None:
    """Serve the demo target until SIGTERM or SIGINT; blocks, then returns."""
    # Patched here, not at import: the CLI imports this package for TargetSettings and must stay an
    # ordinary process. Patching makes any blocking call inside the app cooperate with the hub.
    from gevent import monkey

    monkey.patch_all()
    from gevent.event import Event
    from gevent.pywsgi import WSGIServer

    _configure_logging()
    _raise_open_file_limit()
    # log=None: no access log, which at thousands of requests a second would cost more than the app.
    server = WSGIServer((settings.host, settings.port), create_app(settings), log=None, backlog=2048)
    server.start()
    host, port = server.address[:2]
    _LOG.info("demo target listening on http://%s:%d", host, port)
    stop = Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stop.set)
    stop.wait()
    server.stop(timeout=_STOP_GRACE_S)
