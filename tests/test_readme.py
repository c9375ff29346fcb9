"""The README's commands and tables are run and compared here, so the docs cannot drift from the code."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, loadcluster

from loadcluster.catalogue import load_catalogue

README = (REPO / "README.md").read_text()


def test_scenarios_table_is_the_catalogue() -> None:
    block = README.split("<!-- scenarios:start -->\n```\n")[1].split("```\n<!-- scenarios:end -->")[0]
    assert loadcluster("scenarios").stdout == block


def test_every_make_target_in_the_readme_exists() -> None:
    help_text = subprocess.run(["make", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    targets = set(re.findall(r"^\s+(?:\x1b\[36m)?([a-z0-9-]+)", help_text, re.MULTILINE))
    mentioned = set(re.findall(r"\bmake ([a-z0-9-]+)", README))
    assert mentioned and mentioned <= targets, mentioned - targets


def test_the_makefile_scenario_targets_are_the_catalogue_s_scenarios() -> None:
    makefile = (REPO / "Makefile").read_text()
    run_targets = set(re.findall(r"^([a-z-]+): install ## .*\n\t\$\(RUN\) \1$", makefile, re.MULTILINE))
    catalogue = load_catalogue(REPO / "locust" / "scenarios.yaml")
    assert run_targets == {name for suite in catalogue.suites.values() for name in suite.scenarios}


def test_the_customer_success_shares_are_the_locustfile_s_weights() -> None:
    tree = ast.parse((REPO / "locust" / "customer_success.py").read_text())
    weights = [
        statement.value.value
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for statement in node.body
        if isinstance(statement, ast.Assign) and getattr(statement.targets[0], "id", "") == "weight"
    ]
    shares = [round(100 * w / sum(weights)) for w in weights]
    stated = re.search(
        r"user weights (\d+) support web forms.*?(\d+) Gmail.*?(\d+) WhatsApp.*?(\d+) `/health`", README, re.S
    )
    assert stated and [int(n) for n in stated.groups()] == weights
    assert f"{shares[0]} %, {shares[1]} %, {shares[2]} % and {shares[3]} %" in README


@pytest.mark.integration
def test_make_run_scaled_down(tmp_path: Path) -> None:
    """The README's first command, with the smoke test's minute shrunk to 6 s."""
    results = tmp_path / "results"
    result = subprocess.run(
        ["make", "run", "TIME_SCALE=0.1", f"RESULTS={results}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MAKEFLAGS": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo target started" in result.stdout
    assert "Verdict: PASSED" in result.stdout
    assert len(list(results.glob("customer-success-smoke-*/summary.json"))) == 1
