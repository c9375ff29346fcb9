"""The part of loadcluster that rides inside every Locust node, hooked in only through Locust's events.

`loadcluster master|worker` activate it (`activate_master(plan)`, `activate_worker()`) before handing
over to Locust's own `main()`.
On the master it turns the RunPlan into the load shape, logs progress, drains the workers at the end
so that no request goes uncounted, and writes summary.json, junit.xml, the CSVs and the HTML report
on every way out: normal end, Ctrl-C or SIGTERM. On workers it shortens how long a worker keeps
sending load after losing its master, and samples the worker's own CPU every second while it runs
users (Locust reads it only every 10 s, for one log line): the samples ride along with the stats
reports, and the master's summary says when the generator, not the target, was the bottleneck.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import gevent
import locust.runners
from locust import events
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from loadcluster import console, generator_cpu, options, results
from loadcluster.options import Verb
from loadcluster.plan import RunPlan
from loadcluster.reports import LocustReports
from loadcluster.roster import NAME_KEY, Roster
from loadcluster.shape import PlanShape
from loadcluster.slo import Verdict
from loadcluster.statsserver import RunView, start_stats_server

logger = logging.getLogger("loadcluster")

# Locust's default is 60 s of load nobody watches after the master dies; a few missed heartbeats
# (sent every second) are enough to know it is gone.
DEFAULT_MASTER_TIMEOUT_S = 10
# Workers report every WORKER_REPORT_INTERVAL seconds; allow two reports after the users stopped.
FINAL_REPORT_GRACE_S = 2 * locust.runners.WORKER_REPORT_INTERVAL + 1
WORKER_WAIT_AFTER_STOP_ENV = "LOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP"
# The workers' CPU samples in their stats reports: [[percent of one core, seconds covered], ...].
CPU_KEY = "loadcluster_cpu"
CPU_SAMPLE_INTERVAL_S = 1.0
# How often the master looks for the last worker's users when Locust stopped waiting for them: the same
# poll Locust itself uses while it waits, so the time to peak has the same 10 ms resolution either way.
PEAK_POLL_S = 0.01


class RunRecorder:
    """Master-side state of one run, from the first spawn to the written results."""

    def __init__(
        self,
        environment: Environment,
        plan: RunPlan,
        run_dir: Path,
        progress_interval_s: float,
        runtime: str | None = None,
    ) -> None:
        self.environment = environment
        self.runtime = runtime  # recorded in the summary: local, compose, kubernetes, or unknown (None)
        self.progress_interval_s = progress_interval_s
        self.plan = plan
        self.run_dir = run_dir
        self.reports = LocustReports(environment, run_dir)
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.completed = False
        self.peak_users = 0
        self.peak_reached_at_s: float | None = None
        self.workers_seen: set[str] = set()
        self.roster = Roster(self.runner)
        self.final_report_at: dict[str, float] = {}
        self.results_written = False
        self.summary: dict[str, Any] | None = None
        self.cpu = generator_cpu.CpuLedger()
        self._monitor: gevent.Greenlet | None = None
        self._peak_watch: gevent.Greenlet | None = None

    @property
    def runner(self) -> MasterRunner:
        assert isinstance(self.environment.runner, MasterRunner)
        return self.environment.runner

    # --- events -------------------------------------------------------------------------------
    def on_test_start(self) -> None:
        if self.started_at is not None:
            return
        self.started_at = time.time()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.reports.start()
        self._monitor = gevent.spawn(self._monitor_loop, self.progress_interval_s)

    def on_spawning_complete(self, target_users: int) -> None:
        """The time to peak, to within Locust's own 10 ms poll.

        Locust's master fires `spawning_complete` (with the ramp's target) once the ramp's last spawn
        message is out and the workers' reported users add up to the target, or after waiting 1 s for
        those reports. In the first case this moment is the time to peak. In the second (workers slower
        than the dispatch, as on a starved machine) the count is still short: a 10 ms poll finds the
        moment the last worker's report lands. A ramp to a lower stage is not the peak and starts no poll.
        """
        if self.peak_reached_at_s is not None or self.started_at is None:
            return
        if self._note_peak_if_reached() or target_users < self.plan.users or self._peak_watch is not None:
            return
        self._peak_watch = gevent.spawn(self._watch_for_peak)

    def _note_peak_if_reached(self) -> bool:
        users = self.runner.user_count
        self.peak_users = max(self.peak_users, users)
        if users < self.plan.users:
            return False
        elapsed = time.time() - (self.started_at or time.time())
        self.peak_reached_at_s = round(elapsed, 2)
        logger.info("all %d users running after %.2fs", users, elapsed)
        return True

    def _watch_for_peak(self) -> None:
        # Only while users run: a stop (or a run that never gets all its workers) ends the watch.
        while self.runner.state in (STATE_SPAWNING, STATE_RUNNING) and not self._note_peak_if_reached():
            gevent.sleep(PEAK_POLL_S)

    def on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        self.workers_seen.add(client_id)
        self.roster.on_report(client_id, data)
        if CPU_KEY in data and (news := self.cpu.add(self.roster.name(client_id), data[CPU_KEY])):
            logger.warning("%s", news)  # as it happens, not only in the summary at the end
        if data.get("user_count") == 0:
            self.final_report_at[client_id] = time.time()

    # --- end of run ---------------------------------------------------------------------------
    def finish(self, completed: bool) -> None:
        """The shape ended, at its planned end or because a stop was requested."""
        self.drain()
        self.completed = completed

    def drain(self) -> None:
        """Stop users gracefully, then wait until every worker has sent its last stats report.

        Locust's own quit() waits only 0.5 s for final reports, so requests made in the last seconds
        would be missing from the totals.
        """
        if self.ended_at is not None or self.started_at is None:
            return  # already drained, or nothing ever started
        workers = set(self.runner.clients.keys())
        stop_sent_at = time.time()
        logger.info("stopping %d workers (graceful stop timeout %gs)", len(workers), self.plan.stop_timeout_s)
        self.runner.stop()
        self.ended_at = time.time()  # load is over; what follows only collects its last figures
        deadline = time.monotonic() + self.plan.stop_timeout_s + FINAL_REPORT_GRACE_S
        # A worker that is gone sends nothing more: waiting for it would only delay the results.
        while pending := {
            w for w in workers if self.final_report_at.get(w, 0) < stop_sent_at and not self.roster.gone(w)
        }:
            if time.monotonic() > deadline:
                logger.warning("no final stats from %d worker(s): their last requests are not counted", len(pending))
                break
            gevent.sleep(0.1)

    def write_results(self) -> Verdict:
        if self.runner.state in (STATE_SPAWNING, STATE_RUNNING):
            self.drain()
        for greenlet in (self._monitor, self._peak_watch):
            if greenlet is not None:
                greenlet.kill(block=False)
        now = time.time()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        summary = results.summarize(
            self.environment.stats,
            self.plan,
            started_at=self.started_at or now,
            ended_at=self.ended_at or now,
            peak_users=self.peak_users,
            peak_reached_at_s=self.peak_reached_at_s,
            workers_seen=len(self.workers_seen),
            workers_lost=self.roster.lost_as_dicts(),
            completed=self.completed,
            generator=self.cpu.section(),
            runtime=self.runtime,
        )
        self.results_written = True
        self.summary = summary
        if warning := generator_cpu.saturation_warning(summary["generator"]):
            logger.warning("%s", warning)
        verdict = Verdict(summary["slo"]["verdict"])
        try:
            # The verdict first: it is small, and the reports may not fit where it did.
            results.write_summary(self.run_dir, summary)
            results.write_junit(self.run_dir, summary)
        except OSError as exc:
            logger.error("could not write the summary in %s: %s: the run has no verdict", self.run_dir, exc.strerror)
            # What the log shows at the end must say so too: these figures judge nothing.
            summary["slo"]["verdict"] = Verdict.INCOMPLETE.value
            summary["incomplete"] = f"the summary could not be written: {exc.strerror}"
            return Verdict.INCOMPLETE
        try:
            if self.started_at is not None:
                self.reports.finish()
        except OSError as exc:
            logger.error("could not write Locust's CSV and HTML reports in %s: %s", self.run_dir, exc.strerror)
        logger.info("results written to %s (verdict: %s)", self.run_dir, verdict.value)
        return verdict

    # --- progress -----------------------------------------------------------------------------
    def _monitor_loop(self, log_interval_s: float) -> None:
        """Sample users every second (the peak); log a progress line every interval.

        The time to peak is not taken here: at one sample a second it would be late by up to a second,
        which on a ramp of a few seconds is more than the tolerance it is judged by (on_spawning_complete).
        """
        last_log = 0.0
        while True:
            gevent.sleep(1)
            elapsed = time.time() - (self.started_at or time.time())
            users = self.runner.user_count
            self.roster.check_missing(self.started_at)
            if users > self.peak_users:
                self.peak_users = users
            if elapsed - last_log >= log_interval_s:
                last_log = elapsed
                logger.info(self._progress_line(elapsed, users))

    def _progress_line(self, elapsed: float, users: int) -> str:
        total = self.environment.stats.total
        stage = self.plan.stage_at(elapsed)
        return (
            f"[{elapsed:5.0f}s/{self.plan.duration_s:.0f}s] stage {stage.name if stage else 'stopping'} "
            f"users {users}/{self.plan.users} workers {self.runner.worker_count} "
            f"rps {total.current_rps:.1f} requests {total.num_requests} "
            f"failures {total.fail_ratio:.2%} p95 {total.get_current_response_time_percentile(0.95) or 0:.0f}ms"
        )


def _run_dir(plan: RunPlan, node: dict[str, Any]) -> Path:
    explicit = node["run_dir"]
    return Path(explicit) if explicit else plan.results_root / results.run_dir_name(plan, datetime.now(UTC))


def _stats_bind(node: dict[str, Any]) -> str:
    explicit = node["stats_bind"] or node["master_bind_host"]
    return "0.0.0.0" if explicit == "*" else str(explicit)


def _on_sigterm(recorder: RunRecorder, shape: PlanShape) -> None:
    """Locust installs its own SIGTERM handler only after a headless shape test has ended, so until
    then a SIGTERM would kill the master with nothing written. Ask the shape to end early instead:
    the usual drain and results follow within a tick."""
    logger.info("SIGTERM: stopping the run early")
    if recorder.started_at is not None:
        shape.stop_requested = True
        return
    # Still waiting for workers: Locust's wait loop cannot be left from here, so finish and exit.
    code = recorder.write_results().exit_code
    recorder.runner.quit()
    logging.shutdown()
    os._exit(int(code))


def _publish(run_dir: Path, configmap: str) -> None:
    """Results outlive the pod; a failure here is said, and the verdict still decides the exit code."""
    from loadcluster.results_configmap import publish

    try:
        publish(run_dir, configmap)
    except Exception as exc:  # noqa: BLE001 - any API or credential error: say it, keep the verdict
        logger.error("could not publish the results as ConfigMap %s: %s (they are in this log)", configmap, exc)


def activate_worker() -> None:
    """A worker whose master is gone stops its users within a few seconds, not after Locust's 60 s."""
    silence_s = options.settings(Verb.NODE, {}, os.environ, names=("master_timeout",))["master_timeout"]

    sampler: CpuSampler | None = None

    def on_init(environment: Environment, **_kw: Any) -> None:
        nonlocal sampler
        if isinstance(environment.runner, WorkerRunner):
            gevent.spawn(_stop_when_the_master_is_silent, environment, environment.runner, silence_s)
            sampler = CpuSampler(environment.runner)
            gevent.spawn(sampler.run)

    def on_test_start(environment: Environment, **_kw: Any) -> None:
        # The stop timeout arrives from the master with the first spawn message. While a worker runs a
        # "stop" it reads no heartbeat (same loop), so Locust's own watchdog, which also covers a worker
        # that is not running users, allows for that on top of a few missed heartbeats; cancelling the
        # sleep after a stop (Locust adds this variable to it) lets the worker read "quit" at once.
        stop_timeout = math.ceil(environment.stop_timeout or 0)
        os.environ[WORKER_WAIT_AFTER_STOP_ENV] = str(-stop_timeout)
        locust.runners.MASTER_HEARTBEAT_TIMEOUT = stop_timeout + DEFAULT_MASTER_TIMEOUT_S

    name = options.settings(Verb.NODE, {}, os.environ, names=("worker_name",))["worker_name"] or socket.gethostname()

    def on_report_to_master(data: dict[str, Any], **_kw: Any) -> None:
        data[NAME_KEY] = name
        if sampler is not None:
            data[CPU_KEY] = sampler.take()

    locust.runners.MASTER_HEARTBEAT_TIMEOUT = DEFAULT_MASTER_TIMEOUT_S
    events.report_to_master.add_listener(on_report_to_master)
    events.init.add_listener(on_init)
    events.test_start.add_listener(on_test_start)


