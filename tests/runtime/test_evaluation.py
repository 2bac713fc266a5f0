"""The evaluation protocol's env counts (one StarCraft II process per SC2 eval env, so fewer) and
evaluate() in several passes when there are fewer envs than episodes."""

from types import SimpleNamespace

import numpy as np
import pytest

from omdpg.evaluation import eval_env_count, evaluate


@pytest.mark.parametrize(
    "env, episodes, expected",
    [
        ("smax", 32, 32),
        ("mamujoco", 32, 32),
        ("smax", 100, 32),
        ("smax", 4, 4),
        ("smac", 32, 8),
        ("smacv2", 32, 8),
        ("smac", 4, 4),
    ],
)
def test_eval_env_count(env, episodes, expected):
    assert eval_env_count(env, episodes) == expected


class PassEnv:
    """Env k's episode lasts k + 1 steps with reward 1 per step and is won when k is even."""

    def __init__(self, n_envs):
        self.n_envs, self.seeds, self.t = n_envs, [], 0

    def _obs(self, **more):
        return SimpleNamespace(
            obs=np.zeros((self.n_envs, 1, 1)), state=np.zeros((self.n_envs, 1)), avail=None, **more
        )

    def reset(self, seed):
        self.seeds.append(seed)
        self.t = 0
        return self._obs()

    def step(self, actions):
        self.t += 1
        k = np.arange(self.n_envs)
        return self._obs(
            reward=np.ones(self.n_envs), done=k + 1 == self.t, won=(k % 2 == 0).astype(float)
        )


def test_fewer_envs_than_episodes_evaluate_in_passes():
    env = PassEnv(eval_env_count("smac", 20))
    learner = SimpleNamespace(act=lambda obs, state, avail, explore: np.zeros((env.n_envs, 1)))
    episodes = evaluate(env, learner, 20, seed=3)
    assert env.seeds == [3 * 7919 + p for p in range(3)]  # 8 + 8 + 4
    assert [e["episode"] for e in episodes] == list(range(20))
    assert [e["length"] for e in episodes] == [k + 1 for k in (*range(8), *range(8), *range(4))]
    assert all(
        e["return"] == e["length"] and e["won"] == int(e["length"] % 2 == 1) for e in episodes
    )
