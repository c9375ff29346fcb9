"""Follow a node's log file and pick out what a person watching the run wants to see."""

from __future__ import annotations

import re
from pathlib import Path

# Locust's log format: "[2026-11-23 09:33:19,377] host/INFO/loadcluster: message"
_LOCUST_LINE = re.compile(r"^\[[^\]]+\] [^/]+/(?P<level>[A-Z]+)/(?P<logger>[\w.]+): (?P<message>.*)$")
_ALARMING = frozenset({"WARNING", "ERROR", "CRITICAL"})


class LogTail:
    def __init__(self, path: Path, node: str) -> None:
        self.path = path
        self.node = node
        self._offset = 0
        self._partial = ""

    def interesting_lines(self) -> list[str]:
        """New lines since the last call: loadcluster's own messages and any warning or error."""
        picked = []
        for line in self._new_lines():
            match = _LOCUST_LINE.match(line)
            if not match:
                continue
            if match["logger"].startswith("loadcluster"):
                picked.append(match["message"])
            elif match["level"] in _ALARMING:
                picked.append(f"{self.node}: {match['level']}: {match['message']}")
        return picked

    def _new_lines(self) -> list[str]:
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
