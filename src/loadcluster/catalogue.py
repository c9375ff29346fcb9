"""The scenario catalogue: suites, their scenarios, load shapes and SLO thresholds, read from YAML.

The file lives beside the locustfiles (`locust/scenarios.yaml`) because the two belong together:
a user's own locustfile directory brings its own catalogue. Everything is checked here, once, so a
mistake in the file is one line naming the file, the key path and what is allowed, before any process
starts: an unknown key (every mapping knows its keys), a key given twice, a value of the wrong type
(YAML's `yes` is a boolean, not 1; `'5'` is text, not a number), a number out of range, a shape that
goes backwards.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from loadcluster.errors import ConfigError, did_you_mean
from loadcluster.units import parse_duration, shown

CATALOGUE_FILENAME = "scenarios.yaml"
DEFAULT_SHAPE = "steady"

# Suite, scenario and shape names are typed on the command line (--multiple a,b) and name result
# directories, so they are plain words.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit"
_TOP_KEYS = ("slo", "shapes", "suites")
_SUITE_KEYS = ("locustfile", "description", "multiple", "scenarios")
_SCENARIO_KEYS = ("users", "spawn_rate", "duration", "workers", "shape", "slo", "description")
_STAGE_KEYS = ("name", "until", "users")


@dataclass(frozen=True)
class Thresholds:
    """SLO thresholds; None means the check is not made."""

    avg_response_ms: float | None = None
    p95_response_ms: float | None = None
    max_failure_percent: float | None = None
    min_rps: float | None = None
    min_users: int | None = None
    # The busiest worker's sustained CPU, % of one core (results.py says how it is measured). Unset, a
    # saturated generator is only a warning; set, it fails the run like any other threshold.
    max_worker_cpu_percent: float | None = None

    def merged(self, overrides: Mapping[str, Any], where: str) -> Thresholds:
        """These thresholds with `overrides` (threshold name -> value, as in the catalogue's `slo`)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(_thresholds(overrides, _Where(where, in_path=True)))
        return Thresholds(**values)


_THRESHOLD_KEYS = tuple(f.name for f in fields(Thresholds))

# The seed plan's gate, used when a catalogue does not say otherwise.
DEFAULT_SLO = Thresholds(avg_response_ms=500, p95_response_ms=2000, max_failure_percent=1)


@dataclass(frozen=True)
class Stage:
    """One part of a shape: lasts until `until` x duration, holding `users` x peak users."""

    name: str
    until: float
    users: float


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    users: int
    spawn_rate: float | None  # None: users / 10
    duration_s: float
    workers: int
    shape: str
    stages: tuple[Stage, ...]
    slo: Thresholds


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    locustfile: Path
    multiple: tuple[str, ...]
    scenarios: Mapping[str, Scenario]

    def scenario(self, name: str) -> Scenario:
        if name not in self.scenarios:
            raise ConfigError(
                f"unknown scenario {shown(name)} in suite '{self.name}', {did_you_mean(name, self.scenarios)}"
            )
        return self.scenarios[name]


@dataclass(frozen=True)
class Catalogue:
    path: Path
    slo: Thresholds  # the thresholds of ad-hoc runs and the base of every scenario's
    suites: Mapping[str, Suite]

    @property
    def default_suite(self) -> Suite:
        return next(iter(self.suites.values()))

    def suite(self, name: str) -> Suite:
        if name not in self.suites:
            raise ConfigError(f"unknown suite {shown(name)}, {did_you_mean(name, self.suites)}")
        return self.suites[name]

    def find(self, suite_name: str | None, scenario_name: str) -> tuple[Suite, Scenario]:
        """Look a scenario up; without a suite, the default suite first, then any suite that has it."""
        if suite_name:
            suite = self.suite(suite_name)
            return suite, suite.scenario(scenario_name)
        if scenario_name in self.default_suite.scenarios:
            return self.default_suite, self.default_suite.scenarios[scenario_name]
        owners = [s for s in self.suites.values() if scenario_name in s.scenarios]
        if len(owners) == 1:
            return owners[0], owners[0].scenarios[scenario_name]
        every = {name for s in self.suites.values() for name in s.scenarios}
        raise ConfigError(f"unknown scenario {shown(scenario_name)}, {did_you_mean(scenario_name, every)}")


def load_catalogue(path: Path) -> Catalogue:
    """The checked catalogue in `path`, or ConfigError: one line naming the file, the key path and the rule."""
    document = _read(path)
    top = _Where(str(path))
    if document is None:
        raise ConfigError(f"{top}: the file is empty: it needs at least 'suites' (suites.<suite>.scenarios.<name>)")
    raw = _mapping(document, top, _TOP_KEYS, required=("suites",), what="the keys " + ", ".join(_TOP_KEYS))
    base_slo = DEFAULT_SLO.merged(raw.get("slo", {}), str(top.key("slo")))
    shapes = {
        name: _stages(stages, top.key("shapes").key(name))
        for name, stages in _names(raw.get("shapes", {}), top.key("shapes"), "shapes").items()
    }
    shapes.setdefault(DEFAULT_SHAPE, (Stage("ramp-and-hold", 1.0, 1.0),))
    suites = {
        name: _suite(name, body, path.parent, base_slo, shapes, top.key("suites").key(name))
        for name, body in _names(raw["suites"], top.key("suites"), "suites").items()
    }
    if not suites:
        raise ConfigError(f"{top}: defines no suites")
    return Catalogue(path=path, slo=base_slo, suites=suites)


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last, silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.value in first_line:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {shown(key_node.value)} is given twice in one mapping "
                    f"(first on line {first_line[key_node.value]})",
                    key_node.start_mark,
                )
            first_line[key_node.value] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read scenario catalogue {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"scenario catalogue {path} is not UTF-8 text (byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(f"scenario catalogue {path} is not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise ConfigError(f"scenario catalogue {path} is not valid YAML: it nests too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ConfigError(f"scenario catalogue {path} is not valid YAML: {_one_line(str(exc))}") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """The parser's complaint and where, on one line: "line 3, column 7: expected ..., but found ..."."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({exc.context})" if exc.context else ""
        return _one_line(f"{where}{exc.problem}{context}")
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int):
        return f"{exc.reason} (character #x{exc.character:04x} at position {exc.position})"
    return _one_line(str(exc))


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Where:
    """Where a value sits: the file and the key path, as messages print it ("f.yaml: suites.s.users")."""

    def __init__(self, label: str, *, in_path: bool = False) -> None:
        self.label, self.in_path = label, in_path

    def key(self, name: object) -> _Where:
        part = str(name) if str(name).isprintable() else repr(str(name))
        return _Where(f"{self.label}{'.' if self.in_path else ': '}{part}", in_path=True)

    def index(self, number: int) -> _Where:
        return _Where(f"{self.label}[{number}]", in_path=True)

    def __str__(self) -> str:
        return self.label


def _kind(value: Any) -> str:
    """How a message names a value it did not expect: "text 'ten'", "a list", "true, a boolean"."""
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return f"{str(value).lower()}, a boolean (YAML reads yes/no/on/off/true/false as booleans)"
    if isinstance(value, str):
        return f"text {shown(value)}"
    if isinstance(value, int | float):
        try:
            return f"the number {value}"
        except ValueError:  # an int of more than 4300 digits
            return "a number too long to print"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, bytes):
        return "binary data"
    return f"a {type(value).__name__}"


