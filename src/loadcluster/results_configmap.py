"""A master in a Kubernetes pod hands its results back as a ConfigMap, so they outlive the pod.

A Job's pod is gone, or cannot be exec'd into, once the run has ended; a ConfigMap needs no storage
set up beforehand and is read with one command:

    kubectl get configmap NAME -o jsonpath='{.binaryData.results\\.tar\\.gz}' | base64 -d | tar xz

The run directory goes in as one gzipped tar. A ConfigMap holds at most 1 MiB, so when the archive is
larger the biggest optional files are left out, largest first (the HTML report, the stats history),
and the ConfigMap's `omitted` key says which: summary.json and junit.xml always fit.
"""

from __future__ import annotations

import io
import logging
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ARCHIVE_KEY = "results.tar.gz"
OMITTED_KEY = "omitted"
# The API server refuses a ConfigMap over 1 MiB; leave room for keys and metadata.
MAX_ARCHIVE_BYTES = 1024 * 1024 - 16 * 1024
ESSENTIAL = frozenset({"summary.json", "junit.xml"})
NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def archive(run_dir: Path, limit: int = MAX_ARCHIVE_BYTES) -> tuple[bytes, list[str]]:
    """The run directory as tar.gz under `limit` bytes, and the files left out to get there."""
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    optional = sorted((p for p in files if p.name not in ESSENTIAL), key=lambda p: p.stat().st_size, reverse=True)
    omitted: list[Path] = []
    while True:
        data = _tar_gz((p for p in files if p not in omitted), run_dir)
        if len(data) <= limit or len(omitted) == len(optional):
            return data, [str(p.relative_to(run_dir)) for p in omitted]
        omitted.append(optional[len(omitted)])


def _tar_gz(files: Iterable[Path], root: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in files:
            tar.add(path, arcname=str(Path(root.name) / path.relative_to(root)))
    return buffer.getvalue()


def publish(run_dir: Path, name: str, api: Any = None, namespace: str | None = None) -> None:
    """Create or replace ConfigMap `name` with the run's results (in-cluster credentials by default)."""
    import base64

    from kubernetes import client, config

    if api is None:
        config.load_incluster_config()
        api = client.CoreV1Api()
    namespace = namespace or NAMESPACE_FILE.read_text(encoding="utf-8").strip()
    data, omitted = archive(run_dir)
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels={"app.kubernetes.io/component": "results"}),
        binary_data={ARCHIVE_KEY: base64.b64encode(data).decode()},
        data={OMITTED_KEY: "\n".join(omitted)},
    )
    try:
        api.replace_namespaced_config_map(name, namespace, body)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        api.create_namespaced_config_map(namespace, body)
    left_out = f"; left out to fit 1 MiB: {', '.join(omitted)}" if omitted else ""
    logger.info("results published as ConfigMap %s/%s (%d bytes)%s", namespace, name, len(data), left_out)
