"""actor.alpha=auto: one entropy weight per group, stepped towards a target entropy
(omdpg/temperature.py), in the objective, in the logs, in checkpoints, and its refusals."""

import math

import pytest
import torch

from omdpg.errors import UserError
from omdpg.temperature import Temperature
from tests.conftest import run_cli
from tests.omdpg.small import CLIMB_SPEC, MIXED_SPEC, fill, make_learner, small_config

AUTO = {"actor.alpha": "auto"}


def test_temperature_loss_weighs_each_group_by_its_members_excess_entropy():
    """Agents 0, 1 in group 0, agent 2 in group 1; agent 1 is dead in sample 1 (no-op only). With
    target fraction 0.5 the goal is 0.5 log(available); the gradient on log α_g is the sum of its
    members' H - goal over the pairs with a choice, divided by their count (5)."""
    temperature = Temperature(0.02, (0, 0, 1))
    assert torch.allclose(temperature(), torch.full((3,), 0.02))
    avail = torch.ones(2, 3, 4, dtype=torch.bool)
    avail[0, 2, 2:] = False  # agent 2 has 2 actions in sample 0
    avail[1, 1, 1:] = False  # agent 1 is dead in sample 1
    entropy = torch.tensor([[1.0, 0.5, 0.2], [0.9, 0.0, 1.3]])
    temperature.loss(entropy, avail, 0.5).backward()
    goal4, goal2 = 0.5 * math.log(4), 0.5 * math.log(2)
    group0 = (1.0 - goal4) + (0.5 - goal4) + (0.9 - goal4)
    group1 = (0.2 - goal2) + (1.3 - goal4)
    expected = torch.tensor([group0, group1]) / 5
    assert torch.allclose(temperature.log_alpha.grad, expected, atol=1e-6)


def test_auto_alpha_falls_by_its_learning_rate_under_harls_zero_target():
    """Target 0 (HARL HASAC's discrete target as computed): every entropy is above it, so each
    actor step lowers every log α_g by alpha_lr (Adam's step on a gradient of constant sign), and
    the logged alpha is the mean α before the step."""
    learner = make_learner(MIXED_SPEC, {**AUTO, "actor.alpha_lr": 0.01}, grouping="type")
    fill(learner, 40)
    start = learner.temperature.log_alpha.detach().clone()
    assert torch.allclose(start, torch.full((2,), math.log(0.02)))
    metrics = [learner.gradient_step() for _ in range(3)]  # policy_freq 1: three actor steps
    assert metrics[0]["alpha"].item() == pytest.approx(0.02, rel=1e-6)
    assert torch.allclose(learner.temperature.log_alpha.detach(), start - 0.03, atol=1e-5)
    assert metrics[2]["alpha"].item() == pytest.approx(0.02 * math.exp(-0.02), rel=1e-4)


def test_auto_alpha_rises_when_the_policy_is_below_its_target():
    """Target 1 (the uniform entropy): a policy that is not uniform is below it, so α rises."""
    learner = make_learner(MIXED_SPEC, {**AUTO, "actor.target_entropy": 1.0}, grouping="type")
    fill(learner, 40)
    start = learner.temperature.log_alpha.detach().clone()
    learner.gradient_step()
    assert (learner.temperature.log_alpha.detach() > start).all()


def test_each_agent_ascends_its_groups_alpha_times_its_entropy():
    """Uniform logits, groups {row} and {col} with α 0.3 and 0.05: the bonus is α_g(i) log 3."""
    learner = make_learner(CLIMB_SPEC, AUTO, grouping="type")
    with torch.no_grad():
        learner.actor.net.net.out.weight.zero_()
        learner.actor.net.net.out.bias.zero_()
        learner.temperature.log_alpha.copy_(torch.tensor([0.3, 0.05]).log())
    obs, state = torch.ones(4, 2, 1), torch.ones(4, 1)
    out = learner.actor(obs, torch.ones(4, 2, 3, dtype=torch.bool))
    a_star, pos = learner.actor.greedy(out), torch.arange(2)
    with_bonus = learner.agent_values(state, a_star, a_star, out, pos)
    learner.temperature.log_alpha.data.fill_(-torch.inf)  # α = 0
    without = learner.agent_values(state, a_star, a_star, out, pos)
    expected = torch.tensor([0.3, 0.05]) * math.log(3)
    assert torch.allclose(with_bonus - without, expected.expand(4, -1), atol=1e-6)


def test_auto_alpha_is_in_the_checkpoint():
    """log α and its Adam state travel with the learner's state, so a resumed run goes on from
    the same α; a fixed-α learner's checkpoint has no such entry."""
    learner = make_learner(MIXED_SPEC, AUTO, grouping="type")
    fill(learner, 40)
    for _ in range(3):
        learner.gradient_step()
    state = learner.state_dict()
    assert {"temperature", "temperature_opt"} <= set(state)
    resumed = make_learner(MIXED_SPEC, AUTO, grouping="type", seed=1)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.alpha(), learner.alpha())
    assert resumed.temperature_opt.state_dict()["state"][0]["step"] == 3
    assert "temperature" not in make_learner(MIXED_SPEC).state_dict()


def test_auto_alpha_refuses_what_it_cannot_tune(tmp_path):
    """One line, exit 2, before any run folder exists: no entropy weight to start from, and an
    env without entropy (continuous actions)."""
    with pytest.raises(UserError, match=r"needs actor\.entropy_coef > 0"):
        small_config({**AUTO, "actor.entropy_coef": 0.0})
    out = tmp_path / "run"
    r = run_cli(
        "train", "--algo", "omdpg", "--env", "mamujoco", "--map", "HalfCheetah-6x1",
        "--steps", 100, "--set", "actor.alpha=auto", "--out", out,
    )  # fmt: skip
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "mamujoco's actions are continuous" in r.stderr and not out.exists()