class CpuSampler:
    """A worker's own CPU, once a second while it runs users, in percent of one core.

    Each sample is the process's CPU time over the wall time since the previous one, so a sampler
    that a busy event loop wakes late still measures the whole interval, only a longer one (its
    seconds go with it). A sample counts only when users ran at both its ends: the idle time before
    the first spawn and after the stop would dilute the figure.
    """

    def __init__(self, runner: WorkerRunner) -> None:
        self.runner = runner
        self.pending: list[generator_cpu.CpuSample] = []

    def run(self) -> NoReturn:
        wall, cpu, busy_before = time.monotonic(), time.process_time(), False
        while True:
            gevent.sleep(CPU_SAMPLE_INTERVAL_S)
            now_wall, now_cpu = time.monotonic(), time.process_time()
            busy = self.runner.state in (STATE_SPAWNING, STATE_RUNNING)
            if busy and busy_before and now_wall > wall:
                seconds = now_wall - wall
                self.pending.append((round(100 * (now_cpu - cpu) / seconds, 1), round(seconds, 3)))
            wall, cpu, busy_before = now_wall, now_cpu, busy

    def take(self) -> list[generator_cpu.CpuSample]:
        """The samples taken since the last report (each report carries only its own)."""
        taken, self.pending = self.pending, []
        return taken


