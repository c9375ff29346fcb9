"""The README's commands and tables are run and compared here, so the docs cannot drift from the code."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, loadcluster

from loadcluster.plan import RunOptions

README = (REPO / "README.md").read_text()


def test_scenarios_table_is_the_catalogue() -> None:
    block = README.split("<!-- scenarios:start -->\n```\n")[1].split("```\n<!-- scenarios:end -->")[0]
    assert loadcluster("scenarios").stdout == block


def test_every_make_target_in_the_readme_exists() -> None:
    help_text = subprocess.run(["make", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    targets = set(re.findall(r"^\s+(?:\x1b\[36m)?([a-z-]+)", help_text, re.MULTILINE))
    mentioned = set(re.findall(r"\bmake ([a-z-]+)", README))
    assert mentioned and mentioned <= targets, mentioned - targets


def test_every_run_option_is_documented_with_its_variable() -> None:
    for field in dataclasses.fields(RunOptions):
        flag = "--" + field.name.replace("_", "-")
        assert f"`{flag}` | `{RunOptions.env_name(field.name)}`" in README, flag


@pytest.mark.integration
def test_make_run_scaled_down(tmp_path: Path) -> None:
    """The README's first command, with the smoke test's minute shrunk to 15 s."""
    results = tmp_path / "results"
    result = subprocess.run(
        ["make", "run", "TIME_SCALE=0.25", f"RESULTS={results}"],
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
