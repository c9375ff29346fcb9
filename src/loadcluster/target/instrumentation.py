"""Counting, timing, slowing down and failing requests, and the routes that report on them.

Everything is done in request hooks so no endpoint can be missed. Requests under /_target/ are the
control endpoints tests and the CLI use to read and reset the counts, and Prometheus' own scrapes of
/metrics are monitoring: neither is counted, slowed or failed, so watching a run never disturbs it
(the run's request total still equals the target's count).
"""

from __future__ import annotations

import random
import time

import flask
import gevent
from flask import g, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from werkzeug.exceptions import HTTPException

from loadcluster.target.state import State

_UNMATCHED_KEYS_LIMIT = 100  # distinct unknown paths counted by name before they share one bucket


def _is_unmetered() -> bool:
    return request.path.startswith("/_target/") or request.user_agent.string.startswith("Prometheus/")


def install_instrumentation(app: flask.Flask, state: State) -> None:
    """Count, time, slow down and fail requests, and answer every HTTP error as JSON."""
    # Each app gets its own registry, so apps built side by side (as tests do) keep separate metrics.
    registry = CollectorRegistry()
    app.extensions["prometheus_registry"] = registry
    requests_total = PromCounter(
        "demo_target_requests",
        "Requests answered by the demo target",
        ["method", "endpoint", "status"],
        registry=registry,
    )
    latency = Histogram(
        "demo_target_request_duration_seconds",
        "Time to answer a request, including injected latency",
        ["method", "endpoint"],
        registry=registry,
    )
    unmatched: set[str] = set()

    @app.before_request
    def count_and_inject() -> ResponseReturnValue | None:
        if _is_unmetered():
            return None
        g.started = time.perf_counter()
        rule = request.url_rule.rule if request.url_rule else None
        state.requests[_stats_key(request.method, rule, request.path, unmatched)] += 1
        if state.settings.latency_ms > 0:
            gevent.sleep(state.settings.latency_ms / 1000.0)
        if state.settings.error_rate > 0 and random.random() < state.settings.error_rate:
            return {"detail": "injected error"}, 500, {"X-Target-Injected": "error"}
        return None

    @app.after_request
    def observe(response: flask.Response) -> flask.Response:
        started = g.get("started")
        if started is not None:
            # The rule, not the path, labels the series: ids in paths would explode Prometheus.
            endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
            requests_total.labels(request.method, endpoint, str(response.status_code)).inc()
            latency.labels(request.method, endpoint).observe(time.perf_counter() - started)
        return response

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException) -> ResponseReturnValue:
        headers = {"WWW-Authenticate": "Bearer"} if error.code == 401 else {}
        return {"detail": error.description}, error.code or 500, headers


def _stats_key(method: str, rule: str | None, path: str, unmatched: set[str]) -> str:
    """`METHOD rule` for routed requests, so ids in paths do not create a key per record."""
    if rule is not None:
        return f"{method} {rule}"
    # Unknown paths are kept by name (a wrong path in a plan is worth seeing), up to a cap.
    if path in unmatched or len(unmatched) < _UNMATCHED_KEYS_LIMIT:
        unmatched.add(path)
        return f"{method} {path}"
    return f"{method} <other unmatched>"


def register_control_routes(app: flask.Flask, state: State) -> None:
    @app.get("/_target/stats")
    def target_stats() -> ResponseReturnValue:
        return {
            "requests_total": sum(state.requests.values()),
            "by_endpoint": dict(sorted(state.requests.items())),
            "logins_by_role": dict(state.logins_by_role),
        }

    @app.post("/_target/reset")
    def target_reset() -> ResponseReturnValue:
        state.requests.clear()
        state.logins_by_role.clear()
        return {"requests_total": 0}


def register_ops_routes(app: flask.Flask, state: State) -> None:
    """/health and /metrics: load requests like any other, so they are counted, slowed and failed."""
    registry: CollectorRegistry = app.extensions["prometheus_registry"]

    @app.get("/health")
    @app.get("/api/v1/health")
    def health() -> ResponseReturnValue:
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics() -> ResponseReturnValue:
        return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}
