"""The env checker (omdpg/envs/checker.py) over every backend that runs here, on its first
heterogeneous map, long enough for episodes to end; and on broken envs, which it must reject."""

import dataclasses

import numpy as np
import pytest

from omdpg.envs import BACKENDS, MAPS, make_env
from omdpg.envs.checker import EnvCheckError, check_env

CHECKED = [
    pytest.param(
        (env, next(m.name for m in MAPS.values() if m.env == env and m.heterogeneous)),
        marks=pytest.mark.skipif(b.unavailable() is not None, reason=f"{env} cannot run here"),
        id=env,
    )
    for env, b in BACKENDS.items()
]


@pytest.fixture(scope="module", params=CHECKED)
def env(request):
    built = make_env(*request.param, 2)
    yield built
    built.close()


def test_every_backend_passes_the_checker(env):
    # episode_limit + 5 steps: every env ends an episode at the latest by its time limit
    assert check_env(env, steps=env.spec.episode_limit + 5) >= env.n_envs


class Broken:
    """A working env with one fault injected into what it returns."""

    def __init__(self, env, fault):
        self.env, self.fault = env, fault
        self.spec, self.n_envs = env.spec, env.n_envs

    def reset(self, seed):
        return self.env.reset(seed)

    def step(self, actions):
        return self.fault(self.env.step(actions))

    def get_state(self):
        return self.env.get_state()

    def set_state(self, saved):
        self.env.set_state(saved)


def _won_everywhere(step):
    return dataclasses.replace(step, won=np.zeros_like(step.won))


def _float64_reward(step):
    return dataclasses.replace(step, reward=step.reward.astype(np.float64))


def _stale_final_obs(step):
    final_obs = step.final_obs.copy()
    final_obs[:, 0, 0] += 1.0  # inside agent 0's observation, so the padding stays zero
    return dataclasses.replace(step, final_obs=final_obs)


@pytest.mark.parametrize(
    "fault, message",
    [
        (_won_everywhere, "won: not NaN where no episode ended"),
        (_float64_reward, "reward: dtype float64"),
        (_stale_final_obs, "final_obs differ"),
    ],
)
def test_the_checker_rejects_broken_envs(env, fault, message):
    with pytest.raises(EnvCheckError, match=message):
        check_env(Broken(env, fault), steps=3)


def test_the_checker_rejects_a_replay_that_differs(env):
    broken = Broken(env, lambda step: step)
    broken.set_state = lambda saved: None  # forgets the saved state: the replay goes on instead
    with pytest.raises(EnvCheckError, match="does not replay"):
        check_env(broken, steps=1)


def test_the_checker_rejects_a_spec_that_disagrees_with_the_registry(env):
    broken = Broken(env, lambda step: step)
    broken.spec = dataclasses.replace(env.spec, has_win=not env.spec.has_win)
    with pytest.raises(EnvCheckError, match=r"spec\.has_win"):
        check_env(broken, steps=1)
