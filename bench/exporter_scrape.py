"""Benchmark: one exporter scrape (building every metric family and the text format) for a master
with 100 endpoints, as a ratio to a master with 1 endpoint, measured in the same run.

The master's HTTP read is left out (it depends on the network, not on the exporter); each endpoint
carries 300 distinct Locust response-time buckets, more than a long run on a slow target produces.
Run alone: `make bench`. Prints wall time and CPU time per scrape.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from loadcluster.exporter import MasterCollector

BUCKETS_PER_ENDPOINT = 300
REPEATS = 200


def document(endpoints: int) -> dict[str, Any]:
    rng = random.Random(7)
    entries = []
    for index in range(endpoints):
        times = {str(ms): rng.randint(1, 50) for ms in sorted(rng.sample(range(1, 30000), BUCKETS_PER_ENDPOINT))}
        entries.append({"method": "GET", "name": f"/api/v1/resource-{index}/[id]", "requests": sum(times.values()),
                        "failures": 1, "response_time_sum_ms": 1e6, "response_times": times})  # fmt: skip
    workers = [{"index": i, "state": "running", "users": 250, "cpu_percent": 40, "memory_bytes": 6e7} for i in range(8)]
    return {
        "run": {"suite": "s", "scenario": "spike", "run_id": "r", "host": "http://t", "state": "running",
                "started_at": 1.0, "stage": "spike", "stage_started_at": 2.0},
        "thresholds": {"avg_response_ms": 500, "p95_response_ms": 2000, "max_failure_percent": 1},
        "users": 2000, "user_classes": {"A": 1000, "B": 1000}, "workers": workers,
        "current": {"rps": 100.0, "failure_ratio": 0.0}, "entries": entries,
    }  # fmt: skip


def per_scrape(endpoints: int) -> tuple[float, float, int]:
    doc = document(endpoints)
    registry = CollectorRegistry()
    registry.register(MasterCollector("http://master", read=lambda _url: doc))
    walls, size = [], 0
    cpu_start = time.process_time()
    for _ in range(REPEATS):
        started = time.perf_counter()
        size = len(generate_latest(registry))
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), (time.process_time() - cpu_start) / REPEATS, size


def main() -> None:
    one_wall, one_cpu, one_size = per_scrape(1)
    many_wall, many_cpu, many_size = per_scrape(100)
    print(f"1 endpoint:    {one_wall * 1000:7.2f} ms wall, {one_cpu * 1000:7.2f} ms CPU per scrape, {one_size} bytes")
    print(
        f"100 endpoints: {many_wall * 1000:7.2f} ms wall, {many_cpu * 1000:7.2f} ms CPU per scrape, {many_size} bytes"
    )
    print(f"ratio 100/1 endpoints: {many_wall / one_wall:.1f}x wall")


if __name__ == "__main__":
    main()
