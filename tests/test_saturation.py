"""A saturated generator, end to end: a real run whose users burn their worker's CPU says so.

One run of a few seconds, two workers, two users dealt one to each (Locust deals users round-robin
over the workers): a `Burner` that spins the CPU for 50 ms before each cheap request, with no wait,
and a `Sleeper` that makes a request and then waits far longer than the run. The burner's worker
must come out saturated and named in the warning; the sleeper's must not: the judgement is per worker,
from the workers' own 1 s samples. Load goes only to a CountingServer on 127.0.0.1.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import CountingServer, loadcluster
from own_plan import only_summary

# The burner holds one of this machine's two cores for the run: not beside the heavy tests.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("heavy")]

LOCUSTFILE = """\
import time

from locust import HttpUser, constant, task


class Burner(HttpUser):
    wait_time = constant(0)

    @task
    def burn(self):
        # Busy on purpose: the CPU a heavy locustfile (parsing, signing, generating data) costs.
        end = time.perf_counter() + 0.05
        while time.perf_counter() < end:
            pass
        self.client.get("/burn")


class Sleeper(HttpUser):
    wait_time = constant(60)

    @task
    def nap(self):
        self.client.get("/nap")
"""


def test_a_cpu_bound_worker_is_named_saturated_and_an_idle_one_is_not(
    tmp_path: Path, counting_server: CountingServer, results_dir: Path
) -> None:
    locustfile = tmp_path / "burn.py"
    locustfile.write_text(textwrap.dedent(LOCUSTFILE))
    # A child process: the run starts real processes, and the server thread of this one must not fork.
    done = loadcluster(
        "run", "--runtime", "local", "--locustfile", str(locustfile), "--workers", "2", "--users", "2",
        "--spawn-rate", "2", "--duration", "8s", "--stop-timeout", "1", "--host", counting_server.url,
        "--results", str(results_dir),
    )  # fmt: skip
    out = done.stdout + done.stderr
    # The default gate has no CPU threshold: a saturated generator warns, the verdict is the latencies'.
    assert done.returncode == 0, out
    summary = only_summary(results_dir)
    generator = summary["generator"]
    workers = generator["workers"]
    assert len(workers) == 2, generator
    (burner,) = generator["saturated_workers"]
    (sleeper,) = set(workers) - {burner}
    assert generator["saturated"] is True
    assert workers[burner]["sustained_cpu_percent"] >= 90 and workers[burner]["samples"] >= 4, generator
    assert workers[sleeper]["peak_cpu_percent"] < 50, generator
    assert (generator["busiest_worker"], generator["sustained_cpu_percent"]) == (
        burner,
        workers[burner]["sustained_cpu_percent"],
    )
    assert counting_server.count("/burn") > counting_server.count("/nap") >= 1

    # The CLI's summary warns, naming the worker and its figure, right above the verdict.
    warning = next(line for line in out.splitlines() if line.startswith("WARNING: the load generator was saturated"))
    assert f"{burner} at {workers[burner]['sustained_cpu_percent']:g} % of a core" in warning
    assert sleeper not in warning and "Latencies are suspect" in warning and "add workers or cores" in warning
    assert "Verdict: PASSED" in out.split(warning)[1]
    # So do the master's log and the JUnit report, which fails nothing for it.
    (run_dir,) = (p.parent for p in results_dir.glob("*/summary.json") if not p.parent.is_symlink())
    assert "the load generator was saturated" in (run_dir / "logs" / "master.log").read_text()
    suite = ElementTree.parse(run_dir / "junit.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["generator_saturated"] == "true"
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert "Latencies are suspect" in (suite.findtext("testcase/system-err") or "")
