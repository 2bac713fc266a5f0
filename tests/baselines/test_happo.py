"""HAPPO's compounded factor and clipped objective against numbers worked by hand, and what
parameter sharing does to the sequential scheme (docs/omdpg-algorithm.md 2.4, 3 and 7)."""

import math

import pytest
import torch

from baselines.happo import HAPPO, HAPPOConfig
from omdpg.config import ProtocolConfig
from omdpg.envs.base import EnvSpec
from omdpg.grouping import make_groups

SPEC = EnvSpec(
    env="smax",
    map="test",
    n_agents=3,
    obs_dims=(4, 4, 4),
    state_dim=5,
    discrete=True,
    n_actions=2,
    action_dims=(1, 1, 1),
    agent_types=("marine",) * 3,
)


def make(grouping: str, **cfg) -> HAPPO:
    torch.manual_seed(0)
    return HAPPO(
        SPEC,
        make_groups(grouping, SPEC.agent_types, 0),
        HAPPOConfig(**cfg),
        protocol=ProtocolConfig(),
        n_envs=1,
        device=torch.device("cpu"),
    )


def set_probs(learner: HAPPO, agent: int, p0: float) -> None:
    """Make agent's policy ignore its observation and pick action 0 with probability p0."""
    out = learner.policy.actor.net.out
    with torch.no_grad():
        out.weight[agent].zero_()
        out.bias[agent, 0] = torch.tensor([math.log(p0), math.log(1 - p0)])


def batch(T: int, B: int = 1, actions=None, logp=None) -> dict:
    """A rollout of [T, B, ...] tensors with every action available."""
    g = torch.Generator().manual_seed(1)
    n = SPEC.n_agents
    actions = torch.randint(0, 2, (T, B, n), generator=g) if actions is None else actions
    return {
        "obs": torch.randn(T, B, n, 4, generator=g),
        "state": torch.randn(T, B, 5, generator=g),
        "avail": torch.ones(T, B, n, 2, dtype=torch.bool),
        "actions": actions,
        "logp": torch.full((T, B, n), math.log(0.5)) if logp is None else logp,
        "values": torch.zeros(T, B),
        "rewards": torch.randn(T, B, generator=g),
        "dones": torch.zeros(T, B),
        "next_values": torch.zeros(T, B),
    }


