"""The master's roster of workers: their names, and which were lost, when and how.

Workers put their name (LOADCLUSTER_WORKER_NAME: `worker-2` locally, the container's or pod's host
name elsewhere) in every stats report. A runtime that sees a worker die tells the master at once
(`lose`), which hands the worker to Locust's own missing-worker path on its next heartbeat tick
(at most a second): its users are dealt to the others (the master runs with --enable-rebalancing)
instead of after three missed heartbeats. Either way the loss is recorded for the summary.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from locust.runners import STATE_MISSING, MasterRunner

NAME_KEY = "loadcluster_worker"


@dataclass(frozen=True)
class Lost:
    worker: str
    at_s: float  # seconds into the test
    how: str


class Roster:
    def __init__(self, runner: MasterRunner) -> None:
        self.runner = runner
        self.names: dict[str, str] = {}  # client id -> worker name
        self.lost: list[Lost] = []
        self._recorded: set[str] = set()

    def on_report(self, client_id: str, data: dict[str, Any]) -> None:
        if data.get(NAME_KEY):
            self.names[client_id] = str(data[NAME_KEY])

    def name(self, client_id: str) -> str:
        return self.names.get(client_id, client_id)

    def lose(self, name: str, how: str, started_at: float | None) -> bool:
        """The runtime saw worker `name` die: Locust's missing-worker path takes it on its next tick."""
        found = False
        for client in self.runner.clients.values():
            if self.name(client.id) == name and client.state != STATE_MISSING:
                client.heartbeat = -1
                self._record(client.id, how, started_at)
                found = True
        return found

    def check_missing(self, started_at: float | None) -> None:
        """Workers Locust marked missing on its own (three missed heartbeats)."""
        for client in self.runner.clients.values():
            if client.state == STATE_MISSING:
                self._record(client.id, "missed heartbeats", started_at)

    def _record(self, client_id: str, how: str, started_at: float | None) -> None:
        if client_id not in self._recorded:
            self._recorded.add(client_id)
            at_s = round(time.time() - started_at, 1) if started_at else 0.0
            self.lost.append(Lost(self.name(client_id), at_s, how))

    def gone(self, client_id: str) -> bool:
        client = self.runner.clients.get(client_id)
        return client is None or client.state == STATE_MISSING or client_id in self._recorded

    def lost_as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(lost) for lost in self.lost]
