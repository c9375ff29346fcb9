"""RunPlan: everything a run needs, built and checked once from the catalogue plus flags/environment.

Runtimes place processes; they never re-interpret options. The master rebuilds the very same plan
from the `LOADCLUSTER_*` environment that `RunPlan.to_env()` produced, so a master started locally,
by Compose or in a pod behaves the same.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlparse

from loadcluster.catalogue import (
    CATALOGUE_FILENAME,
    DEFAULT_SLO,
    Catalogue,
    Scenario,
    Stage,
    Thresholds,
    load_catalogue,
)
from loadcluster.errors import ConfigError
from loadcluster.locustfiles import check_defines_users
from loadcluster.units import parse_duration, parse_positive

ENV_PREFIX = "LOADCLUSTER_"
CUSTOM_SCENARIO = "custom"
MAX_SPAWN_RATE_PER_WORKER = 100  # Locust warns above this; one worker's CPU cannot start users faster
DEFAULT_WORKERS = 2
DEFAULT_STOP_TIMEOUT_S = 5.0
MIN_DURATION_S = 1.0


@dataclass(frozen=True)
class RunOptions:
    """Raw option values as typed on the command line or found in `LOADCLUSTER_*` variables."""

    suite: str | None = None
    scenario: str | None = None
    workers: str | None = None
    users: str | None = None
    spawn_rate: str | None = None
    duration: str | None = None
    time_scale: str | None = None
    host: str | None = None
    results: str | None = None
    locustfile: str | None = None
    stop_timeout: str | None = None

    @staticmethod
    def env_name(option: str) -> str:
        return ENV_PREFIX + option.upper()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RunOptions:
        environ = os.environ if environ is None else environ
        return cls(**{f.name: environ.get(cls.env_name(f.name)) or None for f in fields(cls)})

    def overridden_by(self, **flags: str | None) -> RunOptions:
        """Flags win over environment values; a flag left unset keeps the environment's value."""
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        current.update({k: v for k, v in flags.items() if v is not None})
        return RunOptions(**current)


@dataclass(frozen=True)
class PlannedStage:
    name: str
    start_s: float
    end_s: float
    users: int


@dataclass(frozen=True)
class RunPlan:
    suite: str
    scenario: str
    description: str
    locustfile: Path
    users: int
    spawn_rate: float
    base_duration_s: float
    time_scale: float
    workers: int
    host: str | None  # None: the runtime starts the bundled demo target
    stages: tuple[PlannedStage, ...]
    thresholds: Thresholds
    results_root: Path
    stop_timeout_s: float
    catalogue_path: Path | None = field(default=None)

    @property
    def duration_s(self) -> float:
        return self.base_duration_s * self.time_scale

    @property
    def name(self) -> str:
        return f"{self.suite}-{self.scenario}"

    def stage_at(self, elapsed_s: float) -> PlannedStage | None:
        """The stage running at `elapsed_s` into the test, None once the test is over."""
        return next((s for s in self.stages if elapsed_s < s.end_s), None)

    def to_env(self) -> dict[str, str]:
        """`LOADCLUSTER_*` variables that make any node rebuild exactly this plan."""
        values = {
            "suite": self.suite,
            "users": str(self.users),
            "spawn_rate": f"{self.spawn_rate:g}",
            "duration": f"{self.base_duration_s:g}",
            "time_scale": f"{self.time_scale:g}",
            "workers": str(self.workers),
            "results": str(self.results_root),
            "locustfile": str(self.catalogue_path.parent if self.catalogue_path else self.locustfile),
            "stop_timeout": f"{self.stop_timeout_s:g}",
        }
        if self.scenario != CUSTOM_SCENARIO:
            values["scenario"] = self.scenario
        if self.host:
            values["host"] = self.host
        return {RunOptions.env_name(k): v for k, v in values.items()}


def default_locustfile_dir() -> Path:
    """./locust when it holds a catalogue, else the `locust/` directory of this source tree."""
    here = Path.cwd() / "locust"
    if (here / CATALOGUE_FILENAME).is_file():
        return here
    return Path(__file__).resolve().parents[2] / "locust"


