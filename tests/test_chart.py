"""The Helm chart (helm/), rendered by the real Helm engine: every preset of both suites equals the
CLI's own plan, every feature's ci/*-values.yaml renders, lints and validates against Kubernetes'
schemas, bad values are refused at install naming their key, every pod is locked down, and the
plain manifests in deploy/k8s are the chart's own rendering. No cluster is involved.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import subprocess
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import (
    CHART,
    INSTALL_HINT,
    REPO,
    Manifest,
    Rendered,
    catalogue,
    ci_values,
    component_of,
    container,
    containers,
    env_of,
    generator,
    helm,
    lint,
    pod_spec,
    presets,
    refusal,
    render,
    workloads,
)

from loadcluster import node, options
from loadcluster.plan import RunPlan, build_plan
from loadcluster.units import parse_duration

IN_IMAGE = "/opt/loadcluster/locust"
CI = ci_values()
PRESETS = presets()
# Values that use the shipped locustfiles, so the CLI can plan the same run.
SHIPPED_CI = [name for name, values in CI.items() if not values.get("locustfiles")]
CHART_TO_CLI = {
    "suite": "suite",
    "scenario": "scenario",
    "users": "users",
    "spawnRate": "spawn_rate",
    "duration": "duration",
    "timeScale": "time_scale",
    "workers": "workers",
    "stopTimeout": "stop_timeout",
    "tags": "tags",
    "excludeTags": "exclude_tags",
    "userClasses": "user_classes",
}
# activeDeadlineSeconds: the run's length and stop timeout, plus these waits (values.yaml) and a margin.
DEADLINE_PARTS = {"master.expectWorkersWait": 300, "targetWaitSeconds": 120, "master.statsLinger": 30, "margin": 600}


@pytest.fixture(scope="module")
def default() -> Rendered:
    return render()


# --- the plan: the chart and `loadcluster run` agree ---------------------------------------------


def cli_plan(values: Mapping[str, Any], host: str) -> RunPlan:
    """The plan `loadcluster run` builds for the chart's `values` (flags given as a person types them)."""
    given = {"host": host}
    merged = {**yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8")), **values}
    for key, flag in CHART_TO_CLI.items():
        value = merged.get(key)
        if value not in (None, ""):
            given[flag] = ",".join(value) if isinstance(value, list) else str(value)
    return build_plan(options.settings(options.Verb.RUN, given, {}))


def master_plan(rendered: Rendered, locust_dir: Path = REPO / "locust") -> RunPlan:
    """The plan the rendered master builds from its environment, with the locustfiles at `locust_dir`."""
    return node.master_plan(relocated(rendered.master_env, locust_dir))


def relocated(env: Mapping[str, str], locust_dir: Path) -> dict[str, str]:
    return {key: value.replace(IN_IMAGE, str(locust_dir)) for key, value in env.items()}


def assert_same_run(rendered: Rendered, plan: RunPlan) -> None:
    """Workers, users, spawn rate, duration, time scale and host as the CLI planned them."""
    env, workers = rendered.master_env, rendered.worker_job["spec"]
    assert workers["parallelism"] == workers["completions"] == plan.workers
    assert env["LOADCLUSTER_WORKERS"] == str(plan.workers)
    assert int(env["LOADCLUSTER_USERS"]) == plan.users
    assert float(env["LOADCLUSTER_SPAWN_RATE"]) == plan.spawn_rate
    assert parse_duration(env["LOADCLUSTER_DURATION"]) == plan.base_duration_s
    assert float(env.get("LOADCLUSTER_TIME_SCALE", "1")) == plan.time_scale
    assert env["LOADCLUSTER_HOST"] == plan.host
    assert env.get("LOADCLUSTER_SUITE") in (plan.suite, None)


@pytest.mark.parametrize(("suite", "scenario"), PRESETS, ids=[f"{s}-{n}" for s, n in PRESETS])
def test_every_preset_renders_the_run_the_cli_plans(suite: str, scenario: str) -> None:
    rendered = render({"suite": suite, "scenario": scenario})
    plan = cli_plan({"suite": suite, "scenario": scenario}, rendered.master_env["LOADCLUSTER_HOST"])
    assert_same_run(rendered, plan)
    assert rendered.master_env["LOADCLUSTER_SCENARIO"] == scenario
    # The master, given only its environment, builds exactly the CLI's plan.
    assert dataclasses.replace(master_plan(rendered), results_root=plan.results_root) == plan
    assert_worker_loads_the_suite(rendered, plan)
    assert_deadline_covers_the_run(rendered, plan)


def assert_worker_loads_the_suite(rendered: Rendered, plan: RunPlan) -> None:
    argv = node.worker_argv(relocated(rendered.worker_env, REPO / "locust"))
    assert argv[argv.index("-f") + 1] == plan.locustfiles.locust_arg
    assert argv[argv.index("--master-host") + 1] == rendered.one("Service", "master")["metadata"]["name"]
    master_argv = node.master_argv(plan, rendered.master_env)
    assert master_argv[master_argv.index("--expect-workers") + 1] == str(rendered.worker_job["spec"]["parallelism"])


def assert_deadline_covers_the_run(rendered: Rendered, plan: RunPlan) -> None:
    waits = sum(DEADLINE_PARTS.values())
    expected = math.ceil(plan.duration_s + plan.stop_timeout_s + waits)
    assert rendered.master_job["spec"]["activeDeadlineSeconds"] == expected
    assert rendered.worker_job["spec"]["activeDeadlineSeconds"] == expected


def test_no_preset_asks_a_worker_to_start_more_than_100_users_a_second() -> None:
    for suite, scenario in PRESETS:
        rendered = render({"suite": suite, "scenario": scenario})
        rate = float(rendered.master_env["LOADCLUSTER_SPAWN_RATE"]) / rendered.worker_job["spec"]["parallelism"]
        assert rate <= 100, f"{suite} {scenario}: {rate}/s per worker"
        assert "WARNING" not in rendered.notes


@pytest.mark.parametrize(
    "values",
    [
        {"scenario": "peak"},  # no suite: the one suite that has it
        {"scenario": "stress"},  # in both: the first suite's
        {"scenario": "", "users": 75, "duration": "10m"},  # ad hoc: spawn rate users/10, 2 workers
        {"scenario": "", "suite": "agent-mitra", "users": 1000, "duration": 90},
        {"scenario": "spike", "users": 2000, "spawnRate": 450},  # 5 workers for 450/s
        {"scenario": "smoke", "users": 3, "spawnRate": 1000},  # never more workers than users
        {"scenario": "smoke", "workers": 3, "timeScale": 0.5, "stopTimeout": 0},
        {"scenario": "basic", "suite": "agent-mitra", "userClasses": "SuperAdminUser,JuniorAgentUser"},
        {"scenario": "smoke", "users": "40", "spawnRate": "7.5", "duration": "1h30m", "workers": "4"},
    ],
    ids=lambda v: ",".join(f"{k}={v[k]}" for k in v),
)
def test_overrides_render_the_run_the_cli_plans(values: dict[str, Any]) -> None:
    rendered = render(values)
    plan = cli_plan(values, rendered.master_env["LOADCLUSTER_HOST"])
    assert_same_run(rendered, plan)
    assert dataclasses.replace(master_plan(rendered), results_root=plan.results_root) == plan


@pytest.mark.parametrize("name", SHIPPED_CI)
def test_ci_values_render_the_run_the_cli_plans(name: str) -> None:
    values = CI[name]
    rendered = render(values)
    plan = cli_plan(values, rendered.master_env["LOADCLUSTER_HOST"])
    assert_same_run(rendered, plan)
    assert dataclasses.replace(master_plan(rendered), results_root=plan.results_root) == plan


def test_too_few_workers_for_the_spawn_rate_is_pointed_out() -> None:
    notes = render({"scenario": "spike", "workers": 1}).notes
    assert "WARNING: each worker is asked to start 200 users a second" in notes


# --- your own locustfiles ------------------------------------------------------------------------


def materialize(rendered: Rendered, directory: Path) -> Path:
    """The chart's locustfiles ConfigMap as the directory the pods see."""
    for name, content in _locustfiles_config_map(rendered)["data"].items():
        (directory / name).write_text(content, encoding="utf-8")
    return directory


def _locustfiles_config_map(rendered: Rendered) -> Manifest:
    found = [m for m in rendered.kind("ConfigMap") if m["metadata"]["name"].endswith("-locustfiles")]
    assert len(found) == 1
    return found[0]


def test_own_locustfile_runs_ad_hoc_as_the_cli_would(tmp_path: Path) -> None:
    values = CI["own-locustfile"]
    rendered = render(values)
    directory = materialize(rendered, tmp_path)
    env = rendered.master_env
    assert env["LOADCLUSTER_LOCUSTFILE"] == f"{IN_IMAGE}/shop.py"  # the helper _paths.py is no locustfile
    assert "LOADCLUSTER_SCENARIO" not in env and "LOADCLUSTER_SUITE" not in env
    assert env["LOADCLUSTER_TAGS"] == "checkout"
    plan = master_plan(rendered, directory)
    cli = build_plan(options.settings(options.Verb.RUN, {"locustfile": str(directory / "shop.py"), "users": "20",
                     "duration": "2m", "host": values["host"], "tags": "checkout"}, {}))  # fmt: skip
    assert dataclasses.replace(plan, results_root=cli.results_root) == cli
    assert rendered.worker_env["LOADCLUSTER_LOCUSTFILE"] == env["LOADCLUSTER_LOCUSTFILE"]
    assert not rendered.kind("Deployment"), "no demo target for your own locustfiles"


def test_own_catalogue_presets_are_read_from_the_files(tmp_path: Path) -> None:
    rendered = render(CI["own-catalogue"])
    directory = materialize(rendered, tmp_path)
    plan = master_plan(rendered, directory)
    assert (plan.suite, plan.scenario, plan.users, plan.spawn_rate, plan.workers) == ("shop", "soak", 40, 4, 3)
    assert rendered.worker_job["spec"]["parallelism"] == 3
    assert rendered.master_env["LOADCLUSTER_LOCUSTFILE"] == IN_IMAGE
    assert rendered.worker_env["LOADCLUSTER_LOCUSTFILE"] == f"{IN_IMAGE}/shop.py"


def test_locustfiles_are_mounted_read_only_over_the_image_copy_and_roll_the_pods() -> None:
    rendered = render(CI["own-locustfile"])
    name = _locustfiles_config_map(rendered)["metadata"]["name"]
    for job in (rendered.master_job, rendered.worker_job):
        volume = next(v for v in pod_spec(job)["volumes"] if v["name"] == "locustfiles")
        assert volume["configMap"]["name"] == name
        mounts = container(job, component_of(job) or "").get("volumeMounts", [])
        assert {"name": "locustfiles", "mountPath": IN_IMAGE, "readOnly": True} in mounts
    checksum = rendered.master_job["spec"]["template"]["metadata"]["annotations"]["checksum/locustfiles"]
    assert rendered.worker_job["spec"]["template"]["metadata"]["annotations"]["checksum/locustfiles"] == checksum
    changed = json.loads(json.dumps(CI["own-locustfile"]))
    changed["locustfiles"]["files"]["shop.py"] += "\n# changed\n"
    annotations = render(changed).master_job["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/locustfiles"] != checksum


def test_existing_config_map_is_mounted_with_the_named_locustfile() -> None:
    rendered = render(CI["existing-configmap"])
    assert not rendered.kind("ConfigMap")
    assert rendered.master_env["LOADCLUSTER_LOCUSTFILE"] == f"{IN_IMAGE}/shop.py"
    assert rendered.worker_env["LOADCLUSTER_LOCUSTFILE"] == f"{IN_IMAGE}/shop.py"
    volume = next(v for v in pod_spec(rendered.worker_job)["volumes"] if v["name"] == "locustfiles")
    assert volume["configMap"]["name"] == "shop-tests"


# --- refused at install, naming the key -----------------------------------------------------------

SCHEMA_REFUSALS = [
    ({"scenario": "spkie"}, "/scenario"),
    ({"suite": "customer-sucess"}, "/suite"),
    ({"suite": "agent-mitra", "scenario": "spike"}, "/scenario"),
    ({"users": 0}, "/users"),
    ({"users": -5}, "/users"),
    ({"users": "ten"}, "/users"),
    ({"users": 1.5}, "/users"),
    ({"workers": 0}, "/workers"),
    ({"workers": "0"}, "/workers"),
    ({"spawnRate": 0}, "/spawnRate"),
    ({"spawnRate": "-1"}, "/spawnRate"),
    ({"timeScale": 0}, "/timeScale"),
    ({"duration": "5x"}, "/duration"),
    ({"duration": "5 minutes"}, "/duration"),
    ({"duration": -30}, "/duration"),
    ({"host": "ftp://files.example.com"}, "/host"),
    ({"host": "staging.example.com"}, "/host"),
    ({"host": "http://"}, "/host"),
    ({"stopTimeout": -1}, "/stopTimeout"),
    ({"image": {"tag": "latest"}}, "/image/tag"),
    ({"image": {"digest": "sha256:abc"}}, "/image/digest"),
    ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ({"scenarios": "stress"}, "'scenarios' not allowed"),
    ({"master": {"expectWorkersWiat": 10}}, "'expectWorkersWiat' not allowed"),
    ({"demoTarget": {"errorRate": 2}}, "/demoTarget/errorRate"),
    ({"extraEnv": {"BAD-NAME": "x"}}, "/extraEnv"),
    ({"locustfiles": {"files": {"dir/a.py": "x"}}}, "/locustfiles/files"),
    ({"targetSecret": {"existingSecret": "s", "keys": {"PASSWORD": ""}}}, "/targetSecret/keys/PASSWORD"),
    ({"locustfiles": {"locustfile": "dir/shop.py"}}, "/locustfiles/locustfile"),
]


@pytest.mark.parametrize(("values", "named"), SCHEMA_REFUSALS, ids=[str(v) for v, _ in SCHEMA_REFUSALS])
def test_schema_refuses_bad_values_naming_the_key(values: dict[str, Any], named: str) -> None:
    message = refusal(values)
    assert "values don't meet the specifications of the schema" in message
    assert named in message, message


TEMPLATE_REFUSALS = [
    ({"workers": 20}, ["workers 20 is more than users 10"]),
    ({"duration": "0s"}, ["duration '0s' is not a duration"]),
    ({"duration": "10s", "timeScale": 0.05}, ["duration 10s at timeScale 0.05 is under 1s"]),
    ({"scenario": ""}, ["users is required for an ad-hoc run"]),
    ({"scenario": "", "users": 10}, ["duration is required for an ad-hoc run"]),
    ({"ui": {"enabled": True}}, ["ui.enabled", "login"]),
    (
        {"locustfiles": {"files": {"a.py": "x"}, "existingConfigMap": "mine"}},
        ["locustfiles.files", "locustfiles.existingConfigMap", "both set"],
    ),
    (
        {"scenario": "", "users": 5, "duration": 60, "locustfiles": {"files": {"a.py": "x" * (1024 * 1024 + 1)}}},
        ["locustfiles.files", "too large for a ConfigMap"],
    ),
    ({"locustfiles": {"files": {"a.py": "x"}}}, ["locustfiles.files has no scenarios.yaml", 'scenario=""']),
    ({"scenario": "", "users": 5, "duration": 60, "locustfiles": {"files": {"README.md": "x"}}}, ["no .py file"]),
    ({"locustfiles": {"existingConfigMap": "mine"}}, ["workers is required", "locustfiles.existingConfigMap"]),
    ({"workers": 2, "locustfiles": {"existingConfigMap": "mine"}}, ["locustfiles.locustfile is required"]),
    ({"locustfiles": {"locustfile": "a.py"}}, ["locustfiles.locustfile", "without locustfiles.existingConfigMap"]),
    ({"targetSecret": {"keys": {"PASSWORD": "password"}}}, ["targetSecret.keys", "targetSecret.existingSecret"]),
    ({"serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}}, ["serviceMonitor.enabled", "podMonitor"]),
    ({"serviceMonitor": {"enabled": True}, "exporter": {"enabled": False}}, ["exporter.enabled"]),
    (
        {"suite": "shop", "scenario": "soak", "locustfiles": {"files": {"scenarios.yaml": "suites: {}", "a.py": "x"}}},
        ["suite 'shop' is not in the scenario catalogue"],
    ),
]


@pytest.mark.parametrize(("values", "named"), TEMPLATE_REFUSALS, ids=[str(n[0]) for _, n in TEMPLATE_REFUSALS])
def test_bad_combinations_fail_naming_the_keys(values: dict[str, Any], named: list[str]) -> None:
    message = refusal(values)
    assert "execution error" in message
    for part in named:
        assert part in message, message


def test_schema_names_are_the_catalogues() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    suites = catalogue()["suites"]
    shipped = schema["else"]["properties"]
    assert shipped["suite"]["enum"] == ["", *suites]
    assert sorted(shipped["scenario"]["enum"]) == sorted(
        {"", *(s for body in suites.values() for s in body["scenarios"])}
    )
    per_suite = {rule["if"]["properties"]["suite"]["const"]: rule["then"]["properties"]["scenario"]["enum"]
                 for rule in schema["else"]["allOf"]}  # fmt: skip
    assert per_suite == {name: ["", *body["scenarios"]] for name, body in suites.items()}


def test_every_value_is_documented_where_it_is_defined() -> None:
    lines = (CHART / "values.yaml").read_text(encoding="utf-8").splitlines()
    undocumented = []
    for number, line in enumerate(lines):
        if re.match(r"^( {2})?[A-Za-z]\w*:", line) and not lines[number - 1].lstrip().startswith("#"):
            undocumented.append(line.strip())
    assert not undocumented, f"values.yaml keys without a comment above them: {undocumented}"


# --- lint and Kubernetes' own schemas -------------------------------------------------------------


LINTED = {**{f"ci/{n}": v for n, v in CI.items()}, **{f"{s}-{n}": {"suite": s, "scenario": n} for s, n in PRESETS}}


@pytest.mark.parametrize("name", list(LINTED))
def test_lint_is_clean(name: str) -> None:
    report = lint(LINTED[name])
    assert not report["errors"], report
    assert not [m for m in report["messages"] if m["severity"] >= 2], report


def kubernetes_validate() -> Any:
    try:
        import kubernetes_validate
    except ImportError as exc:
        raise AssertionError(f"kubernetes-validate is missing: {INSTALL_HINT}") from exc
    return kubernetes_validate


CRD_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}


@pytest.mark.parametrize("name", list(CI))
def test_manifests_validate_against_kubernetes_1_29_and_the_newest(name: str) -> None:
    validator = kubernetes_validate()
    newest = validator.utils.latest_version()
    without_schema = set()
    for manifest in render(CI[name]).manifests:
        for version in ("1.29.0", newest):
            try:
                validator.validate(manifest, version, strict=True)
            except validator.SchemaNotFoundError:
                without_schema.add(manifest["kind"])
            except validator.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path)
                pytest.fail(f"{manifest['kind']} {manifest['metadata']['name']} on {version}: {where}: {exc.message}")
    # Only the Prometheus Operator's CRDs have no schema there: said, and checked by
    # test_monitoring_resources_carry_the_repositorys_files instead.
    assert without_schema <= CRD_KINDS, without_schema
    if without_schema:
        warnings.warn(f"kubernetes-validate has no schema for {sorted(without_schema)}: not validated", stacklevel=1)


# --- the master and the workers -------------------------------------------------------------------


def test_master_is_one_attempt_that_ends_with_the_verdict(default: Rendered) -> None:
    job = default.master_job
    assert job["spec"]["backoffLimit"] == 0
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert container(job, "master")["args"] == ["master"]
    env = default.master_env
    assert env["LOADCLUSTER_RESULTS"] == "/opt/loadcluster/results"
    assert (env["LOADCLUSTER_MASTER_BIND_HOST"], env["LOADCLUSTER_MASTER_PORT"]) == ("*", "5557")
    assert (env["LOADCLUSTER_STATS_PORT"], env["LOADCLUSTER_STATS_LINGER"]) == ("8090", "30")
    assert env["LOADCLUSTER_NODE_RUNTIME"] == "kubernetes"  # in the summary, for `compare`
    assert env["LOADCLUSTER_EXPECT_WORKERS_WAIT"] == "300"
    assert set(env) <= {o.env for o in options.OPTIONS}, "every variable is one of loadcluster's options"


def test_exporter_is_a_native_sidecar_of_the_master(default: Rendered) -> None:
    spec = pod_spec(default.master_job)
    exporter = next(c for c in spec["initContainers"] if c["name"] == "exporter")
    assert exporter["restartPolicy"] == "Always"
    assert exporter["args"] == ["exporter", "--master-url", "http://127.0.0.1:8090", "--port", "9646"]
    assert [c["name"] for c in spec["containers"]] == ["master"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["kubeVersion"] == ">=1.29.0-0"
    assert "native sidecar" in (CHART / "Chart.yaml").read_text(encoding="utf-8")
    service = default.one("Service", "exporter")
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "master"
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"


def test_master_waits_for_the_target_before_the_run(default: Rendered) -> None:
    wait = container(default.master_job, "wait-for-target")
    assert wait["args"][1:] == [default.master_env["LOADCLUSTER_HOST"], "120"]
    assert [c["name"] for c in pod_spec(default.master_job)["initContainers"]][0] == "wait-for-target"


def test_workers_are_an_indexed_job_that_comes_to_rest(default: Rendered) -> None:
    job = default.worker_job
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == int(default.master_env["LOADCLUSTER_WORKERS"])
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert spec["backoffLimitPerIndex"] == 1
    assert spec["podFailurePolicy"]["rules"][0]["action"] == "Ignore"
    worker = container(job, "worker")
    assert worker["args"] == ["worker"]
    assert set(env_of(worker)) == {"LOADCLUSTER_LOCUSTFILE", "LOADCLUSTER_MASTER_HOST", "LOADCLUSTER_MASTER_PORT"}
    assert default.worker_env["LOADCLUSTER_MASTER_HOST"] == default.one("Service", "master")["metadata"]["name"]
    # The only long-running workload is the idle demo target: nothing restarts or loads after the run.
    assert [component_of(d) for d in default.kind("Deployment")] == ["target"]


def test_workers_spread_over_nodes_by_their_own_labels(default: Rendered) -> None:
    spread = pod_spec(default.worker_job)["topologySpreadConstraints"]
    assert spread[0]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "worker"


def test_demo_target_only_without_a_host() -> None:
    with_host = render({"host": "https://staging.example.com/"})
    assert not with_host.kind("Deployment") and not [
        s for s in with_host.kind("Service") if component_of(s) == "target"
    ]
    assert with_host.master_env["LOADCLUSTER_HOST"] == "https://staging.example.com"
    target = render().one("Deployment", "target")
    assert container(target, "target")["args"] == ["target", "--bind", "0.0.0.0", "--port", "8080"]
    assert container(target, "target")["readinessProbe"]["httpGet"]["path"] == "/_target/stats"


def test_target_credentials_come_from_the_secret_as_env_never_args() -> None:
    rendered = render(CI["agent-mitra-peak"])
    for job in (rendered.master_job, rendered.worker_job):
        env = container(job, component_of(job) or "")["env"]
        password = next(e for e in env if e["name"] == "AGENT_MITRA_PASSWORD")
        assert password["valueFrom"]["secretKeyRef"] == {"name": "agent-mitra-credentials", "key": "password"}
    whole = render({"targetSecret": {"existingSecret": "creds"}})
    assert container(whole.worker_job, "worker")["envFrom"] == [{"secretRef": {"name": "creds"}}]
    assert "agent-mitra-credentials" not in json.dumps([c.get("args") for c in containers(rendered.master_job)])


def results_config_map_enabled(values: Mapping[str, Any]) -> bool:
    return bool(values.get("results", {}).get("configMap", {}).get("enabled", True))


def test_results_go_to_an_empty_dir_or_the_claim(default: Rendered) -> None:
    volumes = {v["name"]: v for v in pod_spec(default.master_job)["volumes"]}
    assert "emptyDir" in volumes["results"]
    claimed = {v["name"]: v for v in pod_spec(render(CI["override"]).master_job)["volumes"]}
    assert claimed["results"]["persistentVolumeClaim"]["claimName"] == "loadcluster-results"


# --- results as a ConfigMap: the master's own identity, and nothing more ----------------------------

RESULTS = "loadtest-loadcluster-results"
MASTER = "loadtest-loadcluster-master"
API_KINDS = ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
NO_CONFIG_MAP = {"results": {"configMap": {"enabled": False}}}


def api_objects(rendered: Rendered) -> dict[tuple[str, str], Manifest]:
    return {(m["kind"], m["metadata"]["name"]): m for m in rendered.manifests if m["kind"] in API_KINDS}


def test_results_config_map_is_on_by_default_and_documented() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert values["results"] == {"existingClaim": "", "configMap": {"enabled": True}}
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    documented = text[text.index("\nresults:") : text.index("    enabled: true", text.index("\nresults:"))]
    for said in ("<fullname>-results", "omitted", "1 MiB", "create configmaps", "get/update/patch", "6443"):
        assert said in documented, said


def test_master_publishes_its_results_with_its_own_service_account(default: Rendered) -> None:
    assert default.master_env["LOADCLUSTER_RESULTS_CONFIGMAP"] == RESULTS
    assert "LOADCLUSTER_RESULTS_CONFIGMAP" not in default.worker_env
    spec = pod_spec(default.master_job)
    assert (spec["serviceAccountName"], spec["automountServiceAccountToken"]) == (MASTER, True)
    objects = api_objects(default)
    assert set(objects) == {
        ("ServiceAccount", "loadtest-loadcluster"),  # the other pods': no token, no binding
        ("ServiceAccount", MASTER),
        ("Role", MASTER),
        ("RoleBinding", MASTER),
    }
    # The ServiceAccount itself mounts nothing: the master's pod asks for the token explicitly.
    assert objects["ServiceAccount", MASTER]["automountServiceAccountToken"] is False
    binding = objects["RoleBinding", MASTER]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": MASTER}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": MASTER, "namespace": "load"}]
    # Only the master runs as it.
    others = [w for w in workloads(default) if component_of(w) != "master"]
    assert others and all(pod_spec(w)["serviceAccountName"] == "loadtest-loadcluster" for w in others)
    assert all(pod_spec(w)["automountServiceAccountToken"] is False for w in others)


