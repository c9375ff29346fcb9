"""Reading the Grafana dashboard's PromQL, for the structural test and the test against a real Prometheus."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import REPO

DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "loadcluster.json"
ALERT_RULES = REPO / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = REPO / "deploy" / "prometheus" / "alerts.test.yml"
DATASOURCE_UID = "${datasource}"
# What Grafana would put in for its variables when a query is run by hand.
GRAFANA_VARIABLES = {"$__rate_interval": "15s", "$__range": "1m"}
_RANGE_FUNCTION = re.compile(r"\b(irate|rate|increase)\(")


@dataclass(frozen=True)
class Query:
    panel: str
    ref_id: str
    expr: str

    @property
    def name(self) -> str:
        return f"{self.panel} [{self.ref_id}]"

    def rendered(self) -> str:
        expr = self.expr
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        return expr


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return dashboard


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def panel_queries(dashboard: dict[str, Any]) -> list[Query]:
    return [
        Query(panel["title"], target["refId"], target["expr"])
        for panel in all_panels(dashboard)
        for target in panel.get("targets", [])
    ]


def annotation_queries(dashboard: dict[str, Any]) -> list[Query]:
    """The Prometheus annotations (not Grafana's built-in one)."""
    return [Query(a["name"], "annotation", a["expr"]) for a in dashboard["annotations"]["list"] if "expr" in a]


def range_function_windows(expr: str) -> list[tuple[str, str]]:
    """(function, its argument) for every rate(), irate() and increase() in `expr`."""
    found = []
    for match in _RANGE_FUNCTION.finditer(expr):
        depth, start = 1, match.end()
        end = start
        while depth:
            depth += {"(": 1, ")": -1}.get(expr[end], 0)
            end += 1
        found.append((match.group(1), expr[start : end - 1]))
    return found
