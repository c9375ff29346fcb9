"""Parsing of the human-friendly values people type: durations and positive numbers."""

from __future__ import annotations

import math
import re

from loadcluster.errors import ConfigError

_WHOLE = re.compile(r"[+]?\d+")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
_DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str, *, what: str = "duration") -> float:
    """'90', '90s', '5m', '1h30m' -> seconds. Raises ConfigError naming the bad value."""
    raw = str(text).strip().lower()
    seconds: float | None = None
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        seconds = float(raw)
    elif raw and (match := _DURATION.match(raw)):
        seconds = float(match["h"] or 0) * 3600 + float(match["m"] or 0) * 60 + float(match["s"] or 0)
    if seconds is None or seconds <= 0:
        raise ConfigError(
            f"{what} '{text}' is not a duration: use a positive number of seconds or units h/m/s, "
            "e.g. 90, 30s, 5m, 1h30m"
        )
    return seconds


def parse_positive(text: str | float | int, *, what: str, integer: bool = False) -> float:
    """A number > 0 (an integer when asked, written as one: '1e1' and '10.0' are not), or ConfigError."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if integer and isinstance(text, str) and not _WHOLE.fullmatch(text.strip()):
        value = math.nan
    kind = "a whole number" if integer else "a number"
    if not math.isfinite(value) or value <= 0 or (integer and not value.is_integer()):
        raise ConfigError(f"{what} '{text}' is not valid: it must be {kind} greater than 0")
    return value


def parse_non_negative(text: str | float | int, *, what: str, maximum: float | None = None) -> float:
    """A number >= 0 (and <= maximum when given), or ConfigError naming the bad value."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0 or (maximum is not None and value > maximum):
        allowed = f"between 0 and {maximum:g}" if maximum is not None else "a number of 0 or more"
        raise ConfigError(f"{what} '{text}' is not valid: it must be {allowed}")
    return value


def format_duration(seconds: float) -> str:
    """3600 -> '1h', 90 -> '1m30s', 15 -> '15s', 2.5 -> '2.5s'."""
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)


def parse_port(text: str | int, *, what: str = "port") -> int:
    """A TCP port, 1-65535, or ConfigError naming the bad value."""
    raw = str(text).strip()
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{what} '{text}' is not a port number: it must be a whole number from 1 to 65535")
    return int(raw)


def parse_flag(text: str, *, what: str) -> bool:
    """1/true/yes/on or 0/false/no/off, or ConfigError naming the bad value."""
    raw = text.strip().lower()
    if raw not in _TRUE + _FALSE:
        raise ConfigError(f"{what} '{text}' is not valid: use 1/true/yes/on or 0/false/no/off")
    return raw in _TRUE
