from typing import Any

import pytest

from loadcluster.errors import ConfigError, did_you_mean
from loadcluster.units import (
    format_duration,
    parse_duration,
    parse_flag,
    parse_non_negative,
    parse_port,
    parse_positive,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("30s", 30), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("2m30s", 150), ("1.5m", 90), (" 10M ", 600)],
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "m", "-5", "0", "1d", "5 m", "s5"])
def test_bad_durations_name_the_value(text: str) -> None:
    with pytest.raises(ConfigError, match=f"'{text}' is not a duration"):
        parse_duration(text)


def test_positive_numbers() -> None:
    assert parse_positive("7.5", what="spawn rate") == 7.5
    assert parse_positive("10", what="users", integer=True) == 10
    for bad in ("0", "-1", "abc", "nan", "inf", ""):
        with pytest.raises(ConfigError, match="spawn rate"):
            parse_positive(bad, what="spawn rate")
    with pytest.raises(ConfigError, match="whole number"):
        parse_positive("2.5", what="users", integer=True)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (15, 2.5, 60, 90, 3600, 5400)] == ["15s", "2.5s", "1m", "1m30s", "1h", "1h30m"]


def test_did_you_mean() -> None:
    assert "did you mean 'spike'?" in did_you_mean("spik", ["smoke", "spike", "stress"])
    assert did_you_mean("zzz", ["smoke", "spike"]) == "allowed: smoke, spike"


def test_non_negative_numbers() -> None:
    assert parse_non_negative("0", what="error rate", maximum=1) == 0
    assert parse_non_negative("0.25", what="error rate", maximum=1) == 0.25
    with pytest.raises(ConfigError, match="error rate '1.5' is not valid: it must be between 0 and 1"):
        parse_non_negative("1.5", what="error rate", maximum=1)
    with pytest.raises(ConfigError, match="latency '-3' is not valid"):
        parse_non_negative("-3", what="latency")


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_port, "²", "port '²' is not a port number"),  # was a ValueError from int('²')
        (parse_port, "٨٠", "port '٨٠' is not a port number"),  # other scripts' digits
        (parse_duration, "9" * 400, "is not a duration"),  # was accepted as infinite seconds
        (lambda t: parse_positive(t, what="users", integer=True), "٣", "users '٣' is not valid"),
        (lambda t: parse_positive(t, what="spawn rate"), "1_000", "spawn rate '1_000' is not valid"),
        (lambda t: parse_positive(t, what="spawn rate"), 10**400, "it must be a number greater than 0"),
        (lambda t: parse_positive(t, what="users", integer=True), True, "users 'True' is not valid"),
        (lambda t: parse_non_negative(t, what="stop timeout"), "nan", "stop timeout 'nan' is not valid"),
        (lambda t: parse_flag(t, what="monitoring"), "maybe", "monitoring 'maybe' is not valid: use 1/true/yes/on"),
        # A line break is shown escaped, so the error stays one line.
        (parse_duration, "5m\n6m", "duration '5m\\n6m' is not a duration"),
        (lambda t: parse_positive(t, what="users"), "1\x1e2", "users '1\\x1e2' is not valid"),
    ],
)
def test_odd_values_are_refused_in_one_line_naming_them(parse: Any, text: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert message in str(caught.value) and len(str(caught.value).splitlines()) == 1, caught.value


def test_numbers_as_people_write_them() -> None:
    assert [parse_positive(t, what="rate") for t in (" 7.5 ", "+2", "1e3", ".5", "5.")] == [7.5, 2, 1000, 0.5, 5]
    assert parse_non_negative("-0", what="stop timeout") == 0 and str(parse_non_negative("-0", what="x")) == "0.0"
    assert [parse_port(t) for t in ("80", " 08080 ", "65535")] == [80, 8080, 65535]
    assert [parse_flag(t, what="m") for t in (" YES ", "off", "")] == [True, False, False]
