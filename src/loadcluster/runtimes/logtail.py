"""Follow a node's log file and pick out its warnings and errors for the person watching the run.

Progress comes from the master's stats document (see `progress`); a log is read only for what went
wrong: a Locust warning or error, a traceback's last line.
"""

from __future__ import annotations

import re
from pathlib import Path

# Locust's log format: "[2026-11-23 09:33:19,377] host/WARNING/locust.runners: message"
_LOCUST_LINE = re.compile(r"^\[[^\]]+\] [^/]+/(?P<level>[A-Z]+)/(?P<logger>[\w.]+): (?P<message>.*)$")
_ALARMING = frozenset({"WARNING", "ERROR", "CRITICAL"})


class LogTail:
    def __init__(self, path: Path, node: str) -> None:
        self.path = path
        self.node = node
        self._offset = 0
        self._partial = ""

    def alarming_lines(self) -> list[str]:
        """Warnings and errors logged since the last call, each prefixed with the node's name."""
        picked = []
        for line in self.new_lines():
            match = _LOCUST_LINE.match(line)
            if match and match["level"] in _ALARMING:
                picked.append(f"{self.node}: {match['level']}: {match['message']}")
        return picked

    def new_lines(self) -> list[str]:
        """Whole lines written since the last call."""
        try:
            with self.path.open("r", encoding="utf-8", errors="replace") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
                self._offset = handle.tell()
        except FileNotFoundError:
            return []
        text = self._partial + chunk
        lines = text.split("\n")
        self._partial = lines.pop()  # an unfinished last line waits for the next call
        return lines
