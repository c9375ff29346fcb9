from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import LOCUSTFILES, run_cli
from own_plan import write_plan

from loadcluster.catalogue import load_catalogue
from loadcluster.errors import ConfigError


def test_shipped_catalogue_holds_the_seed_presets() -> None:
    catalogue = load_catalogue(LOCUSTFILES / "scenarios.yaml")
    cs = catalogue.suite("customer-success").scenarios
    assert [(s.users, s.spawn_rate, s.duration_s) for s in cs.values()] == [
        (10, 2, 60),
        (100, 10, 3600),
        (500, 50, 600),
        (1000, 200, 300),
    ]
    am = catalogue.suite("agent-mitra").scenarios
    assert {name: (s.users, s.duration_s) for name, s in am.items()} == {
        "basic": (10, 60),
        "moderate": (50, 120),
        "heavy": (100, 180),
        "peak": (100, 300),
        "stress": (200, 600),
        "endurance": (50, 1800),
    }
    assert all(s.spawn_rate is None for s in am.values())  # users / 10 unless set


def test_no_preset_makes_a_worker_spawn_more_than_100_users_a_second() -> None:
    catalogue = load_catalogue(LOCUSTFILES / "scenarios.yaml")
    for suite in catalogue.suites.values():
        for s in suite.scenarios.values():
            assert (s.spawn_rate or s.users / 10) / s.workers <= 100, s.name


def test_every_scenario_carries_the_seed_slo() -> None:
    catalogue = load_catalogue(LOCUSTFILES / "scenarios.yaml")
    spike = catalogue.suite("customer-success").scenario("spike")
    assert (spike.slo.avg_response_ms, spike.slo.p95_response_ms, spike.slo.max_failure_percent) == (500, 2000, 1)
    assert spike.slo.min_users == 1000
    assert [(st.name, st.until, st.users) for st in spike.stages] == [
        ("baseline", 0.2, 0.1),
        ("spike", 0.7, 1.0),
        ("recovery", 1.0, 0.1),
    ]


def test_unknown_names_get_a_suggestion() -> None:
    catalogue = load_catalogue(LOCUSTFILES / "scenarios.yaml")
    with pytest.raises(ConfigError, match="unknown suite 'customer-sucess', did you mean 'customer-success'"):
        catalogue.suite("customer-sucess")
    with pytest.raises(ConfigError, match="unknown scenario 'spkie', did you mean 'spike'"):
        catalogue.find(None, "spkie")


def test_a_scenario_of_one_suite_only_is_found_without_naming_the_suite() -> None:
    catalogue = load_catalogue(LOCUSTFILES / "scenarios.yaml")
    suite, scenario = catalogue.find(None, "endurance")
    assert (suite.name, scenario.users) == ("agent-mitra", 50)
    suite, scenario = catalogue.find(None, "stress")  # in both: the default suite wins
    assert (suite.name, scenario.users) == ("customer-success", 500)


# --- mistakes in a catalogue: one line naming the file, the key path and what is allowed ------------

# Every mapping of the format once, each key set; the mistakes below are made to this file.
VALID = """\
slo: {avg_response_ms: 500, max_failure_percent: 2}
shapes:
  ramp:
    - {name: half, until: 0.5, users: 0.5}
    - {until: 1.0, users: 1.0}
suites:
  shop:
    description: the shop
    locustfile: plan.py
    multiple: [quick]
    scenarios:
      quick:
        description: a few users
        users: 4
        spawn_rate: 2.5
        duration: 10s
        workers: 2
        shape: ramp
        slo: {min_users: 4, p95_response_ms: 900}
"""
QUICK = "suites.shop.scenarios.quick"


def _write(tmp_path: Path, text: str | bytes) -> Path:
    (tmp_path / "plan.py").write_text("from locust import HttpUser\nclass U(HttpUser):\n    pass\n")
    path = tmp_path / "scenarios.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _refusal(path: Path) -> str:
    """The message load_catalogue refuses `path` with; it names the file, on one line."""
    with pytest.raises(ConfigError) as caught:
        load_catalogue(path)
    message = str(caught.value)
    assert str(path) in message
    assert len(message.splitlines()) == 1, message
    return message


