import pytest

from baselines.mappo import MAPPO
from omdpg.config import RunConfig, flat_keys, set_key, validate
from omdpg.errors import UserError


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
