"""The `loadcluster` command line: a thin layer that parses, builds plans and hands over.

Every flag can also be given as a `LOADCLUSTER_*` environment variable (flags win), so containers
and Helm pass settings the same way a person types them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from loadcluster import compare as comparing
from loadcluster import console
from loadcluster.catalogue import CATALOGUE_FILENAME, load_catalogue
from loadcluster.errors import ConfigError, ExitCode, LoadclusterError
from loadcluster.plan import RunOptions, RunPlan, build_plan, default_locustfile_dir
from loadcluster.results import read_summary
from loadcluster.slo import Verdict
from loadcluster.units import parse_positive

MULTIPLE_ENV = "LOADCLUSTER_MULTIPLE"
TOLERANCE_ENV = "LOADCLUSTER_COMPARE_TOLERANCE"
TARGET_ENV = "LOADCLUSTER_TARGET_"
EXPORTER_ENV = "LOADCLUSTER_EXPORTER_"
RUNTIME_ENV = "LOADCLUSTER_RUNTIME"

if TYPE_CHECKING:
    from loadcluster.runtimes.supervision import Echo, RunResult

    Runner = Callable[[RunPlan, Echo, int | None], RunResult]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except LoadclusterError as error:
        print(f"Error: {error}", file=sys.stderr)
        return int(error.exit_code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loadcluster",
        description="Distributed Locust load tests: scenario presets, SLO gate, results. "
        "Every flag can also be set as LOADCLUSTER_<FLAG> (e.g. LOADCLUSTER_WORKERS=8).",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    run = verbs.add_parser("run", help="run a scenario (or an ad-hoc load) with a master and local workers")
    run.add_argument("--scenario", help="preset from the catalogue, e.g. smoke, spike (see `loadcluster scenarios`)")
    run.add_argument("--suite", help="test plan, e.g. customer-success, agent-mitra (default: the first)")
    run.add_argument("--workers", help="worker processes (default: the scenario's)")
    run.add_argument("--users", help="peak concurrent users (overrides the preset)")
    run.add_argument("--spawn-rate", help="users started per second (default: the preset's, or users/10)")
    run.add_argument("--duration", help="whole run, e.g. 90s, 5m, 1h (overrides the preset)")
    run.add_argument("--time-scale", help="multiply every duration, e.g. 0.05 runs a 5 min shape in 15 s")
    run.add_argument("--host", help="target base URL (default: start the bundled demo target)")
    run.add_argument("--results", help="parent directory of run results (default: results)")
    run.add_argument("--locustfile", help="locustfile or directory with its own scenarios.yaml")
    run.add_argument("--stop-timeout", help="seconds users get to finish their task at the end (default 5)")
    run.add_argument(
        "--multiple",
        nargs="?",
        const="",
        default=os.environ.get(MULTIPLE_ENV),
        metavar="A,B,...",
        help="run several scenarios in sequence (default: the suite's list)",
    )
    run.add_argument(
        "--runtime",
        default=os.environ.get(RUNTIME_ENV),
        help="where master and workers run: auto (Compose when a Docker engine answers, else local), local, compose",
    )
    run.add_argument(
        "--exporter-port",
        default=os.environ.get(EXPORTER_ENV + "PORT"),
        help="also start the Prometheus exporter on 127.0.0.1:PORT (local runtime; off unless given)",
    )
    run.set_defaults(handler=_run)

    scenarios = verbs.add_parser("scenarios", help="list the scenario catalogue")
    scenarios.add_argument("--locustfile", default=os.environ.get(RunOptions.env_name("locustfile")))
    scenarios.set_defaults(handler=_scenarios)

    cmp = verbs.add_parser("compare", help="compare two runs' results; non-zero exit on a regression")
    cmp.add_argument("baseline", type=Path, help="run directory (or summary.json) of the baseline")
    cmp.add_argument("current", type=Path, help="run directory (or summary.json) to judge")
    cmp.add_argument(
        "--tolerance",
        action="append",
        default=[os.environ[TOLERANCE_ENV]] if TOLERANCE_ENV in os.environ else [],
        metavar="METRIC=PERCENT",
        help="allowed worsening, e.g. p95=10 (default); metrics: " + ", ".join(comparing.METRICS),
    )
    cmp.set_defaults(handler=_compare)

    target = verbs.add_parser("target", help="serve the bundled demo target")
    target.add_argument("--bind", default=os.environ.get(TARGET_ENV + "BIND", "127.0.0.1"))
    target.add_argument("--port", default=os.environ.get(TARGET_ENV + "PORT", "8080"))
    target.add_argument(
        "--latency-ms",
        default=os.environ.get(TARGET_ENV + "LATENCY_MS", "0"),
        help="added to every response, to show an SLO failure",
    )
    target.add_argument(
        "--error-rate",
        default=os.environ.get(TARGET_ENV + "ERROR_RATE", "0"),
        help="share of requests answered 500, 0..1",
    )
    target.set_defaults(handler=_target)

    exporter = verbs.add_parser("exporter", help="Prometheus exporter sidecar reading a master's stats")
    exporter.add_argument(
        "--master-url",
        default=os.environ.get(EXPORTER_ENV + "MASTER_URL", "http://127.0.0.1:8090"),
        help="the master's stats endpoint (LOADCLUSTER_STATS_PORT on the master, default 8090)",
    )
    exporter.add_argument("--bind", default=os.environ.get(EXPORTER_ENV + "BIND", "0.0.0.0"))
    exporter.add_argument("--port", default=os.environ.get(EXPORTER_ENV + "PORT", "9646"))
    exporter.set_defaults(handler=_exporter)

    up = verbs.add_parser("up", help="interactive Compose stack: demo target, workers, Locust web UI on :8089")
    up.set_defaults(handler=_stack, action="up")
    down = verbs.add_parser("down", help="remove the interactive Compose stack")
    down.set_defaults(handler=_stack, action="down")
    image = verbs.add_parser("image", help="build the loadcluster image if the source changed")
    image.set_defaults(handler=_stack, action="image")

    for role in ("master", "worker"):
        node = verbs.add_parser(role, help=f"one Locust {role} configured from LOADCLUSTER_* (used by runtimes)")
        node.set_defaults(handler=_node, role=role)
    return parser


def _run_options(args: argparse.Namespace) -> RunOptions:
    return RunOptions.from_env().overridden_by(
        suite=args.suite,
        scenario=args.scenario,
        workers=args.workers,
        users=args.users,
        spawn_rate=args.spawn_rate,
        duration=args.duration,
        time_scale=args.time_scale,
        host=args.host,
        results=args.results,
        locustfile=args.locustfile,
        stop_timeout=args.stop_timeout,
    )


def _run(args: argparse.Namespace) -> ExitCode:
    options = _run_options(args)
    exporter_port = (
        int(parse_positive(args.exporter_port, what="exporter port", integer=True)) if args.exporter_port else None
    )
    if args.multiple is None:
        plan = build_plan(options)
        return _run_one(plan, exporter_port, _runner(args.runtime, plan))
    # Every plan is built (and so checked) before the first run starts.
    plans = [build_plan(options.overridden_by(scenario=name)) for name in _multiple_names(options, args.multiple)]
    return _run_sequence(plans, exporter_port, _runner(args.runtime, plans[0]))


def _runner(requested: str | None, plan: RunPlan) -> Runner:
    """The runtime's run function, chosen once the plan is checked; says which and why."""
    from loadcluster.runtimes.compose import Runtime, choose_runtime

    runtime, reason = choose_runtime(requested, plan.host)
    _say(f"loadcluster: runtime {runtime.value} ({reason})")
    if runtime is Runtime.COMPOSE:
        from loadcluster.runtimes.compose import run_compose

        return run_compose
    from loadcluster.runtimes.local import run_local

    return run_local