def test_master_role_allows_exactly_publishing_the_results(default: Rendered) -> None:
    role = api_objects(default)["Role", MASTER]
    assert role["metadata"]["namespace"] == "load", "a Role, never a ClusterRole"
    assert role["rules"] == [
        # create cannot be limited by name: the object does not exist when it is authorized
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [RESULTS],
            "verbs": ["get", "update", "patch"],
        },
    ]


def test_results_config_map_off_means_no_identity_no_token_no_env() -> None:
    rendered = render(NO_CONFIG_MAP)
    assert set(api_objects(rendered)) == {("ServiceAccount", "loadtest-loadcluster")}
    assert "LOADCLUSTER_RESULTS_CONFIGMAP" not in rendered.master_env
    for workload in workloads(rendered):
        spec = pod_spec(workload)
        assert (spec["serviceAccountName"], spec["automountServiceAccountToken"]) == ("loadtest-loadcluster", False)
    assert "CKV_K8S_38" not in json.dumps(rendered.master_job["metadata"]["annotations"])
    assert "get configmap" not in rendered.notes
    assert "set results.configMap.enabled or results.existingClaim" in rendered.notes


def test_results_config_map_name_follows_the_release() -> None:
    rendered = render({"fullnameOverride": "nightly"}, release="ci-42")
    assert rendered.master_env["LOADCLUSTER_RESULTS_CONFIGMAP"] == "nightly-results"
    role = api_objects(rendered)["Role", "nightly-master"]
    assert role["rules"][1]["resourceNames"] == ["nightly-results"]
    assert pod_spec(rendered.master_job)["serviceAccountName"] == "nightly-master"


