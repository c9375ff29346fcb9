"""Property-based tests (Hypothesis): whatever a person types or writes, the answer is a value or one
clear line, never a traceback.

Runs are reproducible: `derandomize=True` draws the same examples on every run and no example database
is kept. A value holding a line break or another unprintable character is named by its escaped form
('a\\nb'), so that an error stays one line; any other value is named as typed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import LOCUSTFILES, run_cli
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from loadcluster.catalogue import Catalogue, load_catalogue
from loadcluster.errors import ConfigError
from loadcluster.units import parse_duration, parse_flag, parse_non_negative, parse_port, parse_positive, shown

PROPERTY = settings(max_examples=200, derandomize=True, database=None, deadline=None)
CLI_PROPERTY = settings(
    max_examples=30, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def refused(call: Callable[[], Any], text: object) -> str | None:
    """None when `call` returns; else its ConfigError's message, checked to be one line naming `text`."""
    try:
        call()
    except ConfigError as error:
        message = str(error)
        assert len(message.splitlines()) == 1, message
        assert shown(text) in message, message
        if isinstance(text, str) and text.isprintable():
            assert text in message, message
        return message
    return None


# Text people type, and text close to the forms each parser accepts.
NUMBERISH = st.from_regex(r"\A\s?[+-]?[0-9_]{0,4}\.?[0-9]{0,3}([eE][+-]?[0-9]{1,3})?\s?\Z")
DURATIONISH = st.text(alphabet="0123456789.hmsHMS +-d", max_size=12)
TYPED = st.one_of(st.text(), NUMBERISH, DURATIONISH, st.text(alphabet="0123456789", min_size=1))


