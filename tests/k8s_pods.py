"""Rendered Kubernetes manifests run as real Docker containers: the next best thing to a cluster.

No Kubernetes API server can run on these machines, so this harness plays the kubelet and kube-proxy
for a rendered release, on one Docker network of its own (`Release.network`):

- Every pod of a Job (`parallelism` pods) or Deployment (`replicas`) becomes containers with the same
  image, command, args and env (values, Secret/ConfigMap references, envFrom; JOB_COMPLETION_INDEX and
  the Indexed Job hostname `<job>-<index>`), the same user and group, read-only root filesystem,
  dropped capabilities and no-new-privileges.
- The pod's network namespace: a tiny "pause" container (the same image, `sleep infinity`, as the
  kubelet's own pause container) is started first for every pod; it holds the pod's hostname and the
  network aliases, and every container of the pod joins it (`--network container:<pause>`). So init
  containers, native sidecars and the main container share 127.0.0.1 and the pod's Service names, as
  in a pod. (The alternative, init containers on the network with the pod's aliases, would give them
  another address than the main container's, and a Service name would resolve to both.)
- initContainers in their declared order: a plain one (no restartPolicy) runs to completion before
  anything after it starts, and a non-zero exit fails the pod (its main container never starts, as
  with restartPolicy Never); a native sidecar (restartPolicy Always) is started and left running.
  Then the main container (the first of `containers`). Each pod starts in a thread of its own, so one
  pod's init containers do not hold up the others (the master's wait-for-target runs while the
  workers start). When a Job pod's main container ends, its sidecars are stopped (SIGTERM, then
  SIGKILL after terminationGracePeriodSeconds) and its pause container removed: the pod is done.
- Each Service's name is a network alias of the pause container of every pod it selects.
- Volumes: an emptyDir is a directory under the release's scratch directory, chmod 0o777 and
  bind-mounted into every container of its pod that mounts it, so the non-root user (uid 10001) can
  write it (the engine's tmpfs `mode=` had no effect on Docker 20.10); a configMap volume is its files,
  mounted read-only.
- `Release.fetch` GETs a URL from a throwaway container on the network, polling until the body holds
  a text or a deadline passes: how another pod of the cluster would see a Service.

What it does not do: scheduling, nodes and placement; probes (readiness does not gate a Service's
alias: it resolves as soon as the pod exists), resource requests and limits, emptyDir sizeLimit,
fsGroup ownership (0o777 stands in for it); NetworkPolicy (every container reaches every other);
restarts (a Deployment's or a failed Job pod's container that exits stays exited) and Job bookkeeping
(backoffLimit, activeDeadlineSeconds, completions, podFailurePolicy, ttlSecondsAfterFinished);
PersistentVolumeClaims, Secret volumes and subPath mounts (refused); and the API server: no
ServiceAccount token is mounted and no KUBERNETES_SERVICE_* variable is set, so a container that calls
the API (the master publishing its results as a ConfigMap) finds no in-cluster configuration.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Manifest = dict[str, Any]
WORKLOAD_KINDS = ("Job", "Deployment")
LABEL = "loadcluster.k8s-pods"
PROBE = """
import sys, time, urllib.request
url, expected, deadline = sys.argv[1], sys.argv[2], time.monotonic() + float(sys.argv[3])
last = "no answer yet"
while time.monotonic() < deadline:
    try:
        body = urllib.request.urlopen(url, timeout=2).read().decode()
        if expected in body:
            print(body, end="")
            sys.exit(0)
        last = f"answered without {expected!r}"
    except OSError as exc:
        last = repr(exc)
    time.sleep(0.25)  # the poll's interval: the deadline bounds the wait
