"""RunPlan: everything a run needs, built and checked once, then handed whole to the master.

The CLI builds the plan from the options (see `options`) and the catalogue or the user's own
locustfiles, and passes it to the master as one JSON document (`LOADCLUSTER_PLAN`). Workers never
see it: they need only the locustfiles and the master's address. A master started without the
document (a hand-written Compose file or a chart setting `LOADCLUSTER_SCENARIO=stress`) builds the
plan from its environment with the same `build_plan`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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
from loadcluster.errors import ConfigError, did_you_mean
from loadcluster.locustfiles import Locustfiles, UserClass, files_in, user_classes
from loadcluster.units import format_duration

CUSTOM_SCENARIO = "custom"
MAX_SPAWN_RATE_PER_WORKER = 100  # Locust warns above this; one worker's CPU cannot start users faster
DEFAULT_WORKERS = 2
MIN_DURATION_S = 1.0
# The plans this project ships, served by the bundled demo target (present in a source checkout).
SHIPPED_LOCUSTFILES = Path(__file__).resolve().parents[2] / "locust"
DOCUMENT_VERSION = 1


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
    locustfiles: Locustfiles
    users: int
    spawn_rate: float
    base_duration_s: float
    time_scale: float
    workers: int
    # The target. None with demo_target: the runtime starts the bundled demo target and sets it.
    # None without: each user class's own `host` attribute (Locust's convention).
    host: str | None
    demo_target: bool
    stages: tuple[PlannedStage, ...]
    thresholds: Thresholds
    results_root: Path
    stop_timeout_s: float
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    user_classes: tuple[str, ...] = ()  # empty: every class the files define
    class_hosts: tuple[str, ...] = ()  # the user classes' own hosts, when `host` is None
    warnings: tuple[str, ...] = ()  # what the plan cannot quite do, said before it runs

    @property
    def duration_s(self) -> float:
        return self.base_duration_s * self.time_scale

    @property
    def name(self) -> str:
        return f"{self.suite}-{self.scenario}"

    @property
    def target_label(self) -> str:
        return self.host or ", ".join(self.class_hosts) or "the demo target"

    def stage_at(self, elapsed_s: float) -> PlannedStage | None:
        """The stage running at `elapsed_s` into the test, None once the test is over."""
        return next((s for s in self.stages if elapsed_s < s.end_s), None)

    def relocated(self, locust_root: Path | str, results_root: Path | str) -> RunPlan:
        """The plan as a node sees it where the locustfiles and results are mounted elsewhere."""
        return dataclasses.replace(
            self, locustfiles=self.locustfiles.relocated(locust_root), results_root=Path(results_root)
        )

    def to_document(self) -> str:
        """The plan as one JSON document, for `LOADCLUSTER_PLAN`."""
        body = dataclasses.asdict(self)
        body["locustfiles"] = {"root": str(self.locustfiles.root), "files": [str(f) for f in self.locustfiles.files]}
        body["results_root"] = str(self.results_root)
        return json.dumps({"version": DOCUMENT_VERSION, "plan": body}, separators=(",", ":"))

    @classmethod
    def from_document(cls, text: str) -> RunPlan:
        try:
            document = json.loads(text)
            if document.get("version") != DOCUMENT_VERSION:
                raise ValueError(f"version {document.get('version')}, expected {DOCUMENT_VERSION}")
            body = dict(document["plan"])
            files = body["locustfiles"]
            body["locustfiles"] = Locustfiles(Path(files["root"]), tuple(Path(f) for f in files["files"]))
            body["results_root"] = Path(body["results_root"])
            body["stages"] = tuple(PlannedStage(**s) for s in body["stages"])
            body["thresholds"] = Thresholds(**body["thresholds"])
            for listed in ("tags", "exclude_tags", "user_classes", "class_hosts", "warnings"):
                body[listed] = tuple(body[listed])
            return cls(**body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"LOADCLUSTER_PLAN is not a loadcluster plan document ({exc})") from None


def build_plan(values: Mapping[str, Any]) -> RunPlan:
    """The checked plan for typed option values (see `options.settings`)."""
    spec = values.get("locustfile") or str(SHIPPED_LOCUSTFILES)
    catalogue = _catalogue_for(spec)
    if catalogue is None:
        preset, suite_name, locustfiles = _ad_hoc(values, spec)
    else:
        preset, suite_name, locustfile = _preset_for(values, catalogue)
        locustfiles = Locustfiles(catalogue.path.parent.absolute(), (locustfile.absolute(),))
    classes = user_classes(locustfiles)
    selected = _selected_classes(values.get("user_classes") or (), classes)
    _check_tags(values.get("tags") or (), values.get("exclude_tags") or (), classes)
    host, demo_target, class_hosts = _target(values.get("host"), locustfiles, selected)

    users = values.get("users") or (preset.users if preset else None)
    if users is None:
        raise ConfigError("users is required for an ad-hoc run: pass --users, e.g. --users 50")
    duration = values.get("duration") or (preset.duration_s if preset else None)
    if duration is None:
        raise ConfigError("duration is required for an ad-hoc run: pass --duration, e.g. 10m")
    spawn_rate = float(values.get("spawn_rate") or (preset.spawn_rate if preset and preset.spawn_rate else users / 10))
    time_scale = float(values.get("time_scale") or 1.0)
    workers = _workers(values.get("workers"), preset, users, spawn_rate)
    if duration * time_scale < MIN_DURATION_S:
        raise ConfigError(
            f"duration {duration:g}s at time scale {time_scale:g} is under {MIN_DURATION_S:g}s: "
            "raise --duration or --time-scale"
        )
    stop_timeout = float(values["stop_timeout"]) if values.get("stop_timeout") is not None else 5.0
    stages = _planned_stages(preset.stages if preset else (Stage("ramp-and-hold", 1.0, 1.0),), users,
                             duration * time_scale)  # fmt: skip
    return RunPlan(
        suite=suite_name,
        scenario=preset.name if preset else CUSTOM_SCENARIO,
        description=preset.description if preset else "ad-hoc run",
        locustfiles=locustfiles,
        users=users,
        spawn_rate=spawn_rate,
        base_duration_s=duration,
        time_scale=time_scale,
        workers=workers,
        host=host,
        demo_target=demo_target,
        stages=stages,
        thresholds=_thresholds(preset.slo if preset else catalogue.slo if catalogue else DEFAULT_SLO, users),
        results_root=Path(values.get("results") or "results"),
        stop_timeout_s=stop_timeout,
        tags=tuple(values.get("tags") or ()),
        exclude_tags=tuple(values.get("exclude_tags") or ()),
        user_classes=tuple(values.get("user_classes") or ()),
        class_hosts=class_hosts,
        warnings=_warnings(stages, spawn_rate, stop_timeout, duration * time_scale),
    )


def _catalogue_for(spec: str) -> Catalogue | None:
    """The catalogue of a single directory that has one."""
    candidate = Path(spec) / CATALOGUE_FILENAME
    return load_catalogue(candidate) if "," not in spec and candidate.is_file() else None


def _ad_hoc(values: Mapping[str, Any], spec: str) -> tuple[None, str, Locustfiles]:
    locustfiles = files_in(spec)
    if values.get("scenario") or values.get("suite"):
        raise ConfigError(
            f"locustfile '{spec}' has no {CATALOGUE_FILENAME}, so it has no suites or scenarios: run it ad hoc "
            f"with --users and --duration, or put a {CATALOGUE_FILENAME} beside it"
        )
    if not values.get("users"):
        raise ConfigError(f"no preset for '{spec}': pass --users and --duration, e.g. --users 50 --duration 5m")
    # The suite of an ad-hoc run is named after the directory, else the (first) file.
    return None, (Path(spec) if Path(spec).is_dir() else locustfiles.files[0]).stem, locustfiles


def _preset_for(values: Mapping[str, Any], catalogue: Catalogue) -> tuple[Scenario | None, str, Path]:
    """The scenario preset (None for an ad-hoc run), the suite name and the suite's locustfile."""
    if values.get("scenario"):
        suite, scenario = catalogue.find(values.get("suite"), values["scenario"])
        return scenario, suite.name, suite.locustfile
    suite = catalogue.suite(values["suite"]) if values.get("suite") else catalogue.default_suite
    if not values.get("users"):
        raise ConfigError(
            f"no scenario given: pass --scenario (one of {', '.join(suite.scenarios)}) "
            "or --users and --duration for an ad-hoc run"
        )
    return None, suite.name, suite.locustfile


