"""The Dockerfile, the Compose files and the runtime's choices, checked without a Docker engine."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO, loadcluster

from loadcluster import options, runtimes
from loadcluster.errors import ConfigError
from loadcluster.options import RuntimeName, Verb
from loadcluster.plan import RunPlan, build_plan
from loadcluster.runtimes import compose

COMPOSE_DIR = REPO / "deploy" / "compose"


def _yaml(name: str) -> dict:
    return yaml.safe_load((COMPOSE_DIR / name).read_text())


def test_compose_file_follows_the_spec_conventions() -> None:
    spec = _yaml("compose.yaml")
    assert "version" not in spec
    services = spec["services"]
    assert {"master", "worker", "exporter", "prometheus", "grafana"} <= set(services)
    for name, service in services.items():
        image = service["image"]
        tag = image.rsplit(":", 1)[-1]
        assert ":" in image and tag != "latest" and not tag.startswith("$"), f"{name}: unpinned image {image}"
    assert services["worker"]["depends_on"]["master"]["condition"] == "service_healthy"
    assert services["exporter"]["network_mode"] == "service:master"
    assert services["grafana"]["profiles"] == ["monitoring"]
    for name in ("master", "exporter", "prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name


def test_demo_target_is_an_override_the_master_waits_for() -> None:
    demo = _yaml("demo.yaml")["services"]
    assert demo["master"]["depends_on"]["target"]["condition"] == "service_healthy"
    assert "8080" in demo["target"]["healthcheck"]["test"][-1]


def test_every_node_gets_the_plan_document_and_where_the_master_is() -> None:
    environment = _yaml("compose.yaml")["x-node"]["environment"]
    names = {entry.split("=")[0] for entry in environment}
    assert {"LOADCLUSTER_PLAN", "LOADCLUSTER_LOCUSTFILE", "LOADCLUSTER_RUN_DIR", "LOADCLUSTER_MASTER_HOST"} <= names


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_prometheus_config_is_valid(tmp_path: Path) -> None:
    rules = REPO / "deploy" / "prometheus" / "alerts.yml"
    config = (COMPOSE_DIR / "prometheus.yml").read_text().replace("/etc/prometheus/rules/alerts.yml", str(rules))
    (tmp_path / "prometheus.yml").write_text(config)
    done = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_grafana_provisioning_points_at_the_shared_dashboards() -> None:
    grafana = _yaml("compose.yaml")["services"]["grafana"]
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in grafana["volumes"])
    provider = _yaml("grafana/provisioning/dashboards/loadcluster.yaml")["providers"][0]
    assert mounts["../grafana/dashboards"] == provider["options"]["path"]
    assert list((COMPOSE_DIR / "../grafana/dashboards").glob("*.json"))
    datasource = _yaml("grafana/provisioning/datasources/prometheus.yaml")["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"


def test_dockerfile_is_multi_stage_non_root_with_exec_entrypoint() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "ARG BASE_IMAGE=python:3.12-slim" in dockerfile
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) == 2
    assert "COPY --from=build /opt/venv /opt/venv" in dockerfile
    assert re.search(r"^USER loadcluster", dockerfile, re.MULTILINE)
    assert 'ENTRYPOINT ["loadcluster"]' in dockerfile
    assert "LOADCLUSTER_LOCUSTFILE=/opt/loadcluster/locust" in dockerfile


def _values(**raw: str) -> dict:
    return options.settings(Verb.RUN, raw, {})


def _plan(**raw: str) -> RunPlan:
    return build_plan(_values(**raw))


def test_runtime_is_named_or_chosen() -> None:
    assert runtimes.choose(_values(runtime="local"), _plan(scenario="smoke"))[0].name == RuntimeName.LOCAL
    assert runtimes.choose(_values(runtime="compose"), _plan(scenario="smoke"))[0].name == RuntimeName.COMPOSE
    runtime, reason = runtimes.choose(_values(), _plan(scenario="smoke", host="http://127.0.0.1:8000"))
    assert runtime.name == RuntimeName.LOCAL and "loopback" in reason


def test_auto_falls_back_to_local_when_no_engine_answers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    runtime, reason = runtimes.choose(_values(), _plan(scenario="smoke"))
    assert (runtime.name, reason) == (RuntimeName.LOCAL, "no Docker engine answers")


def test_loopback_hosts_are_refused_for_containers() -> None:
    with pytest.raises(ConfigError, match="loopback, which containers cannot reach: use --runtime local"):
        compose.check_host_for_containers("http://localhost:8000")
    compose.check_host_for_containers("https://staging.example.com")
    compose.check_host_for_containers(None)


def test_the_plan_is_relocated_for_the_containers(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(
        "from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self): ...\n"
    )
    plan = _plan(locustfile=str(tmp_path / "mine.py"), users="2", duration="5s", host="http://shop:8000")
    seen = plan.relocated(compose.IN_IMAGE_LOCUST, compose.IN_IMAGE_RESULTS)
    assert seen.locustfiles.locust_arg == "/opt/loadcluster/locust/mine.py"
    assert seen.results_root == Path("/opt/loadcluster/results")
    assert RunPlan.from_document(seen.to_document()) == seen


def test_a_published_port_in_use_is_refused() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} \\(prometheus port\\) is already in use"):
            compose.published_ports(_values(prometheus_port=str(port)), ["prometheus_port"])


def test_the_network_override_puts_the_project_on_an_existing_network(tmp_path: Path) -> None:
    override = yaml.safe_load(compose.network_override("shop-net", tmp_path).read_text())
    assert override == {"networks": {"default": {"name": "shop-net", "external": True}}}


def test_bad_input_starts_nothing_and_says_why() -> None:
    cases = {
        ("--workers", "0"): "workers",
        ("--workers", "-1"): "workers",
        ("--workers", "abc"): "workers",
        ("--scenario", "spkie"): "did you mean 'spike'",
        ("--host", "not-a-url"): "is not an http(s) URL",
    }
    for extra, expected in cases.items():
        args = ["run", *(["--scenario", "smoke"] if "--scenario" not in extra else []), *extra]
        done = loadcluster(*args, env={"LOADCLUSTER_RUNTIME": "compose"}, timeout=60)
        assert done.returncode == 2, (extra, done.stdout, done.stderr)
        assert expected in done.stderr and done.stderr.startswith("Error: "), (extra, done.stderr)
        assert "starting Compose project" not in done.stdout


def test_a_daemon_that_does_not_answer_is_named_with_the_way_out(tmp_path: Path) -> None:
    env = {"LOADCLUSTER_RUNTIME": "compose", "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    done = loadcluster("run", "--scenario", "smoke", env=env, timeout=60)
    assert done.returncode == 2
    # Without a docker client at all the message says so instead; either way it names the way out.
    assert "--runtime local" in done.stderr and "Docker" in done.stderr, done.stderr
    if shutil.which("docker"):
        assert "engine does not answer" in done.stderr