sys.exit(f"{url}: {last}")
"""


def docker(*args: str, check: bool = True, timeout: float | None = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


class PodFailed(AssertionError):
    """A pod that never ran its main container: an init container failed, or Docker refused one."""


@dataclass
class Pod:
    """One pod as containers: its pause container, init containers, sidecars and `main`."""

    workload: str
    name: str
    pause: str
    main: str
    terminal: bool  # a Job's pod (restartPolicy Never/OnFailure): it ends with its main container
    grace_s: int
    init: list[str] = field(default_factory=list)
    sidecars: list[str] = field(default_factory=list)
    exit_code: int | None = None
    failure: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def containers(self) -> list[str]:
        return [self.pause, *self.init, *self.sidecars, self.main]


@dataclass
class Release:
    """A rendered release started on Docker; `pods[workload name]` are its pods, index order."""

    network: str
    image: str
    pods: dict[str, list[Pod]]
    scratch: tempfile.TemporaryDirectory[str]
    removing: threading.Event = field(default_factory=threading.Event)

    def exit_code(self, workload: str, timeout: float) -> int:
        """Wait for the first pod of `workload` to be done; its main container's exit code."""
        return self._exit_code(self.pods[workload][0], timeout)

    def exit_codes(self, workload: str, timeout: float) -> list[int]:
        """Wait until every pod of `workload` is done; their main containers' exit codes."""
        deadline = time.monotonic() + timeout
        return [self._exit_code(pod, max(0.0, deadline - time.monotonic())) for pod in self.pods[workload]]

    def _exit_code(self, pod: Pod, timeout: float) -> int:
        if not pod.done.wait(timeout):
            raise AssertionError(f"pod {pod.name} still running after {timeout:g}s:\n{self.logs(pod.main)[-3000:]}")
        if pod.failure is not None or pod.exit_code is None:
            raise PodFailed(f"pod {pod.name}: {pod.failure}")
        return pod.exit_code

    def running(self, container: str) -> bool:
        done = docker("inspect", "-f", "{{.State.Running}}", container, check=False)
        return done.stdout.strip() == "true"

    def logs(self, container: str) -> str:
        """stdout then stderr (Docker keeps the two apart; within each, the order is the container's)."""
        done = docker("logs", container, check=False)
        return done.stdout + done.stderr

    def stdout(self, container: str) -> str:
        return docker("logs", container, check=False).stdout

    def fetch(self, url: str, expected: str, deadline_s: float) -> str:
        """GET `url` from a throwaway container on the release's network until the body holds `expected`."""
        name = f"{self.network}-probe-{secrets.token_hex(3)}"
        args = ["run", "--rm", "--name", name, "--label", f"{LABEL}={self.network}", "--network", self.network]
        args += ["--user", "10001:10001", "--read-only", "--cap-drop", "ALL", "--entrypoint", "python3", self.image]
        done = docker(*args, "-c", PROBE, url, expected, str(deadline_s), check=False, timeout=deadline_s + 60)
        assert done.returncode == 0, f"GET {url} from the network: {done.stderr.strip()[-1000:]}"
        return done.stdout

    def leftovers(self) -> tuple[list[str], list[str]]:
        """Containers (any state) and networks of this release that still exist."""
        containers = docker("ps", "-aq", "--filter", f"label={LABEL}={self.network}").stdout.split()
        networks = docker("network", "ls", "-q", "--filter", f"name=^{self.network}$").stdout.split()
        return containers, networks

    def remove(self) -> None:
        """Every container of the release (whatever its state) and its network; the scratch directory."""
        self.removing.set()  # no pod thread starts another container from now on
        self._remove_containers()
        # Removing a container ends its `docker wait`; once every pod's thread is done, nothing can appear.
        for pod in (pod for pods in self.pods.values() for pod in pods):
            pod.done.wait(60)
        self._remove_containers()
        docker("network", "rm", self.network, check=False)
        self.scratch.cleanup()

    def _remove_containers(self) -> None:
        every = docker("ps", "-aq", "--filter", f"label={LABEL}={self.network}", check=False).stdout.split()
        if every:
            docker("rm", "-f", *every, check=False)


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m.get("kind") == kind]


def start(manifests: list[Manifest], image_override: str | None = None) -> Release:
    """Start every Job and Deployment of `manifests`; each pod starts in a thread of its own."""
    network = f"loadcluster-k8s-{secrets.token_hex(4)}"
    workloads = [m for m in manifests if m.get("kind") in WORKLOAD_KINDS]
    assert workloads, "nothing to run: no Job or Deployment among the manifests"
    image = image_override or pod_containers(workloads[0]["spec"]["template"]["spec"])[0]["image"]
    docker("network", "create", "--label", f"{LABEL}={network}", network)
    release = Release(network, image, {}, tempfile.TemporaryDirectory(prefix="loadcluster-k8s-"))
    try:
        # Servers first, as a cluster tends to have them by the time their clients run.
        for workload in sorted(workloads, key=lambda m: m["kind"] != "Deployment"):
            release.pods[workload["metadata"]["name"]] = _start_workload(workload, manifests, release, image_override)
    except BaseException:
        release.remove()
        raise
    return release


