"""The master's stats endpoint as its clients see it (the exporter, the runtimes): its paths, reading
its document and telling it a worker died.

Apart from `statsserver` because that module imports Locust, and the CLI process must not.
"""

from __future__ import annotations

import hmac
import json
import urllib.request
from typing import Any

READ_TIMEOUT_S = 1.0

STATS_PATH = "/stats"  # GET: the stats document (JSON)
HEALTH_PATH = "/health"  # GET: 200 once the master is up
LOST_PATH = "/workers/lost"  # POST {"worker": NAME, "how": TEXT}: a runtime saw that worker die


def authorization(token: str | None) -> dict[str, str]:
    """The header that LOADCLUSTER_ACCESS_TOKEN asks for, when one is set."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def authorized(headers: Any, token: str | None) -> bool:
    """Whether a request's headers (a WSGI environ) carry the token, when one is required."""
    return not token or hmac.compare_digest(str(headers.get("HTTP_AUTHORIZATION", "")), f"Bearer {token}")


def read_stats(url: str, token: str | None = None) -> dict[str, Any] | None:
    """The master's stats document, None while it cannot be read (starting, or already gone)."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=authorization(token)), timeout=READ_TIMEOUT_S
        ) as response:
            document: dict[str, Any] = json.load(response)
    except (OSError, ValueError):
        return None
    return document


def tell_master_lost(master: str, worker: str, how: str, token: str | None = None) -> bool:
    """Tell the master at `master` (its stats endpoint's base URL) that worker `worker` died: its users
    go to the others now, not after three missed heartbeats."""
    request = urllib.request.Request(
        master + LOST_PATH,
        data=json.dumps({"worker": worker, "how": how}).encode(),
        headers={"Content-Type": "application/json", **authorization(token)},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except OSError:
        return False
