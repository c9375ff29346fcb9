"""The CLI as a user meets it: bad input gets one clear line, exit code 2, and nothing is started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest import LOCUSTFILES, loadcluster

BAD_INPUT = [
    (["--scenario", "spkie"], "unknown scenario 'spkie', did you mean 'spike'?"),
    (["--suite", "agent-mitar", "--scenario", "basic"], "unknown suite 'agent-mitar', did you mean 'agent-mitra'?"),
    (["--scenario", "smoke", "--workers", "0"], "workers '0' is not valid"),
    (["--scenario", "smoke", "--workers", "50"], "workers 50 is more than users 10"),
    (["--scenario", "smoke", "--users", "-5"], "users '-5' is not valid"),
    (["--scenario", "smoke", "--users", "lots"], "users 'lots' is not valid"),
    (["--scenario", "smoke", "--spawn-rate", "0"], "spawn rate '0' is not valid"),
    (["--scenario", "smoke", "--duration", "5x"], "duration '5x' is not a duration"),
    (["--scenario", "smoke", "--host", "ftp://127.0.0.1"], "host 'ftp://127.0.0.1' is not an http(s) URL"),
    (["--locustfile", "no/such/dir", "--users", "1", "--duration", "1"], "locustfile 'no/such/dir' does not exist"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_gets_one_line_and_starts_nothing(args: list[str], message: str, results_dir: Path) -> None:
    result = loadcluster("run", *args, "--results", str(results_dir), env={"LOADCLUSTER_LOCUSTFILE": str(LOCUSTFILES)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert message in lines[0]
    assert not results_dir.exists()


def test_env_variables_are_read_like_flags(results_dir: Path) -> None:
    result = loadcluster(
        "run",
        "--results",
        str(results_dir),
        env={
            "LOADCLUSTER_SCENARIO": "smoke",
            "LOADCLUSTER_WORKERS": "99",
            "LOADCLUSTER_LOCUSTFILE": str(LOCUSTFILES),
        },
    )
    assert result.returncode == 2 and "workers 99 is more than users 10" in result.stderr


def test_locustfile_without_users_is_refused(tmp_path: Path, results_dir: Path) -> None:
    plan = tmp_path / "plan.py"
    plan.write_text("from locust import HttpUser\n\nclass Base(HttpUser):\n    abstract = True\n")
    result = loadcluster(
        "run", "--locustfile", str(plan), "--users", "1", "--duration", "5s", "--results", str(results_dir)
    )
    assert result.returncode == 2 and "defines no users" in result.stderr


def test_unreachable_target_fails_fast(results_dir: Path) -> None:
    with socket.socket() as sock:  # a port that is certainly closed: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        result = loadcluster(
            "run",
            "--scenario",
            "smoke",
            "--host",
            f"http://127.0.0.1:{port}",
            "--locustfile",
            str(LOCUSTFILES),
            "--results",
            str(results_dir),
            timeout=30,
        )
    assert result.returncode == 2
    assert f"target http://127.0.0.1:{port} is unreachable" in result.stderr
    assert not results_dir.exists()


def test_scenarios_table_lists_the_catalogue() -> None:
    result = loadcluster("scenarios", "--locustfile", str(LOCUSTFILES))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["Suite", "Scenario", "Users", "Spawn", "rate"]
    spike = next(line.split() for line in lines if " spike " in line)
    assert spike[:6] == ["customer-success", "spike", "1,000", "200/s", "5m", "4"]
    assert sum(1 for line in lines if line.startswith("agent-mitra")) == 6


def test_compare_exits_non_zero_on_regression(tmp_path: Path) -> None:
    import json

    def run(p95: float) -> Path:
        figures = {
            "requests": 10,
            "failures": 0,
            "avg_response_ms": 10,
            "p95_response_ms": p95,
            "p99_response_ms": p95,
            "failure_rate_percent": 0,
            "rps": 5,
        }
        directory = tmp_path / f"run-{p95}"
        directory.mkdir()
        (directory / "summary.json").write_text(json.dumps({"schema": 1, "totals": figures, "endpoints": []}))
        return directory

    base, same, worse = run(100), run(105), run(120)
    assert loadcluster("compare", str(base), str(same)).returncode == 0
    regression = loadcluster("compare", str(base), str(worse))
    assert regression.returncode == 4 and "Regression beyond tolerance: p95 +20.0%" in regression.stdout
    assert loadcluster("compare", str(base), str(worse), "--tolerance", "p95=25").returncode == 0
    missing = loadcluster("compare", str(base), str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no run results at" in missing.stderr
