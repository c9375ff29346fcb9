"""Reading the Grafana dashboard's PromQL, for the structural tests and the tests against a real Prometheus.

Grafana cannot run here, so what it does with a query before sending it is done here the same way:
its built-in variables get fixed values, and the dashboard's own variables (Namespace, Run) are
interpolated with Grafana's escaping rules (its Prometheus data source's `interpolateQueryExpr`).
A variable's own query is answered as Grafana answers it (`label_values`, `query_result`, the regex,
the sort) and, with nothing saved as current, its first option is what Grafana picks.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import REPO

DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "loadcluster.json"
ALERT_RULES = REPO / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = REPO / "deploy" / "prometheus" / "alerts.test.yml"
DATASOURCE_UID = "${datasource}"
# What Grafana would put in for its built-in variables when a query is run by hand.
GRAFANA_VARIABLES = {"$__rate_interval": "15s", "$__range": "1m"}
# The dashboard's variables that pick one run, and the matchers every exporter series is selected by.
SELECTION_VARIABLES = ("namespace", "run")
NAMESPACE_MATCHER = 'namespace=~"$namespace"'
RUN_MATCHER = 'run_id="$run"'
ALL = "$__all"  # Grafana's value for a variable's "All" option
EXPORTER_PREFIX = "loadcluster_"

_RANGE_FUNCTION = re.compile(r"\b(irate|rate|increase)\(")
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]")
_REGEX_SPECIAL = re.compile(r"[$^*{}\[\]+?.()|]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}


@dataclass(frozen=True)
class Query:
    panel: str
    ref_id: str
    expr: str

    @property
    def name(self) -> str:
        return f"{self.panel} [{self.ref_id}]"


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


def vector_selectors(expr: str) -> list[tuple[str, str]]:
    """(metric name, its matchers between braces) for every series selector in `expr`."""
    text = _GROUPING.sub(" ", re.sub(r"\[[^\]]*\]", " ", expr))  # no windows, no label lists
    found = []
    position = 0
    while match := _IDENTIFIER.search(text, position):
        name, position = match.group(), match.end()
        rest = text[position:].lstrip()
        if rest.startswith("{"):
            close = text.index("}", position)
            found.append((name, text[text.index("{", position) + 1 : close]))
            position = close + 1
        elif not rest.startswith("(") and name not in _KEYWORDS:
            found.append((name, ""))
    return found


# --- Grafana's variables --------------------------------------------------------------------------


def template_variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def interpolated(variable: Mapping[str, Any], value: str) -> str:
    """What Grafana writes into a Prometheus query for `value` (its interpolateQueryExpr)."""
    if value == ALL:
        return str(variable["allValue"])
    if not variable.get("multi") and not variable.get("includeAll"):
        return value.replace("\\", "\\\\").replace("'", "\\\\'")  # prometheusRegularEscape
    escaped = value.replace("\\", "\\\\\\\\")  # prometheusSpecialRegexEscape
    return _REGEX_SPECIAL.sub(lambda special: "\\\\" + special.group(), escaped)


def render(
    expr: str,
    variables: Mapping[str, Mapping[str, Any]],
    picked: Mapping[str, str],
    builtins: Mapping[str, str] = GRAFANA_VARIABLES,
) -> str:
    """`expr` as Grafana sends it, with `picked` values ({name: value or ALL}) for the dashboard's variables."""

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if f"${name}" in builtins:
            return builtins[f"${name}"]
        if name in variables:
            return interpolated(variables[name], picked[name])
        return match.group()  # not a variable: Grafana leaves it as it is

    return _VARIABLE.sub(value, expr)


def variable_options(
    prometheus_url: str,
    variable: Mapping[str, Any],
    variables: Mapping[str, Mapping[str, Any]],
    picked: Mapping[str, str],
    start: float,
    end: float,
    builtins: Mapping[str, str] = GRAFANA_VARIABLES,
) -> list[str]:
    """The options of a query variable for the time range start..end, in Grafana's order."""
    query = render(variable["query"], variables, picked, builtins)
    if label_values := re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query):
        metric, label = label_values.groups()
        texts = _get(prometheus_url, f"label/{label}/values", {"match[]": metric, "start": start, "end": end})
    elif query_result := re.fullmatch(r"query_result\((.+)\)", query, re.DOTALL):
        answer = _get(prometheus_url, "query", {"query": query_result.group(1), "time": end})["result"]
        texts = [_query_result_line(series) for series in answer]
    else:
        raise AssertionError(f"variable {variable['name']}: no Grafana query function in {query}")
    options = []
    for text in texts:
        regex = variable.get("regex")
        if regex:
            found = re.search(regex.strip("/"), text)
            if not found:
                continue
            text = found.group(1) if found.groups() else text
        if text not in options:
            options.append(text)
    return sorted(options) if variable.get("sort") == 1 else options  # 0: the query's own order


def default_value(variable: Mapping[str, Any], options: list[str]) -> str | None:
    """What Grafana selects when the dashboard opens: the saved current value if it is an option, else the first."""
    current = variable.get("current", {}).get("value")
    if current == ALL and variable.get("includeAll"):
        return ALL
    if current in options:
        return str(current)
    return options[0] if options else None


def _query_result_line(series: Mapping[str, Any]) -> str:
    """One series as Grafana's query_result() writes it: name{label="value",...} value timestamp_ms."""
    labels = dict(series["metric"])
    name = labels.pop("__name__", "")
    time_s, value = series["value"]
    pairs = ",".join(f'{key}="{text}"' for key, text in labels.items())
    return f"{name}{{{pairs}}} {value} {int(float(time_s) * 1000)}"


def _get(prometheus_url: str, path: str, params: Mapping[str, Any]) -> Any:
    query = urllib.parse.urlencode({key: str(value) for key, value in params.items()})
    with urllib.request.urlopen(f"{prometheus_url}/api/v1/{path}?{query}", timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]