# --- units.parse_duration ------------------------------------------------------------------------------
@PROPERTY
@given(TYPED)
def test_a_duration_is_positive_and_finite_or_a_config_error_naming_the_text(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ConfigError:
        assert refused(lambda: parse_duration(text), text) is not None
    else:
        assert math.isfinite(seconds) and seconds > 0, (text, seconds)


DECIMAL = st.one_of(
    st.integers(0, 10**6).map(str),
    st.tuples(st.integers(0, 10**4), st.from_regex(r"\A[0-9]{1,4}\Z")).map(lambda t: f"{t[0]}.{t[1]}"),
)


@PROPERTY
@given(
    hours=st.none() | DECIMAL,
    minutes=st.none() | DECIMAL,
    seconds=st.none() | DECIMAL,
    upper=st.booleans(),
    padding=st.sampled_from(["", " ", "\t", " \n"]),
)
def test_hours_minutes_and_seconds_add_up(
    hours: str | None, minutes: str | None, seconds: str | None, upper: bool, padding: str
) -> None:
    parts = [(n, unit) for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n is not None]
    assume(parts)
    expected = sum(Fraction(n) * {"h": 3600, "m": 60, "s": 1}[unit] for n, unit in parts)
    assume(expected > 0)
    text = "".join(f"{n}{unit.upper() if upper else unit}" for n, unit in parts)
    assert math.isclose(parse_duration(f"{padding}{text}{padding}"), expected, rel_tol=1e-12)


@PROPERTY
@given(DECIMAL)
def test_a_plain_number_is_seconds(number: str) -> None:
    assume(Fraction(number) > 0)
    assert math.isclose(parse_duration(number), Fraction(number), rel_tol=1e-12)


# --- units.parse_positive, parse_non_negative, parse_port, parse_flag ---------------------------------------
@PROPERTY
@given(TYPED)
def test_a_positive_number_or_a_config_error_naming_the_text(text: str) -> None:
    try:
        value = parse_positive(text, what="spawn rate")
    except ConfigError:
        assert refused(lambda: parse_positive(text, what="spawn rate"), text) is not None
    else:
        assert math.isfinite(value) and value > 0
        assert value == float(text.strip())  # what float() makes of it: nothing else is read into the text


@PROPERTY
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_float_written_by_python_reads_back(number: float) -> None:
    for text in (repr(number), str(number), f"{number:e}"):
        if math.isfinite(number) and number > 0 and float(text) > 0:
            assert parse_positive(text, what="rate") == float(text)
        else:
            assert refused(lambda text=text: parse_positive(text, what="rate"), text) is not None


PLAIN_WHOLE = re.compile(r"\+?([0-9]+)")  # what int() reads, in plain ASCII digits


@PROPERTY
@given(st.one_of(TYPED, st.integers(-5, 10**20).map(str)))
def test_a_whole_number_is_exactly_a_plain_digit_string_above_0(text: str) -> None:
    plain = PLAIN_WHOLE.fullmatch(text.strip())
    # int() of the digits, when they fit a float (10**309 and up is refused as infinite)
    accepted = plain is not None and math.isfinite(float(plain[1])) and int(plain[1]) > 0
    try:
        value = parse_positive(text, what="users", integer=True)
    except ConfigError:
        assert not accepted, text
        assert refused(lambda: parse_positive(text, what="users", integer=True), text) is not None
    else:
        assert accepted, text
        assert plain is not None and value == float(int(plain[1])) and value.is_integer()


@PROPERTY
@given(TYPED, st.sampled_from([None, 1.0, 100.0]))
def test_a_non_negative_number_or_a_config_error_naming_the_text(text: str, maximum: float | None) -> None:
    try:
        value = parse_non_negative(text, what="stop timeout", maximum=maximum)
    except ConfigError:
        assert refused(lambda: parse_non_negative(text, what="stop timeout", maximum=maximum), text) is not None
    else:
        assert math.isfinite(value) and 0 <= value <= (maximum if maximum is not None else math.inf)
        assert value == float(text.strip()) and math.copysign(1, value) == 1  # never -0.0


@PROPERTY
@given(st.one_of(TYPED, st.integers(-10, 70000).map(str)))
def test_a_port_is_a_plain_number_from_1_to_65535(text: str) -> None:
    digits = text.strip()
    accepted = re.fullmatch(r"[0-9]+", digits) is not None and 0 < int(digits.lstrip("0")[:6] or "0") < 65536
    try:
        port = parse_port(text)
    except ConfigError:
        assert not accepted, text
        assert refused(lambda: parse_port(text), text) is not None
    else:
        assert accepted and port == int(digits), text


FLAG_WORDS = ["1", "true", "yes", "on", "0", "false", "no", "off", ""]


@PROPERTY
@given(st.one_of(st.text(), st.sampled_from(FLAG_WORDS).map(str.upper), st.sampled_from(FLAG_WORDS)))
def test_a_flag_is_one_of_the_words_or_a_config_error_naming_the_text(text: str) -> None:
    word = text.strip().lower()
    try:
        flag = parse_flag(text, what="monitoring")
    except ConfigError:
        assert word not in FLAG_WORDS
        assert refused(lambda: parse_flag(text, what="monitoring"), text) is not None
    else:
        assert word in FLAG_WORDS and flag is (word in ("1", "true", "yes", "on"))


# --- the catalogue loader -----------------------------------------------------------------------------
SHIPPED = yaml.safe_load((LOCUSTFILES / "scenarios.yaml").read_text())
KNOWN_KEYS = {
    "": {"slo", "shapes", "suites"},
    "slo": {"avg_response_ms", "p95_response_ms", "max_failure_percent", "min_rps", "min_users"},
    "stage": {"name", "until", "users"},
    "suite": {"locustfile", "description", "multiple", "scenarios"},
    "scenario": {"users", "spawn_rate", "duration", "workers", "shape", "slo", "description"},
}
WORDS = sorted(set().union(*KNOWN_KEYS.values()) | {"smoke", "spike", "steady", "customer_success.py", "1m"})
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**20),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(WORDS),
    st.dates(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=10) | st.integers(), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the shipped plans' locustfile names (the loader checks that they exist)."""
    directory = tmp_path_factory.mktemp("catalogue")
    for plan in LOCUSTFILES.glob("*.py"):
        (directory / plan.name).write_text("")
    return directory


def loaded_or_refused(directory: Path, text: str) -> Catalogue | str:
    """The catalogue `text` makes, or the one line it is refused with (naming the file)."""
    path = directory / "scenarios.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        catalogue = load_catalogue(path)
    except ConfigError as error:
        message = str(error)
        assert len(message.splitlines()) == 1, message
        assert str(path) in message, message
        return message
    for suite in catalogue.suites.values():
        assert suite.scenarios and set(suite.multiple) <= set(suite.scenarios)
        for s in suite.scenarios.values():
            assert isinstance(s.users, int) and not isinstance(s.users, bool) and s.users > 0
            assert isinstance(s.workers, int) and not isinstance(s.workers, bool) and s.workers > 0
            assert math.isfinite(s.duration_s) and s.duration_s > 0
            assert s.spawn_rate is None or (math.isfinite(s.spawn_rate) and s.spawn_rate > 0)
            assert s.stages[-1].until == 1.0 and all(0 < st.users <= 1 for st in s.stages)
            assert [st.until for st in s.stages] == sorted({st.until for st in s.stages})
    return catalogue


@PROPERTY
@given(st.one_of(VALUES, st.dictionaries(st.sampled_from(sorted(KNOWN_KEYS[""])) | st.text(max_size=8), VALUES)))
def test_any_yaml_document_loads_or_is_refused_in_one_line(catalogue_dir: Path, document: Any) -> None:
    loaded_or_refused(catalogue_dir, yaml.safe_dump(document, allow_unicode=True))


