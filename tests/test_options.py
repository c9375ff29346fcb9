"""The option table is the one place an option exists: flag, variable, default, and everything derived.

Every option is reachable by its flag and by its variable, a flag wins, and the README's table, the
Makefile's variables, `make help` and the Compose files are checked against the table here.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml
from conftest import REPO

from loadcluster import cli, options
from loadcluster.options import OPTIONS, Option, RuntimeName, Verb

# Two valid spellings per kind of value, to tell which one was read.
SAMPLES: dict[Any, tuple[str, str]] = {
    options._text: ("first", "second"),
    options._names: ("a,b", "c"),
    options._runtime: ("local", "compose"),
    options._port: ("9001", "9002"),
    options._whole: ("3", "4"),
    options._number: ("2.5", "3.5"),
    options._non_negative: ("2", "0"),
    options._ratio: ("0.5", "0.25"),
    options._duration: ("30s", "2m"),
    options._flag: ("1", "0"),
}
WITH_FLAGS = [(o, verb) for o in OPTIONS for verb in o.verbs if o.cli_flag and verb is not Verb.NODE]


def read(verb: Verb, argv: list[str], environ: dict[str, str]) -> dict[str, Any]:
    """Parse like `loadcluster VERB ...` does, with `environ` as the environment."""
    args, unknown = cli._parser().parse_known_args(
        [verb.value, *argv, *(["base", "head"] if verb is Verb.COMPARE else [])]
    )
    assert not unknown
    given = {name: value for name, value in vars(args).items() if isinstance(value, str)}
    return options.settings(verb, given, environ)


@pytest.mark.parametrize(("opt", "verb"), WITH_FLAGS, ids=[f"{v.value}{o.cli_flag}" for o, v in WITH_FLAGS])
def test_every_flag_and_its_variable_reach_the_option_and_the_flag_wins(opt: Option, verb: Verb) -> None:
    by_env, by_flag = SAMPLES[opt.parse]
    assert read(verb, [], {opt.env: by_env})[opt.name] == opt.value(by_env)
    assert read(verb, [opt.cli_flag, by_flag], {})[opt.name] == opt.value(by_flag)
    assert read(verb, [opt.cli_flag, by_flag], {opt.env: by_env})[opt.name] == opt.value(by_flag)
    assert read(verb, [], {})[opt.name] == opt.value(None)  # the table's default, or unset


def test_positional_user_classes_and_their_variable() -> None:
    args = cli._parser().parse_args(["run", "--users", "1", "ShopUser", "AdminUser"])
    assert cli._values(Verb.RUN, args)["user_classes"] == ("ShopUser", "AdminUser")
    assert options.settings(Verb.RUN, {}, {"LOADCLUSTER_USER_CLASSES": "A,B"})["user_classes"] == ("A", "B")


@pytest.mark.parametrize("opt", [o for o in OPTIONS if not o.cli_flag], ids=lambda o: o.env)
def test_options_without_a_flag_are_read_from_their_variable(opt: Option) -> None:
    by_env, _ = SAMPLES[opt.parse]
    assert options.settings(opt.verbs[0], {}, {opt.env: by_env}, names=[opt.name])[opt.name] == opt.value(by_env)


def test_an_empty_variable_is_unset_and_a_bad_one_is_named() -> None:
    assert options.settings(Verb.RUN, {}, {"LOADCLUSTER_WORKERS": ""})["workers"] is None
    with pytest.raises(options.ConfigError, match="workers 'many' is not valid"):
        options.settings(Verb.RUN, {}, {"LOADCLUSTER_WORKERS": "many"})


def test_names_are_unique() -> None:
    assert len({o.env for o in OPTIONS}) == len(OPTIONS)
    for verb in Verb:
        flags = [o.cli_flag for o in options.for_verb(verb) if o.cli_flag]
        assert len(flags) == len(set(flags)), verb


def test_the_readme_table_is_the_option_table() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("<!-- options:start -->\n")[1].split("<!-- options:end -->")[0]
    assert block == options.markdown_table(Verb.RUN)


def test_the_makefile_variables_are_the_table_s() -> None:
    makefile = (REPO / "Makefile").read_text()
    exported = dict(re.findall(r"^export (LOADCLUSTER_\w+) := \$\((\w+)\)$", makefile, re.MULTILINE))
    assert exported == {o.env: o.make for o in OPTIONS if o.make}
    for variable in exported.values():
        assert re.search(rf"^{variable} \?= \$\(LOADCLUSTER_{variable}\)$", makefile, re.MULTILINE), variable
    help_text = subprocess.run(["make", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    listed = set(re.findall(r"\b[A-Z][A-Z_]+\b", help_text.split("variables:")[1]))
    assert set(exported.values()) <= listed


def test_the_compose_files_use_only_table_variables_with_the_table_s_defaults() -> None:
    text = "".join(
        (REPO / "deploy" / "compose" / name).read_text() for name in ("compose.yaml", "demo.yaml", "ui.yaml")
    )
    own = {"LOADCLUSTER_LOCUSTFILE_DIR"}  # the host directory to mount: Compose's, not an option
    by_env = {o.env: o for o in OPTIONS}
    for name, default in re.findall(r"\$\{(LOADCLUSTER_\w+):-([^}]*)\}", text):
        if name not in own and name in by_env and by_env[name].default is not None:
            assert default == by_env[name].default, name
    mentioned = set(re.findall(r"\bLOADCLUSTER_\w+", text)) - own
    assert mentioned <= set(by_env), mentioned - set(by_env)
    node_env = yaml.safe_load((REPO / "deploy" / "compose" / "compose.yaml").read_text())["x-node"]["environment"]
    passed = {entry.split("=")[0] for entry in node_env}
    on_compose = [o for o in OPTIONS if not o.runtimes or RuntimeName.COMPOSE in o.runtimes]
    plan_options = {o.env for o in on_compose if Verb.NODE in o.verbs and Verb.RUN in o.verbs}
    assert plan_options - {"LOADCLUSTER_LOCUSTFILE"} <= passed, plan_options - passed
