"""A tuned worker is the same worker to a user's code: cookies work, every request is counted.

The jar's shortcut is checked against the standard CookieJar on the same exchanges (no Locust, no
network); the end-to-end test runs real workers against a 127.0.0.1 server that sets a session cookie
and refuses requests without it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from email.message import Message
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from conftest import loadcluster
from counting_server import BackgroundServer, KeepAliveHandler
from own_plan import only_summary

from loadcluster.cookies import QuickCookieJar

URL = "http://shop.test/cart"


class _Response:
    """What a jar reads of a response: its headers, through info()."""

    def __init__(self, *set_cookies: str) -> None:
        self.headers = Message()
        for value in set_cookies:
            self.headers["Set-Cookie"] = value

    def info(self) -> Message:
        return self.headers


def _exchanges(jar: CookieJar, responses: list[_Response]) -> list[str | None]:
    """The Cookie header sent with each request, each followed by its response."""
    sent = []
    for response in responses:
        request = urllib.request.Request(URL)
        jar.add_cookie_header(request)
        sent.append(request.get_header("Cookie"))
        jar.extract_cookies(response, request)  # type: ignore[arg-type]
    return sent


@pytest.mark.parametrize(
    "responses",
    [
        [_Response(), _Response(), _Response()],
        [_Response(), _Response("session=abc; Path=/"), _Response(), _Response("session=def; Path=/"), _Response()],
        [_Response("a=1; Path=/"), _Response("b=2; Path=/cart"), _Response()],
        [_Response("gone=1; Path=/"), _Response("gone=1; Path=/; Max-Age=0"), _Response()],
        [_Response("other=1; Domain=elsewhere.test; Path=/"), _Response()],
    ],
    ids=["never-a-cookie", "session-replaced", "two-paths", "expired", "refused-domain"],
)
def test_quick_jar_sends_what_the_standard_jar_sends(responses: list[_Response]) -> None:
    assert _exchanges(QuickCookieJar(), responses) == _exchanges(CookieJar(), responses)


PARSER_DEFAULTS_CHECK = """
import locust.argument_parser as parser
original = parser.default_args_dict
from loadcluster.worker_tuning import tune_worker
tune_worker()
first = parser.default_args_dict()
assert parser.default_args_dict is not original, "not replaced"
assert first == original(), "different defaults"
first["host"] = "changed"
assert parser.default_args_dict()["host"] != "changed", "callers share one dict"
print("ok")
"""


def test_the_spawn_time_parser_defaults_are_computed_once_and_unchanged() -> None:
    """In a child process: importing Locust patches this one with gevent."""
    done = subprocess.run([sys.executable, "-c", PARSER_DEFAULTS_CHECK], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


class _SessionServer(BackgroundServer):
    """POST /login sets a session cookie; GET /orders answers 401 without it. Counts both."""

    def __init__(self) -> None:
        self.counts = {"login": 0, "orders": 0, "refused": 0}
        self._lock = threading.Lock()
        counts, lock = self.counts, self._lock

        class Handler(KeepAliveHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    counts["login"] += 1
                self.reply(200, b"", ("Set-Cookie", "session=s3cret; Path=/"))

            def do_GET(self) -> None:  # noqa: N802
                allowed = "session=s3cret" in (self.headers.get("Cookie") or "")
                with lock:
                    counts["orders" if allowed else "refused"] += 1
                self.reply(200 if allowed else 401)

        super().__init__(Handler)


@pytest.fixture
def session_server() -> Iterator[_SessionServer]:
    server = _SessionServer().start()
    yield server
    server.close()


LOGIN_PLAN = """\
from locust import FastHttpUser, constant, task


class Shopper(FastHttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        self.client.post("/login")

    @task
    def orders(self):
        # The jar must be the tuned one (the tuning is active), and hold the session cookie.
        with self.client.get("/orders", catch_response=True) as response:
            if type(self.client.cookiejar).__name__ != "QuickCookieJar":
                response.failure("the worker's cookie jar is not loadcluster's")
"""


@pytest.mark.integration
@pytest.mark.xdist_group("heavy")
def test_a_session_cookie_works_on_tuned_workers(
    tmp_path: Path, session_server: _SessionServer, results_dir: Path
) -> None:
    plan = tmp_path / "login.py"
    plan.write_text(LOGIN_PLAN)
    done = loadcluster(
        "run", "--locustfile", str(plan), "--host", session_server.url, "--users", "4", "--spawn-rate", "4",
        "--duration", "3s", "--workers", "2", "--stop-timeout", "1", "--results", str(results_dir),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    totals = only_summary(results_dir)["totals"]
    assert session_server.counts["refused"] == 0 and totals["failures"] == 0
    assert session_server.counts["login"] == 4 and session_server.counts["orders"] > 0
    assert totals["requests"] == session_server.counts["login"] + session_server.counts["orders"]
