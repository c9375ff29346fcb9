"""Every dashboard panel's PromQL, run against a real Prometheus that scrapes a real local run.

The run has its own small catalogue (every SLO set, two stages, 5 % injected errors) so that every
panel, SLO line and annotation has something to show. Prometheus (Debian's package) scrapes the
exporter every second, and the demo target's own /metrics as job "target" (the test starts the target,
with 5 % errors); it also loads alerts.yml, so the alert expressions are run on real series too.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import LOCUSTFILES, REPO, Prometheus, wait_until
from dashboard_queries import ALERT_RULES, Query, annotation_queries, load_dashboard, panel_queries

from loadcluster.runtimes.processes import free_port, wait_for_port

pytestmark = pytest.mark.integration

CATALOGUE = {
    "slo": {
        "avg_response_ms": 2000,
        "p95_response_ms": 3000,
        "max_failure_percent": 50,  # the target fails 5 % on purpose; the run must still pass
        "min_rps": 0.5,
        "min_users": 20,
    },
    "shapes": {
        "two-steps": [{"name": "warm-up", "until": 0.4, "users": 0.5}, {"name": "full", "until": 1.0, "users": 1.0}]
    },
    "suites": {
        "dashboards": {
            "locustfile": "customer_success.py",
            "scenarios": {
                "dashboards": {
                    "users": 20,
                    "spawn_rate": 20,
                    "duration": "20s",
                    "workers": 2,
                    "shape": "two-steps",
                }
            },
        }
    },
}
STAGES = 2
RUN_DEADLINE_S = 60.0
COMPLEMENT = {">": "<=", "<": ">=", ">=": "<", "<=": ">", "==": "!=", "!=": "=="}


def api(prometheus: Prometheus, path: str, **params: str) -> Any:
    with urllib.request.urlopen(f"{prometheus.url}/api/v1/{path}?{urllib.parse.urlencode(params)}", timeout=5) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]


def query_range(prometheus: Prometheus, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = api(prometheus, "query_range", query=expr, start=str(start), end=str(end), step="1")[
        "result"
    ]
    return result


@pytest.fixture
def plans(tmp_path: Path) -> Path:
    directory = tmp_path / "plans"
    directory.mkdir()
    shutil.copy(LOCUSTFILES / "customer_success.py", directory)
    (directory / "scenarios.yaml").write_text(yaml.safe_dump(CATALOGUE, sort_keys=False), encoding="utf-8")
    return directory


@dataclass
class Answers:
    """Queries still waiting for data, and the first answer of each one that got some."""

    pending: dict[str, str]
    found: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def ask(self, prometheus: Prometheus) -> bool:
        for name, expr in list(self.pending.items()):
            result: list[dict[str, Any]] = api(prometheus, "query", query=expr)["result"]
            if any(math.isfinite(float(series["value"][1])) for series in result):
                self.found[name] = result
                del self.pending[name]
        return not self.pending


def inverted(expr: str) -> str:
    """`expr` with its outermost comparison turned round: what a healthy run must return."""
    depth, quoted, last = 0, False, None
    for index, char in enumerate(expr):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "([{":
            depth += 1
        elif not quoted and char in ")]}":
            depth -= 1
        elif not quoted and depth == 0 and char in "<>=!":
            operator = expr[index : index + 2] if expr[index : index + 2] in COMPLEMENT else char
            if operator in COMPLEMENT and (last is None or last[0] + len(last[1]) <= index):
                last = (index, operator)
    assert last is not None, f"no comparison in {expr}"
    index, operator = last
    return expr[:index] + COMPLEMENT[operator] + expr[index + len(operator) :]


def alert_expressions() -> dict[str, str]:
    groups = yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def start_run(plans: Path, results_dir: Path, host: str, exporter_port: int, output: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "loadcluster", "run", "--locustfile", str(plans), "--suite", "dashboards"]
    command += ["--scenario", "dashboards", "--results", str(results_dir), "--metrics-port", str(exporter_port)]
    with output.open("wb") as out:
        return subprocess.Popen(command + ["--host", host], stdout=out, stderr=subprocess.STDOUT, cwd=REPO)


@pytest.fixture
def failing_target(tmp_path: Path) -> Iterator[str]:
    """The demo target answering 5 % of requests with errors, so failure panels have data."""
    port = free_port()
    command = [sys.executable, "-m", "loadcluster", "target", "--port", str(port), "--error-rate", "0.05"]
    with (tmp_path / "target.log").open("wb") as log:
        target = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_for_port("127.0.0.1", port, 20)
        yield f"http://127.0.0.1:{port}"
    finally:
        target.terminate()
        target.wait(timeout=10)


def stop(run: subprocess.Popen[bytes]) -> None:
    if run.poll() is None:
        run.terminate()  # the CLI forwards it to the master, which drains and writes its results
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait(timeout=10)


def test_every_panel_query_returns_data_from_a_real_run(
    start_prometheus: Callable[..., Prometheus], plans: Path, results_dir: Path, tmp_path: Path, failing_target: str
) -> None:
    dashboard = load_dashboard()
    panels = {q.name: q.rendered() for q in panel_queries(dashboard)}
    healthy = {f"alert {name} (inverted)": inverted(expr) for name, expr in alert_expressions().items()}
    answers = Answers({**panels, **healthy})
    output, exporter_port = tmp_path / "run.out", free_port()
    started = time.time()
    run = start_run(plans, results_dir, failing_target, exporter_port, output)
    try:
        prometheus = start_prometheus(
            {"loadcluster": f"127.0.0.1:{exporter_port}", "target": urllib.parse.urlparse(failing_target).netloc},
            rule_files=[ALERT_RULES],
        )

        def answered() -> bool:
            if answers.ask(prometheus):
                return True
            assert run.poll() is None, (
                f"the run ended with no data for: {sorted(answers.pending)}\n{output.read_text()}"
            )
            return False

        wait_until(answered, RUN_DEADLINE_S, "every panel query to return data")
        run.wait(timeout=RUN_DEADLINE_S)
    finally:
        stop(run)
    assert run.returncode == 0, output.read_text()
    (run_dir,) = [p for p in results_dir.iterdir() if p.is_dir() and not p.is_symlink()]
    assert answers.found["Run [A]"][0]["metric"]["run_id"] == run_dir.name

    check_annotations(prometheus, annotation_queries(dashboard), started)
    rules = [r for g in api(prometheus, "rules")["groups"] for r in g["rules"] if r["type"] == "alerting"]
    assert {r["name"]: r["health"] for r in rules} == {name: "ok" for name in alert_expressions()}


def check_annotations(prometheus: Prometheus, queries: list[Query], started: float) -> None:
    """Grafana runs annotation queries as range queries; with value-as-time, the value is the time in ms."""
    ended = time.time()
    by_name = {q.panel: query_range(prometheus, q.rendered(), started - 5, ended) for q in queries}
    values = {name: {float(v) for series in result for _, v in series["values"]} for name, result in by_name.items()}
    assert all(values.values()), {name: bool(v) for name, v in values.items()}
    (run_start,) = values["Run start"]
    assert started * 1000 <= run_start <= ended * 1000
    assert len(values["Stage change"]) == STAGES
    assert values["Run stop"] == {1.0}
