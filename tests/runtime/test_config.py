import dataclasses
import re

import pytest

from baselines.mappo import MAPPO
from omdpg.cli import build_config, parser
from omdpg.config import EvalConfig, RunConfig, flat_keys, set_key, validate
from omdpg.envs.registry import MAPS
from omdpg.errors import UserError
from omdpg.learner import ALGORITHMS, learner_class
from omdpg.studies import schema


def cfg():
    return RunConfig(learner=MAPPO.default_config("smax"))


def test_set_run_and_learner_keys_with_types():
    c = cfg()
    set_key(c, "eval.episodes", "16")
    set_key(c, "lr", "3e-4")
    set_key(c, "hidden", "64,64,64")
    set_key(c, "value_norm", "false")
    assert (c.eval.episodes, c.learner.lr, c.learner.hidden, c.learner.value_norm) == (
        16,
        3e-4,
        (64, 64, 64),
        False,
    )


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("nope", "1", "no such key"),
        ("eval.episodes", "many", "expected int"),
        ("eval.episodes", "2.5", "expected int"),
        ("value_norm", "maybe", "expected bool"),
    ],
)
def test_bad_set(key, value, match):
    with pytest.raises(UserError, match=match):
        set_key(cfg(), key, value)


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("eval.episodes", "0", "below its minimum"),
        ("protocol.gamma", "1.5", "above its maximum"),
        ("agent_id", "weird", "not allowed"),
    ],
)
def test_validate_bounds_and_choices(key, value, match):
    c = cfg()
    set_key(c, key, value)
    with pytest.raises(UserError, match=match):
        validate(c)


def test_every_key_has_help():
    for key, (_, help_) in flat_keys(cfg()).items():
        assert help_, key


def train_args(algo):
    env = "smax" if learner_class(algo).discrete else "mamujoco"
    map_name = next(m for e, m in MAPS if e == env)
    return ["train", "--algo", algo, "--env", env, "--map", map_name, "--steps", "96", "--out", "u"]


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_every_option_refuses_what_cannot_run(algo):
    """Every float refuses NaN and infinity, every integer what overflows, every list emptiness:
    all of each algorithm's options, the run's included (the issue 18 table has one of each)."""
    args = train_args(algo)
    keys = flat_keys(build_config(parser().parse_args(args)))
    bad = {
        float: ("nan", "inf", "-inf", "1e400"),
        int: ("inf", "1e400", str(2**31)),
        tuple: ("", "1,,2"),
    }
    checked = 0
    for key, (value, _) in keys.items():
        for raw in bad.get(type(value), ()):
            with pytest.raises(UserError, match=re.escape(key)):
                build_config(parser().parse_args([*args, "--set", f"{key}={raw}"]))
            checked += 1
    assert checked > 3 * len(keys) // 2  # most options are numbers


def test_the_cli_caps_are_the_study_schema_s():
    """A value a study may hold is one the trainer takes, and the other way round."""
    props = schema()["properties"]
    algorithm = props["algorithms"]["items"]["properties"]
    omdpg = learner_class("omdpg").Config()
    for obj, name, bounds in [
        (RunConfig(), "steps", props["steps"]),
        (RunConfig(), "seed", props["seeds"]["items"]),
        (EvalConfig(), "interval", props["eval"]["properties"]["interval"]),
        (EvalConfig(), "episodes", props["eval"]["properties"]["episodes"]),
        (omdpg.gqc, "lambda_pu", algorithm["lambda_pu"]["items"]),
        (omdpg.gqc, "ensemble_size", algorithm["ensemble_size"]["items"]),
    ]:
        meta = next(f.metadata for f in dataclasses.fields(obj) if f.name == name)
        assert (meta["min"], meta["max"]) == (bounds["minimum"], bounds["maximum"]), name