def test_master_egress_to_the_api_server_is_not_blocked(default: Rendered) -> None:
    # The master's NetworkPolicy restricts ingress only, so its way to the API server is open; a policy
    # that restricted egress would have to let it reach kubernetes.default.svc (443, or 6443).
    master = next(p for p in default.kind("NetworkPolicy") if component_of(p) == "master")
    assert master["spec"]["policyTypes"] == ["Ingress"] and "egress" not in master["spec"]
    assert "API server" in (CHART / "templates" / "master-networkpolicy.yaml").read_text(encoding="utf-8")


def test_notes_say_how_to_fetch_the_results(default: Rendered) -> None:
    fetch = (
        "kubectl -n load get configmap loadtest-loadcluster-results"
        " -o jsonpath='{.binaryData.results\\.tar\\.gz}' | base64 -d | tar xz"
    )
    assert fetch in default.notes
    assert "'omitted' key lists the files left out to fit a ConfigMap's 1 MiB" in default.notes


def test_the_token_on_the_master_is_a_justified_checkov_skip(default: Rendered) -> None:
    annotations = default.master_job["metadata"]["annotations"]
    skips = {v.split("=", 1)[0]: v.split("=", 1)[1] for k, v in annotations.items() if k.startswith("checkov.io/skip")}
    assert "CKV_K8S_38" in skips and RESULTS in skips["CKV_K8S_38"]
    for workload in workloads(default):
        if component_of(workload) != "master":
            assert "CKV_K8S_38" not in json.dumps(workload["metadata"].get("annotations", {}))


