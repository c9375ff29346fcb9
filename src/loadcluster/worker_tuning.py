"""What makes a loadcluster worker spend less CPU per request than a bare Locust worker running the
same locustfile. Each lever was found in a profile of a loaded worker and is kept only because
`make bench` measures it (docs/benchmarks.md has the profile and the figures); none changes what a
user's code sees or what is counted.

- The cyclic garbage collector. A worker allocates thousands of short-lived containers per second
  (requests, headers, stats rows); each young collection is cheap, but every tenth of a tenth walks
  the whole heap: Locust, gevent, every imported module and every user with its client. At 250 users
  a worker spent about a tenth of its CPU there (perf). What is alive once the locustfiles are
  imported, and again once the users are spawned, lives as long as the worker, so it is moved out of
  the collector's sight (`gc.freeze()`), and young collections run less often.
- The cookie jar. Locust's FastHttpSession gives each user an `http.cookiejar.CookieJar`, which on
  every request runs its policy code under a lock (a pure-Python RLock once gevent has patched
  threading), twice, even when it holds no cookie and the response sets none: most API tests. The
  jar below skips exactly those two cases and is the same jar otherwise (same class family, same
  cookies, same policy), so logins that rely on cookies behave as before.
- The spawn messages. On every one, Locust 2.47's worker rebuilds its whole option parser once per
  option the master sends (`default_args_dict()` inside a comprehension): ~70 ms with the event loop
  blocked before the first user of the step starts, and every request in flight waits as long. With 8
  workers on 2 cores the ramp's last step came 0.32 s late (1000 users at 200/s: 4.32 s against the
  4 s Locust's dispatch allows); with the defaults computed once, 4.03 s. They depend on nothing that
  changes while the worker runs (its parser's defaults and environment), and callers get a copy.
- The stop. Locust 2.47's `Runner.stop()` calls `inspect.stack()` for a debug line; the first call in
  a process indexes every loaded module (20-60 ms on a loaded worker) with the event loop blocked, and
  every request in flight at the stop reads that much slower: with few requests per endpoint, that is
  the p99. The worker pays it once at start-up instead.
"""

from __future__ import annotations

import functools
import gc
import inspect
from typing import Any, NoReturn

import gevent
import locust.argument_parser
import locust.contrib.fasthttp
from locust import events
from locust.env import Environment
from locust.runners import STATE_RUNNING, WorkerRunner

from loadcluster.cookies import QuickCookieJar

# Young collections every 20,000 net allocations instead of 700: a worker's young objects die by
# reference counting long before that, so fewer passes find the same garbage.
YOUNG_COLLECTION_THRESHOLD = 20_000
FREEZE_CHECK_INTERVAL_S = 1.0


def tune_worker() -> None:
    """Apply the levers to this process; called before Locust imports the locustfiles."""
    # FastHttpSession builds its jar from this module-level name, once per user.
    locust.contrib.fasthttp.CookieJar = QuickCookieJar  # type: ignore[attr-defined,misc]
    # Locust's runners call it through the module, so the module's name is what to replace.
    defaults = functools.cache(locust.argument_parser.default_args_dict)
    locust.argument_parser.default_args_dict = lambda: dict(defaults())
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)
    events.init.add_listener(_on_init)


def _on_init(environment: Environment, **_kw: Any) -> None:
    inspect.stack()  # see the module's docstring: the stop's first call, paid before any request
    # The locustfiles are imported by now. One full collection first, so that no garbage is frozen:
    # 25 ms on a worker, before its first request.
    gc.collect()
    gc.freeze()
    if isinstance(environment.runner, WorkerRunner):
        gevent.spawn(_freeze_after_each_spawn, environment.runner)


def _freeze_after_each_spawn(runner: WorkerRunner) -> NoReturn:
    """Users and their clients live until the run ends: once a spawn is over, freeze them too."""
    frozen_at = 0
    while True:
        gevent.sleep(FREEZE_CHECK_INTERVAL_S)
        if runner.state == STATE_RUNNING and runner.user_count > frozen_at:
            # No collection here: it would hold the loop while requests are in flight (2-9 ms per ramp
            # step measured with 1000 users on one worker). Freezing alone only moves lists; what
            # garbage it freezes is a spawn step's few leftovers, once.
            gc.freeze()
            frozen_at = runner.user_count
