"""The load generator's own CPU: the workers' samples, the summary's `generator` section, and what
is said when the generator was saturated. Locust-free: the master and the CLI's supervisor use it.

The summary's `generator` section judges the load generator itself: a worker that has no CPU left
measures its own queueing, not the target. Every worker samples its own CPU once a second while it
runs users (its process's CPU seconds over wall seconds since the previous sample, in percent of one
core: ZeroMQ's I/O thread counts too, so a sample can read a little above 100; the samples reach the
master with the stats reports). Per worker:

- `peak_cpu_percent`: its highest sample;
- `sustained_cpu_percent`: the CPU level it was at or above for at least a tenth of its sampled
  seconds, i.e. the 90th percentile of its samples, each weighted by the seconds it covers (about 1 s;
  more when a busy worker wakes its sampler late). With 10 s of samples or fewer it equals the peak.
  One spike in a long run does not count; a worker pinned for a tenth of it does.

The section's own `peak_cpu_percent` and `sustained_cpu_percent` are the busiest worker's (the highest
sustained figure), and `saturated` is true when some worker's sustained figure is at least 90 % of a
core (SATURATED_CPU_PERCENT): its latencies are suspect. That is a warning, not a failed SLO, unless
the scenario sets the `max_worker_cpu_percent` threshold. When nothing was sampled (a summary the
supervisor wrote from the master's last stats document, or no worker sent a sample) the figures are
null, `saturated` is null rather than false, and `unknown` says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# A worker at or above this share of one core for a tenth of its time is the bottleneck itself.
SATURATED_CPU_PERCENT = 90.0
# "Sustained" is the level held for at least this share of a worker's sampled seconds.
SUSTAINED_SHARE = 0.1
# One CPU sample of a worker: (percent of one core, wall seconds it covers).
CpuSample = tuple[float, float]
NOT_SAMPLED = "no worker sent a CPU sample: whether the generator was saturated is not known"
# While the run goes on, the master says a worker is saturated only once it has this many seconds of
# samples: with fewer, a tenth of them is one sample, and a worker's start-up burst would be enough.
# The summary at the end judges every sample, however few.
SATURATION_NEWS_AFTER_S = 20.0


class CpuLedger:
    """The master's record of the workers' CPU samples, by worker name (a replaced worker that takes
    its predecessor's name carries on its record: it is the same slot of the generator)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[CpuSample]] = {}
        self._told: set[str] = set()

    def add(self, worker: str, raw: Any) -> str | None:
        """Record one report's samples; the first time the worker's run so far is saturated, the news."""
        samples = self.samples.setdefault(worker, [])
        samples.extend(cpu_samples_from(raw))
        sampled_s = sum(seconds for _, seconds in samples)
        if worker in self._told or sampled_s < SATURATION_NEWS_AFTER_S:
            return None
        sustained = sustained_cpu_percent(samples)
        if sustained < SATURATED_CPU_PERCENT:
            return None
        self._told.add(worker)
        return (
            f"worker {worker} is saturated: at or above {sustained:g} % of a core for a tenth of its "
            f"{sampled_s:.0f}s so far. Latencies are suspect: the generator, not the target, is the bottleneck; "
            "add workers or cores"
        )

    def section(self) -> dict[str, Any]:
        return generator_section(self.samples)


def cpu_samples_from(raw: Any) -> list[CpuSample]:
    """One stats report's CPU samples as (percent, seconds). They come over the network from workers
    that may run another version: anything malformed is skipped rather than failing the report."""
    samples: list[CpuSample] = []
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        return samples
    for item in raw:
        try:
            percent, seconds = (float(value) for value in item)
        except (TypeError, ValueError):
            continue
        if math.isfinite(percent) and percent >= 0 and math.isfinite(seconds) and seconds > 0:
            samples.append((percent, seconds))
    return samples


def sustained_cpu_percent(samples: Sequence[CpuSample]) -> float:
    """The CPU level the samples were at or above for at least SUSTAINED_SHARE of their seconds."""
    needed = SUSTAINED_SHARE * sum(seconds for _, seconds in samples)
    covered = 0.0
    for percent, seconds in sorted(samples, reverse=True):
        covered += seconds
        if covered >= needed * (1 - 1e-9):  # a tenth of ten equal samples is exactly one of them
            return percent
    return 0.0


def generator_section(
    samples_by_worker: Mapping[str, Sequence[CpuSample]], *, unknown: str = NOT_SAMPLED
) -> dict[str, Any]:
    """The summary's `generator` section from each worker's CPU samples (see the module's docstring);
    `unknown` says why there are no figures when no worker has a sample."""
    workers = {
        name: {
            "samples": len(samples),
            "sampled_s": round(float(sum(seconds for _, seconds in samples)), 1),
            "peak_cpu_percent": round(float(max(percent for percent, _ in samples)), 1),
            "sustained_cpu_percent": round(float(sustained_cpu_percent(samples)), 1),
        }
        for name, samples in sorted(samples_by_worker.items())
        if samples
    }
    section: dict[str, Any] = {
        "saturated_at_cpu_percent": SATURATED_CPU_PERCENT,
        "workers": workers,
        "busiest_worker": None,
        "peak_cpu_percent": None,
        "sustained_cpu_percent": None,
        "saturated": None,
        "saturated_workers": [],
    }
    if not workers:
        return section | {"unknown": unknown}
    busiest = max(workers, key=lambda name: workers[name]["sustained_cpu_percent"])
    saturated = [name for name, w in workers.items() if w["sustained_cpu_percent"] >= SATURATED_CPU_PERCENT]
    return section | {
        "busiest_worker": busiest,
        "peak_cpu_percent": workers[busiest]["peak_cpu_percent"],
        "sustained_cpu_percent": workers[busiest]["sustained_cpu_percent"],
        "saturated": bool(saturated),
        "saturated_workers": saturated,
    }


def saturation_warning(generator: Mapping[str, Any]) -> str | None:
    """One line naming the saturated workers and their figures, or None when none was (or it is unknown)."""
    if not generator.get("saturated"):
        return None
    workers = generator["workers"]
    named = ", ".join(
        f"{name} at {workers[name]['sustained_cpu_percent']:g} % of a core" for name in generator["saturated_workers"]
    )
    return (
        f"the load generator was saturated: {named} (sustained; {generator['saturated_at_cpu_percent']:g} % or "
        "more is saturated). Latencies are suspect: the generator, not the target, was the bottleneck; "
        "add workers or cores"
    )


def generator_line(generator: Mapping[str, Any]) -> str:
    """The generator's CPU in one line, saturated or not: what a reader checks the latencies against."""
    if generator.get("saturated") is None:
        return f"generator CPU: not measured ({generator.get('unknown', NOT_SAMPLED)})"
    busiest = generator["busiest_worker"]
    return (
        f"generator CPU: busiest worker {busiest} sustained {generator['sustained_cpu_percent']:g} % of a core "
        f"(peak {generator['peak_cpu_percent']:g} %, {generator['workers'][busiest]['sampled_s']:g} s sampled)"
    )
