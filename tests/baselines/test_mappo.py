"""MAPPO's active masks: a dead agent (one available action) adds nothing to the loss, the entropy
or the advantage statistics (HARL's use_policy_active_masks)."""

import copy

import pytest
import torch
from torch import nn

from baselines.mappo import MAPPO
from baselines.onpolicy import OnPolicyConfig
from omdpg.config import ProtocolConfig
from omdpg.envs.base import EnvSpec
from omdpg.grouping import make_groups

SPEC = EnvSpec("smax", "test", 2, (4, 4), 5, True, 3, (1, 1), agent_types=("m", "m"))
T = 16


def rollout(learner: MAPPO) -> dict:
    """Agent 1 is dead (only the no-op available) in the second half of the rollout."""
    g = torch.Generator().manual_seed(3)
    obs = torch.randn(T, 1, 2, 4, generator=g)
    avail = torch.ones(T, 1, 2, 3, dtype=torch.bool)
    avail[T // 2 :, :, 1, 1:] = False
    d = learner.policy.dist(obs, avail)
    actions = d.sample()
    return {
        "obs": obs,
        "state": torch.randn(T, 1, 5, generator=g),
        "avail": avail,
        "actions": actions,
        "logp": learner.policy.log_prob(d, actions).detach(),
        "values": torch.zeros(T, 1),
        "rewards": torch.randn(T, 1, generator=g),
        "dones": torch.zeros(T, 1),
        "next_values": torch.zeros(T, 1),
    }


def test_dead_agents_are_left_out_of_loss_entropy_and_advantage_statistics():
    torch.manual_seed(0)
    cfg = OnPolicyConfig(epochs=1, minibatches=1)
    learner = MAPPO(
        SPEC, make_groups("single", SPEC.agent_types, 0), cfg, ProtocolConfig(), 1, "cpu"
    )
    b = rollout(learner)
    twin = copy.deepcopy(learner)

    # The same step by hand, over the active (sample, agent) pairs only.
    adv, _ = twin.advantages(b)
    obs, avail = b["obs"].flatten(0, 1), b["avail"].flatten(0, 1)
    actions, old_logp = b["actions"].flatten(0, 1), b["logp"].flatten(0, 1)
    active = torch.ones(T, 2)
    active[T // 2 :, 1] = 0
    adv = adv.flatten()[:, None].expand(T, 2)
    live = adv[active > 0]
    adv = (adv - live.mean()) / (live.std(unbiased=False) + 1e-5)
    d = twin.policy.dist(obs, avail)
    logp = twin.policy.log_prob(d, actions)
    surrogate = twin.ppo_surrogate(logp, old_logp, adv)
    entropy = (twin.policy.entropy(d) * active).sum() / active.sum()
    unmasked = twin.policy.entropy(d).mean().item()  # what the dead half's zeros would give
    loss = -(surrogate * active).sum() / active.sum() - cfg.entropy_coef * entropy
    twin.actor_opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(twin.policy.parameters(), cfg.max_grad_norm)
    twin.actor_opt.step()

    metrics = learner.update(b)
    assert metrics["entropy"] == pytest.approx(entropy.item(), rel=1e-6)
    assert metrics["actor_loss"] == pytest.approx(loss.item(), rel=1e-5, abs=1e-7)
    for got, want in zip(learner.policy.parameters(), twin.policy.parameters()):
        torch.testing.assert_close(got, want)
    assert metrics["entropy"] > unmasked * 1.1
