from pathlib import Path

import pytest
from conftest import LOCUSTFILES

from loadcluster.errors import ConfigError
from loadcluster.plan import RunOptions, build_plan


def plan(**options: str):
    return build_plan(RunOptions(locustfile=str(LOCUSTFILES), **options))


def test_time_scale_shrinks_durations_but_not_spawn_rates() -> None:
    spike = plan(scenario="spike", time_scale="0.05")
    assert spike.duration_s == pytest.approx(15)
    assert spike.spawn_rate == 200
    assert [(s.name, s.start_s, s.end_s, s.users) for s in spike.stages] == [
        ("baseline", 0, pytest.approx(3), 100),
        ("spike", pytest.approx(3), pytest.approx(10.5), 1000),
        ("recovery", pytest.approx(10.5), pytest.approx(15), 100),
    ]
    assert spike.stage_at(0).name == "baseline"
    assert spike.stage_at(5).name == "spike"
    assert spike.stage_at(15) is None


def test_flags_override_the_preset_and_keep_its_shape() -> None:
    spike = plan(scenario="spike", users="200", duration="100", workers="2")
    assert (spike.users, spike.duration_s, spike.workers, spike.spawn_rate) == (200, 100, 2, 200)
    assert [s.users for s in spike.stages] == [20, 200, 20]
    assert spike.thresholds.min_users == 200  # cannot demand more users than the run starts


def test_ad_hoc_run_needs_no_preset() -> None:
    custom = plan(users="75", spawn_rate="7.5", duration="10m")
    assert (custom.suite, custom.scenario, custom.users, custom.spawn_rate, custom.duration_s) == (
        "customer-success",
        "custom",
        75,
        7.5,
        600,
    )
    assert custom.thresholds.p95_response_ms == 2000


def test_default_workers_keep_each_under_100_users_per_second() -> None:
    assert plan(users="1000", spawn_rate="450", duration="1m").workers == 5
    assert plan(scenario="smoke").workers == 2


def test_agent_mitra_spawn_rate_defaults_to_a_tenth_of_users() -> None:
    assert plan(suite="agent-mitra", scenario="stress").spawn_rate == 20


def test_the_environment_rebuilds_the_same_plan() -> None:
    original = plan(scenario="spike", time_scale="0.05", workers="3", host="http://127.0.0.1:9")
    assert build_plan(RunOptions.from_env(original.to_env())) == original
    custom = plan(users="20", duration="30s")
    assert build_plan(RunOptions.from_env(custom.to_env())) == custom


def test_flags_win_over_environment() -> None:
    options = RunOptions.from_env(
        {"LOADCLUSTER_USERS": "50", "LOADCLUSTER_WORKERS": "", "LOADCLUSTER_SCENARIO": "smoke"}
    )
    assert options.users == "50" and options.workers is None
    assert options.overridden_by(users="60", workers=None).users == "60"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scenario": "spkie"}, "unknown scenario 'spkie', did you mean 'spike'"),
        ({"suite": "agent", "scenario": "basic"}, "unknown suite 'agent', did you mean 'agent-mitra'"),
        ({"scenario": "smoke", "workers": "0"}, "workers '0' is not valid"),
        ({"scenario": "smoke", "workers": "11"}, "workers 11 is more than users 10"),
        ({"scenario": "smoke", "users": "0"}, "users '0' is not valid"),
        ({"scenario": "smoke", "users": "many"}, "users 'many' is not valid"),
        ({"scenario": "smoke", "spawn_rate": "-2"}, "spawn rate '-2' is not valid"),
        ({"scenario": "smoke", "duration": "5x"}, "duration '5x' is not a duration"),
        ({"scenario": "smoke", "host": "localhost:8080"}, "host 'localhost:8080' is not an http"),
        ({"scenario": "smoke", "time_scale": "0"}, "time scale '0' is not valid"),
        ({"scenario": "smoke", "time_scale": "0.001"}, "raise --duration or --time-scale"),
        ({}, "no scenario given"),
        ({"users": "10"}, "duration is required"),
    ],
)
def test_bad_input_is_named(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan(**options)


def test_locustfile_checks(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        build_plan(RunOptions(locustfile=str(tmp_path / "missing.py"), users="1", duration="1"))
    empty = tmp_path / "empty.py"
    empty.write_text("from locust import HttpUser\n\nclass Base(HttpUser):\n    abstract = True\n")
    with pytest.raises(ConfigError, match="defines no users"):
        build_plan(RunOptions(locustfile=str(empty), users="1", duration="1"))
    own = tmp_path / "own.py"
    own.write_text(
        "from locust import HttpUser\n\nclass Base(HttpUser):\n    abstract = True\n\nclass Mine(Base):\n    pass\n"
    )
    assert build_plan(RunOptions(locustfile=str(own), users="1", duration="1")).locustfile == own
    with pytest.raises(ConfigError, match="has no scenarios.yaml"):
        build_plan(RunOptions(locustfile=str(own), scenario="smoke"))