def _mapping(
    value: Any, where: _Where, allowed: Collection[str], *, required: Collection[str] = (), what: str = ""
) -> Mapping[str, Any]:
    """`value` as a mapping whose keys are all in `allowed`, with every `required` key."""
    if not isinstance(value, Mapping):
        expected = what or "the keys " + ", ".join(allowed)
        raise ConfigError(f"{where}: expected a mapping with {expected}, got {_kind(value)}")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"{where.key(key)}: a key must be text, got {_kind(key)}: quote it")
        if key not in allowed:
            raise ConfigError(f"{where.key(key)}: unknown key, {did_you_mean(key, allowed)}")
    for key in required:
        if key not in value:
            raise ConfigError(f"{where}: missing '{key}'")
    return value


def _names(value: Any, where: _Where, what: str) -> Mapping[str, Any]:
    """A mapping of names (suites, scenarios, shapes) to their settings."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping of {what} by name, got {_kind(value)}")
    for key in value:
        if not isinstance(key, str) or not _NAME.fullmatch(key):
            got = shown(key) if isinstance(key, str) else _kind(key)
            raise ConfigError(f"{where.key(key)}: {got} is not a name: use {_NAME_RULE}")
    return value


def _text(value: Any, where: _Where) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {_kind(value)}")
    return value


def _whole(value: Any, where: _Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: expected a whole number greater than 0, got {_kind(value)}{_hint(value)}")
    return value


def _hint(value: Any) -> str:
    """For a number YAML read as text ('5' quoted, or 1e3): how to write it so it is a number."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return " (YAML reads it as text: write a plain number such as 10 or 7.5, without quotes)"
    return ""


def _positive(value: Any, where: _Where, maximum: float | None = None) -> float:
    number = math.nan if isinstance(value, bool) or not isinstance(value, int | float) else value
    try:
        number = float(number)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number <= 0 or (maximum is not None and number > maximum):
        allowed = (
            f"a number greater than 0 and at most {maximum:g}" if maximum is not None else "a number greater than 0"
        )
        raise ConfigError(f"{where}: expected {allowed}, got {_kind(value)}{_hint(value)}")
    return number


def _duration(value: Any, where: _Where) -> float:
    if isinstance(value, str):
        return parse_duration(value, what=f"{where}:")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf:
        return float(value)
    raise ConfigError(f"{where}: expected a duration greater than 0 such as 90, 30s, 5m or 1h30m, got {_kind(value)}")


