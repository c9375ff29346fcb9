from pathlib import Path

import pytest
from conftest import LOCUSTFILES

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


def _catalogue(tmp_path: Path, body: str) -> Path:
    (tmp_path / "plan.py").write_text("from locust import HttpUser\nclass U(HttpUser):\n    pass\n")
    path = tmp_path / "scenarios.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("suites: {s: {locustfile: plan.py, scenarios: {a: {users: 5}}}}", "suites.s.scenarios.a: missing 'duration'"),
        ("suites: {s: {locustfile: nope.py, scenarios: {}}}", "nope.py does not exist"),
        (
            "suites: {s: {locustfile: plan.py, scenarios: {a: {users: 5, duration: 1m, shape: spkie}}}}",
            "unknown shape 'spkie'",
        ),
        (
            "suites: {s: {locustfile: plan.py, scenarios: {a: {users: 5, duration: 1m, slo: {p59_response_ms: 1}}}}}",
            "unknown SLO threshold 'p59_response_ms', did you mean 'p95_response_ms'",
        ),
        ("shapes: {x: [{until: 0.5, users: 1}]}\nsuites: {}", "last stage must end at until: 1.0"),
        ("suites: [1, 2]", "expected a mapping"),
        ("suites: {s: {locustfile: plan.py, scenarios: {a: {users: ten, duration: 1m}}}}", "users 'ten' is not valid"),
        ("a: [", "not valid YAML"),
    ],
)
def test_bad_catalogue_is_reported_with_its_location(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_catalogue(_catalogue(tmp_path, body))


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
