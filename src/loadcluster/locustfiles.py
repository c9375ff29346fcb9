"""Which files a run loads, and what they define, learnt before any node starts.

`--locustfile` is a .py file, several (`a.py,b.py`), or a directory (every .py file in it, as Locust
does; a directory with a `scenarios.yaml` is a catalogue instead, see `plan`). The files are imported
once, in a child process that imports Locust (the CLI itself must not: Locust monkey-patches the
process with gevent), the way Locust imports them. So a syntax error, a failing import or a file
without a User class is one line naming the file and line, and the user classes' `host` attributes
are known when `--host` is not given.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from loadcluster.errors import ConfigError

PROBE_TIMEOUT_S = 60.0
_ALLOWED = "give a .py file, several (a.py,b.py) or a directory"


@dataclass(frozen=True)
class Locustfiles:
    """The files Locust loads (`-f`), and the directory that holds them all (mounted into containers)."""

    root: Path
    files: tuple[Path, ...]

    @property
    def locust_arg(self) -> str:
        """The value of Locust's `-f`."""
        return ",".join(str(f) for f in self.files)

    def relocated(self, root: Path | str) -> Locustfiles:
        """The same files seen from where `root` is mounted (a container's view of the host's)."""
        new_root = Path(root)
        return replace(self, root=new_root, files=tuple(new_root / f.relative_to(self.root) for f in self.files))


@dataclass(frozen=True)
class UserClass:
    name: str
    host: str | None
    tags: tuple[str, ...]


def files_in(spec: str) -> Locustfiles:
    """The .py files that `spec` (a file, a comma-separated list, a directory) names, as Locust reads it."""
    files: list[Path] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        path = Path(part).absolute()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.py") if p.is_file() and not _left_out(p.relative_to(path)))
            if not found:
                raise ConfigError(f"locustfile directory '{part}' holds no .py file")
            files += found
        elif path.is_file():
            if path.suffix != ".py":
                raise ConfigError(f"locustfile '{part}' is not a .py file: give .py files or a directory")
            files.append(path)
        else:
            raise ConfigError(f"locustfile '{part}' does not exist: {_ALLOWED}")
    if not files:
        raise ConfigError(f"no locustfile given: {_ALLOWED}")
    root = Path(os.path.commonpath([f.parent for f in files]))
    return Locustfiles(root, tuple(dict.fromkeys(files)))


def _left_out(relative: Path) -> bool:
    """Helper modules (_name.py, as Locust has it) and anything under a hidden directory: a .venv in the
    plan's directory, or the ..<timestamp>/ copy Kubernetes keeps beside a mounted ConfigMap's files."""
    return relative.name.startswith("_") or any(part.startswith(".") for part in relative.parts[:-1])


def user_classes(locustfiles: Locustfiles) -> tuple[UserClass, ...]:
    """The concrete User classes the files define; ConfigError naming file and line if they cannot load."""
    return _probe(tuple((str(f), *_signature(f)) for f in locustfiles.files))


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=32)
def _probe(files: tuple[tuple[str, int, int], ...]) -> tuple[UserClass, ...]:
    command = [sys.executable, "-m", "loadcluster.locustfile_probe", *(name for name, *_ in files)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(f"importing the locustfiles took over {PROBE_TIMEOUT_S:g}s: {files[0][0]} ...") from None
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError(f"could not import the locustfiles ({detail})") from None
    if "error" in answer:
        raise ConfigError(answer["error"])
    classes = tuple(UserClass(u["name"], u["host"], tuple(u["tags"])) for u in answer["users"])
    if not classes:
        listed = ", ".join(name for name, *_ in files)
        raise ConfigError(
            f"locustfile {listed} defines no users: it needs a class deriving from locust's User, HttpUser "
            "or FastHttpUser that is not abstract"
        )
    return classes
