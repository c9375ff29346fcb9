"""Every loadcluster option, once: its name, flag, environment variable, type, default and help.

The CLI parser, the reading of `LOADCLUSTER_*` variables, and the checks on `make help`, the README's
flag table and the Compose environment are all made from `OPTIONS`, so an option cannot exist in one
place and be missing or different in another. A flag wins over its variable; an empty variable counts
as unset (the Makefile exports empty ones); the default applies last.

Options without a flag are set by runtimes for the nodes they start (where the master listens, where
its results go); a person meets them only when placing nodes by hand (a Compose file, a Helm chart).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from loadcluster import units
from loadcluster.errors import ConfigError, did_you_mean

ENV_PREFIX = "LOADCLUSTER_"


class Verb(StrEnum):
    RUN = "run"
    UP = "up"
    SCENARIOS = "scenarios"
    COMPARE = "compare"
    TARGET = "target"
    EXPORTER = "exporter"
    NODE = "node"  # `loadcluster master|worker`: read from the environment only


class RuntimeName(StrEnum):
    AUTO = "auto"
    LOCAL = "local"
    COMPOSE = "compose"


Parse = Callable[[str, str], Any]  # (raw text, what it is) -> typed value, or ConfigError


def _text(raw: str, _what: str) -> str:
    return raw


def _names(raw: str, _what: str) -> tuple[str, ...]:
    return tuple(name for name in (part.strip() for part in raw.replace(" ", ",").split(",")) if name)


def _runtime(raw: str, _what: str) -> RuntimeName:
    try:
        return RuntimeName(raw.strip().lower())
    except ValueError:
        raise ConfigError(f"unknown runtime '{raw}', {did_you_mean(raw, RuntimeName)}") from None


def _port(raw: str, what: str) -> int:
    return units.parse_port(raw, what=what)


def _whole(raw: str, what: str) -> int:
    return int(units.parse_positive(raw, what=what, integer=True))


def _number(raw: str, what: str) -> float:
    return units.parse_positive(raw, what=what)


def _non_negative(raw: str, what: str) -> float:
    return units.parse_non_negative(raw, what=what)


def _ratio(raw: str, what: str) -> float:
    return units.parse_non_negative(raw, what=what, maximum=1)


def _duration(raw: str, what: str) -> float:
    return units.parse_duration(raw, what=what)


def _flag(raw: str, what: str) -> bool:
    return units.parse_flag(raw, what=what)


@dataclass(frozen=True)
class Option:
    name: str  # the Python name; the variable is LOADCLUSTER_<NAME>
    help: str
    verbs: tuple[Verb, ...]
    parse: Parse = _text
    default: str | None = None  # as a person would type it; None: unset (the help says what then)
    flag: str | None = ""  # "" derives --<name>; None: environment only
    metavar: str | None = None
    make: str | None = None  # the Makefile variable that sets it, e.g. WORKERS
    runtimes: tuple[RuntimeName, ...] = ()  # () means every runtime; otherwise where it means something
    const: str | None = None  # the value of the flag given alone (`--multiple`, `--monitoring`)

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def cli_flag(self) -> str | None:
        if self.flag is None:
            return None
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def what(self) -> str:
        """How errors name it: 'spawn rate', 'workers'."""
        return self.name.replace("_", " ")

    def value(self, raw: str | None) -> Any:
        """The typed value of `raw` (None when unset and without a default)."""
        text = raw if raw not in (None, "") else self.default
        return None if text is None else self.parse(text, self.what)


_PLAN_VERBS = (Verb.RUN, Verb.UP, Verb.NODE)
_COMPOSE = (RuntimeName.COMPOSE,)

OPTIONS: tuple[Option, ...] = (
    # --- what to run: the plan -------------------------------------------------------------------
    Option("scenario", "preset from the catalogue, e.g. smoke, spike (see `loadcluster scenarios`)", _PLAN_VERBS),
    Option("suite", "test plan in the catalogue (default: the first)", _PLAN_VERBS, make="SUITE"),
    Option(
        "locustfile",
        "your own locustfile: a .py file, several (a.py,b.py), or a directory, with or without its own "
        "scenarios.yaml (default: the shipped plans in locust/)",
        (*_PLAN_VERBS, Verb.SCENARIOS),
        make="LOCUSTFILE",
    ),
    Option("users", "peak concurrent users (overrides the preset)", _PLAN_VERBS, _whole, make="USERS"),
    Option(
        "spawn_rate",
        "users started per second (default: the preset's, else users/10)",
        _PLAN_VERBS,
        _number,
        make="SPAWN_RATE",
    ),
    Option("duration", "whole run: 90, 30s, 5m, 1h30m (overrides the preset)", _PLAN_VERBS, _duration, make="DURATION"),
    Option(
        "time_scale",
        "multiplies every duration, not spawn rates: 0.05 runs a 5-minute shape in 15 s",
        _PLAN_VERBS,
        _number,
        default="1",
        make="TIME_SCALE",
    ),
    Option("workers", "worker processes or containers (default: the scenario's)", _PLAN_VERBS, _whole, make="WORKERS"),
    Option(
        "host",
        "target base URL (default: a `host` on your user classes; for the shipped plans, the bundled demo "
        "target, started for the run)",
        _PLAN_VERBS,
        make="HOST",
    ),
    Option(
        "tags",
        "run only tasks with these tags, comma-separated (Locust's --tags)",
        _PLAN_VERBS,
        _names,
        metavar="TAG,...",
    ),
    Option(
        "exclude_tags",
        "leave out tasks with these tags (Locust's --exclude-tags)",
        _PLAN_VERBS,
        _names,
        metavar="TAG,...",
    ),
    Option(
        "user_classes",
        "run only these user classes: `loadcluster run ... MyUser OtherUser` (Locust's positional classes)",
        _PLAN_VERBS,
        _names,
        flag=None,  # positional on `run`
    ),
    Option(
        "stop_timeout", "seconds users get to finish their task at the end", _PLAN_VERBS, _non_negative, default="5"
    ),
    Option("results", "parent directory of run results", (Verb.RUN, Verb.NODE), default="results", make="RESULTS"),
    # --- how to run it ---------------------------------------------------------------------------
    Option(
        "runtime",
        "where master and workers run: auto (Compose when a Docker engine answers and the host is not on "
        "this machine's loopback, else local), local, compose",
        (Verb.RUN,),
        _runtime,
        default="auto",
        make="RUNTIME",
    ),
    Option(
        "multiple",
        "run these scenarios in sequence (no value: the suite's list) with a combined summary",
        (Verb.RUN,),
        _names,
        metavar="A,B,...",
    ),
    Option(
        "metrics_port",
        "also serve the run's Prometheus metrics on 127.0.0.1:PORT (the Compose stack has its "
        "own exporter and Prometheus)",
        (Verb.RUN,),
        _port,
        metavar="PORT",
        runtimes=(RuntimeName.LOCAL,),
    ),
    Option(
        "network",
        "run the stack on this existing Docker network, so its containers reach a host that lives there",
        (Verb.RUN,),
        runtimes=_COMPOSE,
    ),
    Option(
        "monitoring",
        "add Grafana on 127.0.0.1:3000 to the stack",
        (Verb.RUN,),
        _flag,
        default="0",
        make="MONITORING",
        runtimes=_COMPOSE,
    ),
    Option(
        "image",
        "the node image",
        (Verb.RUN, Verb.UP),
        default="loadcluster:0.1.0",
        make="IMAGE",
        flag=None,
        runtimes=_COMPOSE,
    ),
    Option(
        "base_image",
        "base of the node image when it is built (default: the air-gapped base when built, else python:3.12-slim)",
        (Verb.RUN, Verb.UP),
        make="BASE_IMAGE",
        flag=None,
        runtimes=_COMPOSE,
    ),
    Option(
        "prometheus_image",
        "Prometheus image of the stack (default: prom/prometheus, or the air-gapped one)",
        (Verb.RUN,),
        flag=None,
        runtimes=_COMPOSE,
    ),
    Option(
        "grafana_image",
        "Grafana image of the stack",
        (Verb.RUN,),
        default="grafana/grafana:11.2.2",
        flag=None,
        runtimes=_COMPOSE,
    ),
    Option(
        "prometheus_port",
        "host port of the stack's Prometheus on 127.0.0.1",
        (Verb.RUN,),
        _port,
        default="9090",
        flag=None,
        runtimes=_COMPOSE,
    ),
    Option(
        "grafana_port",
        "host port of Grafana on 127.0.0.1",
        (Verb.RUN,),
        _port,
        default="3000",
        flag=None,
        runtimes=_COMPOSE,
    ),
    Option(
        "web_port",
        "host port of Locust's web UI for `loadcluster up`",
        (Verb.UP,),
        _port,
        default="8089",
        flag=None,
        runtimes=_COMPOSE,
    ),
    # --- compare ---------------------------------------------------------------------------------
    Option(
        "compare_tolerance",
        "allowed worsening, e.g. p95=10,rps=5",
        (Verb.COMPARE,),
        default="p95=10",
        flag="--tolerance",
        metavar="METRIC=PERCENT,...",
    ),
    # --- the demo target -------------------------------------------------------------------------
    Option("target_bind", "interface the demo target listens on", (Verb.TARGET,), default="127.0.0.1", flag="--bind"),
    Option("target_port", "port of the demo target", (Verb.TARGET,), _port, default="8080", flag="--port"),
    Option(
        "target_latency_ms",
        "milliseconds added to every response, to show an SLO failure",
        (Verb.TARGET,),
        _non_negative,
        default="0",
        flag="--latency-ms",
    ),
    Option(
        "target_error_rate",
        "share of requests answered 500, 0..1",
        (Verb.TARGET,),
        _ratio,
        default="0",
        flag="--error-rate",
    ),
    # --- the exporter ----------------------------------------------------------------------------
    Option(
        "exporter_master_url",
        "the master's stats endpoint",
        (Verb.EXPORTER,),
        default="http://127.0.0.1:8090",
        flag="--master-url",
    ),
    Option("exporter_bind", "interface the exporter listens on", (Verb.EXPORTER,), default="0.0.0.0", flag="--bind"),
    Option("exporter_port", "port of the exporter", (Verb.EXPORTER,), _port, default="9646", flag="--port"),
    Option(
        "access_token",
        "a bearer token the master's stats endpoint and the exporter then require (Authorization: Bearer "
        "TOKEN; Prometheus: `authorization: {credentials: TOKEN}`); unset, they answer whoever reaches them, "
        "which the runtimes keep to the stack's own network. A secret: a variable, never a flag",
        (Verb.RUN, Verb.NODE, Verb.EXPORTER),
        flag=None,
        runtimes=(RuntimeName.LOCAL,),
    ),
    # --- placing the nodes: set by the runtimes ------------------------------------------------
    Option(
        "plan",
        "the whole RunPlan as one JSON document, built and checked by the CLI (master only; without "
        "it the master builds the plan from the options above)",
        (Verb.NODE,),
        flag=None,
    ),
    Option(
        "run_dir",
        "exact results directory of the run (default: <results>/<suite>-<scenario>-<UTC time>)",
        (Verb.NODE,),
        flag=None,
    ),
    Option("master_host", "where workers find the master", (Verb.NODE,), default="127.0.0.1", flag=None),
    Option("master_port", "the master's ZeroMQ port", (Verb.NODE,), _port, default="5557", flag=None),
    Option("master_bind_host", "interface the master listens on", (Verb.NODE,), default="*", flag=None),
    Option(
        "stats_port",
        "port of the master's stats endpoint (read by the exporter)",
        (Verb.NODE,),
        _port,
        default="8090",
        flag=None,
    ),
    Option("stats_bind", "its interface (default: the master's bind host)", (Verb.NODE,), flag=None),
    Option(
        "worker_name", "a worker's name in the stats and the summary (default: its host name)", (Verb.NODE,), flag=None
    ),
    Option(
        "node_runtime",
        "where the nodes run, recorded in the summary: local, compose or kubernetes (each runtime sets it)",
        (Verb.NODE,),
        flag=None,
    ),
    Option(
        "results_configmap",
        "in a Kubernetes pod: also publish the results as this ConfigMap (see results_configmap.py)",
        (Verb.NODE,),
        flag=None,
    ),
    Option(
        "stats_linger",
        "seconds the master keeps serving stats after the run, for a last scrape",
        (Verb.NODE,),
        _non_negative,
        default="0",
        flag=None,
    ),
    Option(
        "expect_workers_wait",
        "seconds the master waits for all its workers",
        (Verb.NODE,),
        _number,
        default="60",
        flag=None,
    ),
    Option(
        "progress_interval",
        "seconds between progress lines in the master's log",
        (Verb.NODE,),
        _number,
        default="5",
        flag=None,
    ),
    Option(
        "master_timeout",
        "seconds without the master's heartbeat (one a second) after which a worker running users stops them",
        (Verb.NODE,),
        _number,
        default="3",
        flag=None,
    ),
)

BY_NAME: Mapping[str, Option] = {option.name: option for option in OPTIONS}


def option(name: str) -> Option:
    return BY_NAME[name]


def env_name(name: str) -> str:
    return BY_NAME[name].env


def for_verb(verb: Verb) -> list[Option]:
    return [o for o in OPTIONS if verb in o.verbs]


def add_flags(parser: argparse.ArgumentParser, verb: Verb) -> None:
    """One flag per option of `verb`; values stay raw (None when not given) until `settings()`."""
    for opt in for_verb(verb):
        if opt.cli_flag is None:
            continue
        default = f" (default: {opt.default})" if opt.default is not None else ""
        alone = {"nargs": "?", "const": opt.const} if opt.const is not None else {}
        parser.add_argument(
            opt.cli_flag,
            dest=opt.name,
            metavar=opt.metavar,
            default=None,
            help=f"{opt.help}{default} [{opt.env}]",
            **alone,  # type: ignore[arg-type]
        )


def settings(
    verb: Verb, given: Mapping[str, str | None], environ: Mapping[str, str], names: Iterable[str] | None = None
) -> dict[str, Any]:
    """Typed values of `verb`'s options (or just `names`): flag, else variable, else default."""
    wanted = for_verb(verb) if names is None else [BY_NAME[n] for n in names]
    return {o.name: o.value(given.get(o.name) if given.get(o.name) is not None else environ.get(o.env)) for o in wanted}


def raw_values(names: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The `LOADCLUSTER_*` variables of `names` that are set, as name -> text."""
    return {n: environ[BY_NAME[n].env] for n in names if environ.get(BY_NAME[n].env)}


def markdown_table(verb: Verb) -> str:
    """The README's table of `verb`'s options (a test compares the two)."""
    rows = ["| Flag | Environment variable | Default | Meaning |", "|---|---|---|---|"]
    for opt in for_verb(verb):
        flag = f"`{opt.cli_flag}`" if opt.cli_flag else "`USER_CLASS ...`" if opt.name == "user_classes" else ""
        default = f"`{opt.default}`" if opt.default is not None else ""
        where = f" ({', '.join(opt.runtimes)} runtime)" if opt.runtimes else ""
        rows.append(f"| {flag} | `{opt.env}` | {default} | {opt.help}{where} |")
    return "\n".join(rows) + "\n"
