"""The MaMuJoCo adapter on real MuJoCo: padding, bounds, state, truncation, no wins, restore."""

import numpy as np
import pytest

from omdpg.envs import make_env


@pytest.mark.parametrize(
    "name,obs_dims,act_dims",
    [
        ("HalfCheetah-6x1", (9, 9, 8, 9, 9, 8), (1,) * 6),
        ("Walker2d-6x1", (9, 9, 8, 9, 9, 8), (1,) * 6),
        ("Ant-4x2", (42,) * 4, (2,) * 4),
        ("Walker2d-2x3", (12, 12), (3, 3)),
    ],
)
def test_partitions(name, obs_dims, act_dims):
    env = make_env("mamujoco", name, 2)
    assert env.spec.obs_dims == obs_dims and env.spec.action_dims == act_dims
    assert not env.spec.discrete and not env.spec.has_win
    first = env.reset(0)
    assert first.obs.shape == (2, len(obs_dims), max(obs_dims)) and first.avail is None
    for i, d in enumerate(obs_dims):  # zero padding past each agent's true size
        assert np.all(first.obs[:, i, d:] == 0)


def test_episodes_truncate_at_the_limit_and_never_win():
    env = make_env("mamujoco", "HalfCheetah-6x1", 2)
    env.reset(0)
    rng = np.random.default_rng(0)
    for t in range(1, 1001):
        step = env.step(rng.uniform(-1, 1, (2, 6, 1)))
        assert np.all(np.isnan(step.won))
        assert step.reward.shape == (2,) and np.isfinite(step.reward).all()
        if t < 1000:
            assert not step.done.any()
    assert step.truncated.all() and not step.terminated.any()
    # auto-reset: the returned obs is a fresh episode, the final one is kept for bootstrapping
    assert not np.array_equal(step.obs, step.final_obs)


def test_seeding_and_restore():
    env = make_env("mamujoco", "HalfCheetah-6x1", 2)
    np.testing.assert_array_equal(env.reset(7).obs, env.reset(7).obs)
    rng = np.random.default_rng(0)
    saved = env.get_state()
    acts = [rng.uniform(-1, 1, (2, 6, 1)) for _ in range(5)]
    first = [env.step(a).obs for a in acts]
    env.set_state(saved)
    for a, obs in zip(acts, first):
        np.testing.assert_array_equal(env.step(a).obs, obs)