def _selected_classes(wanted: tuple[str, ...], classes: tuple[UserClass, ...]) -> tuple[UserClass, ...]:
    by_name = {c.name: c for c in classes}
    for name in wanted:
        if name not in by_name:
            raise ConfigError(f"unknown user class '{name}', {did_you_mean(name, by_name)}")
    return tuple(by_name[n] for n in wanted) if wanted else classes


def _check_tags(tags: tuple[str, ...], excluded: tuple[str, ...], classes: tuple[UserClass, ...]) -> None:
    known = {tag for c in classes for tag in c.tags}
    for tag in (*tags, *excluded):
        if tag not in known:
            allowed = did_you_mean(tag, known) if known else "the locustfiles tag no task (@tag)"
            raise ConfigError(f"tag '{tag}' is on no task, {allowed}")


def _target(
    raw: str | None, locustfiles: Locustfiles, classes: tuple[UserClass, ...]
) -> tuple[str | None, bool, tuple[str, ...]]:
    """(host, demo_target, class_hosts): --host; else the classes' own hosts; else, for the shipped
    plans only, the demo target."""
    if raw:
        return _checked_url(raw, "host").rstrip("/"), False, ()
    if all(c.host for c in classes):
        return None, False, tuple(sorted({_checked_url(str(c.host), f"{c.name}.host") for c in classes}))
    if _is_shipped(locustfiles):
        return None, True, ()
    missing = ", ".join(c.name for c in classes if not c.host)
    raise ConfigError(
        f"no target for {missing}: pass --host http://... or set a `host` attribute on the user class "
        "(the bundled demo target serves only the shipped plans)"
    )