def build_plan(options: RunOptions) -> RunPlan:
    locustfile_path = Path(options.locustfile) if options.locustfile else default_locustfile_dir()
    if not locustfile_path.exists():
        raise ConfigError(f"locustfile '{locustfile_path}' does not exist: give a .py file or a directory")
    catalogue = _catalogue_for(locustfile_path)
    preset, suite_name, locustfile = _preset_for(options, catalogue, locustfile_path)
    check_defines_users(locustfile)

    users = _number(options.users, "users", integer=True, default=preset.users if preset else None)
    duration = _duration(options.duration, preset)
    preset_rate = preset.spawn_rate if preset else None
    spawn_rate = _number(options.spawn_rate, "spawn rate", default=preset_rate or users / 10)
    time_scale = _number(options.time_scale, "time scale", default=1.0)
    workers = _workers(options.workers, preset, users, spawn_rate)
    if duration * time_scale < MIN_DURATION_S:
        raise ConfigError(
            f"duration {duration:g}s at time scale {time_scale:g} is under {MIN_DURATION_S:g}s: "
            "raise --duration or --time-scale"
        )
    stage_shape = preset.stages if preset else (Stage("ramp-and-hold", 1.0, 1.0),)
    return RunPlan(
        suite=suite_name,
        scenario=preset.name if preset else CUSTOM_SCENARIO,
        description=preset.description if preset else "ad-hoc run",
        locustfile=locustfile,
        users=int(users),
        spawn_rate=spawn_rate,
        base_duration_s=duration,
        time_scale=time_scale,
        workers=workers,
        host=_host(options.host),
        stages=_planned_stages(stage_shape, int(users), duration * time_scale),
        thresholds=_thresholds(preset.slo if preset else catalogue.slo if catalogue else DEFAULT_SLO, users),
        results_root=Path(options.results or "results"),
        stop_timeout_s=_number(options.stop_timeout, "stop timeout", default=DEFAULT_STOP_TIMEOUT_S),
        catalogue_path=catalogue.path if catalogue else None,
    )


def _catalogue_for(locustfile_path: Path) -> Catalogue | None:
    candidate = locustfile_path / CATALOGUE_FILENAME if locustfile_path.is_dir() else None
    return load_catalogue(candidate) if candidate and candidate.is_file() else None


def _preset_for(
    options: RunOptions, catalogue: Catalogue | None, locustfile_path: Path
) -> tuple[Scenario | None, str, Path]:
    """The scenario preset (None for an ad-hoc run), the suite name and the file(s) Locust loads."""
    if catalogue is None:
        if options.scenario or options.suite:
            raise ConfigError(
                f"locustfile '{locustfile_path}' has no {CATALOGUE_FILENAME}, so it has no suites or "
                "scenarios: run it ad hoc with --users and --duration"
            )
        return None, locustfile_path.stem, locustfile_path
    if options.scenario:
        suite, scenario = catalogue.find(options.suite, options.scenario)
        return scenario, suite.name, suite.locustfile
    suite = catalogue.suite(options.suite) if options.suite else catalogue.default_suite
    if options.users is None:
        raise ConfigError(
            f"no scenario given: pass --scenario (one of {', '.join(suite.scenarios)}) "
            "or --users and --duration for an ad-hoc run"
        )
    return None, suite.name, suite.locustfile


def _number(raw: str | None, what: str, *, default: float | None, integer: bool = False) -> float:
    if raw is None:
        if default is None:
            raise ConfigError(f"{what} is required for an ad-hoc run")
        return default
    return parse_positive(raw, what=what, integer=integer)


def _duration(raw: str | None, preset: Scenario | None) -> float:
    if raw is not None:
        return parse_duration(raw)
    if preset is None:
        raise ConfigError("duration is required for an ad-hoc run: pass --duration, e.g. 10m")
    return preset.duration_s


def _workers(raw: str | None, preset: Scenario | None, users: float, spawn_rate: float) -> int:
    if raw is not None:
        workers = int(parse_positive(raw, what="workers", integer=True))
    else:
        # Enough workers that none has to start more than MAX_SPAWN_RATE_PER_WORKER users a second.
        needed = math.ceil(spawn_rate / MAX_SPAWN_RATE_PER_WORKER)
        workers = min(int(users), max(preset.workers if preset else DEFAULT_WORKERS, needed))
    if workers > users:
        raise ConfigError(f"workers {workers} is more than users {int(users)}: each worker needs a user at least")
    return workers


def _host(raw: str | None) -> str | None:
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"host '{raw}' is not an http(s) URL, e.g. http://127.0.0.1:8080")
    return raw.rstrip("/")


def _thresholds(base: Thresholds, users: float) -> Thresholds:
    # A scenario asking for N concurrent users cannot demand more than the run was told to start.
    if base.min_users is not None and base.min_users > users:
        return dataclasses.replace(base, min_users=int(users))
    return base


def _planned_stages(shape: tuple[Stage, ...], users: int, duration_s: float) -> tuple[PlannedStage, ...]:
    planned = []
    start = 0.0
    for stage in shape:
        end = stage.until * duration_s
        planned.append(PlannedStage(stage.name, start, end, max(1, round(stage.users * users))))
        start = end
    return tuple(planned)
