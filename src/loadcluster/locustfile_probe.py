"""`python -m loadcluster.locustfile_probe FILE...`: import locustfiles as Locust does, print what they define.

Runs in a child of the CLI (importing Locust patches the process with gevent). Prints one JSON line:
{"users": [{"name", "host", "tags"}]} or {"error": "locustfile 'x.py' line 3: ..."}.
"""

from __future__ import annotations

import inspect
import json
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def main(paths: list[str]) -> dict[str, Any]:
    from locust.util.load_locustfile import load_locustfile

    found: dict[str, type] = {}
    for path in paths:
        try:
            classes, _shapes = load_locustfile(path)
        except SyntaxError as exc:
            return {"error": f"locustfile '{exc.filename}' line {exc.lineno}: syntax error: {exc.msg}"}
        except BaseException as exc:  # noqa: BLE001 - the user's code may raise anything, SystemExit included
            return {"error": _where(exc, paths) + f"{type(exc).__name__}: {exc}"}
        for name, cls in classes.items():
            if name in found and inspect.getfile(found[name]) != inspect.getfile(cls):
                return {
                    "error": f"user class {name} is defined in both {inspect.getfile(found[name])} and "
                    f"{inspect.getfile(cls)}: Locust needs unique class names"
                }
            found[name] = cls
    return {
        "users": [
            {"name": name, "host": getattr(cls, "host", None) or None, "tags": sorted(_tags(getattr(cls, "tasks", ())))}
            for name, cls in found.items()
        ]
    }


def _where(exc: BaseException, paths: Iterable[str]) -> str:
    """'locustfile 'x.py' line N: ' for the deepest frame of the error inside one of the user's files."""
    mine = {str(Path(p).resolve()) for p in paths}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(Path(f.filename).resolve()) in mine]
    if not frames:
        return f"locustfile {', '.join(paths)}: "
    return f"locustfile '{frames[-1].filename}' line {frames[-1].lineno}: "


def _tags(tasks: Iterable[Any], seen: set[int] | None = None) -> set[str]:
    """Tags of the tasks, through nested TaskSets."""
    seen = set() if seen is None else seen
    tags: set[str] = set()
    for task in tasks:
        if id(task) in seen:
            continue
        seen.add(id(task))
        tags |= set(getattr(task, "locust_tag_set", ()))
        tags |= _tags(getattr(task, "tasks", ()), seen)
    return tags


if __name__ == "__main__":
    sys.stdout.flush()
    print(json.dumps(main(sys.argv[1:])))