def _multiple_names(options: RunOptions, listed: str) -> list[str]:
    names = [n.strip() for n in listed.split(",") if n.strip()]
    if names:
        return names
    directory = Path(options.locustfile) if options.locustfile else default_locustfile_dir()
    if not (directory / CATALOGUE_FILENAME).is_file():
        raise ConfigError(f"--multiple needs a scenario catalogue, and '{directory}' has no {CATALOGUE_FILENAME}")
    catalogue = load_catalogue(directory / CATALOGUE_FILENAME)
    suite = catalogue.suite(options.suite) if options.suite else catalogue.default_suite
    return list(suite.multiple)


def _run_one(plan: RunPlan, exporter_port: int | None, runner: Runner) -> ExitCode:
    _say(
        f"loadcluster: {plan.name}: {plan.users} users at {plan.spawn_rate:g}/s, {plan.workers} workers, "
        f"{plan.duration_s:g}s ({plan.description})"
    )
    run = runner(plan, _say, exporter_port)
    _say("")
    _say(console.summary_report(run.summary))
    if run.target_stats is not None:
        _say(f"demo target counted {run.target_stats.get('requests_total')} requests")
    _say(f"results: {run.run_dir}")
    return Verdict(run.summary["slo"]["verdict"]).exit_code


def _run_sequence(plans: list[RunPlan], exporter_port: int | None, runner: Runner) -> ExitCode:
    rows: list[list[object]] = []
    codes: list[ExitCode] = []
    runs: list[dict[str, object]] = []
    for plan in plans:
        _say(f"loadcluster: [{len(runs) + 1}/{len(plans)}] {plan.name}")
        run = runner(plan, _say, exporter_port)
        totals, verdict = run.summary["totals"], Verdict(run.summary["slo"]["verdict"])
        rows.append(
            [
                plan.name,
                totals["requests"],
                totals["failure_rate_percent"],
                totals["avg_response_ms"],
                totals["p95_response_ms"],
                totals["rps"],
                verdict.value.upper(),
            ]
        )
        codes.append(verdict.exit_code)
        runs.append({"run_dir": str(run.run_dir), "summary": run.summary})
        if verdict is Verdict.INTERRUPTED:
            break
    combined_dir = plans[0].results_root / f"{plans[0].suite}-multiple-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    combined_dir.mkdir(parents=True, exist_ok=True)
    worst = max(codes, key=_severity)
    combined = {"runs": runs, "exit_code": int(worst)}
    (combined_dir / "combined.json").write_text(json.dumps(combined, indent=2) + "\n", encoding="utf-8")
    _say("")
    _say(console.table(["Run", "Requests", "Fail %", "Avg ms", "p95 ms", "Req/s", "Verdict"], rows))
    _say(f"combined results: {combined_dir}")
    return worst