def _edited(key_path: str, value: Any = None, *, rename: str | None = None, delete: bool = False) -> str:
    """VALID with the value at `key_path` (dots, [i] for list items) set, its key renamed, or deleted."""
    document = yaml.safe_load(VALID)
    *parents, last = key_path.replace("[", ".[").split(".")
    node = document
    for part in parents:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    key: Any = int(last[1:-1]) if last.startswith("[") else last
    if rename is not None:
        node[rename] = node.pop(key)
    elif delete:
        del node[key]
    else:
        node[key] = value
    return yaml.safe_dump(document, sort_keys=False)


def test_the_valid_example_loads_with_every_setting(tmp_path: Path) -> None:
    catalogue = load_catalogue(_write(tmp_path, VALID))
    suite = catalogue.suite("shop")
    quick = suite.scenario("quick")
    assert (suite.description, suite.multiple, suite.locustfile) == ("the shop", ("quick",), tmp_path / "plan.py")
    assert (quick.users, quick.spawn_rate, quick.duration_s, quick.workers, quick.shape) == (4, 2.5, 10, 2, "ramp")
    assert [(s.name, s.until, s.users) for s in quick.stages] == [("half", 0.5, 0.5), ("stage-2", 1.0, 1.0)]
    assert (quick.slo.avg_response_ms, quick.slo.p95_response_ms, quick.slo.max_failure_percent) == (500, 900, 2)
    assert (quick.slo.min_users, catalogue.slo.min_users) == (4, None)
    # Optional keys left out, or spawn_rate left empty, take their defaults.
    minimal = "suites: {s: {locustfile: plan.py, scenarios: {a: {users: 3, duration: 90, spawn_rate: }}}}"
    a = load_catalogue(_write(tmp_path, minimal)).suite("s").scenario("a")
    assert (a.spawn_rate, a.duration_s, a.workers, a.shape, a.description) == (None, 90, 1, "steady", "")


@pytest.mark.parametrize(
    ("key_path", "typo", "suggestion"),
    [
        ("slo", "sol", "slo"),
        ("slo.avg_response_ms", "avg_respons_ms", "avg_response_ms"),
        ("shapes.ramp[0].until", "untill", "until"),
        ("suites.shop.locustfile", "locustfil", "locustfile"),
        (f"{QUICK}.spawn_rate", "spawn_rte", "spawn_rate"),
        (f"{QUICK}.workers", "worker", "workers"),
        (f"{QUICK}.slo.p95_response_ms", "p59_response_ms", "p95_response_ms"),
    ],
)
def test_an_unknown_key_is_refused_with_a_suggestion(tmp_path: Path, key_path: str, typo: str, suggestion: str) -> None:
    message = _refusal(_write(tmp_path, _edited(key_path, rename=typo)))
    parent = key_path.rpartition(".")[0]
    typo_path = f"{parent}.{typo}" if parent else typo
    assert f": {typo_path}: unknown key, did you mean '{suggestion}'? (allowed: " in message


def test_suite_instead_of_suites_names_the_key(tmp_path: Path) -> None:
    message = _refusal(_write(tmp_path, _edited("suites", rename="suite")))
    assert (
        message
        == f"{tmp_path / 'scenarios.yaml'}: suite: unknown key, did you mean 'suites'? (allowed: shapes, slo, suites)"
    )


