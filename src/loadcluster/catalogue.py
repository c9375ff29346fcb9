"""The scenario catalogue: suites, their scenarios, load shapes and SLO thresholds, read from YAML.

The file lives beside the locustfiles (`locust/scenarios.yaml`) because the two belong together:
a user's own locustfile directory brings its own catalogue. Everything is checked here, once, so a
typo in the file is reported with its location before any process starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from loadcluster.errors import ConfigError, did_you_mean
from loadcluster.units import parse_duration, parse_positive

CATALOGUE_FILENAME = "scenarios.yaml"
DEFAULT_SHAPE = "steady"


@dataclass(frozen=True)
class Thresholds:
    """SLO thresholds; None means the check is not made."""

    avg_response_ms: float | None = None
    p95_response_ms: float | None = None
    max_failure_percent: float | None = None
    min_rps: float | None = None
    min_users: int | None = None

    def merged(self, overrides: Mapping[str, Any], where: str) -> Thresholds:
        allowed = {f.name for f in fields(self)}
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, raw in overrides.items():
            if key not in allowed:
                raise ConfigError(f"{where}: unknown SLO threshold '{key}', {did_you_mean(key, allowed)}")
            number = parse_positive(raw, what=f"{where}.{key}", integer=key == "min_users")
            values[key] = int(number) if key == "min_users" else number
        return Thresholds(**values)


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
            raise ConfigError(f"unknown scenario '{name}' in suite '{self.name}', {did_you_mean(name, self.scenarios)}")
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
            raise ConfigError(f"unknown suite '{name}', {did_you_mean(name, self.suites)}")
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
        raise ConfigError(f"unknown scenario '{scenario_name}', {did_you_mean(scenario_name, every)}")


def load_catalogue(path: Path) -> Catalogue:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read scenario catalogue {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"scenario catalogue {path} is not valid YAML: {exc}") from exc
    where = str(path)
    document = _mapping(document, where)
    base_slo = DEFAULT_SLO.merged(_mapping(document.get("slo", {}), f"{where}: slo"), f"{where}: slo")
    shapes = {
        name: _stages(stages, f"{where}: shapes.{name}")
        for name, stages in _mapping(document.get("shapes", {}), f"{where}: shapes").items()
    }
    shapes.setdefault(DEFAULT_SHAPE, (Stage("ramp-and-hold", 1.0, 1.0),))
    suites = {
        name: _suite(name, raw, path.parent, base_slo, shapes, f"{where}: suites.{name}")
        for name, raw in _mapping(document.get("suites"), f"{where}: suites").items()
    }
    if not suites:
        raise ConfigError(f"{where}: defines no suites")
    return Catalogue(path=path, slo=base_slo, suites=suites)


def _suite(
    name: str,
    raw: Any,
    directory: Path,
    base_slo: Thresholds,
    shapes: Mapping[str, tuple[Stage, ...]],
    where: str,
) -> Suite:
    raw = _mapping(raw, where)
    if "locustfile" not in raw:
        raise ConfigError(f"{where}: missing 'locustfile' (a .py file in {directory})")
    locustfile = directory / str(raw["locustfile"])
    if not locustfile.is_file():
        raise ConfigError(f"{where}.locustfile: {locustfile} does not exist")
    scenarios = {
        scenario: _scenario(scenario, body, base_slo, shapes, f"{where}.scenarios.{scenario}")
        for scenario, body in _mapping(raw.get("scenarios"), f"{where}.scenarios").items()
    }
    if not scenarios:
        raise ConfigError(f"{where}: defines no scenarios")
    multiple = tuple(str(s) for s in raw.get("multiple", list(scenarios)))
    for scenario in multiple:
        if scenario not in scenarios:
            raise ConfigError(f"{where}.multiple: unknown scenario '{scenario}', {did_you_mean(scenario, scenarios)}")
    return Suite(name, str(raw.get("description", "")), locustfile, multiple, scenarios)


def _scenario(
    name: str, raw: Any, base_slo: Thresholds, shapes: Mapping[str, tuple[Stage, ...]], where: str
) -> Scenario:
    raw = _mapping(raw, where)
    for required in ("users", "duration"):
        if required not in raw:
            raise ConfigError(f"{where}: missing '{required}'")
    shape = str(raw.get("shape", DEFAULT_SHAPE))
    if shape not in shapes:
        raise ConfigError(f"{where}.shape: unknown shape '{shape}', {did_you_mean(shape, shapes)}")
    spawn_rate = raw.get("spawn_rate")
    return Scenario(
        name=name,
        description=str(raw.get("description", "")),
        users=int(parse_positive(raw["users"], what=f"{where}.users", integer=True)),
        spawn_rate=None if spawn_rate is None else parse_positive(spawn_rate, what=f"{where}.spawn_rate"),
        duration_s=parse_duration(str(raw["duration"]), what=f"{where}.duration"),
        workers=int(parse_positive(raw.get("workers", 1), what=f"{where}.workers", integer=True)),
        shape=shape,
        stages=shapes[shape],
        slo=base_slo.merged(_mapping(raw.get("slo", {}), f"{where}.slo"), f"{where}.slo"),
    )


def _stages(raw: Any, where: str) -> tuple[Stage, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: must be a non-empty list of stages")
    stages = []
    previous_until = 0.0
    for index, item in enumerate(raw):
        item = _mapping(item, f"{where}[{index}]")
        until = float(parse_positive(item.get("until", ""), what=f"{where}[{index}].until"))
        users = float(parse_positive(item.get("users", ""), what=f"{where}[{index}].users"))
        if until <= previous_until or until > 1 or users > 1:
            raise ConfigError(f"{where}[{index}]: 'until' must grow and stay within (0, 1], 'users' within (0, 1]")
        stages.append(Stage(str(item.get("name", f"stage-{index + 1}")), until, users))
        previous_until = until
    if stages[-1].until != 1.0:
        raise ConfigError(f"{where}: the last stage must end at until: 1.0")
    return tuple(stages)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping of names to settings")
    return value
