import pytest

from loadcluster.errors import ConfigError, did_you_mean
from loadcluster.units import format_duration, parse_duration, parse_non_negative, parse_positive


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
