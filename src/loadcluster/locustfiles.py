"""Checks on locustfiles that can be made without importing Locust.

The CLI process must not import locust: that would monkey-patch the supervisor with gevent. So
"does this file define users?" is answered from the syntax tree: a class that derives, directly or
through other classes of the same file, from Locust's user classes and is not marked abstract.
"""

from __future__ import annotations

import ast
from pathlib import Path

from loadcluster.errors import ConfigError

LOCUST_USER_BASES = frozenset({"User", "HttpUser", "FastHttpUser"})


def check_defines_users(path: Path) -> None:
    files = sorted(path.glob("*.py")) if path.is_dir() else [path]
    if path.is_file() and path.suffix != ".py":
        raise ConfigError(f"locustfile '{path}' is not a .py file")
    if not any(user_classes(file) for file in files):
        raise ConfigError(
            f"locustfile '{path}' defines no users: it needs a class deriving from "
            "locust's User, HttpUser or FastHttpUser that is not abstract"
        )


def user_classes(file: Path) -> list[str]:
    """Names of the concrete user classes defined in `file`."""
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except SyntaxError as exc:
        raise ConfigError(f"locustfile '{file}' has a syntax error on line {exc.lineno}: {exc.msg}") from exc
    user_like = set(LOCUST_USER_BASES)
    concrete = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(_base_name(b) in user_like for b in node.bases):
            user_like.add(node.name)
            if not _is_abstract(node):
                concrete.append(node.name)
    return concrete


def _base_name(base: ast.expr) -> str:
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else ""


def _is_abstract(node: ast.ClassDef) -> bool:
    for statement in node.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "abstract" for t in statement.targets
        ):
            return isinstance(statement.value, ast.Constant) and statement.value.value is True
    return False
