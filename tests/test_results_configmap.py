"""Results handed back as a ConfigMap, against a FAKE Kubernetes API server.

No kube-apiserver can run on these machines, so a small HTTP server here answers the two calls the
master makes (replace, then create when the ConfigMap does not exist yet) the way the API does. The
archive itself, and the 1 MiB fallback, are real.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from counting_server import BackgroundServer, KeepAliveHandler
from kubernetes import client

from loadcluster.results_configmap import ARCHIVE_KEY, OMITTED_KEY, archive, publish


class FakeConfigMaps(BackgroundServer):
    """Just enough of /api/v1/namespaces/NS/configmaps[/NAME] for create and replace."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[str] = []
        fake = self

        class Handler(KeepAliveHandler):
            def _body(self) -> dict[str, Any]:
                return dict(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                self.reply(status, json.dumps(body).encode())

            def do_PUT(self) -> None:  # replace
                namespace, name = self.path.split("/")[4], self.path.split("/")[6]
                body = self._body()  # read whatever the answer: the connection is kept alive
                fake.calls.append(f"PUT {name}")
                if (namespace, name) not in fake.stored:
                    self._answer(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
                    return
                fake.stored[namespace, name] = body
                self._answer(200, fake.stored[namespace, name])

            def do_POST(self) -> None:  # create
                namespace, body = self.path.split("/")[4], self._body()
                fake.calls.append(f"POST {body['metadata']['name']}")
                fake.stored[namespace, body["metadata"]["name"]] = body
                self._answer(201, body)

        super().__init__(Handler)

    def api(self) -> client.CoreV1Api:
        configuration = client.Configuration(host=self.url)
        return client.CoreV1Api(client.ApiClient(configuration))


@pytest.fixture
def fake_api() -> Iterator[FakeConfigMaps]:
    fake = FakeConfigMaps().start()
    yield fake
    fake.close()


def run_dir(tmp_path: Path, report_bytes: bytes = b"<html>report</html>") -> Path:
    directory = tmp_path / "customer-success-smoke-20261125T120000Z"
    (directory / "logs").mkdir(parents=True)
    (directory / "summary.json").write_text('{"schema": 1}')
    (directory / "junit.xml").write_text("<testsuite/>")
    (directory / "report.html").write_bytes(report_bytes)
    (directory / "logs" / "master.log").write_text("master log\n")
    return directory


def unpacked(archive_bytes: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_results_are_created_then_replaced_and_read_back_whole(tmp_path: Path, fake_api: FakeConfigMaps) -> None:
    directory = run_dir(tmp_path)
    publish(directory, "loadtest-results", api=fake_api.api(), namespace="load")
    publish(directory, "loadtest-results", api=fake_api.api(), namespace="load")
    assert fake_api.calls == ["PUT loadtest-results", "POST loadtest-results", "PUT loadtest-results"]
    stored = fake_api.stored["load", "loadtest-results"]
    files = unpacked(base64.b64decode(stored["binaryData"][ARCHIVE_KEY]))
    name = directory.name
    assert files[f"{name}/summary.json"] == b'{"schema": 1}'
    assert files[f"{name}/logs/master.log"] == b"master log\n"
    assert stored["data"][OMITTED_KEY] == ""


def test_past_the_configmap_limit_the_largest_optional_files_are_left_out_and_named(tmp_path: Path) -> None:
    directory = run_dir(tmp_path, report_bytes=os.urandom(200_000))  # random bytes do not compress
    data, omitted = archive(directory, limit=100_000)
    assert omitted == ["report.html"] and len(data) <= 100_000
    assert {"summary.json", "junit.xml"} <= {Path(n).name for n in unpacked(data)}
    data, omitted = archive(directory)
    assert omitted == [] and "report.html" in {Path(n).name for n in unpacked(data)}
