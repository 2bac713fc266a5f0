"""The evaluation protocol's env counts (one StarCraft II process per SC2 eval env, so fewer),
evaluate() in several passes when there are fewer envs than episodes, and crashed episodes played
again rather than scored."""

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
            reward=np.ones(self.n_envs),
            done=k + 1 == self.t,
            won=(k % 2 == 0).astype(float),
            restarts=0,
            crashed=None,
        )


def test_fewer_envs_than_episodes_evaluate_in_passes():
    env = PassEnv(eval_env_count("smac", 20))
    episodes = evaluate(env, act(env), 20, seed=3).episodes
    assert env.seeds == [3 * 7919 + p for p in range(3)]  # 8 + 8 + 4
    assert [e["episode"] for e in episodes] == list(range(20))
    assert [e["length"] for e in episodes] == [k + 1 for k in (*range(8), *range(8), *range(4))]
    assert all(
        e["return"] == e["length"] and e["won"] == int(e["length"] % 2 == 1) for e in episodes
    )


class ScriptedEnv(PassEnv):
    """Env k's steps are script[k]'s (reward, done, crashed), as a backend reports them: a crashed
    step ends its episode (done) and the env goes on in a new one."""

    def __init__(self, script):
        super().__init__(len(script))
        self.script = script

    def step(self, actions):
        self.t += 1
        rows = [s[self.t - 1] if self.t <= len(s) else (0.0, False, False) for s in self.script]
        reward, done, crashed = (np.array(c) for c in zip(*rows))
        return self._obs(
            reward=reward.astype(float),
            done=done,
            won=np.ones(self.n_envs),
            restarts=int(crashed.sum()),
            crashed=crashed,
        )


def act(env):
    return SimpleNamespace(act=lambda obs, state, avail, explore: np.zeros((env.n_envs, 1)))


def test_a_crashed_episode_is_played_again_not_scored():
    crash = (0.0, True, True)
    # env 0: 1 step, then its game dies; the new episode lasts 4 steps of reward 2. env 1: 3 steps.
    env = ScriptedEnv([[(1.0, False, False), crash, *[(2.0, False, False)] * 3, (2.0, True, False)],
                       [(1.0, False, False)] * 2 + [(1.0, True, False)]])  # fmt: skip
    played = evaluate(env, act(env), 2, seed=0)
    assert [(e["return"], e["length"], e["won"]) for e in played.episodes] == [(8, 4, 1), (3, 3, 1)]
    assert played.restarts == 1


def test_a_game_that_keeps_crashing_stops_the_evaluation():
    env = ScriptedEnv([[(0.0, True, True)] * 10])
    with pytest.raises(RuntimeError, match="crashed 4 times in one evaluation episode"):
        evaluate(env, act(env), 1, seed=0)
