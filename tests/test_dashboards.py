"""Every dashboard panel's PromQL, run against a real Prometheus that scrapes real local runs.

First, the structure: every panel query and annotation selects one run through the dashboard's
Namespace and Run variables, so no panel can add runs up. Then a real run with its own small catalogue
(every SLO set, two stages, 5 % injected errors) so that every panel, SLO line and annotation has
something to show. Prometheus (Debian's package) scrapes the exporter every second, and the demo
target's own /metrics as job "target" (the test starts the target, with 5 % errors); it also loads
alerts.yml, so the alert expressions are run on real series too. Last, two runs one after another
behind the same exporter address (as with Compose or `loadcluster run --metrics-port`): all their
target labels are the same, and picking one in the Run variable shows its users and requests only.
Queries are sent as Grafana sends them: variables interpolated with its escaping (dashboard_queries).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import signal
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
from conftest import LOCUSTFILES, REPO, DemoTarget, Prometheus, wait_until
from dashboard_queries import (
    ALERT_RULES,
    ALL,
    EXPORTER_PREFIX,
    GRAFANA_VARIABLES,
    NAMESPACE_MATCHER,
    RUN_MATCHER,
    SELECTION_VARIABLES,
    Query,
    annotation_queries,
    default_value,
    load_dashboard,
    panel_queries,
    render,
    template_variables,
    variable_options,
    vector_selectors,
)

from loadcluster.runtimes.processes import free_port, wait_for_port

CATALOGUE: dict[str, Any] = {
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
        },
        # Two runs told apart: far apart in users and requests, so that a panel adding them up shows.
        "two-runs": {
            "locustfile": "steady.py",
            "scenarios": {
                "small": {"users": 2, "spawn_rate": 2, "duration": "8s", "slo": {"min_users": 2}},
                "large": {"users": 12, "spawn_rate": 12, "duration": "8s", "slo": {"min_users": 12}},
            },
        },
    },
}
# Five requests per second per user, to the demo target's /health: enough requests in a few seconds.
STEADY_LOCUSTFILE = """
from locust import FastHttpUser, constant, task


class SteadyUser(FastHttpUser):
    wait_time = constant(0.2)

    @task
    def health(self) -> None:
        self.client.get("/health")
