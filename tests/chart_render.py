"""The Helm chart (helm/) rendered by the real Helm engine, and what tests read from the result.

helm-python-sdk bundles Helm's Go SDK: `render()` is `helm template` (schema validation included), so
a value the schema or a template refuses raises here exactly as `helm install` would refuse it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "helm"
RELEASE = "loadtest"
NAMESPACE = "load"
INSTALL_HINT = "pip install -e '.[dev]' (make install-dev)"

Manifest = dict[str, Any]


def helm() -> ModuleType:
    """helm_python, or a failure that says how to install it (never a silent skip)."""
    try:
        import helm_python
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise AssertionError(f"helm-python-sdk is missing, the chart cannot be rendered: {INSTALL_HINT}") from exc
    helm_python.disable_logging()
    return helm_python


@dataclass(frozen=True)
class Rendered:
    """A rendered release: template path -> text, and its Kubernetes objects."""

    files: Mapping[str, str]

    @property
    def manifests(self) -> list[Manifest]:
        return [
            doc
            for path, text in sorted(self.files.items())
            if path.endswith(".yaml")
            for doc in yaml.safe_load_all(text)
            if doc
        ]

    @property
    def notes(self) -> str:
        return next(text for path, text in self.files.items() if path.endswith("NOTES.txt"))

    def kind(self, kind: str) -> list[Manifest]:
        return [m for m in self.manifests if m["kind"] == kind]

    def one(self, kind: str, component: str) -> Manifest:
        found = [m for m in self.kind(kind) if component_of(m) == component]
        assert len(found) == 1, f"expected one {kind} of component {component}, found {len(found)}"
        return found[0]

    @property
    def master_job(self) -> Manifest:
        return self.one("Job", "master")

    @property
    def worker_job(self) -> Manifest:
        return self.one("Job", "worker")

    @property
    def master_env(self) -> dict[str, str]:
        return env_of(container(self.master_job, "master"))

    @property
    def worker_env(self) -> dict[str, str]:
        return env_of(container(self.worker_job, "worker"))


def render(values: Mapping[str, Any] | None = None, *, release: str = RELEASE, namespace: str = NAMESPACE) -> Rendered:
    with _chart() as chart:
        return Rendered(chart.render(values=dict(values or {}), name=release, namespace=namespace))


def refusal(values: Mapping[str, Any]) -> str:
    """The message Helm refuses `values` with; AssertionError when it renders."""
    try:
        render(values)
    except helm().HelmError as exc:
        return str(exc)
    raise AssertionError(f"the chart rendered values it should refuse: {str(dict(values))[:300]}")


def lint(values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    report: dict[str, Any] = helm().lint(str(CHART), dict(values or {}), strict=True, namespace=NAMESPACE)
    return report


def _chart() -> Any:
    return helm().Chart.load(str(CHART))


def ci_values() -> dict[str, dict[str, Any]]:
    """helm/ci/<feature>-values.yaml by feature name."""
    return {
        path.name.removesuffix("-values.yaml"): yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for path in sorted((CHART / "ci").glob("*-values.yaml"))
    }


@cache
def catalogue() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "locust" / "scenarios.yaml").read_text(encoding="utf-8"))
    return document


def presets() -> list[tuple[str, str]]:
    """(suite, scenario) for every scenario of every suite of the shipped catalogue."""
    return [(suite, name) for suite, body in catalogue()["suites"].items() for name in body["scenarios"]]


def component_of(manifest: Manifest) -> str | None:
    labels = manifest.get("metadata", {}).get("labels", {})
    component: str | None = labels.get("app.kubernetes.io/component")
    return component


def pod_spec(workload: Manifest) -> Manifest:
    if workload["kind"] == "Pod":
        spec: Manifest = workload["spec"]
        return spec
    template: Manifest = workload["spec"]["template"]["spec"]
    return template


def containers(workload: Manifest) -> Iterator[Manifest]:
    """Every container of a workload's pod: init containers (sidecars included) and containers."""
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def container(workload: Manifest, name: str) -> Manifest:
    found = [c for c in containers(workload) if c["name"] == name]
    assert found, f"{workload['metadata']['name']} has no container {name}"
    return found[0]


def env_of(container: Manifest) -> dict[str, str]:
    """The plain `value` variables of a container (references are left out)."""
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def workloads(rendered: Rendered) -> list[Manifest]:
    return [m for m in rendered.manifests if m["kind"] in ("Job", "Deployment", "Pod")]


@cache
def generator() -> ModuleType:
    """helm/generate_k8s.py as a module (helm/ is a chart, not a package)."""
    spec = importlib.util.spec_from_file_location("generate_k8s", CHART / "generate_k8s.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
