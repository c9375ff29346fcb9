"""The CLI as a user meets it: bad input gets one clear line, exit code 2, and nothing is started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest import LOCUSTFILES, run_cli

BAD_INPUT = [
    (["--scenario", "spkie"], "unknown scenario 'spkie', did you mean 'spike'?"),
    (["--suite", "agent-mitar", "--scenario", "basic"], "unknown suite 'agent-mitar', did you mean 'agent-mitra'?"),
    (["--scenario", "smoke", "--workers", "0"], "workers '0' is not valid"),
    (["--scenario", "smoke", "--workers", "50"], "workers 50 is more than users 10"),
    (["--scenario", "smoke", "--users", "-5"], "users '-5' is not valid"),
    (["--scenario", "smoke", "--users", "lots"], "users 'lots' is not valid"),
    (["--scenario", "smoke", "--users", "1e1"], "users '1e1' is not valid: it must be a whole number"),
    (["--scenario", "smoke", "--spawn-rate", "0"], "spawn rate '0' is not valid"),
    (["--scenario", "smoke", "--duration", "5x"], "duration '5x' is not a duration"),
    (["--scenario", "smoke", "--host", "ftp://127.0.0.1"], "host 'ftp://127.0.0.1' is not an http(s) URL"),
    (["--locustfile", "no/such/dir", "--users", "1", "--duration", "1"], "locustfile 'no/such/dir' does not exist"),
    (["--scenaro", "smoke"], "unknown argument '--scenaro' for `loadcluster run`, did you mean '--scenario'?"),
    (["--scenario", "smoke", "--runtime", "compse"], "unknown runtime 'compse', did you mean 'compose'?"),
    (["--scenario", "smoke", "--runtime", "local", "--network", "n"], "--network is for the compose runtime"),
    (["--scenario", "smoke", "--runtime", "compose", "--metrics-port", "9646"], "--metrics-port is for the local"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_gets_one_line_and_starts_nothing(args: list[str], message: str, results_dir: Path) -> None:
    code, out = run_cli("run", *args, "--results", str(results_dir))
    assert code == 2
    lines = out.strip().splitlines()
    assert lines[-1].startswith("Error: ") and message in lines[-1], out
    assert not any(line.startswith("Error") for line in lines[:-1])
    assert not results_dir.exists()


def test_env_variables_are_read_like_flags(monkeypatch: pytest.MonkeyPatch, results_dir: Path) -> None:
    monkeypatch.setenv("LOADCLUSTER_SCENARIO", "smoke")
    monkeypatch.setenv("LOADCLUSTER_WORKERS", "99")
    code, out = run_cli("run", "--results", str(results_dir))
    assert code == 2 and "workers 99 is more than users 10" in out
    code, out = run_cli("run", "--workers", "98", "--results", str(results_dir))
    assert code == 2 and "workers 98 is more than users 10" in out  # the flag wins


def test_an_option_inherited_from_the_environment_for_another_runtime_is_pointed_out(
    monkeypatch: pytest.MonkeyPatch, results_dir: Path
) -> None:
    monkeypatch.setenv("LOADCLUSTER_NETWORK", "somewhere")
    with socket.socket() as closed:  # an unreachable target: the run stops before anything starts
        closed.bind(("127.0.0.1", 0))
        host = f"http://127.0.0.1:{closed.getsockname()[1]}"
        code, out = run_cli("run", "--scenario", "smoke", "--runtime", "local", "--host", host, "--results",
                            str(results_dir))  # fmt: skip
    assert "note: LOADCLUSTER_NETWORK is for the compose runtime; this run is local, so it is not used" in out
    assert code == 2


def test_unreachable_target_fails_fast(results_dir: Path) -> None:
    with socket.socket() as sock:  # a port that is certainly closed: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        code, out = run_cli("run", "--scenario", "smoke", "--host", f"http://127.0.0.1:{port}", "--results",
                            str(results_dir))  # fmt: skip
    assert code == 2
    assert f"target http://127.0.0.1:{port} is unreachable" in out
    assert not results_dir.exists()


def test_scenarios_table_lists_the_catalogue() -> None:
    code, out = run_cli("scenarios", "--locustfile", str(LOCUSTFILES))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["Suite", "Scenario", "Users", "Spawn", "rate"]
    spike = next(line.split() for line in lines if " spike " in line)
    assert spike[:6] == ["customer-success", "spike", "1,000", "200/s", "5m", "4"]
    assert sum(1 for line in lines if line.startswith("agent-mitra")) == 6


def test_compare_exits_non_zero_on_regression(tmp_path: Path) -> None:
    import json

    def run(p95: float) -> Path:
        figures = {  # enough requests for a p95 change to count (compare's evidence rule)
            "requests": 400,
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
    assert run_cli("compare", str(base), str(same))[0] == 0
    code, out = run_cli("compare", str(base), str(worse))
    assert code == 4 and "Regression beyond tolerance: p95 +20.0%" in out
    assert run_cli("compare", str(base), str(worse), "--tolerance", "p95=25")[0] == 0
    code, out = run_cli("compare", str(base), str(tmp_path / "nope"))
    assert code == 2 and "no run results at" in out


def test_an_unwritable_results_directory_is_one_line_before_anything_starts() -> None:
    code, out = run_cli("run", "--scenario", "smoke", "--runtime", "local", "--results", "/proc/loadcluster-x")
    assert code == 2
    assert out.strip().splitlines()[-1].startswith("Error: results directory '/proc/loadcluster-x' cannot be written")
    assert "Traceback" not in out and "demo target started" not in out


def test_more_workers_than_this_machine_can_hold_are_refused() -> None:
    code, out = run_cli("run", "--users", "100000", "--duration", "1m", "--workers", "100000", "--runtime", "local")
    assert code == 2
    assert "workers 100000 need about 10000000 MiB and this machine has" in out.strip().splitlines()[-1]
    assert "demo target started" not in out