"""
STAGES = 2
RUN_DEADLINE_S = 60.0
NAMESPACE = "loadtest"  # the target label the Prometheus Operator would add
EXPORTER_ADDRESS = "master:9646"  # the exporter's address in the Compose stack, whichever run is behind it
TARGET_LABELS = {"job": "loadcluster", "instance": EXPORTER_ADDRESS, "namespace": NAMESPACE}
STALE_S = 2.0  # after the exporter has gone, until Prometheus' next (failed) scrape marks its series stale
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
    (directory / "steady.py").write_text(STEADY_LOCUSTFILE, encoding="utf-8")
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


def start_run(
    plans: Path, results_dir: Path, host: str, exporter_port: int, output: Path, scenario: str = "dashboards"
) -> subprocess.Popen[bytes]:
    suite = next(name for name, suite in CATALOGUE["suites"].items() if scenario in suite["scenarios"])
    command = [sys.executable, "-m", "loadcluster", "run", "--locustfile", str(plans), "--suite", suite]
    command += ["--scenario", scenario, "--results", str(results_dir), "--metrics-port", str(exporter_port)]
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


# --- structure: every query selects one run -------------------------------------------------------


def test_namespace_and_run_variables_follow_the_datasource() -> None:
    variables = load_dashboard()["templating"]["list"]
    assert [v["name"] for v in variables] == ["datasource", *SELECTION_VARIABLES]
    namespace, run = variables[1:]
    for variable in (namespace, run):
        assert variable["type"] == "query" and variable["datasource"]["uid"] == "${datasource}"
        assert variable["refresh"] == 2, "options from the time range, refreshed when it moves"
        assert not variable["multi"]
    assert namespace["query"] == "label_values(loadcluster_run_info, namespace)"
    assert namespace["includeAll"] and namespace["allValue"] == ".*"  # matches series without the label too
    assert namespace["current"]["value"] == ALL
    assert not run["includeAll"], "All would add runs up again"
    assert NAMESPACE_MATCHER in run["query"] and run["sort"] == 0 and not run["current"]  # newest first, picked


def test_every_panel_query_and_annotation_selects_the_picked_run() -> None:
    """So that a future panel cannot forget: each exporter series is selected by namespace and run_id,
    and any other series (Prometheus' `up`, the target's own) by namespace and `and on (...)` a series
    of the picked run."""
    dashboard = load_dashboard()
    queries = panel_queries(dashboard) + annotation_queries(dashboard)
    assert len(queries) == 43
    for query in queries:
        selectors = vector_selectors(query.expr)
        assert selectors, query.name
        for name, matchers in selectors:
            assert NAMESPACE_MATCHER in matchers, f"{query.name}: {name} without {NAMESPACE_MATCHER}"
            if name.startswith(EXPORTER_PREFIX):
                assert RUN_MATCHER in matchers, f"{query.name}: {name} without {RUN_MATCHER}"
        if any(not name.startswith(EXPORTER_PREFIX) for name, _ in selectors):
            assert re.search(r"\band on \([\w, ]+\) (last_over_time\()?loadcluster_run_info\{", query.expr), query.name


def test_variables_are_interpolated_as_grafana_does() -> None:
    variables = template_variables(load_dashboard())
    expr = f"loadcluster_users{{{NAMESPACE_MATCHER}, {RUN_MATCHER}}}"
    run_id = "customer-success-spike-20261123T094424Z"
    assert render(expr, variables, {"namespace": ALL, "run": run_id}) == (
        f'loadcluster_users{{namespace=~".*", run_id="{run_id}"}}'
    )
    # A picked namespace is regex-escaped (the variable has an All option); a run_id is not (it has none).
    assert render(expr, variables, {"namespace": "team.a", "run": run_id}) == (
        f'loadcluster_users{{namespace=~"team\\\\.a", run_id="{run_id}"}}'
    )
    assert render("rate(x[$__rate_interval]) $1", variables, {}) == "rate(x[15s]) $1"


# --- a real run: every query returns data -------------------------------------------------------


def picked_run(prometheus: Prometheus, variables: dict[str, dict[str, Any]], picked: dict[str, str]) -> str | None:
    """The Run variable's value when the dashboard opens now: the newest run."""
    now = time.time()
    options = variable_options(prometheus.url, variables["run"], variables, picked, now - 60, now)
    return default_value(variables["run"], options)


@pytest.mark.integration
def test_every_panel_query_returns_data_from_a_real_run(
    start_prometheus: Callable[..., Prometheus], plans: Path, results_dir: Path, tmp_path: Path, failing_target: str
) -> None:
    dashboard = load_dashboard()
    variables = template_variables(dashboard)
    picked = {"namespace": ALL}  # no namespace label outside Kubernetes: All (.*) still matches
    healthy = {f"alert {name} (inverted)": inverted(expr) for name, expr in alert_expressions().items()}
    output, exporter_port = tmp_path / "run.out", free_port()
    started = time.time()
    run = start_run(plans, results_dir, failing_target, exporter_port, output)
    try:
        prometheus = start_prometheus(
            {"loadcluster": f"127.0.0.1:{exporter_port}", "target": urllib.parse.urlparse(failing_target).netloc},
            rule_files=[ALERT_RULES],
        )

        def run_listed() -> bool:
            assert run.poll() is None, f"the run ended before the Run variable listed it\n{output.read_text()}"
            return picked_run(prometheus, variables, picked) is not None

        wait_until(run_listed, RUN_DEADLINE_S, "the Run variable to list the run")
        picked["run"] = str(picked_run(prometheus, variables, picked))
        panels = {q.name: render(q.expr, variables, picked) for q in panel_queries(dashboard)}
        answers = Answers({**panels, **healthy})

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
    assert picked["run"] == run_dir.name
    assert answers.found["Run [A]"][0]["metric"]["run_id"] == run_dir.name

    annotations = [Query(q.panel, q.ref_id, render(q.expr, variables, picked)) for q in annotation_queries(dashboard)]
    check_annotations(prometheus, annotations, started)
    rules = [r for g in api(prometheus, "rules")["groups"] for r in g["rules"] if r["type"] == "alerting"]
    assert {r["name"]: r["health"] for r in rules} == {name: "ok" for name in alert_expressions()}