def _thresholds(raw: Any, where: _Where) -> dict[str, float | int]:
    """The checked thresholds of an `slo` mapping."""
    raw = _mapping(raw, where, _THRESHOLD_KEYS, what="the SLO thresholds " + ", ".join(_THRESHOLD_KEYS))
    values: dict[str, float | int] = {}
    for key, value in raw.items():
        if key == "min_users":
            values[key] = _whole(value, where.key(key))
        else:
            # Both are percentages: a share of the requests, a share of one core.
            percent = key in ("max_failure_percent", "max_worker_cpu_percent")
            values[key] = _positive(value, where.key(key), maximum=100 if percent else None)
    return values


def _suite(
    name: str,
    raw: Any,
    directory: Path,
    base_slo: Thresholds,
    shapes: Mapping[str, tuple[Stage, ...]],
    where: _Where,
) -> Suite:
    raw = _mapping(raw, where, _SUITE_KEYS, required=("locustfile", "scenarios"))
    name_of_file = _text(raw["locustfile"], where.key("locustfile"))
    locustfile = directory / name_of_file
    try:
        problem = None if locustfile.is_file() else "is not a file in" if locustfile.exists() else "does not exist in"
    except (OSError, ValueError):  # a name too long, or holding a NUL
        problem = "does not exist in"
    if problem:
        raise ConfigError(f"{where.key('locustfile')}: {shown(name_of_file)} {problem} {directory}")
    scenarios = {
        scenario: _scenario(scenario, body, base_slo, shapes, where.key("scenarios").key(scenario))
        for scenario, body in _names(raw["scenarios"], where.key("scenarios"), "scenarios").items()
    }
    if not scenarios:
        raise ConfigError(f"{where}: defines no scenarios")
    multiple = _multiple(raw.get("multiple", list(scenarios)), scenarios, where.key("multiple"))
    description = _text(raw["description"], where.key("description")) if "description" in raw else ""
    return Suite(name, description, locustfile, multiple, scenarios)


def _multiple(raw: Any, scenarios: Mapping[str, Scenario], where: _Where) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        example = f"[{', '.join(list(scenarios)[:2])}]"
        raise ConfigError(f"{where}: expected a non-empty list of scenarios, e.g. {example}, got {_kind(raw)}")
    for index, scenario in enumerate(raw):
        if not isinstance(scenario, str):
            raise ConfigError(f"{where.index(index)}: expected a scenario name, got {_kind(scenario)}")
        if scenario not in scenarios:
            raise ConfigError(
                f"{where.index(index)}: unknown scenario {shown(scenario)}, {did_you_mean(scenario, scenarios)}"
            )
    return tuple(raw)


def _scenario(
    name: str, raw: Any, base_slo: Thresholds, shapes: Mapping[str, tuple[Stage, ...]], where: _Where
) -> Scenario:
    raw = _mapping(raw, where, _SCENARIO_KEYS, required=("users", "duration"))
    shape = _text(raw.get("shape", DEFAULT_SHAPE), where.key("shape"))
    if shape not in shapes:
        raise ConfigError(f"{where.key('shape')}: unknown shape {shown(shape)}, {did_you_mean(shape, shapes)}")
    spawn_rate = raw.get("spawn_rate")
    return Scenario(
        name=name,
        description=_text(raw["description"], where.key("description")) if "description" in raw else "",
        users=_whole(raw["users"], where.key("users")),
        spawn_rate=None if spawn_rate is None else _positive(spawn_rate, where.key("spawn_rate")),
        duration_s=_duration(raw["duration"], where.key("duration")),
        workers=_whole(raw.get("workers", 1), where.key("workers")),
        shape=shape,
        stages=shapes[shape],
        slo=base_slo.merged(raw.get("slo", {}), str(where.key("slo"))),
    )


def _stages(raw: Any, where: _Where) -> tuple[Stage, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{where}: expected a non-empty list of stages such as {{until: 1.0, users: 1.0}}, got {_kind(raw)}"
        )
    stages = []
    previous_until = 0.0
    for index, item in enumerate(raw):
        at = where.index(index)
        item = _mapping(item, at, _STAGE_KEYS, required=("until", "users"))
        until = _positive(item["until"], at.key("until"), maximum=1)
        users = _positive(item["users"], at.key("users"), maximum=1)
        if until <= previous_until:
            raise ConfigError(
                f"{at.key('until')}: {until:g} goes backwards: each stage must end after the one before "
                f"(which ends at {previous_until:g}), up to 1.0"
            )
        label = _text(item["name"], at.key("name")) if "name" in item else f"stage-{index + 1}"
        stages.append(Stage(label, until, users))
        previous_until = until
    if stages[-1].until != 1.0:
        raise ConfigError(f"{where}: the last stage must end at until: 1.0 (it ends at {stages[-1].until:g})")
    return tuple(stages)
