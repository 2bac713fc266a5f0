"""GAE and value normalisation, against numbers worked by hand (as rlax and SB3's test_gae do),
and the cut a resume without its games makes in a rollout."""

import math

import numpy as np
import pytest
import torch

from baselines.mappo import MAPPO
from baselines.onpolicy import OnPolicyConfig, ValueNorm, gae
from omdpg.config import ProtocolConfig
from omdpg.envs.base import EnvSpec
from omdpg.grouping import make_groups
from omdpg.learner import Transition


def test_gae_by_hand():
    """gamma = lambda = 0.5, so gamma * lambda = 0.25; two envs, three steps, [T, B].

    env 0, no episode end: delta_t = r_t + gamma V(s_t+1) - V(s_t)
        delta_2 = 2 + 0.5 * 2.0 - 1.5 = 1.5     A_2 = 1.5
        delta_1 = 0 + 0.5 * 1.5 - 1.0 = -0.25   A_1 = -0.25 + 0.25 * 1.5 = 0.125
        delta_0 = 1 + 0.5 * 1.0 - 0.5 = 1.0     A_0 = 1.0 + 0.25 * 0.125 = 1.03125
    env 1, the episode ends at t = 1: V(s_2) = 4 belongs to the next episode and is not used,
    and A_1 does not see A_2
        delta_2 = 1 + 0.5 * 2 - 2 = 0           A_2 = 0
        delta_1 = 1 - 2 = -1                    A_1 = -1
        delta_0 = 1 + 0.5 * 2 - 2 = 0           A_0 = 0 + 0.25 * -1 = -0.25
    returns = A + V.
    """
    rewards = torch.tensor([[1.0, 1.0], [0.0, 1.0], [2.0, 1.0]])
    values = torch.tensor([[0.5, 2.0], [1.0, 2.0], [1.5, 2.0]])
    next_values = torch.tensor([[1.0, 2.0], [1.5, 4.0], [2.0, 2.0]])
    dones = torch.tensor([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    adv, returns = gae(rewards, values, next_values, dones, gamma=0.5, lam=0.5)
    expected = torch.tensor([[1.03125, -0.25], [0.125, -1.0], [1.5, 0.0]])
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(returns, expected + values)


def test_gae_at_lambda_0_and_1():
    """lambda = 0 is the one-step TD error; lambda = 1 the discounted return to the end of the
    rollout, bootstrapped from its last next value, minus V."""
    g = 0.9
    r = torch.tensor([[1.0], [2.0], [3.0]])
    v = torch.tensor([[0.5], [0.25], [1.0]])
    nv = torch.tensor([[0.25], [1.0], [2.0]])
    d = torch.zeros(3, 1)
    adv0, _ = gae(r, v, nv, d, gamma=g, lam=0.0)
    torch.testing.assert_close(adv0, r + g * nv - v)
    adv1, ret1 = gae(r, v, nv, d, gamma=g, lam=1.0)
    mc = torch.tensor([[1 + g * 2 + g**2 * 3 + g**3 * 2], [2 + g * 3 + g**2 * 2], [3 + g * 2]])
    torch.testing.assert_close(ret1, mc)
    torch.testing.assert_close(adv1, mc - v)


def test_value_norm_one_batch_is_its_mean_and_std():
    """After one update the debiased EMA is exactly the batch's moments: x = [1, 3] has mean 2 and
    variance (1 + 9) / 2 - 4 = 1, so 1 and 3 normalise to -1 and 1."""
    norm = ValueNorm()
    x = torch.tensor([1.0, 3.0])
    norm.update(x)
    torch.testing.assert_close(norm.normalize(x), torch.tensor([-1.0, 1.0]))
    torch.testing.assert_close(norm.denormalize(norm.normalize(x)), x)


def test_value_norm_debiased_ema_by_hand():
    """beta = 0.5. Update [0]: mean 0, mean_sq 0, debias 0.5. Update [2]: mean 0.5 * 0 + 0.5 * 2
    = 1, mean_sq 0.5 * 4 = 2, debias 0.5 * 0.5 + 0.5 = 0.75; debiased mean 4/3, mean_sq 8/3,
    variance 8/3 - 16/9 = 8/9, so 2 normalises to (2 - 4/3) / sqrt(8/9) = 1 / sqrt(2)."""
    norm = ValueNorm(beta=0.5)
    norm.update(torch.tensor([0.0]))
    norm.update(torch.tensor([2.0]))
    assert norm.normalize(torch.tensor(2.0)).item() == pytest.approx(1 / math.sqrt(2))


def test_value_norm_floors_the_variance():
    """A constant target has variance 0; the floor 1e-2 keeps the scale at 0.1, not infinity."""
    norm = ValueNorm()
    norm.update(torch.full((4,), 5.0))
    assert norm.normalize(torch.tensor(5.5)).item() == pytest.approx(5.0)


def test_a_cut_makes_the_rollouts_last_step_a_truncation():
    """A resume that drops its episodes: the last stored step of each running env takes
    γ·V(where it stood) into its reward and ends GAE there; an env whose episode had already
    ended keeps its reward; an empty rollout has nothing to cut."""
    torch.manual_seed(0)
    spec = EnvSpec("smax", "test", 2, (4, 4), 5, True, 3, (1, 1), agent_types=("m", "m"))
    protocol = ProtocolConfig()
    learner = MAPPO(
        spec, make_groups("single", spec.agent_types, 0), OnPolicyConfig(), protocol, 2, "cpu"
    )
    learner.cut_episodes(np.zeros((2, 2, 4)), np.zeros((2, 5)), np.ones((2, 2, 3), bool))
    assert len(learner.rollout) == 0
    rng = np.random.default_rng(0)
    obs, state, avail = (
        rng.normal(size=(2, 2, 4)),
        rng.normal(size=(2, 5)),
        np.ones((2, 2, 3), bool),
    )
    for ended in (False, True):  # env 1's episode ends (terminated) on the second step
        actions = learner.act(obs, state, avail, explore=True)
        nxt_obs, nxt_state = rng.normal(size=(2, 2, 4)), rng.normal(size=(2, 5))
        learner.observe(
            Transition(
                obs,
                state,
                avail,
                actions,
                np.array([1.0, 2.0], np.float32),
                np.array([False, ended]),
                np.array([False, False]),
                nxt_obs,
                nxt_state,
                avail,
            )
        )
        obs, state = nxt_obs, nxt_state
    before = learner.rollout.data["rewards"][-1].clone()
    learner.cut_episodes(obs, state, avail)
    value = learner._value(torch.as_tensor(state, dtype=torch.float32))
    after = learner.rollout.data["rewards"][-1]
    torch.testing.assert_close(after[0], before[0] + protocol.gamma * value[0].detach())
    torch.testing.assert_close(after[1], before[1])
    assert learner.rollout.data["dones"][-1].tolist() == [1.0, 1.0]
    assert learner.rollout.data["dones"][0].tolist() == [0.0, 0.0]