def check_annotations(prometheus: Prometheus, queries: list[Query], started: float) -> None:
    """Grafana runs annotation queries as range queries; with value-as-time, the value is the time in ms."""
    ended = time.time()
    by_name = {q.panel: query_range(prometheus, q.expr, started - 5, ended) for q in queries}
    values = {name: {float(v) for series in result for _, v in series["values"]} for name, result in by_name.items()}
    assert all(values.values()), {name: bool(v) for name, v in values.items()}
    (run_start,) = values["Run start"]
    assert started * 1000 <= run_start <= ended * 1000
    assert len(values["Stage change"]) == STAGES
    assert values["Run stop"] == {1.0}


# --- two runs behind one exporter address are told apart -----------------------------------------


@dataclass(frozen=True)
class FinishedRun:
    run_id: str
    users: int
    requests: int
    started: float  # wall clock around the CLI's process
    ended: float


@dataclass
class ExporterAddress:
    """A real Prometheus scraping one exporter address that outlives runs: job "loadcluster", instance
    "master:9646" (the Compose stack's address) and namespace "loadtest" (as the Prometheus Operator
    labels it). `point_at(port)` puts the next run's exporter behind it, as a new master container."""

    prometheus: Prometheus
    config: Path

    def point_at(self, port: int) -> None:
        scrape = {
            "job_name": "loadcluster",
            "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": {"namespace": NAMESPACE}}],
            "relabel_configs": [{"target_label": "instance", "replacement": EXPORTER_ADDRESS}],
        }
        self.config.write_text(json.dumps({"global": {"scrape_interval": "1s"}, "scrape_configs": [scrape]}))
        self.prometheus.process.send_signal(signal.SIGHUP)  # reload the configuration
        wait_until(lambda: self._scrapes(port), 15, f"Prometheus to scrape port {port}")

    def _scrapes(self, port: int) -> bool:
        targets = api(self.prometheus, "targets")["activeTargets"]
        return [t["scrapeUrl"] for t in targets] == [f"http://127.0.0.1:{port}/metrics"]