def _severity(code: ExitCode) -> int:
    # A run that could not happen outranks an SLO breach, which outranks a pass.
    return {ExitCode.OK: 0, ExitCode.SLO_FAILED: 1}.get(code, 2)


def _scenarios(args: argparse.Namespace) -> ExitCode:
    directory = Path(args.locustfile) if args.locustfile else default_locustfile_dir()
    path = directory / CATALOGUE_FILENAME if directory.is_dir() else directory
    _say(console.catalogue_table(load_catalogue(path)))
    return ExitCode.OK


def _compare(args: argparse.Namespace) -> ExitCode:
    tolerances = comparing.parse_tolerances(args.tolerance)
    changes = comparing.compare(read_summary(args.baseline), read_summary(args.current), tolerances)
    _say(comparing.comparison_table(changes))
    breaches = [c for c in changes if c.breached]
    if breaches:
        listed = ", ".join(f"{c.metric} {c.relative_percent:+.1f}%" for c in breaches)
        _say(f"\nRegression beyond tolerance: {listed}")
        return ExitCode.REGRESSION
    _say("\nNo regression beyond tolerance")
    return ExitCode.OK


def _target(args: argparse.Namespace) -> ExitCode:
    from loadcluster.target import TargetSettings, serve
    from loadcluster.units import parse_non_negative

    port = int(parse_positive(args.port, what="port", integer=True))
    latency = parse_non_negative(args.latency_ms, what="latency (ms)")
    error_rate = parse_non_negative(args.error_rate, what="error rate", maximum=1)
    serve(TargetSettings(host=args.bind, port=port, latency_ms=latency, error_rate=error_rate))
    return ExitCode.OK


def _exporter(args: argparse.Namespace) -> ExitCode:
    from loadcluster.exporter import serve_exporter

    serve_exporter(args.master_url, args.bind, int(parse_positive(args.port, what="port", integer=True)))
    return ExitCode.OK


def _stack(args: argparse.Namespace) -> ExitCode:
    from loadcluster.runtimes import compose
    from loadcluster.runtimes.docker import Docker

    if args.action == "up":
        compose.stack_up(build_plan(compose.interactive_plan_options()), _say)
    elif args.action == "down":
        compose.stack_down(_say)
    else:
        _say(f"image {compose.ensure_image(Docker.connect(), _say)} is up to date with the source")
    return ExitCode.OK


def _node(args: argparse.Namespace) -> ExitCode:
    from loadcluster.node import Role, run_node

    run_node(Role(args.role))
    return ExitCode.OK


def _say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
