"""The Prometheus alert rules (checked and unit-tested by promtool) and the Grafana dashboard's structure.

That every dashboard query returns data from a real run is test_dashboards.py's job.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from dashboard_queries import (
    ALERT_RULES,
    ALERT_TESTS,
    DATASOURCE_UID,
    NAMESPACE_MATCHER,
    RUN_MATCHER,
    all_panels,
    annotation_queries,
    load_dashboard,
    panel_queries,
    range_function_windows,
)

EXPECTED_ALERTS = {
    "LoadclusterWorkerCpuSaturated",
    "LoadclusterWorkersMissing",
    "LoadclusterFailureRatioOverSlo",
    "LoadclusterP95OverSlo",
    "LoadclusterExporterDown",
}
# The exporter's metrics the dashboard must show (the contract in issue 3).
EXPORTER_METRICS = {
    "loadcluster_requests_total",
    "loadcluster_request_failures_total",
    "loadcluster_response_time_seconds_bucket",
    "loadcluster_response_time_seconds_sum",
    "loadcluster_response_time_seconds_count",
    "loadcluster_users",
    "loadcluster_class_users",
    "loadcluster_workers",
    "loadcluster_worker_cpu_ratio",
    "loadcluster_worker_memory_bytes",
    "loadcluster_worker_users",
    "loadcluster_current_rps",
    "loadcluster_current_failure_ratio",
    "loadcluster_run_info",
    "loadcluster_stage_info",
    "loadcluster_run_start_time_seconds",
    "loadcluster_stage_start_time_seconds",
    "loadcluster_runner_state",
    "loadcluster_slo_threshold",
    "loadcluster_exporter_scrape_errors_total",
    "loadcluster_exporter_scrape_duration_seconds",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (apt-get install -y prometheus); CI installs it")
    return path


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return load_dashboard()


def run_promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60, cwd=ALERT_RULES.parent)


# --- alert rules ---------------------------------------------------------------------------------


def test_promtool_check_rules_accepts_the_rules(promtool: str) -> None:
    result = run_promtool(promtool, "check", "rules", ALERT_RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool: str) -> None:
    result = run_promtool(promtool, "test", "rules", ALERT_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_severity_summary_description_and_a_firing_test() -> None:
    rules = [rule for group in yaml.safe_load(ALERT_RULES.read_text())["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} == EXPECTED_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
    cases = [case for test in yaml.safe_load(ALERT_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    quiet = {case["alertname"] for case in cases if not case["exp_alerts"]}
    assert firing == quiet == EXPECTED_ALERTS


# --- dashboard structure -------------------------------------------------------------------------


def test_dashboard_identity_and_datasource_variable(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "loadcluster-run"
    assert dashboard["schemaVersion"] >= 39
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


def test_panel_ids_are_unique(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in all_panels(dashboard)]
    assert len(ids) == len(set(ids)), sorted(ids)


def test_every_prometheus_query_uses_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    for panel in all_panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
    for annotation in dashboard["annotations"]["list"]:
        if "expr" in annotation:
            assert annotation["datasource"]["uid"] == DATASOURCE_UID, annotation["name"]


def test_every_rate_uses_rate_interval_and_no_window_is_hard_coded(dashboard: dict[str, Any]) -> None:
    queries = panel_queries(dashboard) + annotation_queries(dashboard)
    for query in queries:
        for function, argument in range_function_windows(query.expr):
            window = "[$__range]" if function == "increase" else "[$__rate_interval]"
            assert argument.endswith(window), f"{query.name}: {function}({argument})"
        windows = set(re.findall(r"\[([^\]]*)\]", query.expr))
        assert windows <= {"$__rate_interval", "$__range"}, f"{query.name}: {windows}"


def test_dashboard_shows_every_exporter_metric(dashboard: dict[str, Any]) -> None:
    text = " ".join(q.expr for q in panel_queries(dashboard) + annotation_queries(dashboard))
    missing = {metric for metric in EXPORTER_METRICS if metric not in text}
    assert not missing


def test_slo_lines_annotations_saturation_warning_and_target_row(dashboard: dict[str, Any]) -> None:
    slo_lines = {q.expr for q in panel_queries(dashboard) if q.expr.startswith("loadcluster_slo_threshold{")}
    for slo in ("avg_response_seconds", "p95_response_seconds", "failure_ratio", "min_rps", "min_users"):
        assert f'loadcluster_slo_threshold{{slo="{slo}", {NAMESPACE_MATCHER}, {RUN_MATCHER}}}' in slo_lines, slo
    assert {q.panel for q in annotation_queries(dashboard)} == {"Run start", "Stage change", "Run stop"}
    cpu = next(p for p in all_panels(dashboard) if p["title"] == "Worker CPU")
    assert "saturated" in cpu["description"] and "latencies" in cpu["description"]
    target_rows = [p for p in dashboard["panels"] if p["type"] == "row" and p["title"].startswith("Target")]
    assert len(target_rows) == 1 and target_rows[0]["collapsed"] and target_rows[0]["panels"]
    for panel in target_rows[0]["panels"]:
        assert "demo_target_" in panel["targets"][0]["expr"] and 'job="target"' in panel["targets"][0]["expr"]