def pod_containers(spec: Manifest) -> list[Manifest]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def _replicas(workload: Manifest) -> int:
    spec = workload["spec"]
    return int(spec.get("parallelism", 1) if workload["kind"] == "Job" else spec.get("replicas", 1))


def _start_workload(
    workload: Manifest, manifests: list[Manifest], release: Release, image_override: str | None
) -> list[Pod]:
    template = workload["spec"]["template"]
    labels = template["metadata"].get("labels", {})
    aliases = [
        s["metadata"]["name"]
        for s in by_kind(manifests, "Service")
        if s["spec"].get("selector") and _selects(s["spec"]["selector"], labels)
    ]
    name = workload["metadata"]["name"]
    indexed = workload["kind"] == "Job" and workload["spec"].get("completionMode") == "Indexed"
    pods = []
    for index in range(_replicas(workload)):
        pod_env = {"JOB_COMPLETION_INDEX": str(index)} if indexed else {}
        hostname = f"{name}-{index}" if indexed else f"{name}-{secrets.token_hex(3)}"
        pod = _pod(f"{release.network}-{name}-{index}", name, template["spec"], release, aliases, hostname)
        volumes = _volumes(template["spec"].get("volumes", []), manifests, Path(release.scratch.name) / pod.name)
        runner = _PodRunner(pod, template["spec"], manifests, release, volumes, pod_env, image_override)
        threading.Thread(target=runner.live, name=pod.name, daemon=True).start()
        pods.append(pod)
    return pods


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _pod(pod_name: str, workload: str, spec: Manifest, release: Release, aliases: list[str], hostname: str) -> Pod:
    """The pod, with its pause container started: the pod's network namespace, hostname and Service names."""
    terminal = spec.get("restartPolicy", "Always") != "Always"
    grace = int(spec.get("terminationGracePeriodSeconds", 30))
    pod = Pod(workload, pod_name, f"{pod_name}-pause", f"{pod_name}-{spec['containers'][0]['name']}", terminal, grace)
    network = ["--network", release.network, *[a for alias in aliases for a in ("--network-alias", alias)]]
    docker("run", "-d", "--name", pod.pause, "--label", f"{LABEL}={release.network}", *network,
           "--hostname", hostname[:63], "--user", "10001:10001", "--read-only", "--cap-drop", "ALL",
           "--security-opt", "no-new-privileges", "--entrypoint", "sleep", release.image, "infinity")  # fmt: skip
    return pod


@dataclass
class _PodRunner:
    """What the kubelet does for one pod, in order; runs in the pod's own thread."""

    pod: Pod
    spec: Manifest
    manifests: list[Manifest]
    release: Release
    volumes: dict[str, list[str]]
    pod_env: dict[str, str]
    image_override: str | None

    def live(self) -> None:
        pod = self.pod
        try:
            for init in self.spec.get("initContainers", []):
                container = f"{pod.name}-{init['name']}"
                if init.get("restartPolicy") == "Always":  # a native sidecar: started, left running
                    pod.sidecars.append(container)
                    self._run(container, init)
                    continue
                pod.init.append(container)
                self._run(container, init)
                code = _wait(container)
                if code != 0:
                    pod.failure = (
                        f"init container {init['name']} exited {code}:\n{self.release.logs(container)[-2000:]}"
                    )
                    self._end()
                    return
            self._run(pod.main, self.spec["containers"][0])
            pod.exit_code = _wait(pod.main)
            if pod.terminal:
                self._end()
        except Exception as exc:  # noqa: BLE001 - said by exit_codes(), and the teardown removes what started
            if not self.release.removing.is_set():
                pod.failure = f"{type(exc).__name__}: {exc} {getattr(exc, 'stderr', '') or ''}".strip()
        finally:
            pod.done.set()

    def _end(self) -> None:
        """A finished pod: its sidecars get SIGTERM (SIGKILL after the grace period), then the pause goes."""
        if self.pod.sidecars:
            docker("stop", "-t", str(self.pod.grace_s), *reversed(self.pod.sidecars), check=False,
                   timeout=self.pod.grace_s + 60)  # fmt: skip
        docker("rm", "-f", self.pod.pause, check=False)

    def _run(self, name: str, container: Manifest) -> None:
        if self.release.removing.is_set():
            raise RuntimeError("the release is being removed")
        security = {**self.spec.get("securityContext", {}), **container.get("securityContext", {})}
        args = ["run", "-d", "--name", name, "--label", f"{LABEL}={self.release.network}"]
        args += ["--network", f"container:{self.pod.pause}"]
        if "runAsUser" in security:
            args += ["--user", f"{security['runAsUser']}:{security.get('runAsGroup', security['runAsUser'])}"]
        if security.get("readOnlyRootFilesystem"):
            args.append("--read-only")
        if security.get("capabilities", {}).get("drop") == ["ALL"]:
            args += ["--cap-drop", "ALL"]
        if security.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        for key, value in {**self.pod_env, **_env(container, self.manifests, self.pod_env)}.items():
            args += ["-e", f"{key}={value}"]
        for mount in container.get("volumeMounts", []):
            if "subPath" in mount:
                raise AssertionError(f"subPath mounts are not supported by the harness: {mount}")
            for option in self.volumes[mount["name"]]:
                args.append(option.format(path=mount["mountPath"], ro=",readonly" if mount.get("readOnly") else ""))
        if container.get("command"):
            args += ["--entrypoint", container["command"][0]]
        image = self.image_override or container["image"]
        docker(*args, image, *container.get("command", [])[1:], *container.get("args", []))


