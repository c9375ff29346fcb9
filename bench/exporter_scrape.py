"""Benchmark: one exporter scrape as Prometheus makes it, for masters with 1, 100 and 1000 endpoints,
measured in the same run (ratios between them hold on a busy machine better than the times do).

A scrape is a GET of /metrics through the exporter's WSGI app with the headers Prometheus sends
(OpenMetrics first, gzip): reading the master's document, building every family, writing the text and
compressing it. The master's HTTP read is left out (it depends on the network, not on the exporter).
Each endpoint carries 300 distinct Locust response-time buckets, of the 331 that Locust's rounding makes
up to 60 s: more than a long run on a slow target produces. For comparison, prometheus_client's own
encoder over the same collector (`generate_latest`, the classic text format) is timed too.

Run alone: `make bench`. Prints a table; `--json PATH` also writes the figures:
{"endpoints": {"1": {"wall_ms", "cpu_ms", "bytes", "gzip_bytes", "library_wall_ms"}, "100": ..., "1000": ...},
 "machine": {...}}. `--quick` takes fewer repeats (a CI smoke run; its figures are rough).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from common import machine
from prometheus_client import CollectorRegistry, generate_latest

from loadcluster.exporter import MasterCollector, metrics_app

BUCKETS_PER_ENDPOINT = 300
SIZES = (1, 100, 1000)
# Scrapes timed per size: a few seconds in all (a 1000-endpoint scrape takes tens of milliseconds
# here, prometheus_client's encoder for it most of a second).
REPEATS = {1: 300, 100: 50, 1000: 10}
LIBRARY_REPEATS = {1: 50, 100: 10, 1000: 3}
QUICK_REPEATS = {1: 20, 100: 5, 1000: 2}
QUICK_LIBRARY_REPEATS = {1: 3, 100: 1, 1000: 1}
# What Prometheus 2.x sends (scrape.go); 3.x differs only in what it accepts after OpenMetrics.
PROMETHEUS_HEADERS = {
    "HTTP_ACCEPT": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "HTTP_ACCEPT_ENCODING": "gzip",
}


def locust_rounded(ms: int) -> int:
    """Locust's `bucket_response_time` (locust/stats.py), copied: importing Locust patches the process."""
    if ms < 100:
        return ms
    if ms < 1000:
        return int(round(ms, -1))
    if ms < 10000:
        return int(round(ms, -2))
    return int(round(ms, -3))


LOCUST_KEYS = sorted({locust_rounded(ms) for ms in range(60_001)})


def document(endpoints: int) -> dict[str, Any]:
    rng = random.Random(7)
    entries = []
    for index in range(endpoints):
        # In the order Locust's dict has them: first seen first, not sorted.
        times = {str(ms): rng.randint(1, 50) for ms in rng.sample(LOCUST_KEYS, BUCKETS_PER_ENDPOINT)}
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


def measure(endpoints: int, repeats: int, library_repeats: int) -> dict[str, float]:
    doc = document(endpoints)
    collector = MasterCollector("http://master", read=lambda _url: doc)
    app = metrics_app(collector)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "QUERY_STRING": "", **PROMETHEUS_HEADERS}

    def scrape() -> bytes:
        return b"".join(app(dict(environ), lambda status, headers: None))

    body = scrape()  # warm: the first scrape of a run also learns Locust's bucket keys
    walls = []
    cpu_start = time.process_time()
    for _ in range(repeats):
        started = time.perf_counter()
        scrape()
        walls.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu_start) / repeats

    registry = CollectorRegistry()
    registry.register(collector)
    library = []
    for _ in range(library_repeats):
        started = time.perf_counter()
        generate_latest(registry)
        library.append(time.perf_counter() - started)
    return {
        "wall_ms": round(statistics.median(walls) * 1000, 3),
        "cpu_ms": round(cpu * 1000, 3),
        "bytes": len(gzip.decompress(body)),
        "gzip_bytes": len(body),
        "library_wall_ms": round(statistics.median(library) * 1000, 3),
        "repeats": repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--quick", action="store_true", help="fewer repeats: a smoke run, rough figures")
    args = parser.parse_args()
    repeats, library_repeats = (QUICK_REPEATS, QUICK_LIBRARY_REPEATS) if args.quick else (REPEATS, LIBRARY_REPEATS)

    before = machine()
    load_before = before["load_average_1m_5m_at_start"][0]
    figures = {str(size): measure(size, repeats[size], library_repeats[size]) for size in SIZES}
    load_after = round(os.getloadavg()[0], 2)
    print(f"one scrape as Prometheus makes it (OpenMetrics, gzip); Python {before['python']}, {before['cpus']} CPUs, "
          f"load average {load_before} before, {load_after} after")  # fmt: skip
    print(f"{'endpoints':>9}  {'wall ms':>8}  {'CPU ms':>8}  {'bytes':>9}  {'gzipped':>8}  {'library encoder ms':>18}")
    for size, row in figures.items():
        print(f"{size:>9}  {row['wall_ms']:8.2f}  {row['cpu_ms']:8.2f}  {row['bytes']:9d}  {row['gzip_bytes']:8d}"
              f"  {row['library_wall_ms']:18.2f}")  # fmt: skip
    for small, large in (("1", "100"), ("100", "1000")):
        print(f"ratio {large}/{small} endpoints: {figures[large]['wall_ms'] / figures[small]['wall_ms']:.1f}x wall")
    if args.json:
        result = {"endpoints": figures, "machine": {**before, "load_average_1m_after": load_after},
                  "quick": args.quick}  # fmt: skip
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