# --- security, names, images ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CI))
def test_every_pod_is_locked_down(name: str) -> None:
    rendered = render(CI[name])
    publishes = results_config_map_enabled(CI[name])
    for workload in workloads(rendered):
        spec = pod_spec(workload)
        what = workload["metadata"]["name"]
        # A token only where the API is used: the master publishing its results (results.configMap).
        token = publishes and component_of(workload) == "master"
        assert spec["automountServiceAccountToken"] is token, what
        pod = spec["securityContext"]
        assert (pod["runAsNonRoot"], pod["runAsUser"], pod["seccompProfile"]) == (
            True, 10001, {"type": "RuntimeDefault"}
        ), what  # fmt: skip
        tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for each in containers(workload):
            assert_container_locked_down(each, tmp, f"{what}/{each['name']}")


def assert_container_locked_down(each: Manifest, empty_dirs: set[str], what: str) -> None:
    security = each["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001, what
    assert security["readOnlyRootFilesystem"] is True, what
    assert security["allowPrivilegeEscalation"] is False, what
    assert security["capabilities"] == {"drop": ["ALL"]}, what
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}, what
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(each["resources"][bound]), what
    assert any(m["mountPath"] == "/tmp" and m["name"] in empty_dirs for m in each["volumeMounts"]), what


