"""The chart's rendered pods run for real, as Docker containers (tests/k8s_pods.py): a cluster in small.

The release `helm install loadtest ./helm` would create (rendered by the real Helm engine) is started
with the chart's own image, command, args, env, volumes, user and read-only root filesystem, each pod in
a network namespace of its own (the master's wait-for-target init container first, the exporter as its
native sidecar) and each Service's name resolving to its pods. What this proves: the pods as rendered
form a cluster that runs a scaled-down preset to its verdict: the master's exit code is the SLO gate's,
its log ends with the summary and the verdict, every worker exits 0 when the master quits it (the
release comes to rest), and while the run lasts the exporter answers on its Service name.

What it cannot show (see k8s_pods.py): scheduling, probes, limits, NetworkPolicy, restarts, Job
bookkeeping, and the API server. So with results.configMap.enabled the master here finds no in-cluster
configuration and its publish fails: the test shows that this costs one log line and never the
verdict. The ConfigMap write itself (replace, else create; the tar.gz under binaryData; the 1 MiB
fallback with `omitted`) is proven against a fake API server in tests/test_results_configmap.py; that
the ServiceAccount, Role and RoleBinding would authorize it is checked on the rendered RBAC in
tests/test_chart.py, not by any API server.

Skipped only when no Docker engine answers (CI starts one: see .ci/run). The image is built from this
checkout first when the source changed (`loadcluster image`, as `make image`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import k8s_pods
import pytest
from chart_render import render
from conftest import loadcluster

from loadcluster.runtimes.docker import engine_answers

ENGINE = engine_answers()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("heavy"),
    pytest.mark.skipif(ENGINE is None, reason="no Docker engine answers (`docker version` failed); CI starts dockerd"),
]

MASTER = "loadtest-loadcluster-master"
WORKERS = "loadtest-loadcluster-worker"
EXPORTER_METRICS = "http://loadtest-loadcluster-exporter:9646/metrics"
# customer-success smoke (10 users at 2/s, 1m) in 6 s; the master lingers 3 s for a last scrape.
SMOKE = {"scenario": "smoke", "timeScale": 0.1, "stopTimeout": 1, "master": {"statsLinger": 3}}
NO_CONFIG_MAP = {"results": {"configMap": {"enabled": False}}}
DEADLINE_S = 240
PUBLISH_FAILED = "could not publish the results as ConfigMap loadtest-loadcluster-results"

Start = Callable[[dict[str, Any]], k8s_pods.Release]


@pytest.fixture(scope="module")
def image() -> str:
    """The chart's image (loadcluster:<appVersion>), built from this checkout when the source changed."""
    image: str = render().master_job["spec"]["template"]["spec"]["containers"][0]["image"]
    done = loadcluster("image", env={"LOADCLUSTER_IMAGE": image}, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return image


@pytest.fixture
def cluster(image: str) -> Iterator[Start]:
    """Starts rendered releases; afterwards every container and network of theirs is gone."""
    started: list[k8s_pods.Release] = []

    def start(values: dict[str, Any]) -> k8s_pods.Release:
        release = k8s_pods.start(render(values).manifests)  # the chart's image, as a cluster pulls it
        started.append(release)
        return release

    yield start
    for release in started:
        release.remove()
    assert [release.leftovers() for release in started] == [([], [])] * len(started)


def assert_ends_with_the_verdict(release: k8s_pods.Release, verdict: str) -> str:
    master = release.pods[MASTER][0].main
    out = release.stdout(master).rstrip()
    assert out.endswith(f"Verdict: {verdict}"), release.logs(master)[-4000:]
    tail = out[-3000:]
    # The summary table, then the SLO table and the verdict.
    assert re.search(r"customer-success/smoke: 10 users over 2 workers", tail), tail
    assert "Endpoint" in tail and "Total" in tail and "SLO" in tail, tail
    return release.logs(master)


def assert_at_rest(release: k8s_pods.Release) -> None:
    """Every container of the Jobs has ended: nothing runs or loads after the run but the idle target."""
    for workload in (MASTER, WORKERS):
        for pod in release.pods[workload]:
            running = [c for c in pod.containers if release.running(c)]
            assert not running, f"{pod.name}: still running {running}"


def test_scaled_down_smoke_runs_to_its_verdict_and_the_release_comes_to_rest(cluster: Start) -> None:
    release = cluster({**SMOKE, **NO_CONFIG_MAP})
    assert len(release.pods[WORKERS]) == 2
    # While the run lasts, another pod of the cluster reads the exporter through its Service name.
    metrics = release.fetch(EXPORTER_METRICS, "loadcluster_users", deadline_s=120)
    assert release.running(release.pods[MASTER][0].main), "the master had ended: the exporter answered too late"
    assert "loadcluster_run_info" in metrics
    assert release.exit_code(MASTER, DEADLINE_S) == 0, release.logs(release.pods[MASTER][0].main)[-4000:]
    log = assert_ends_with_the_verdict(release, "PASSED")
    assert "could not publish" not in log, "results.configMap off: no API call"
    assert release.exit_codes(WORKERS, 60) == [0, 0]
    assert_at_rest(release)
    # The wait-for-target init container ran to completion before the master started.
    master_pod = release.pods[MASTER][0]
    assert "accepts connections" in release.logs(master_pod.init[0])


def test_slow_target_fails_the_slo_with_exit_code_3(cluster: Start) -> None:
    release = cluster({**SMOKE, "demoTarget": {"latencyMs": 600}})
    assert release.exit_code(MASTER, DEADLINE_S) == 3, release.logs(release.pods[MASTER][0].main)[-4000:]
    log = assert_ends_with_the_verdict(release, "FAILED")
    assert re.search(r"average response time \(ms\) <.*FAIL", log), log[-3000:]
    assert release.exit_codes(WORKERS, 60) == [0, 0]


def test_results_publish_without_an_api_server_costs_one_line_not_the_verdict(cluster: Start) -> None:
    rendered = render(SMOKE)
    assert rendered.master_env["LOADCLUSTER_RESULTS_CONFIGMAP"] == "loadtest-loadcluster-results"
    release = cluster(SMOKE)
    assert release.exit_code(MASTER, DEADLINE_S) == 0, release.logs(release.pods[MASTER][0].main)[-4000:]
    log = assert_ends_with_the_verdict(release, "PASSED")
    failed = [line for line in log.splitlines() if PUBLISH_FAILED in line]
    assert len(failed) == 1, log[-4000:]
    assert "they are in this log" in failed[0]
    assert release.exit_codes(WORKERS, 60) == [0, 0]
    assert_at_rest(release)


def test_a_target_that_never_answers_fails_the_master_pod_before_the_master_starts(cluster: Start) -> None:
    # A port nobody listens on, in the release's own network (its own master pod): no traffic leaves.
    release = cluster({**SMOKE, "host": "http://loadtest-loadcluster-master:8081", "targetWaitSeconds": 2})
    with pytest.raises(k8s_pods.PodFailed, match="init container wait-for-target exited 1") as failed:
        release.exit_code(MASTER, 60)
    assert "is unreachable: no TCP connection to loadtest-loadcluster-master:8081 within 2s" in str(failed.value)
    pod = release.pods[MASTER][0]
    assert k8s_pods.docker("ps", "-aq", "--filter", f"name=^{pod.main}$").stdout.strip() == "", "the master started"
    assert not [c for c in pod.sidecars if release.running(c)], "the pod is done: its sidecar was stopped"