@pytest.mark.parametrize(
    ("key_path", "value", "expected"),
    [
        ("suites.shop", ["quick"], "expected a mapping with the keys locustfile, description, multiple, scenarios"),
        ("suites.shop.scenarios", ["quick"], "expected a mapping of scenarios by name, got a list"),
        ("shapes", [1], "expected a mapping of shapes by name, got a list"),
        ("slo", "fast", "expected a mapping with the SLO thresholds"),
        (f"{QUICK}.slo", [1], "expected a mapping with the SLO thresholds"),
        ("shapes.ramp", {"until": 1.0}, "expected a non-empty list of stages"),
        ("shapes.ramp[0]", "half", "expected a mapping with the keys name, until, users, got text 'half'"),
        (f"{QUICK}.users", "4", "expected a whole number greater than 0, got text '4' (YAML reads it as text"),
        (f"{QUICK}.users", 4.5, "expected a whole number greater than 0, got the number 4.5"),
        (f"{QUICK}.workers", [2], "expected a whole number greater than 0, got a list"),
        (f"{QUICK}.spawn_rate", "fast", "expected a number greater than 0, got text 'fast'"),
        (f"{QUICK}.duration", [1], "expected a duration greater than 0 such as 90, 30s, 5m or 1h30m, got a list"),
        (f"{QUICK}.duration", "5x", "'5x' is not a duration"),
        (f"{QUICK}.shape", ["ramp"], "expected text, got a list"),
        (f"{QUICK}.shape", "rmap", "unknown shape 'rmap', did you mean 'ramp'?"),
        (f"{QUICK}.description", {"a": 1}, "expected text, got a mapping"),
        ("suites.shop.locustfile", 3, "expected text, got the number 3"),
        ("suites.shop.locustfile", "nope.py", "'nope.py' does not exist in"),
        ("suites.shop.multiple", "quick", "expected a non-empty list of scenarios, e.g. [quick], got text 'quick'"),
        ("suites.shop.multiple", [], "expected a non-empty list of scenarios"),
        ("suites.shop.multiple[0]", "quik", "unknown scenario 'quik', did you mean 'quick'?"),
        ("suites.shop.scenarios.quick", None, "expected a mapping with the keys users, spawn_rate, duration"),
        ("suites.shop.scenarios.a b", {"users": 1, "duration": 1}, "'a b' is not a name: use letters, digits"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(tmp_path: Path, key_path: str, value: Any, expected: str) -> None:
    message = _refusal(_write(tmp_path, _edited(key_path, value)))
    assert f": {key_path}: " in message and expected in message, message


@pytest.mark.parametrize(
    ("key_path", "expected"),
    [("suites", ": defines no suites"), ("suites.shop.scenarios", ": suites.shop: defines no scenarios")],
)
def test_a_catalogue_without_suites_or_scenarios_is_refused(tmp_path: Path, key_path: str, expected: str) -> None:
    assert _refusal(_write(tmp_path, _edited(key_path, {}))).endswith(expected)


@pytest.mark.parametrize(
    ("key_path", "missing"),
    [
        ("suites", "suites"),
        ("suites.shop.locustfile", "locustfile"),
        (f"{QUICK}.users", "users"),
        (f"{QUICK}.duration", "duration"),
        ("shapes.ramp[1].until", "until"),
    ],
)
def test_a_missing_key_is_named(tmp_path: Path, key_path: str, missing: str) -> None:
    message = _refusal(_write(tmp_path, _edited(key_path, delete=True)))
    parent = key_path.rpartition(".")[0]
    assert message.endswith(f"{': ' + parent if parent else ''}: missing '{missing}'"), message


@pytest.mark.parametrize(
    ("key_path", "value", "expected"),
    [
        (f"{QUICK}.users", 0, "expected a whole number greater than 0, got the number 0"),
        (f"{QUICK}.users", -3, "expected a whole number greater than 0, got the number -3"),
        (f"{QUICK}.workers", 0, "expected a whole number greater than 0"),
        (f"{QUICK}.spawn_rate", 0, "expected a number greater than 0, got the number 0"),
        (f"{QUICK}.spawn_rate", -1.5, "expected a number greater than 0, got the number -1.5"),
        (f"{QUICK}.spawn_rate", float("inf"), "expected a number greater than 0, got the number inf"),
        (f"{QUICK}.duration", 0, "expected a duration greater than 0 such as 90, 30s, 5m or 1h30m, got the number 0"),
        (f"{QUICK}.duration", -5, "expected a duration greater than 0 such as 90, 30s, 5m or 1h30m, got the number -5"),
        (f"{QUICK}.duration", "0s", "'0s' is not a duration: use a positive number of seconds"),
        (f"{QUICK}.slo.p95_response_ms", 0, "expected a number greater than 0"),
        (f"{QUICK}.slo.min_users", 0, "expected a whole number greater than 0"),
        ("slo.max_failure_percent", 150, "expected a number greater than 0 and at most 100, got the number 150"),
        ("slo.avg_response_ms", -500, "expected a number greater than 0, got the number -500"),
        ("shapes.ramp[0].users", 1.5, "expected a number greater than 0 and at most 1, got the number 1.5"),
        ("shapes.ramp[0].until", 0, "expected a number greater than 0 and at most 1, got the number 0"),
    ],
)
def test_a_number_out_of_range_is_refused(tmp_path: Path, key_path: str, value: Any, expected: str) -> None:
    message = _refusal(_write(tmp_path, _edited(key_path, value)))
    assert f": {key_path}: {expected}" in message, message


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        ("[{until: 0.5, users: 1}]", "shapes.x: the last stage must end at until: 1.0 (it ends at 0.5)"),
        (
            "[{until: 0.5, users: 1}, {until: 0.3, users: 1}, {until: 1, users: 1}]",
            "shapes.x[1].until: 0.3 goes backwards: each stage must end after the one before (which ends at 0.5)",
        ),
        ("[{until: 0.5, users: 1}, {until: 0.5, users: 1}]", "shapes.x[1].until: 0.5 goes backwards"),
        ("[{until: 1.5, users: 1}]", "shapes.x[0].until: expected a number greater than 0 and at most 1"),
        ("[]", "shapes.x: expected a non-empty list of stages such as {until: 1.0, users: 1.0}, got a list"),
        ("", "shapes.x: expected a non-empty list of stages such as {until: 1.0, users: 1.0}, got nothing"),
    ],
)
def test_a_shape_that_does_not_reach_the_end_or_goes_backwards_is_refused(
    tmp_path: Path, stages: str, expected: str
) -> None:
    body = (
        f"shapes:\n  x: {stages}\nsuites: {{s: {{locustfile: plan.py, scenarios: {{a: {{users: 5, duration: 1m}}}}}}}}"
    )
    assert f": {expected}" in _refusal(_write(tmp_path, body))


@pytest.mark.parametrize(
    ("key_path", "written"),
    [
        (f"{QUICK}.users", "yes"),
        (f"{QUICK}.workers", "on"),
        (f"{QUICK}.spawn_rate", "true"),
        (f"{QUICK}.duration", "yes"),
        (f"{QUICK}.slo.min_users", "no"),
        ("slo.avg_response_ms", "off"),
        ("shapes.ramp[0].users", "Yes"),
    ],
)
def test_a_yaml_boolean_is_not_a_number(tmp_path: Path, key_path: str, written: str) -> None:
    body = _edited(key_path, "MARK").replace("MARK", written)
    message = _refusal(_write(tmp_path, body))
    assert f": {key_path}: expected " in message
    assert "a boolean (YAML reads yes/no/on/off/true/false as booleans)" in message, message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty: it needs at least 'suites'"),
        ("# only a comment\n", "the file is empty"),
        ("- smoke\n- spike\n", "expected a mapping with the keys slo, shapes, suites, got a list"),
        ("smoke", "expected a mapping with the keys slo, shapes, suites, got text 'smoke'"),
        ("42", "got the number 42"),
        ("suites: {s: [}\n", "is not valid YAML: "),
        (
            "suites:\n  s: {a: 1\n",
            "is not valid YAML: line 3, column 1: expected ',' or '}', but got '<stream end>'",
        ),  # YAML's line number is kept
        (
            "slo: {}\nsuites: {}\nslo: {}\n",
            "is not valid YAML: line 3, column 1: key 'slo' is given twice in one mapping (first on line 1)",
        ),
        (b"suites: \xff\n", "is not UTF-8 text"),
        ("a: \x01", "is not valid YAML: special characters are not allowed (character #x0001 at position 3)"),
        ("[" * 3000, "is not valid YAML"),
        ("suites: [1, 2]", "suites: expected a mapping of suites by name, got a list"),
    ],
)
def test_a_document_that_is_not_a_catalogue_is_refused(tmp_path: Path, text: str | bytes, expected: str) -> None:
    assert expected in _refusal(_write(tmp_path, text))


def test_a_misspelt_key_in_a_plan_directory_stops_the_run_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = write_plan(tmp_path / "plan", catalogue=True).parent
    catalogue = plan / "scenarios.yaml"
    catalogue.write_text(catalogue.read_text().replace("spawn_rate: 4", "spawn_rte: 3"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOADCLUSTER_RESULTS", raising=False)
    code, out = run_cli("run", "--locustfile", str(plan), "--scenario", "quick", "--host", "http://127.0.0.1:9")
    assert code == 2
    assert out.splitlines() == [
        f"Error: {catalogue}: suites.shop.scenarios.quick.spawn_rte: unknown key, did you mean 'spawn_rate'? "
        "(allowed: description, duration, shape, slo, spawn_rate, users, workers)"
    ]
    assert not (tmp_path / "results").exists()
