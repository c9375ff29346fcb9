"""Locust's own report files for a run: CSVs written during the run and rewritten at the end from
the master's final in-memory stats, plus the HTML report (which Locust does not save on SIGTERM)."""

from __future__ import annotations

import csv
from pathlib import Path

import gevent
from locust.env import Environment
from locust.html import get_html_report
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV, StatsCSVFileWriter

CSV_PREFIX = "stats"
HTML_FILE = "report.html"


class LocustReports:
    def __init__(self, environment: Environment, run_dir: Path) -> None:
        self.environment = environment
        self.run_dir = run_dir
        self._writer: StatsCSVFileWriter | None = None
        self._writer_greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Stats history (one row a second) and live CSVs for people watching the directory."""
        self._writer = StatsCSVFileWriter(
            self.environment, PERCENTILES_TO_REPORT, str(self.run_dir / CSV_PREFIX), full_history=False
        )
        self._writer_greenlet = gevent.spawn(self._writer.stats_writer)

    def finish(self) -> list[Path]:
        if self._writer_greenlet is not None:
            self._writer_greenlet.kill(block=True)
        if self._writer is not None:
            self._writer.close_files()
        final = StatsCSV(self.environment, PERCENTILES_TO_REPORT)
        written = []
        for suffix, write in (
            ("stats", final.requests_csv),
            ("failures", final.failures_csv),
            ("exceptions", final.exceptions_csv),
        ):
            path = self.run_dir / f"{CSV_PREFIX}_{suffix}.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                write(csv.writer(handle))
            written.append(path)
        html = self.run_dir / HTML_FILE
        html.write_text(get_html_report(self.environment, show_download_link=False), encoding="utf-8")
        written.append(html)
        return written
