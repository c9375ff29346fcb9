from pathlib import Path

import pytest
from conftest import LOCUSTFILES

from loadcluster import options
from loadcluster.errors import ConfigError
from loadcluster.node import master_plan
from loadcluster.options import Verb
from loadcluster.plan import RunPlan, build_plan


def values(**raw: str) -> dict:
    """Typed option values as the CLI reads them from flags (no environment)."""
    return options.settings(Verb.RUN, {"locustfile": str(LOCUSTFILES), **raw}, {})


def plan(**raw: str) -> RunPlan:
    return build_plan(values(**raw))


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


def test_the_plan_document_is_the_same_plan() -> None:
    original = plan(
        scenario="spike", time_scale="0.05", workers="3", host="http://127.0.0.1:9", user_classes="WebFormUser"
    )
    assert RunPlan.from_document(original.to_document()) == original


def test_a_master_without_a_document_builds_the_same_plan_from_its_variables() -> None:
    """A chart or a hand-written Compose file sets a few LOADCLUSTER_* names; same code path as the CLI."""
    environ = {"LOADCLUSTER_SCENARIO": "stress", "LOADCLUSTER_SUITE": "agent-mitra",
               "LOADCLUSTER_LOCUSTFILE": str(LOCUSTFILES), "LOADCLUSTER_HOST": "http://target:8080",
               "LOADCLUSTER_RESULTS": "/opt/loadcluster/results"}  # fmt: skip
    assert master_plan(environ) == plan(
        scenario="stress", suite="agent-mitra", host="http://target:8080", results="/opt/loadcluster/results"
    )
    document = {"LOADCLUSTER_PLAN": plan(scenario="smoke", host="http://t:1").to_document(), **environ}
    assert master_plan(document).scenario == "smoke"  # the document wins over the loose variables


def test_flags_win_over_environment() -> None:
    env = {"LOADCLUSTER_USERS": "50", "LOADCLUSTER_WORKERS": "", "LOADCLUSTER_SCENARIO": "smoke"}
    read = options.settings(Verb.RUN, {"users": "60"}, env)
    assert read["users"] == 60 and read["workers"] is None and read["scenario"] == "smoke"


def test_a_plan_that_cannot_reach_its_users_says_so() -> None:
    short = plan(users="10", duration="5s")  # default spawn rate users/10: 10 s to start them all
    assert any("about 5 of 10 users will run" in w for w in short.warnings)
    assert not plan(scenario="spike", time_scale="0.05").warnings
    quick = plan(scenario="smoke", time_scale="0.025")
    assert any("stopping may add up to 5s" in w for w in quick.warnings)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"scenario": "spkie"}, "unknown scenario 'spkie', did you mean 'spike'"),
        ({"suite": "agent", "scenario": "basic"}, "unknown suite 'agent', did you mean 'agent-mitra'"),
        ({"scenario": "smoke", "workers": "0"}, "workers '0' is not valid"),
        ({"scenario": "smoke", "workers": "11"}, "workers 11 is more than users 10"),
        ({"scenario": "smoke", "users": "0"}, "users '0' is not valid"),
        ({"scenario": "smoke", "users": "many"}, "users 'many' is not valid"),
        ({"scenario": "smoke", "users": "1e1"}, "users '1e1' is not valid: it must be a whole number"),
        ({"scenario": "smoke", "spawn_rate": "-2"}, "spawn rate '-2' is not valid"),
        ({"scenario": "smoke", "duration": "5x"}, "duration '5x' is not a duration"),
        ({"scenario": "smoke", "host": "localhost:8080"}, "host 'localhost:8080' is not an http"),
        ({"scenario": "smoke", "time_scale": "0"}, "time scale '0' is not valid"),
        ({"scenario": "smoke", "time_scale": "0.001"}, "raise --duration or --time-scale"),
        ({}, "no scenario given"),
        ({"users": "10"}, "duration is required"),
        ({"scenario": "smoke", "tags": "nope"}, "tag 'nope' is on no task"),
    ],
)
def test_bad_input_is_named(raw: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan(**raw)


def test_locustfile_checks(tmp_path: Path) -> None:
    def own(path: Path, **raw: str) -> RunPlan:
        return build_plan(options.settings(Verb.RUN, {"locustfile": str(path), **raw}, {}))

    with pytest.raises(ConfigError, match="does not exist"):
        own(tmp_path / "missing.py", users="1", duration="1")
    empty = tmp_path / "empty.py"
    empty.write_text("from locust import HttpUser\n\nclass Base(HttpUser):\n    abstract = True\n")
    with pytest.raises(ConfigError, match="defines no users"):
        own(empty, users="1", duration="1", host="http://t:1")
    mine = tmp_path / "own.py"
    mine.write_text(
        "from locust import HttpUser\n\nclass Base(HttpUser):\n    abstract = True\n\nclass Mine(Base):\n    pass\n"
    )
    built = own(mine, users="1", duration="1", host="http://t:1")
    assert built.locustfiles.files == (mine,) and built.locustfiles.root == tmp_path
    assert built.suite == "own" and not built.demo_target
    with pytest.raises(ConfigError, match="has no scenarios.yaml"):
        own(mine, scenario="smoke")
    assert plan(scenario="smoke").demo_target  # the shipped plans, without --host


def test_a_directory_means_its_locustfiles_not_its_helpers_nor_hidden_directories(tmp_path: Path) -> None:
    from loadcluster.locustfiles import files_in

    (tmp_path / "shop.py").write_text("")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "admin.py").write_text("")
    (tmp_path / "_common.py").write_text("")
    for hidden in (".venv/lib/site.py", "..2026_11_25_12_00_00/shop.py"):  # a virtualenv; a ConfigMap mount
        (tmp_path / hidden).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / hidden).write_text("")
    assert files_in(str(tmp_path)).files == (tmp_path / "more" / "admin.py", tmp_path / "shop.py")
