"""The master's stats endpoint, read by the exporter sidecar on every scrape.

A headless master has no web UI, and Locust's `/stats/requests` lacks the response-time histograms
anyway, so the plugin serves this small JSON document itself: per-endpoint counters with Locust's
raw response-time buckets, users, workers and the plan's run, stage and thresholds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from gevent.pywsgi import WSGIServer
from locust.env import Environment
from locust.runners import MasterRunner

from loadcluster.plan import RunPlan
from loadcluster.stats_api import HEALTH_PATH, LOST_PATH, STATS_PATH, authorized

logger = logging.getLogger(__name__)

DEFAULT_STATS_PORT = 8090

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class RunView:
    """What the stats document needs to know about the run beyond Locust's own state."""

    def __init__(self, plan: RunPlan, run_id: str) -> None:
        self.plan = plan
        self.run_id = run_id
        self.started_at: float | None = None
        self.stage: str | None = None
        self.stage_started_at: float | None = None
        # Set by the plugin from its roster: a worker's name, and "a runtime saw worker NAME die".
        self.worker_name: Callable[[str], str] = lambda client_id: client_id
        # Set by the plugin from its recorder: seconds from the start to all users running, once known.
        self.peak_reached_at_s: Callable[[], float | None] = lambda: None
        self.lose_worker: Callable[[str, str], bool] = lambda _name, _how: False

    def enter_stage(self, name: str) -> None:
        self.stage = name
        self.stage_started_at = time.time()


def stats_document(environment: Environment, view: RunView) -> dict[str, Any]:
    runner = environment.runner
    assert isinstance(runner, MasterRunner)
    total = environment.stats.total
    current_rps = total.current_rps
    return {
        "time": time.time(),  # the master's clock, for elapsed times
        "run": {
            "suite": view.plan.suite,
            "scenario": view.plan.scenario,
            "run_id": view.run_id,
            "host": view.plan.target_label,
            "state": runner.state,
            "started_at": view.started_at,
            "stage": view.stage,
            "stage_started_at": view.stage_started_at,
            "peak_reached_at_s": view.peak_reached_at_s(),
        },
        "thresholds": {k: v for k, v in view.plan.thresholds.__dict__.items() if v is not None},
        "users": runner.user_count,
        "user_classes": dict(runner.reported_user_classes_count),
        "workers": [
            {
                "index": runner.get_worker_index(node.id),
                "name": view.worker_name(node.id),
                "state": node.state,
                "users": node.user_count,
                "cpu_percent": node.cpu_usage,
                "memory_bytes": node.memory_usage,
            }
            for node in runner.clients.values()
        ],
        "total": {"requests": total.num_requests, "failures": total.num_failures},
        "current": {
            "rps": current_rps,
            "failure_ratio": total.current_fail_per_sec / current_rps if current_rps else 0.0,
            "p95_ms": total.get_current_response_time_percentile(0.95) or 0,
        },
        "entries": [
            {
                "method": entry.method or "",
                "name": entry.name,
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "response_time_sum_ms": entry.total_response_time,
                # Locust's own buckets: {rounded milliseconds: count}
                "response_times": {str(ms): count for ms, count in entry.response_times.items()},
            }
            for entry in environment.stats.entries.values()
        ],
    }


def start_stats_server(
    environment: Environment, view: RunView, bind: str, port: int, token: str | None = None
) -> WSGIServer:
    def app(env: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = env.get("PATH_INFO", "")
        if path == HEALTH_PATH:  # open: health checks carry no credentials
            return _respond(start_response, "200 OK", {"status": "ok"})
        if not authorized(env, token):
            return _respond(start_response, "401 Unauthorized", {"error": "a bearer token is required"})
        if path == STATS_PATH:
            return _respond(start_response, "200 OK", stats_document(environment, view))
        if path == LOST_PATH and env.get("REQUEST_METHOD") == "POST":
            return _lost(env, view, start_response)
        return _respond(start_response, "404 Not Found", {"error": f"no such path {path}"})

    server = WSGIServer((bind, port), app, log=None, error_log=logger)
    server.start()
    logger.info("stats for the exporter at http://%s:%d%s", bind, server.server_port, STATS_PATH)
    return server


def _lost(env: dict[str, Any], view: RunView, start_response: StartResponse) -> Iterable[bytes]:
    """POST /workers/lost {"worker": name, "how": "..."}: a runtime saw that worker die."""
    try:
        body = json.loads(env["wsgi.input"].read(int(env.get("CONTENT_LENGTH") or 0)) or b"{}")
        found = view.lose_worker(str(body["worker"]), str(body.get("how", "reported by the runtime")))
    except (ValueError, KeyError, TypeError):
        return _respond(start_response, "400 Bad Request", {"error": 'expected {"worker": NAME}'})
    return _respond(start_response, "200 OK" if found else "404 Not Found", {"lost": found})


def _respond(start_response: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]
