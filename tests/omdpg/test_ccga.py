"""CCGA's grouped actors: who shares parameters under each --grouping, per-group optimiser steps of
the sequential ablation, and discrete masking in warm-up, exploration and evaluation."""

import numpy as np
import pytest
import torch

from omdpg.actors import DeterministicActors
from omdpg.envs.base import EnvSpec
from omdpg.grouping import make_groups
from tests.omdpg.small import make_learner

# 2 stalkers + 3 zealots, as SMAX 2s3z orders its allies
TYPES = ("stalker", "stalker", "zealot", "zealot", "zealot")
SPEC = EnvSpec(
    env="smax",
    map="2s3z-like",
    n_agents=5,
    obs_dims=(6,) * 5,
    state_dim=4,
    discrete=True,
    n_actions=4,
    action_dims=(1,) * 5,
    agent_types=TYPES,
)


def changed_agents(grouping: str, agent: int) -> list[int]:
    """One SGD step on one agent's loss; which agents' outputs (same observation) change?"""
    torch.manual_seed(0)
    actors = DeterministicActors(SPEC, make_groups(grouping, TYPES, 0), (16,), "within_group")
    obs = torch.rand(1, 1, 6).expand(1, 5, 6)
    before = actors(obs, None).detach()
    actors(obs, None)[0, agent].sum().backward()
    with torch.no_grad():
        for p in actors.parameters():
            p -= 0.1 * p.grad
    after = actors(obs, None).detach()
    return [i for i in range(5) if not torch.equal(before[0, i], after[0, i])]


@pytest.mark.parametrize(
    "grouping, agent, changed",
    [
        ("type", 0, [0, 1]),
        ("type", 3, [2, 3, 4]),  # capability groups: the stalkers, the zealots
        ("none", 3, [3]),  # NoPS: every agent its own network
        ("single", 3, [0, 1, 2, 3, 4]),  # FuPS: one network
    ],
)
def test_a_step_on_one_agent_moves_its_whole_group(grouping, agent, changed):
    assert changed_agents(grouping, agent) == changed


def test_random_grouping_keeps_sizes_and_follows_the_seed():
    typed = sorted(make_groups("type", TYPES, 0).sizes)
    partitions = {make_groups("random", TYPES, seed).of_agent for seed in range(10)}
    assert all(sorted(make_groups("random", TYPES, s).sizes) == typed for s in range(10))
    assert len(partitions) > 1
    assert make_groups("random", TYPES, 3) == make_groups("random", TYPES, 3)


def test_sequential_ablation_steps_one_group_only():
    """omq.marginal=expect steps one group at a time; its Adam must leave other groups exactly
    where they are, also after other groups' steps have built momentum."""
    learner = make_learner(SPEC, {"omq.marginal": "expect"}, grouping="type")
    obs = torch.rand(8, 5, 6)
    for group in (0, 1, 0):
        frozen = [p.detach()[1 - group].clone() for p in learner.actor.parameters()]
        learner.actor(obs, None)[:, learner.groups.members(group)].square().sum().backward()
        learner.actor_opt.step([group])
        learner.actor_opt.zero_grad()
        for p, f in zip(learner.actor.parameters(), frozen):
            assert torch.equal(p.detach()[1 - group], f)


def random_avail(rng, shape):
    avail = rng.random(shape) < 0.3
    avail[..., rng.integers(0, shape[-1])] = True  # at least one action stays available
    return avail


@pytest.mark.parametrize("explore", ["gumbel", "eps_greedy"])
def test_no_unavailable_action_in_warmup_exploration_or_evaluation(explore):
    learner = make_learner(
        SPEC,
        {"actor.discrete_explore": explore, "actor.epsilon": 0.5, "train.warmup_steps": 64},
        n_envs=64,
    )
    with torch.no_grad():  # make every agent prefer action 0 strongly, then often forbid it
        learner.actor.net.net.out.bias[..., 0] = 50.0
    rng = np.random.default_rng(0)
    obs, state = rng.random((64, 5, 6), np.float32), rng.random((64, 4), np.float32)
    for phase in ("warm-up", "explore", "greedy"):
        if phase == "explore":
            learner.counters["env_steps"] = 64
        for _ in range(20):
            avail = random_avail(rng, (64, 5, 4))
            a = learner.act(obs, state, avail, explore=phase != "greedy")
            assert np.take_along_axis(avail, a[..., None], -1).all(), phase