def _is_shipped(locustfiles: Locustfiles) -> bool:
    shipped = SHIPPED_LOCUSTFILES.resolve()
    return all(f.resolve().is_relative_to(shipped) for f in locustfiles.files)


def _checked_url(raw: str, what: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{what} '{raw}' is not an http(s) URL, e.g. http://127.0.0.1:8080")
    return raw


def _workers(requested: int | None, preset: Scenario | None, users: int, spawn_rate: float) -> int:
    if requested is not None:
        workers = requested
    else:
        # Enough workers that none has to start more than MAX_SPAWN_RATE_PER_WORKER users a second.
        needed = math.ceil(spawn_rate / MAX_SPAWN_RATE_PER_WORKER)
        workers = min(users, max(preset.workers if preset else DEFAULT_WORKERS, needed))
    if workers > users:
        raise ConfigError(f"workers {workers} is more than users {users}: each worker needs a user at least")
    return workers


def _thresholds(base: Thresholds, users: int) -> Thresholds:
    # A scenario asking for N concurrent users cannot demand more than the run was told to start.
    if base.min_users is not None and base.min_users > users:
        return dataclasses.replace(base, min_users=users)
    return base


def _planned_stages(shape: tuple[Stage, ...], users: int, duration_s: float) -> tuple[PlannedStage, ...]:
    planned = []
    start = 0.0
    for stage in shape:
        end = stage.until * duration_s
        planned.append(PlannedStage(stage.name, start, end, max(1, round(stage.users * users))))
        start = end
    return tuple(planned)


def _warnings(
    stages: tuple[PlannedStage, ...], spawn_rate: float, stop_timeout_s: float, duration_s: float
) -> tuple[str, ...]:
    said = []
    users = 0
    for stage in stages:
        ramp_s = abs(stage.users - users) / spawn_rate
        if stage.users > users and ramp_s > stage.end_s - stage.start_s:
            reached = users + round(spawn_rate * (stage.end_s - stage.start_s))
            said.append(
                f"stage {stage.name} lasts {format_duration(stage.end_s - stage.start_s)} but starting "
                f"{stage.users - users} users at {spawn_rate:g}/s takes {format_duration(ramp_s)}: about "
                f"{reached} of {stage.users} users will run; raise --spawn-rate or --duration"
            )
        users = stage.users
    if stop_timeout_s > duration_s:
        said.append(
            f"the run lasts {format_duration(duration_s)}, and stopping may add up to "
            f"{format_duration(stop_timeout_s)} while users finish their task (--stop-timeout)"
        )
    return tuple(said)
