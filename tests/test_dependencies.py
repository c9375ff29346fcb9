"""Only real dependencies: what src/ and locust/ import from outside the standard library is exactly
what pyproject.toml declares (Locust's own dependencies come with it and are not ours to declare)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from conftest import REPO


def imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for path in [*(REPO / "src").rglob("*.py"), *(REPO / "locust").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"loadcluster", "__future__"}


def test_every_third_party_import_is_declared_and_every_declaration_imported() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {re.sub(r"[-_.]+", "-", re.split(r"[<>=~!;\[ ]", req)[0]).lower() for req in project["dependencies"]}
    owners = packages_distributions()
    imported = {re.sub(r"[-_.]+", "-", owners[module][0]).lower() for module in imported_top_level_modules()}
    assert imported == declared


def test_the_cli_and_the_runtimes_never_import_locust() -> None:
    """Importing Locust monkey-patches the process with gevent: only nodes may, never the supervisor."""
    import subprocess

    code = (
        "import sys, loadcluster.cli, loadcluster.plan, loadcluster.runtimes.local, loadcluster.runtimes.compose, "
        "loadcluster.runtimes.interactive; print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
