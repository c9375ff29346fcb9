"""A user's own locustfile, end to end, against a server that is not the demo target.

The server is Python's http.server in a thread of the test, on 127.0.0.1, counting what it receives:
the summary's total must equal its count and every endpoint of the plan must be in the summary.
Runs are a few seconds long and stop by themselves.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import CountingServer, loadcluster, run_cli
from own_plan import ENDPOINTS, endpoints, only_summary, write_plan

pytestmark = pytest.mark.integration

SHORT = ["--stop-timeout", "1"]


def run_real(*args: str) -> tuple[int, str]:
    """The CLI in a child process: it starts real processes, and the test's server thread must not fork."""
    done = loadcluster(*args)
    return done.returncode, done.stdout + done.stderr


def test_single_file_ad_hoc_with_host(tmp_path: Path, counting_server: CountingServer, results_dir: Path) -> None:
    locustfile = write_plan(tmp_path / "plan")
    code, out = run_real(
        "run", "--locustfile", str(locustfile), "--users", "4", "--spawn-rate", "4", "--duration", "4s",
        "--workers", "2", "--host", counting_server.url, "--results", str(results_dir), *SHORT,
    )  # fmt: skip
    assert code == 0, out
    summary = only_summary(results_dir)
    assert summary["run"]["suite"] == "shop" and summary["run"]["scenario"] == "custom"
    assert summary["run"]["runtime"] == "local"  # `compare` tells runs on different runtimes apart
    assert summary["totals"]["requests"] == counting_server.total() > 0
    assert endpoints(summary) == ENDPOINTS
    assert (results_dir / "latest" / "summary.json").is_file()


def test_directory_with_its_own_catalogue_and_a_host_attribute(
    tmp_path: Path, counting_server: CountingServer, results_dir: Path
) -> None:
    """No --host: Locust's convention, the user classes' `host`, is the target."""
    write_plan(tmp_path / "plan", host=counting_server.url, catalogue=True)
    code, out = run_real("run", "--locustfile", str(tmp_path / "plan"), "--scenario", "quick",
                        "--results", str(results_dir), *SHORT)  # fmt: skip
    assert code == 0, out
    summary = only_summary(results_dir)
    assert (summary["run"]["suite"], summary["run"]["scenario"]) == ("shop", "quick")
    assert summary["run"]["host"] == counting_server.url
    assert summary["totals"]["requests"] == counting_server.total() > 0
    assert endpoints(summary) == ENDPOINTS


def test_directory_without_catalogue_with_tags_and_one_user_class(
    tmp_path: Path, counting_server: CountingServer, results_dir: Path
) -> None:
    """Locust's own selection passes through: only ShopUser, only its `browse` tasks."""
    write_plan(tmp_path / "plan")
    code, out = run_real(
        "run", "--locustfile", str(tmp_path / "plan"), "--users", "2", "--spawn-rate", "2", "--duration", "3s",
        "--host", counting_server.url, "--tags", "browse", "--results", str(results_dir), *SHORT, "ShopUser",
    )  # fmt: skip
    assert code == 0, out
    summary = only_summary(results_dir)
    assert endpoints(summary) == {"GET /shop/items"}
    assert summary["totals"]["requests"] == counting_server.total() == counting_server.count("/shop/items") > 0


def test_several_files(tmp_path: Path, counting_server: CountingServer, results_dir: Path) -> None:
    shop = write_plan(tmp_path / "plan")
    other = tmp_path / "plan" / "ping.py"
    other.write_text(textwrap.dedent("""\
        from locust import HttpUser, constant, task

        class PingUser(HttpUser):
            wait_time = constant(0.5)

            @task
            def ping(self):
                self.client.get("/ping")
        """))  # fmt: skip
    code, out = run_real(
        "run", "--locustfile", f"{shop},{other}", "--users", "3", "--spawn-rate", "3", "--duration", "3s",
        "--host", counting_server.url, "--results", str(results_dir), *SHORT,
    )  # fmt: skip
    assert code == 0, out
    summary = only_summary(results_dir)
    assert "GET /ping" in endpoints(summary)
    assert summary["totals"]["requests"] == counting_server.total()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("from locust import HttpUser\n\nclass Broken(HttpUser)\n    pass\n", "line 3: syntax error"),
        ("import no_such_module_here\n", "line 1: ModuleNotFoundError: No module named 'no_such_module_here'"),
        ("from locust import HttpUser\n\nclass Base(HttpUser):\n    abstract = True\n", "defines no users"),
    ],
)
def test_a_broken_locustfile_is_one_line_before_anything_starts(
    source: str, message: str, tmp_path: Path, results_dir: Path
) -> None:
    locustfile = tmp_path / "mine.py"
    locustfile.write_text(source)
    code, out = run_cli("run", "--locustfile", str(locustfile), "--users", "1", "--duration", "2s",
                        "--host", "http://127.0.0.1:9", "--results", str(results_dir))  # fmt: skip
    assert code == 2
    (line,) = out.strip().splitlines()
    assert line.startswith("Error: ") and message in line and "mine.py" in line
    assert not results_dir.exists()


def test_no_host_anywhere_is_refused_rather_than_the_demo_target(tmp_path: Path, results_dir: Path) -> None:
    locustfile = write_plan(tmp_path / "plan")
    code, out = run_cli("run", "--locustfile", str(locustfile), "--users", "1", "--duration", "2s",
                        "--results", str(results_dir))  # fmt: skip
    assert code == 2
    assert "no target for ShopUser, AdminUser: pass --host" in out
    assert not results_dir.exists()


def test_unknown_user_class_and_tag_are_named(tmp_path: Path) -> None:
    locustfile = write_plan(tmp_path / "plan")
    base = ["run", "--locustfile", str(locustfile), "--users", "1", "--duration", "2s", "--host", "http://x.test"]
    code, out = run_cli(*base, "ShopUsr")
    assert code == 2 and "unknown user class 'ShopUsr', did you mean 'ShopUser'?" in out
    code, out = run_cli(*base, "--tags", "bye")
    assert code == 2 and "tag 'bye' is on no task, did you mean 'buy'?" in out
