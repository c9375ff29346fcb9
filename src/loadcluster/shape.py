"""The plan's stages as a Locust LoadTestShape, run by the master.

Locust uses the first shape class it finds in the `-f` files and has no flag to choose one, so the
locustfiles define none: the plugin hands the master an instance of this class from its `init`
listener, built from the RunPlan (Locust reads `environment.shape_class` only after `init`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from locust import LoadTestShape

from loadcluster.plan import PlannedStage, RunPlan

logger = logging.getLogger(__name__)


class PlanShape(LoadTestShape):
    abstract = True  # never picked up by Locust's own class discovery

    def __init__(
        self, plan: RunPlan, on_finish: Callable[[bool], None], on_stage: Callable[[PlannedStage], None]
    ) -> None:
        super().__init__()
        self.plan = plan
        self.on_finish = on_finish  # called with completed=True at the planned end
        self.on_stage = on_stage
        self.current: PlannedStage | None = None
        self.stop_requested = False

    def tick(self) -> tuple[int, float] | None:
        stage = self.plan.stage_at(self.get_run_time())
        if stage is None or self.stop_requested:
            # Runs in the shape greenlet, which Locust's stop() does not kill when it is the caller:
            # the drain can stop users gracefully and wait for the workers' final reports here.
            self.on_finish(not self.stop_requested)
            return None
        if stage != self.current:
            self.current = stage
            self.on_stage(stage)
            logger.info(
                "stage %s: %d users at %g/s until %.1fs", stage.name, stage.users, self.plan.spawn_rate, stage.end_s
            )
        return stage.users, self.plan.spawn_rate
