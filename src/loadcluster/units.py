"""Parsing of the human-friendly values people type: durations and positive numbers.

Numbers are read as people write them in ASCII: '7.5', '+10', '1e3', ' 20 ' (not '1_000', not other
scripts' digits, not 'inf' or 'nan'). Every error names the value as it was typed, on one line: a value
holding a line break or another unprintable character is quoted with its escapes ('a\\nb').
"""

from __future__ import annotations

import math
import re

from loadcluster.errors import ConfigError

_WHOLE = re.compile(r"[+]?\d+", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_PORT = re.compile(r"0*(\d{1,5})", re.ASCII)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
_SECONDS = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_DURATION = re.compile(r"(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?", re.ASCII)


def shown(value: object) -> str:
    """`value` quoted the way error messages name it, always on one line: 'text', or 'a\\nb'."""
    try:
        text = str(value)
    except ValueError:  # an int too long to print (Python's 4300-digit limit)
        return "a number too long to print"
    return f"'{text}'" if text.isprintable() else repr(text)


def _number(value: object) -> float:
    """The float a person meant by `value` (an int, a float, or a number written in a string), else NaN."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an int beyond float's range
            return math.inf
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value.strip())  # overflows to inf, which the callers refuse
    return math.nan


def parse_duration(text: str, *, what: str = "duration") -> float:
    """'90', '90s', '5m', '1h30m' -> seconds. Raises ConfigError naming the bad value."""
    raw = str(text).strip().lower()
    seconds: float | None = None
    if _SECONDS.fullmatch(raw):
        seconds = float(raw)
    elif raw and (match := _DURATION.fullmatch(raw)):
        seconds = float(match["h"] or 0) * 3600 + float(match["m"] or 0) * 60 + float(match["s"] or 0)
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(
            f"{what} {shown(text)} is not a duration: use a positive number of seconds or units h/m/s, "
            "e.g. 90, 30s, 5m, 1h30m"
        )
    return seconds


def parse_positive(text: str | float | int, *, what: str, integer: bool = False) -> float:
    """A number > 0 (an integer when asked, written as one: '1e1' and '10.0' are not), or ConfigError."""
    value = _number(text)
    if integer and isinstance(text, str) and not _WHOLE.fullmatch(text.strip()):
        value = math.nan
    kind = "a whole number" if integer else "a number"
    if not math.isfinite(value) or value <= 0 or (integer and not value.is_integer()):
        raise ConfigError(f"{what} {shown(text)} is not valid: it must be {kind} greater than 0")
    return value


def parse_non_negative(text: str | float | int, *, what: str, maximum: float | None = None) -> float:
    """A number >= 0 (and <= maximum when given), or ConfigError naming the bad value."""
    value = _number(text)
    if not math.isfinite(value) or value < 0 or (maximum is not None and value > maximum):
        allowed = f"between 0 and {maximum:g}" if maximum is not None else "a number of 0 or more"
        raise ConfigError(f"{what} {shown(text)} is not valid: it must be {allowed}")
    return value + 0.0  # -0.0 -> 0.0


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
    match = None if isinstance(text, bool) else _PORT.fullmatch(str(text).strip())
    if match is None or not 0 < int(match[1]) < 65536:
        raise ConfigError(f"{what} {shown(text)} is not a port number: it must be a whole number from 1 to 65535")
    return int(match[1])


def parse_flag(text: str, *, what: str) -> bool:
    """1/true/yes/on or 0/false/no/off, or ConfigError naming the bad value."""
    raw = str(text).strip().lower()
    if raw not in _TRUE + _FALSE:
        raise ConfigError(f"{what} {shown(text)} is not valid: use 1/true/yes/on or 0/false/no/off")
    return raw in _TRUE