def probs(learner: HAPPO, obs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return learner.policy.dist(obs, None).probs


class TestFactor:
    # Agents updated in index order (fixed_order). Every agent starts at π(a=0) = 0.5.
    # Agent 0's update moves it to π(0) = 0.8; its actions are (0, 1), so its ratios are
    # 0.8/0.5 = 1.6 and 0.2/0.5 = 0.4: agent 1 must get M = (1.6, 0.4).
    # Agent 1's update moves it to π(0) = 0.25; its actions are (1, 1): ratios 0.75/0.5 = 1.5,
    # so agent 2 must get M = (1.6 * 1.5, 0.4 * 1.5) = (2.4, 0.6).
    def test_compounded_factor(self):
        learner = make("none", fixed_order=True)
        for i in range(3):
            set_probs(learner, i, 0.5)
        got = {}
        scripted = {0: 0.8, 1: 0.25, 2: 0.5}

        def update_block(agents, obs, avail, actions, rollout_logp, adv, active, factor):
            got[agents[0]] = factor.clone()
            set_probs(learner, agents[0], scripted[agents[0]])
            return {"actor_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0}

        learner.update_block = update_block
        actions = torch.tensor([[0, 1, 0], [1, 1, 0]])[:, None, :]  # [T=2, B=1, n=3]
        metrics = learner.update(batch(2, actions=actions))
        torch.testing.assert_close(got[0], torch.tensor([1.0, 1.0]))
        torch.testing.assert_close(got[1], torch.tensor([1.6, 0.4]))
        torch.testing.assert_close(got[2], torch.tensor([2.4, 0.6]))
        assert metrics["happo_drift"] == 0.0

    # Agent 1 acts (0, 1) with rollout probability 0.5 each; its current policy has π(0) = 0.8,
    # so r = (1.6, 0.4). Advantages (2, -2) normalise to (1, -1) (mean 0, population std 2,
    # HARL's + 1e-5), and M = (1.5, 0.5), ε = 0.2:
    #   sample 1: M · min(r Â, clip(r) Â) = 1.5 · min(1.6, 1.2)   =  1.8
    #   sample 2:                          0.5 · min(-0.4, -0.8)  = -0.4
    # actor loss = -(1.8 - 0.4) / 2 = -0.7 (before the step: one epoch, one minibatch).
    def test_clipped_objective(self):
        learner = make("none", epochs=1, minibatches=1, entropy_coef=0.0)
        set_probs(learner, 1, 0.8)
        b = batch(2)
        obs, avail = b["obs"].flatten(0, 1), b["avail"].flatten(0, 1)
        actions = torch.tensor([[0, 0, 0], [0, 1, 0]])
        stats = learner.update_block(
            [1],
            obs,
            avail,
            actions,
            b["logp"].flatten(0, 1),
            torch.tensor([2.0, -2.0]),
            torch.ones(2, 3),
            torch.tensor([1.5, 0.5]),
        )
        assert stats["actor_loss"] == pytest.approx(-0.7 / (1 + 0.5e-5), rel=1e-6)


def test_ppo_surrogate_with_factor():
    learner = make("none")
    r = torch.tensor([1.6, 0.4, 1.1])
    adv, factor = torch.tensor([1.0, -1.0, 2.0]), torch.tensor([1.5, 0.5, 2.0])
    surr = learner.ppo_surrogate(r.log(), torch.zeros(3), adv, factor)
    torch.testing.assert_close(surr, torch.tensor([1.8, -0.4, 4.4]))


@pytest.mark.parametrize("grouping, moves", [("none", False), ("type", True)])
def test_updating_a_later_agent_and_earlier_probabilities(grouping, moves):
    """NoPS: agent 2's update leaves agent 1 bit-for-bit unchanged. ParPS (3 marines share one
    network): it moves agent 1 too, the first half of the drift (omdpg-algorithm.md 3)."""
    learner = make(grouping)
    b = batch(64)
    obs, avail = b["obs"].flatten(0, 1), b["avail"].flatten(0, 1)
    before = probs(learner, obs)
    learner.update_block(
        [1],
        obs,
        avail,
        b["actions"].flatten(0, 1),
        b["logp"].flatten(0, 1),
        torch.randn(64),
        torch.ones(64, 3),
        torch.ones(64),
    )
    after = probs(learner, obs)
    assert not torch.equal(after[:, 1], before[:, 1])
    assert torch.equal(after[:, 0], before[:, 0]) is not moves


@pytest.mark.parametrize(
    "grouping, block, drifts",
    [
        ("none", "agent", False),
        ("type", "agent", True),
        ("single", "agent", True),
        ("type", "group", False),
    ],
)
def test_drift_statistic(grouping, block, drifts):
    """Exactly 0 without sharing and for group blocks; positive when a shared network is updated
    once per member."""
    learner = make(grouping, block=block)
    metrics = learner.update(batch(64, 2))
    assert (metrics["happo_drift"] > 0) is drifts
    assert (metrics["happo_drift_max"] > 0) is drifts
    if not drifts:
        assert metrics["happo_drift"] == 0.0


@pytest.mark.parametrize("grouping, drifts", [("none", False), ("type", True)])
def test_drift_statistic_continuous(grouping, drifts):
    """The same with Gaussian policies (MaMuJoCo): log-probabilities sum over action dims."""
    spec = EnvSpec(
        env="mamujoco",
        map="test",
        n_agents=2,
        obs_dims=(4, 4),
        state_dim=5,
        discrete=False,
        n_actions=3,
        action_dims=(3, 3),
        agent_types=("leg", "leg"),
        has_win=False,
    )
    torch.manual_seed(0)
    learner = HAPPO(
        spec,
        make_groups(grouping, spec.agent_types, 0),
        HAPPOConfig(),
        protocol=ProtocolConfig(),
        n_envs=2,
        device=torch.device("cpu"),
    )
    T, B = 32, 2
    b = {
        "obs": torch.randn(T, B, 2, 4),
        "state": torch.randn(T, B, 5),
        "avail": None,
        "actions": torch.randn(T, B, 2, 3),
        "logp": torch.full((T, B, 2), -3.0),
        "values": torch.zeros(T, B),
        "rewards": torch.randn(T, B),
        "dones": torch.zeros(T, B),
        "next_values": torch.zeros(T, B),
    }
    metrics = learner.update(b)
    assert (metrics["happo_drift"] > 0) is drifts
    if not drifts:
        assert metrics["happo_drift"] == 0.0


class TestImprovementGap:
    """happo_improvement_gap = Σ_m E[M_used(m)(ρ_m^after − ρ_m^before)Â] − E[(Π_i ρ_i^final − 1)Â]
    (docs/baselines.md): what the blocks believed they gained minus what the final joint policy
    gains on the same surrogate."""

    def test_zero_under_nops(self):
        # NoPS: ρ_m^before = 1 and M_used(m+1) = M_used(m) ρ_m^after, so the believed gains
        # telescope to the realised one.
        learner = make("none", fixed_order=True, epochs=1, minibatches=1)
        metrics = learner.update(batch(T=64))
        assert abs(metrics["happo_believed_improvement"]) > 1e-3  # the updates did move
        assert metrics["happo_improvement_gap"] == pytest.approx(0.0, abs=1e-5)
        assert metrics["happo_drift"] == metrics["happo_drift_rel"] == 0.0

    def test_positive_when_a_shared_update_undoes_an_earlier_member(self):
        # Two agents share one network (type grouping) and see the same observation. In half the
        # samples the joint action is (0, 1) with advantage +1, in the other half (1, 0) with -1:
        # agent 0's update raises π(0|o), agent 1's then raises π(1|o), i.e. undoes agent 0's.
        # For the (0, 1) samples, with ρ_0 = π(0)/π_start(0), ρ_1 = π(1)/π_start(1):
        #   believed − realised = ρ_0^after (1 − ρ_1^before) + ρ_1^after (ρ_0^after − ρ_0^final),
        # both terms > 0 (agent 0's update lowered ρ_1, agent 1's lowered ρ_0); the (1, 0)
        # samples, weighted by -1, add a positive amount the same way. Realised: one shared
        # policy gives (0, 1) and (1, 0) the same probability, so Π_i ρ_i^final is the same in
        # both halves and E[(Π ρ − 1)Â] = 0 exactly: the blocks believe in a gain no joint
        # policy of this network can deliver.
        spec = EnvSpec("smax", "test", 2, (4, 4), 5, True, 2, (1, 1), agent_types=("m", "m"))
        torch.manual_seed(0)
        learner = HAPPO(
            spec,
            make_groups("type", spec.agent_types, 0),
            HAPPOConfig(
                fixed_order=True,
                epochs=1,
                minibatches=1,
                entropy_coef=0.0,
                agent_id="none",
                lr=0.05,
            ),
            protocol=ProtocolConfig(),
            n_envs=1,
            device=torch.device("cpu"),
        )
        T = 32
        obs = torch.ones(T, 1, 1, 4).expand(T, 1, 2, 4)
        actions = torch.tensor([[0, 1], [1, 0]]).repeat(T // 2, 1)  # [T, 2]
        b = {
            "obs": obs,
            "state": torch.zeros(T, 1, 5),
            "avail": torch.ones(T, 1, 2, 2, dtype=torch.bool),
            "actions": actions[:, None],
            "logp": learner.joint_logp(obs.flatten(0, 1), None, actions)[:, None],
            "values": torch.zeros(T, 1),
            "rewards": torch.zeros(T, 1),
            "dones": torch.zeros(T, 1),
            "next_values": torch.zeros(T, 1),
        }
        adv = torch.tensor([1.0, -1.0]).repeat(T // 2)[:, None]
        learner.advantages = lambda _b: (adv, torch.zeros(T, 1))
        metrics = learner.update(b)
        assert metrics["happo_believed_improvement"] > 0
        assert metrics["happo_realised_improvement"] == pytest.approx(0.0, abs=1e-6)
        assert metrics["happo_improvement_gap"] > 1e-2
        assert metrics["happo_drift"] > 0 and metrics["happo_drift_rel"] > 0


def test_equal_steps_divides_a_shared_networks_lr_by_its_blocks():
    """ParPS with 3 members: each member block steps the one network with lr / 3."""
    plain = make("type", fixed_order=True, epochs=1)
    equal = make("type", fixed_order=True, epochs=1, equal_steps=True)
    assert plain.actor_opt.member_lr is None
    assert equal.actor_opt.member_lr.tolist() == pytest.approx([5e-4 / 3])
    nops = make("none", equal_steps=True)  # one block per network: nothing to divide
    assert nops.actor_opt.member_lr.tolist() == pytest.approx([5e-4] * 3)
