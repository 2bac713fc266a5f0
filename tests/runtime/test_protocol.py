"""One protocol per env: every algorithm sees the env's discount and reward scale, the runner scales
the rewards its learner sees and logs raw returns, and only an explicit protocol.* set deviates."""

import dataclasses
import typing

import numpy as np
import pytest
import torch

from baselines.happo import HAPPO, HAPPOConfig
from baselines.mappo import MAPPO
from omdpg.cli import build_config, parser
from omdpg.config import ProtocolConfig, flat_keys
from omdpg.envs.base import EnvSpec
from omdpg.envs.registry import ENVS, MAPS, backend
from omdpg.grouping import make_groups
from omdpg.learner import ALGORITHMS, Transition, learner_class
from omdpg.runner import Runner


def config(algo, env, *sets):
    map_name = next(m for e, m in MAPS if e == env)
    argv = ["train", "--algo", algo, "--env", env, "--map", map_name, "--steps", "32", "--out", "u"]
    for item in sets:
        argv += ["--set", item]
    return build_config(parser().parse_args(argv))


def supported(algo, env):
    cls = learner_class(algo)
    return cls.discrete if backend(env).discrete else cls.continuous


@pytest.mark.parametrize("env", ENVS)
def test_every_algorithm_gets_the_env_protocol(env):
    seen = {algo: config(algo, env).protocol for algo in ALGORITHMS if supported(algo, env)}
    want = ProtocolConfig(backend(env).protocol.gamma, backend(env).protocol.reward_scale)
    assert seen and all(p == want for p in seen.values()), seen


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_no_learner_carries_its_own_discount_or_reward_scale(algo):
    """A learner option named like the protocol would let one algorithm see another problem."""
    keys = {k.rsplit(".", 1)[-1] for k in flat_keys(learner_class(algo).Config())}
    assert not keys & {"gamma", "discount", "reward_scale"}


def test_an_explicit_set_deviates_and_is_recorded():
    cfg = config("mappo", "smax", "protocol.gamma=0.99", "protocol.reward_scale=1")
    assert (cfg.protocol.gamma, cfg.protocol.reward_scale) == (0.99, 1.0)
    assert dataclasses.asdict(cfg)["protocol"] == {"gamma": 0.99, "reward_scale": 1.0}


class RewardSpy(MAPPO):
    """MAPPO that keeps every reward it is given."""

    seen: typing.ClassVar[list] = []

    def observe(self, t):
        RewardSpy.seen.append(t.reward.copy())
        return super().observe(t)


def test_learner_sees_scaled_rewards_and_the_logs_stay_raw(tmp_path, monkeypatch):
    monkeypatch.setattr("omdpg.runner.learner_class", lambda name: RewardSpy)
    cfg = config("mappo", "smax", "n_envs=4", "rollout_length=8")
    cfg.map = "3m"
    runner = Runner(cfg, tmp_path / "run")
    raw = []
    env_step = runner.env.step

    def recording_step(actions):
        step = env_step(actions)
        raw.append(step.reward.copy())
        return step

    runner.env.step = recording_step
    runner.start()
    RewardSpy.seen.clear()
    for _ in range(200):
        runner._env_step()
    assert np.concatenate(raw).max() > 0, "no reward in 200 steps: the check would be vacuous"
    np.testing.assert_allclose(np.stack(RewardSpy.seen), 10.0 * np.stack(raw), rtol=1e-6)
    logged = runner._window["returns"]
    assert logged and max(logged) <= 2.0 + 1e-6  # SMAX's raw returns, at most 2
    runner.close()


def test_on_policy_bootstraps_a_time_out_but_not_a_terminal_on_the_last_step():
    """r + γ V(s') only where the episode was truncated and not terminated."""
    spec = EnvSpec("t", "t", 1, (2,), 2, True, 2, (1,), agent_types=("a",), episode_limit=1)
    torch.manual_seed(0)
    learner = HAPPO(
        spec, make_groups("none", ("a",), 0), HAPPOConfig(), ProtocolConfig(0.9), 3, "cpu"
    )
    obs = np.zeros((3, 1, 2), np.float32)
    state = np.ones((3, 2), np.float32)
    avail = np.ones((3, 1, 2), bool)
    learner.act(obs, state, avail, explore=True)
    learner.observe(
        Transition(
            obs=obs,
            state=state,
            avail=avail,
            actions=np.zeros((3, 1), int),
            reward=np.ones(3, np.float32),
            terminated=np.array([True, False, True]),
            truncated=np.array([False, True, True]),
            next_obs=obs,
            next_state=state,
            next_avail=avail,
        )
    )
    value = learner._value(torch.ones(1, 2))[0].item()
    got = learner.rollout.data["rewards"][0].tolist()
    assert got == pytest.approx([1.0, 1.0 + 0.9 * value, 1.0])
