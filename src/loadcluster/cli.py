"""The `loadcluster` command line: a thin layer that parses, builds plans and hands over to a runtime.

Flags come from the option table (`options`); every flag is also a `LOADCLUSTER_*` variable, and a
flag wins over its variable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from loadcluster import compare as comparing
from loadcluster import console, options
from loadcluster.catalogue import CATALOGUE_FILENAME, load_catalogue
from loadcluster.errors import ConfigError, ExitCode, LoadclusterError, did_you_mean
from loadcluster.options import Verb
from loadcluster.plan import SHIPPED_LOCUSTFILES, RunPlan, build_plan
from loadcluster.results import read_summary
from loadcluster.slo import Verdict

ALL_OF_THE_SUITE = "*"


class _Parser(argparse.ArgumentParser):
    """Bad usage is one `Error:` line and exit 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.prog}: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = _parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            _refuse_unknown(unknown, args)
        return int(args.handler(args))
    except LoadclusterError as error:
        print(f"Error: {error}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:  # before a run is supervised (building the image, say): nothing to stop
        print("Error: interrupted before the run started; nothing was left running", file=sys.stderr)
        return int(ExitCode.RUN_FAILED)


def _refuse_unknown(unknown: list[str], args: argparse.Namespace) -> NoReturn:
    flag = next((u for u in unknown if u.startswith("-")), unknown[0])
    known = getattr(args, "known_flags", [])
    hint = did_you_mean(flag.split("=")[0], known) if flag.startswith("--") and known else "see --help"
    raise ConfigError(f"unknown argument '{flag}' for `loadcluster {args.verb}`, {hint}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="loadcluster",
        description="Distributed Locust load tests: a master and workers as local processes or Compose "
        "containers, scenario presets, an SLO gate, results. Every flag is also a LOADCLUSTER_<FLAG> "
        "variable (e.g. LOADCLUSTER_WORKERS=8); flags win.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=_Parser)

    run = _verb(verbs, Verb.RUN, _run, "run a scenario, or an ad-hoc load, on the runtime chosen by --runtime")
    run.add_argument("user_classes", nargs="*", metavar="USER_CLASS", help="run only these user classes")
    _verb(verbs, Verb.SCENARIOS, _scenarios, "list the scenario catalogue")
    cmp = _verb(verbs, Verb.COMPARE, _compare, "compare two runs' results; exit 4 on a regression the runs can tell")
    cmp.add_argument("baseline", type=Path, help="run directory (or summary.json) of the baseline")
    cmp.add_argument("current", type=Path, help="run directory (or summary.json) to judge")
    _verb(verbs, Verb.TARGET, _target, "serve the bundled demo target")
    _verb(verbs, Verb.EXPORTER, _exporter, "Prometheus exporter sidecar reading a master's stats")
    _verb(verbs, Verb.UP, _stack, "interactive Compose stack: demo target, workers, Locust web UI on :8089")
    verbs.add_parser("down", help="remove the interactive Compose stack").set_defaults(handler=_stack, verb="down")
    verbs.add_parser("image", help="build the node image if the source changed").set_defaults(
        handler=_stack, verb="image"
    )
    for role in ("master", "worker"):
        node = verbs.add_parser(role, help=f"one Locust {role}, configured from LOADCLUSTER_* (runtimes use it)")
        node.set_defaults(handler=_node, verb=role)
    return parser


def _verb(verbs: Any, verb: Verb, handler: Any, help_text: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = verbs.add_parser(verb.value, help=help_text, description=help_text)
    options.add_flags(sub, verb)
    flags = [o.cli_flag for o in options.for_verb(verb) if o.cli_flag]
    sub.set_defaults(handler=handler, verb=verb.value, known_flags=flags)
    return sub


def _values(verb: Verb, args: argparse.Namespace) -> dict[str, Any]:
    given = {name: value for name, value in vars(args).items() if isinstance(value, str)}
    if getattr(args, "user_classes", None):
        given["user_classes"] = ",".join(args.user_classes)
    return options.settings(verb, given, os.environ)


def _given(args: argparse.Namespace) -> set[str]:
    """Options set on the command line, as opposed to from variables or defaults."""
    return {name for name, value in vars(args).items() if isinstance(value, str) or name == "user_classes" and value}


# --- run -------------------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> ExitCode:
    from loadcluster import runtimes

    values = _values(Verb.RUN, args)
    names = _multiple_names(values) if values["multiple"] else None
    # Every plan is built, and so checked, before the first run starts.
    plans = [build_plan({**values, "scenario": name}) for name in names] if names else [build_plan(values)]
    runtime, reason = runtimes.choose(values, plans[0])
    _check_options_for(runtime.name, values, _given(args))
    _say(f"loadcluster: runtime {runtime.name} ({reason})")
    if names is None:
        return _run_one(plans[0], runtime)
    return _run_sequence(plans, runtime)


def _check_options_for(runtime: str, values: Mapping[str, Any], given: set[str]) -> None:
    """An option that means nothing on this runtime: refused when typed, pointed out when inherited."""
    for opt in options.for_verb(Verb.RUN):
        if not opt.runtimes or runtime in opt.runtimes or values.get(opt.name) in (None, opt.value(None)):
            continue
        where = ", ".join(opt.runtimes)
        if opt.name in given:
            raise ConfigError(f"{opt.cli_flag} is for the {where} runtime, and this run is {runtime}: leave it out")
        _say(f"note: {opt.env} is for the {where} runtime; this run is {runtime}, so it is not used")


def _multiple_names(values: Mapping[str, Any]) -> list[str]:
    listed = [n for n in values["multiple"] if n != ALL_OF_THE_SUITE]
    if listed:
        return listed
    directory = Path(values["locustfile"]) if values.get("locustfile") else SHIPPED_LOCUSTFILES
    if not (directory / CATALOGUE_FILENAME).is_file():
        raise ConfigError(f"--multiple needs a scenario catalogue, and '{directory}' has no {CATALOGUE_FILENAME}")
    catalogue = load_catalogue(directory / CATALOGUE_FILENAME)
    suite = catalogue.suite(values["suite"]) if values.get("suite") else catalogue.default_suite
    return list(suite.multiple)


def _announce(plan: RunPlan) -> None:
    classes = f", classes {', '.join(plan.user_classes)}" if plan.user_classes else ""
    tags = f", tags {', '.join(plan.tags)}" if plan.tags else ""
    _say(
        f"loadcluster: {plan.name}: {plan.users} users at {plan.spawn_rate:g}/s, {plan.workers} workers, "
        f"{plan.duration_s:g}s against {plan.target_label} ({plan.description}{classes}{tags})"
    )
    for warning in plan.warnings:
        _say(f"warning: {warning}")


def _run_one(plan: RunPlan, runtime: Any) -> ExitCode:
    from loadcluster.runtimes.supervision import supervise

    _announce(plan)
    run = supervise(runtime, plan, _say)
    _say("")
    _say(console.summary_report(run.summary))
    if run.target_stats is not None:
        _say(_target_count_line(run.target_stats, run.summary))
    _say(f"results: {run.run_dir}")
    return Verdict(run.summary["slo"]["verdict"]).exit_code


def _target_count_line(target_stats: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    received, counted = int(target_stats.get("requests_total", 0)), int(summary["totals"]["requests"])
    line = f"demo target counted {received} requests"
    if received > counted:
        # A worker that dies takes the requests it made since its last report (every 3 s) with it.
        line += f": {received - counted} more than the summary (sent by workers lost before they reported)"
    return line


def _run_sequence(plans: list[RunPlan], runtime: Any) -> ExitCode:
    from loadcluster.runtimes.supervision import supervise

    rows: list[list[object]] = []
    codes: list[ExitCode] = []
    runs: list[dict[str, object]] = []
    for plan in plans:
        _say(f"loadcluster: [{len(runs) + 1}/{len(plans)}] {plan.name}")
        _announce(plan)
        run = supervise(runtime, plan, _say)
        totals, verdict = run.summary["totals"], Verdict(run.summary["slo"]["verdict"])
        rows.append([plan.name, totals["requests"], totals["failure_rate_percent"], totals["avg_response_ms"],
                     totals["p95_response_ms"], totals["rps"], verdict.value.upper()])  # fmt: skip
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


# --- the other verbs -------------------------------------------------------------------------------
def _scenarios(args: argparse.Namespace) -> ExitCode:
    spec = _values(Verb.SCENARIOS, args)["locustfile"]
    directory = Path(spec) if spec else SHIPPED_LOCUSTFILES
    path = directory / CATALOGUE_FILENAME if directory.is_dir() else directory
    _say(console.catalogue_table(load_catalogue(path)))
    return ExitCode.OK


def _compare(args: argparse.Namespace) -> ExitCode:
    tolerances = comparing.parse_tolerances(_values(Verb.COMPARE, args)["compare_tolerance"])
    baseline, current = read_summary(args.baseline), read_summary(args.current)
    comparing.check_summary(baseline, f"baseline ('{args.baseline}')")
    comparing.check_summary(current, f"current ('{args.current}')")
    changes = comparing.compare(baseline, current, tolerances)
    _say("\n".join(comparing.setup_lines(baseline, current)))
    _say("")
    _say(comparing.comparison_table(changes))
    _say("")
    _say("\n".join(comparing.verdict_lines(changes)))
    regressed = any(c.verdict is comparing.Verdict.REGRESSION for c in changes)
    return ExitCode.REGRESSION if regressed else ExitCode.OK


def _target(args: argparse.Namespace) -> ExitCode:
    from loadcluster.target import TargetSettings, serve

    values = _values(Verb.TARGET, args)
    serve(
        TargetSettings(
            host=values["target_bind"],
            port=values["target_port"],
            latency_ms=values["target_latency_ms"],
            error_rate=values["target_error_rate"],
        )
    )
    return ExitCode.OK


def _exporter(args: argparse.Namespace) -> ExitCode:
    from loadcluster.exporter import serve_exporter

    values = _values(Verb.EXPORTER, args)
    serve_exporter(
        values["exporter_master_url"], values["exporter_bind"], values["exporter_port"], values["access_token"]
    )
    return ExitCode.OK


def _stack(args: argparse.Namespace) -> ExitCode:
    from loadcluster.runtimes import interactive

    if args.verb == Verb.UP:
        interactive.stack_up(_values(Verb.UP, args), _say)
    elif args.verb == "down":
        interactive.stack_down(_say)
    else:
        interactive.build_image(_say)
    return ExitCode.OK


def _node(args: argparse.Namespace) -> ExitCode:
    from loadcluster.node import Role, run_node

    run_node(Role(args.verb))
    return ExitCode.OK


def _say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