@PROPERTY
@given(st.text())
def test_any_text_loads_or_is_refused_in_one_line(catalogue_dir: Path, text: str) -> None:
    loaded_or_refused(catalogue_dir, text)


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a document: ('suites', 'customer-success', 'scenarios', 'smoke', 'users'), ..."""
    found = [path] if path else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found += _places(child, (*path, key))
    return found


PLACES = _places(SHIPPED)


def _kind_of_mapping(path: tuple[Any, ...]) -> str | None:
    """Which KNOWN_KEYS the mapping at `path` has (None: a mapping of names, or a list)."""
    match list(path):
        case []:
            return ""
        case ["slo"] | ["suites", _, "scenarios", _, "slo"]:
            return "slo"
        case ["shapes", _, int()]:
            return "stage"
        case ["suites", _]:
            return "suite"
        case ["suites", _, "scenarios", _]:
            return "scenario"
    return None


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@PROPERTY
@given(st.sampled_from(PLACES), st.sampled_from(WORDS) | st.text(min_size=1, max_size=12))
def test_the_shipped_catalogue_with_a_key_renamed_loads_or_names_the_key(
    catalogue_dir: Path, place: tuple[Any, ...], new_key: str
) -> None:
    assume(not isinstance(place[-1], int))  # a list item has no key to rename
    document = yaml.safe_load(yaml.safe_dump(SHIPPED))
    parent = _at(document, place[:-1])
    parent[new_key] = parent.pop(place[-1])
    outcome = loaded_or_refused(catalogue_dir, yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    kind = _kind_of_mapping(place[:-1])
    if kind is not None and new_key not in KNOWN_KEYS[kind]:
        # a setting's name misspelt: refused, naming the new key
        assert isinstance(outcome, str) and "unknown key" in outcome and shown(new_key)[1:-1] in outcome, outcome


@PROPERTY
@given(st.sampled_from(PLACES), SCALARS)
def test_the_shipped_catalogue_with_a_value_replaced_loads_or_is_refused(
    catalogue_dir: Path, place: tuple[Any, ...], value: Any
) -> None:
    document = yaml.safe_load(yaml.safe_dump(SHIPPED))
    _at(document, place[:-1])[place[-1]] = value
    loaded_or_refused(catalogue_dir, yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


SHIPPED_TEXT = (LOCUSTFILES / "scenarios.yaml").read_text()


@PROPERTY
@given(st.integers(0, len(SHIPPED_TEXT)), st.integers(0, 8), st.text(max_size=4) | st.sampled_from(list(":-[]{},'\"")))
def test_the_shipped_catalogue_with_its_text_damaged_loads_or_is_refused(
    catalogue_dir: Path, start: int, length: int, insert: str
) -> None:
    loaded_or_refused(catalogue_dir, SHIPPED_TEXT[:start] + insert + SHIPPED_TEXT[start + length :])


# --- the CLI ------------------------------------------------------------------------------------------
RUN_FLAGS = {
    "--users": ["5", "10"],
    "--workers": ["1", "2"],
    "--duration": ["10s", "1m"],
    "--spawn-rate": ["2", "0.5"],
    "--time-scale": ["1", "0.5"],
    "--stop-timeout": ["0", "1"],
}


@st.composite
def run_flags(draw: st.DrawFn) -> list[str]:
    """Each flag left out, given a sensible value, or given any text (`--flag=TEXT` or `--flag TEXT`)."""
    args: list[str] = []
    for flag, sensible in RUN_FLAGS.items():
        value = draw(st.none() | st.sampled_from(sensible) | TYPED | st.text())
        if value is None:
            continue
        args += [f"{flag}={value}"] if draw(st.booleans()) else [flag, value]
    return args


@CLI_PROPERTY
@given(run_flags())
def test_run_with_any_flag_values_answers_with_one_error_line(
    tmp_path_factory: pytest.TempPathFactory, args: list[str]
) -> None:
    results = tmp_path_factory.mktemp("results")
    code, out = run_cli(
        "run",
        *args,
        "--scenario",
        "smoke",
        "--runtime",
        "local",
        "--host",
        "http://127.0.0.1:9",
        "--results",
        str(results),
    )
    assert code != 0, out  # nothing listens on 127.0.0.1:9
    lines = out.splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], out
    event("refused" if len(lines) == 1 else "planned, then the target is unreachable")
    if len(lines) > 1:  # a valid plan: announced, then refused because the target is unreachable
        assert "is unreachable" in errors[0], out
        assert not [line for line in lines if line.startswith("Traceback")], out