def _wait(container: str) -> int:
    """The container's exit code once it has ended (no timeout: a pod lives as long as it lives)."""
    done = docker("wait", container, timeout=None)
    return int(done.stdout.strip())


def _env(container: Manifest, manifests: list[Manifest], pod_env: Mapping[str, str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "secretRef" in source:
            secret = _named(manifests, "Secret", source["secretRef"]["name"])
            env.update(
                {
                    prefix + k: _secret_value(secret, k)
                    for k in {**secret.get("data", {}), **secret.get("stringData", {})}
                }
            )
        elif "configMapRef" in source:
            data = _named(manifests, "ConfigMap", source["configMapRef"]["name"]).get("data", {})
            env.update({prefix + k: str(v) for k, v in data.items()})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "valueFrom" in item:
            env[item["name"]] = _reference(item["valueFrom"], manifests, pod_env)
    return env


def _secret_value(secret: Manifest, key: str) -> str:
    if key in secret.get("stringData", {}):
        return str(secret["stringData"][key])
    return base64.b64decode(secret["data"][key]).decode()


def _reference(source: Manifest, manifests: list[Manifest], pod_env: Mapping[str, str]) -> str:
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return _secret_value(_named(manifests, "Secret", ref["name"]), ref["key"])
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return str(_named(manifests, "ConfigMap", ref["name"])["data"][ref["key"]])
    path = source.get("fieldRef", {}).get("fieldPath", "")
    if "job-completion-index" in path and "JOB_COMPLETION_INDEX" in pod_env:
        return pod_env["JOB_COMPLETION_INDEX"]
    raise AssertionError(f"env source not supported by the harness: {json.dumps(source)}")


def _named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in by_kind(manifests, kind) if m["metadata"]["name"] == name]
    assert found, f"{kind} {name} is referenced but not among the manifests (the harness has no API server)"
    return found[0]


def _volumes(volumes: list[Manifest], manifests: list[Manifest], directory: Path) -> dict[str, list[str]]:
    """docker run options per volume name; {path} and {ro} are filled in per mount."""
    options: dict[str, list[str]] = {}
    for volume in volumes:
        name = volume["name"]
        files = directory / name
        files.mkdir(parents=True, exist_ok=True)
        if "emptyDir" in volume:
            # Writable by the pod's non-root user whatever its uid, as fsGroup makes an emptyDir.
            files.chmod(0o777)
            options[name] = ["--mount", f"type=bind,source={files},target={{path}}{{ro}}"]
        elif "configMap" in volume:
            data = _named(manifests, "ConfigMap", volume["configMap"]["name"]).get("data", {})
            for key, content in data.items():
                (files / key).write_text(content, encoding="utf-8")
                (files / key).chmod(0o644)
            files.chmod(0o755)
            # A configMap volume is read-only in a pod, whatever the mount says.
            options[name] = ["--mount", f"type=bind,source={files},target={{path}},readonly"]
        else:
            raise AssertionError(f"volume type not supported by the harness: {json.dumps(volume)}")
    return options