def _stop_when_the_master_is_silent(environment: Environment, runner: WorkerRunner, silence_s: float) -> None:
    """While users run, the master's heartbeat comes every second: `silence_s` without one means it
    is gone, and nobody will collect these users' figures, so they stop at once, not gracefully."""
    while True:
        gevent.sleep(0.5)
        last = runner.last_heartbeat_timestamp
        if last and runner.state in (STATE_SPAWNING, STATE_RUNNING) and time.time() - last > silence_s:
            logger.error(
                "no heartbeat from the master for %.0fs while users run: stopping them and quitting", silence_s
            )
            environment.stop_timeout = 0
            runner.quit()
            return


def activate_master(plan: RunPlan) -> None:
    """The plan becomes the master's shape; progress, drain, stats endpoint and results hook in."""

    @events.init.add_listener
    def on_init(environment: Environment, **_kwargs: Any) -> None:
        if isinstance(environment.runner, MasterRunner):
            _set_up_master(environment, plan)


def _set_up_master(environment: Environment, plan: RunPlan) -> None:
    node = options.settings(Verb.NODE, {}, os.environ)
    recorder = RunRecorder(environment, plan, _run_dir(plan, node), node["progress_interval"], node["node_runtime"])
    view = RunView(plan, run_id=recorder.run_dir.name)
    shape = PlanShape(plan, on_finish=recorder.finish, on_stage=lambda stage: view.enter_stage(stage.name))
    shape.runner = environment.runner
    environment.shape_class = shape
    gevent.signal_handler(signal.SIGTERM, _on_sigterm, recorder, shape)
    environment.events.test_start.add_listener(lambda **_: recorder.on_test_start())
    environment.events.test_start.add_listener(lambda **_: setattr(view, "started_at", recorder.started_at))
    environment.events.spawning_complete.add_listener(lambda user_count, **_: recorder.on_spawning_complete(user_count))
    view.lose_worker = lambda name, how: recorder.roster.lose(name, how, recorder.started_at)
    view.worker_name = recorder.roster.name
    view.peak_reached_at_s = lambda: recorder.peak_reached_at_s
    start_stats_server(environment, view, _stats_bind(node), node["stats_port"], node["access_token"])
    environment.events.worker_report.add_listener(
        lambda client_id, data, **_: recorder.on_worker_report(client_id, data)
    )

    def on_quitting(environment: Environment, **_kw: Any) -> None:
        if not recorder.results_written:
            environment.process_exit_code = int(recorder.write_results().exit_code)
            if node["results_configmap"]:
                _publish(recorder.run_dir, node["results_configmap"])
            # Let Prometheus take one more scrape of the final figures before the endpoint goes.
            gevent.sleep(node["stats_linger"])

    def on_quit(**_kw: Any) -> None:
        # After Locust's own tables: a pod's log ends with the summary and the verdict.
        if recorder.summary is not None:
            print("\n" + console.summary_report(recorder.summary), flush=True)

    environment.events.quitting.add_listener(on_quitting)
    environment.events.quit.add_listener(on_quit)
    logger.info(
        "plan: %s, %d users at %g/s over %d workers for %.0fs against %s -> %s",
        plan.name,
        plan.users,
        plan.spawn_rate,
        plan.workers,
        plan.duration_s,
        plan.target_label,
        recorder.run_dir,
    )
