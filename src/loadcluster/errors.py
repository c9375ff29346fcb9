"""The project's one exception hierarchy and its process exit codes.

The CLI catches only `LoadclusterError`, prints `Error: <message>` and exits with the error's code, so
every message must say what was wrong, which input caused it and what is allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    # The run could not happen or could not complete: bad input, unreachable target, a crashed node.
    RUN_FAILED = 2
    # The run happened and at least one SLO threshold was breached.
    SLO_FAILED = 3
    # compare: a metric moved beyond its tolerance.
    REGRESSION = 4


class LoadclusterError(Exception):
    exit_code: ExitCode = ExitCode.RUN_FAILED


class ConfigError(LoadclusterError):
    """Bad input: a flag, an environment variable or the scenario catalogue."""


class TargetUnreachable(LoadclusterError):
    """The target did not accept connections when the run was about to start."""


class RunFailed(LoadclusterError):
    """A node process failed or the run produced no results."""


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a close match, else the list of allowed values."""
    choices = sorted(choices)
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'? (allowed: {', '.join(choices)})"
    return f"allowed: {', '.join(choices)}"