def test_network_policies_let_only_workers_reach_the_master(default: Rendered) -> None:
    policies = {component_of(p): p["spec"] for p in default.kind("NetworkPolicy")}
    master = policies["master"]
    assert master["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "master"
    zmq, metrics = master["ingress"]
    assert [p["port"] for p in zmq["ports"]] == ["zmq"]
    assert [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in zmq["from"]] == ["worker"]
    assert [p["port"] for p in metrics["ports"]] == ["metrics"] and "from" not in metrics
    ports = {p["name"]: p["containerPort"] for c in containers(default.master_job) for p in c.get("ports", [])}
    assert (ports["zmq"], ports["metrics"], ports["stats"]) == (5557, 9646, 8090)  # 8090: in no rule
    assert policies["worker"] == {**policies["worker"], "policyTypes": ["Ingress"], "ingress": []}
    target = policies["target"]["ingress"][0]
    assert {p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in target["from"]} == {
        "worker", "master", "test"
    }  # fmt: skip
    assert not render({"networkPolicy": {"enabled": False}}).kind("NetworkPolicy")


def test_scraping_can_be_limited_to_prometheus() -> None:
    rendered = render(CI["monitoring"])
    master = next(p for p in rendered.kind("NetworkPolicy") if component_of(p) == "master")
    sources = master["spec"]["ingress"][1]["from"]
    assert sources[0] == CI["monitoring"]["networkPolicy"]["metricsFrom"]["prometheus"]
    assert sources[1]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "test"


def test_image_is_the_app_version_or_a_digest(default: Rendered) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == version
    images = {c["image"] for w in workloads(default) for c in containers(w)}
    assert images == {f"loadcluster:{version}"}
    pinned = render(CI["override"])
    digest = CI["override"]["image"]["digest"]
    assert {c["image"] for w in workloads(pinned) for c in containers(w)} == {
        f"registry.example.com/loadcluster:{version}@{digest}"
    }


def test_names_fit_63_characters_and_labels_name_the_component() -> None:
    rendered = render(release="a-very-long-release-name-for-a-load-test-of-the-staging-env")
    for manifest in rendered.manifests:
        assert len(manifest["metadata"]["name"]) <= 63, manifest["metadata"]["name"]
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "loadcluster"
        assert labels["app.kubernetes.io/instance"].startswith("a-very-long")
    assert len(rendered.worker_job["metadata"]["name"]) <= 58, "room for the Indexed Job's -<index>"
    assert {component_of(w) for w in workloads(rendered)} == {"master", "worker", "target", "test"}
    assert component_of(rendered.one("Service", "exporter")) == "exporter"


def test_every_workload_selects_by_name_instance_and_component(default: Rendered) -> None:
    selectors = [d["spec"]["selector"]["matchLabels"] for d in default.kind("Deployment")]
    selectors += [s["spec"]["selector"] for s in default.kind("Service")]
    for selector in selectors:
        assert set(selector) == {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}


# --- monitoring, the linked files, NOTES, helm test ----------------------------------------------


def test_monitoring_resources_carry_the_repositorys_files() -> None:
    rendered = render(CI["monitoring"])
    rule = rendered.kind("PrometheusRule")[0]
    assert rule["spec"] == yaml.safe_load((REPO / "deploy/prometheus/alerts.yml").read_text(encoding="utf-8"))
    dashboard = rendered.kind("ConfigMap")[0]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["metadata"]["namespace"] == "monitoring"
    assert json.loads(dashboard["data"]["loadcluster.json"]) == json.loads(
        (REPO / "deploy/grafana/dashboards/loadcluster.json").read_text(encoding="utf-8")
    )
    monitor = rendered.kind("ServiceMonitor")[0]["spec"]
    assert monitor["selector"]["matchLabels"]["app.kubernetes.io/component"] == "exporter"
    assert monitor["endpoints"][0]["relabelings"][0] == {
        "action": "replace",
        "targetLabel": "job",
        "replacement": "loadcluster",
    }
    pod_monitor = render(CI["podmonitor"]).kind("PodMonitor")[0]["spec"]
    assert pod_monitor["podMetricsEndpoints"][0]["port"] == "metrics"
    # The exporter's `endpoint` label must win over the Operator's (the port name).
    assert monitor["endpoints"][0]["honorLabels"] is True
    assert pod_monitor["podMetricsEndpoints"][0]["honorLabels"] is True
    assert not [m for m in render().manifests if m["kind"] in CRD_KINDS]


@pytest.mark.parametrize(
    ("link", "original"),
    [
        ("files/scenarios.yaml", "locust/scenarios.yaml"),
        ("files/alerts.yml", "deploy/prometheus/alerts.yml"),
        ("files/loadcluster.json", "deploy/grafana/dashboards/loadcluster.json"),
    ],
)
def test_chart_files_are_links_to_the_one_copy(link: str, original: str) -> None:
    path = CHART / link
    assert path.is_symlink(), f"{link} must be a link, not a copy"
    assert path.resolve() == (REPO / original).resolve()
    assert path.read_bytes() == (REPO / original).read_bytes()


def test_a_packaged_chart_keeps_the_linked_files(tmp_path: Path) -> None:
    archive = helm().package(str(CHART), destination=str(tmp_path))
    with helm().Chart.load(archive) as packaged:
        files = {f["name"]: f["data"] for f in packaged.files}
        rendered = packaged.render(values={"scenario": "spike"}, name="loadtest", namespace="load")
    assert "files/scenarios.yaml" in files and "generate_k8s.py" not in files
    master = Rendered(rendered).master_env
    assert (master["LOADCLUSTER_SCENARIO"], master["LOADCLUSTER_WORKERS"]) == ("spike", "4")


def test_notes_say_what_to_run_next(default: Rendered) -> None:
    notes = default.notes
    for command in (
        "kubectl -n load logs -f job/loadtest-loadcluster-master -c master",
        "kubectl -n load wait job/loadtest-loadcluster-master --for=jsonpath=",
        "kubectl -n load port-forward svc/loadtest-loadcluster-exporter 9646:9646",
        "helm test loadtest -n load",
        "helm uninstall loadtest -n load",
    ):
        assert command in notes


def test_helm_test_checks_the_exporter_and_the_target(default: Rendered) -> None:
    pod = default.one("Pod", "test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert "http://loadtest-loadcluster-exporter:9646/metrics" in pod["spec"]["containers"][0]["args"]
    assert "http://loadtest-loadcluster-target:8080/_target/stats" in pod["spec"]["containers"][0]["args"]


# --- plain manifests: deploy/k8s ------------------------------------------------------------------


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("k8s")
    generator().generate(out)
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_deploy_k8s_is_generated_from_the_chart(regenerated: Path) -> None:
    committed = tree(REPO / "deploy" / "k8s")
    assert committed == tree(regenerated), "deploy/k8s is out of date with the chart: run `make k8s`"
    assert {p.split("/")[1] for p in committed if p.startswith("overlays/")} == {f"{s}-{n}" for s, n in PRESETS}


def kubectl_kustomize(directory: Path) -> list[Manifest]:
    if not shutil.which("kubectl"):
        pytest.fail("kubectl is missing: install kubectl (1.27 or newer), which builds kustomizations offline")
    done = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.mark.parametrize(("suite", "scenario"), PRESETS, ids=[f"{s}-{n}" for s, n in PRESETS])
def test_every_overlay_builds_the_charts_rendering(suite: str, scenario: str) -> None:
    built = kubectl_kustomize(REPO / "deploy" / "k8s" / "overlays" / f"{suite}-{scenario}")
    gen = generator()
    expected = [
        doc for text in gen.render({"suite": suite, "scenario": scenario}).values() for doc in gen.documents(text)
    ]
    key = lambda m: (m["kind"], m["metadata"]["name"])  # noqa: E731
    assert sorted(built, key=key) == sorted(expected, key=key)


# --- checkov --------------------------------------------------------------------------------------

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def test_checkov_finds_nothing_unjustified(tmp_path: Path) -> None:
    if not CHECKOV.exists():
        pytest.skip("checkov has its own virtualenv (its pins clash with ours): run make checkov-venv")
    files = []
    for name, values in CI.items():
        rendered = render(values).files
        path = tmp_path / f"{name}.yaml"
        path.write_text("\n---\n".join(rendered[p] for p in sorted(rendered) if p.endswith(".yaml")), encoding="utf-8")
        files += ["-f", str(path)]
    done = checkov(*files)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def checkov(*files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECKOV), *files, "--framework", "kubernetes", "--compact", "--quiet", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_masters_token_is_the_one_new_checkov_finding_and_it_is_skipped(tmp_path: Path) -> None:
    """Without its justified skip, checkov flags exactly the master's token mount: the skip is needed."""
    if not CHECKOV.exists():
        pytest.skip("checkov has its own virtualenv (its pins clash with ours): run make checkov-venv")
    rendered = render().files
    text = "\n---\n".join(rendered[p] for p in sorted(rendered) if p.endswith(".yaml"))
    unskipped, count = re.subn(r'\n +checkov\.io/skip\d+: "CKV_K8S_38=[^\n]*', "", text)
    assert count == 1, "one CKV_K8S_38 skip, on the master Job"
    path = tmp_path / "unskipped.yaml"
    path.write_text(unskipped, encoding="utf-8")
    done = checkov("-f", str(path))
    failed = re.findall(r"Check: (CKV\w+):.*\n\s*FAILED for resource: (\S+)", done.stdout)
    assert failed == [("CKV_K8S_38", "Job.load.loadtest-loadcluster-master")], done.stdout[-3000:]