@pytest.fixture
def exporter_address(tmp_path: Path) -> Iterator[ExporterAddress]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (apt-get install prometheus; .ci/run installs it)")
    config, port = tmp_path / "prometheus-address.yml", free_port()
    config.write_text(json.dumps({"global": {"scrape_interval": "1s"}}))
    with (tmp_path / "prometheus-address.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb-address'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    try:
        prometheus = Prometheus(f"http://127.0.0.1:{port}", process)
        wait_until(lambda: ready(prometheus), 30, "Prometheus to be ready")
        yield ExporterAddress(prometheus, config)
    finally:
        process.terminate()
        process.wait(timeout=10)


def ready(prometheus: Prometheus) -> bool:
    if prometheus.process.poll() is not None:
        raise AssertionError(f"Prometheus exited with code {prometheus.process.returncode}")
    try:
        with urllib.request.urlopen(f"{prometheus.url}/-/ready", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def run_to_the_end(plans: Path, results_dir: Path, host: str, address: ExporterAddress, scenario: str) -> FinishedRun:
    """A run of `scenario` whose exporter is behind `address`, to its end."""
    directory, output, exporter_port = results_dir / scenario, results_dir.parent / f"{scenario}.out", free_port()
    address.point_at(exporter_port)
    started = time.time()
    run = start_run(plans, directory, host, exporter_port, output, scenario)
    try:
        run.wait(timeout=RUN_DEADLINE_S)
    finally:
        stop(run)
    assert run.returncode == 0, output.read_text()
    (run_dir,) = [p for p in directory.iterdir() if p.is_dir() and not p.is_symlink()]
    summary = json.loads((run_dir / "summary.json").read_text())
    users = CATALOGUE["suites"]["two-runs"]["scenarios"][scenario]["users"]
    return FinishedRun(run_dir.name, users, summary["totals"]["requests"], started, time.time())


@dataclass
class DashboardView:
    """The dashboard as Grafana would show it from `prometheus` over the time range start..end."""

    prometheus: Prometheus
    start: float
    end: float
    definition: dict[str, Any] = field(default_factory=load_dashboard)
    variables: dict[str, dict[str, Any]] = field(init=False)
    queries: dict[str, str] = field(init=False)
    builtins: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.variables = template_variables(self.definition)
        self.queries = {q.name: q.expr for q in panel_queries(self.definition)}
        self.builtins = {**GRAFANA_VARIABLES, "$__range": f"{math.ceil(self.end - self.start)}s"}

    def options(self, variable: str, picked: dict[str, str]) -> list[str]:
        return variable_options(
            self.prometheus.url, self.variables[variable], self.variables, picked, self.start, self.end, self.builtins
        )

    def panel(self, query: str, picked: dict[str, str]) -> list[tuple[float, float]]:
        """(time, value) of every series the query's range query returns, in one-second steps."""
        expr = render(self.queries[query], self.variables, picked, self.builtins)
        result = query_range(self.prometheus, expr, self.start, self.end)
        return sorted((float(t), float(v)) for series in result for t, v in series["values"])

    def instant(self, query: str, picked: dict[str, str]) -> list[dict[str, Any]]:
        expr = render(self.queries[query], self.variables, picked, self.builtins)
        result: list[dict[str, Any]] = api(self.prometheus, "query", query=expr, time=str(self.end))["result"]
        return result


@pytest.mark.integration
def test_two_runs_behind_one_exporter_address_are_told_apart(
    exporter_address: ExporterAddress, plans: Path, results_dir: Path, demo_target: DemoTarget
) -> None:
    """Two runs one after another with the same target labels (job, instance, namespace): only run_id
    tells them apart, and picking one in the Run variable shows that run's figures only."""
    small = run_to_the_end(plans, results_dir, demo_target.url, exporter_address, "small")
    large = run_to_the_end(plans, results_dir, demo_target.url, exporter_address, "large")
    assert large.requests > 3 * small.requests, "the runs are too alike to tell a sum from one run"
    # The last scrape of the large run is in: Prometheus has its final request count.
    total = f'sum(max_over_time(loadcluster_requests_total{{run_id="{large.run_id}"}}[5m]))'
    wait_until(lambda: exporter_address.prometheus.value(total) == large.requests, 15, "the last scrape")
    view = DashboardView(exporter_address.prometheus, small.started - 5, time.time())
    for run in (small, large):  # the same target labels for both
        (series,) = view.prometheus.query(f'loadcluster_run_info{{run_id="{run.run_id}"}}[1h]')
        assert {k: series["metric"][k] for k in ("job", "instance", "namespace")} == TARGET_LABELS

    # The variables as Grafana fills them for this time range: the newest run first, and picked.
    assert view.options("namespace", {}) == [NAMESPACE]
    for namespace in (ALL, NAMESPACE):
        assert view.options("run", {"namespace": namespace}) == [large.run_id, small.run_id]
    assert default_value(view.variables["run"], view.options("run", {"namespace": ALL})) == large.run_id
    assert view.options("run", {"namespace": "elsewhere"}) == []

    assert_shows_only(view, small, {"namespace": NAMESPACE, "run": small.run_id})
    assert_shows_only(view, large, {"namespace": ALL, "run": large.run_id})


def assert_shows_only(view: DashboardView, run: FinishedRun, picked: dict[str, str]) -> None:
    """With `run` picked, the users and requests panels show its figures and none of the other run's."""
    users = view.panel("Users [A]", picked)
    assert max(v for _, v in users) == run.users, (run, users)  # 2 or 12: never the other run's, nor a sum
    assert all(run.started <= t <= run.ended + STALE_S for t, _ in users), run  # none of the other run's time
    assert {v for _, v in view.panel("Users [C]", picked)} == {run.users}, "only the run's own min_users SLO line"

    rps = view.panel("Requests per second [A]", picked)
    rate_window = float(GRAFANA_VARIABLES["$__rate_interval"].rstrip("s"))
    assert max(v for _, v in rps) > 0, run
    assert all(run.started <= t <= run.ended + STALE_S + rate_window for t, _ in rps), run
    # The Endpoints table over the whole range: the run's own requests, give or take: increase() starts
    # from a series' first sample (Locust's workers report every 3 s, so up to a report of requests is
    # not counted) and extrapolates half a scrape at each end. Both runs summed: over 4 times the small one.
    table = sum(float(row["value"][1]) for row in view.instant("Endpoints [A]", picked))
    assert 0.5 * run.requests <= table <= 1.15 * run.requests, (run, table)

    (shown,) = view.instant("Run [A]", picked)
    assert shown["metric"]["run_id"] == run.run_id, "the Run panel names the picked run, also once it has ended"
