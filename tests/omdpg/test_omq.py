"""OMQ: the joint actions each agent is scored at, the exact optimal sequence of the prefix critic,
and the climbing game, where learners that average over their partner miss the optimum."""

import math

import pytest
import torch

from omdpg.actors import mean_over_choices
from omdpg.omq import every_own_action, greedy_sequence, joint_actions, prefix_masks
from tests.omdpg.small import CLIMB_SPEC, CLIMBING, make_learner, play_climbing, q_table


def test_joint_actions_rows():
    """Row i = (context before i, own_i, a* after i); entries tagged 1 / 2 / 3 by source."""
    B, n, A = 1, 3, 2
    ctx, own, star = (torch.full((B, n, A), v) for v in (1.0, 2.0, 3.0))
    rows = joint_actions(ctx, own, star, torch.arange(n))[0, :, :, 0]
    assert rows.tolist() == [[2, 3, 3], [1, 2, 3], [1, 1, 2]]
    # order 1, 2, 0 (pos = place of each agent): agent 0 is last, agent 1 first
    rows = joint_actions(ctx, own, star, torch.tensor([2, 0, 1]))[0, :, :, 0]
    assert rows.tolist() == [[2, 1, 1], [3, 2, 3], [3, 1, 2]]
    assert prefix_masks(torch.tensor([2, 0, 1])).tolist() == [
        [True, True, True],
        [False, True, False],
        [False, True, True],
    ]


def test_joint_actions_of_indices_are_the_rows_of_their_one_hots():
    ctx, own, star = torch.tensor([[0, 1, 2]]), torch.tensor([[3, 3, 3]]), torch.tensor([[4, 4, 4]])
    pos = torch.tensor([2, 0, 1])
    eye = torch.eye(5)
    rows = joint_actions(ctx, own, star, pos)  # [1, n, n]
    assert torch.equal(eye[rows], joint_actions(eye[ctx], eye[own], eye[star], pos))
    assert rows[0].tolist() == [[3, 1, 2], [4, 3, 4], [4, 1, 3]]  # agent 0 last, 1 first


def test_own_action_reaches_only_its_row():
    """Agent i's gradient flows only through row i (no coupling between agents' objectives)."""
    own = torch.rand(4, 3, 2, requires_grad=True)
    rows = joint_actions(torch.rand(4, 3, 2), own, torch.rand(4, 3, 2), torch.arange(3))
    rows[:, 1].sum().backward()
    assert own.grad[:, 1].abs().sum() > 0
    assert own.grad[:, [0, 2]].abs().sum() == 0


def test_every_own_action_enumerates_the_own_slot():
    """The same rows from one-hot vectors and from action indices."""
    ctx, star = torch.tensor([[1, 0]]), torch.tensor([[0, 2]])  # buffer a_0 = 1, a*_1 = 2
    from_indices = every_own_action(ctx, star, torch.arange(2), 3)[0]  # [i, k, n]
    eye = torch.eye(3)
    from_vectors = every_own_action(eye[ctx], eye[star], torch.arange(2), 3)[0].argmax(-1)
    for joint in (from_indices, from_vectors):
        assert joint[0].tolist() == [[0, 2], [1, 2], [2, 2]]  # agent 0 tries k, a*_1 after it
        assert joint[1].tolist() == [[1, 0], [1, 1], [1, 2]]  # agent 1 after buffer a_0


class TablePrefixCritic:
    """φ(a_1:i) = max over the rest of a 2-agent payoff table: the exact optimal marginal,
    two identical heads, prefixes in index order."""

    prefix = True

    def __init__(self, table):
        self.table = torch.as_tensor(table)

    def __call__(self, state, actions, mask):
        lead = actions.shape[:-2]
        length = mask.expand(*lead, -1).sum(-1)
        a = actions.argmax(-1)
        by_length = torch.stack(
            [
                self.table.max().expand(lead),
                self.table.max(1).values[a[..., 0]],
                self.table[a[..., 0], a[..., 1]],
            ],
            -1,
        )
        value = by_length.gather(-1, length[..., None].long())[..., 0]
        return torch.stack([value, value])


@pytest.mark.parametrize("available, expected", [(None, (0, 0)), ([False, True, True], (1, 1))])
def test_greedy_sequence_is_the_exact_optimal_sequence(available, expected):
    """a*_1 = argmax φ(a_1) over available actions, then a*_2 = argmax Q(a*_1, a_2). Climbing:
    φ(a_1) = row maxima (11, 7, 5) / 10, so (0, 0); without action 0 for agent 0, (1, 1) = 7."""
    avail = torch.ones(1, 2, 3, dtype=torch.bool)
    if available is not None:
        avail[0, 0] = torch.tensor(available)
    candidates = torch.eye(3).expand(1, 2, 3, 3)
    a_star, q = greedy_sequence(
        TablePrefixCritic(CLIMBING), torch.ones(1, 1), candidates, avail, torch.arange(2)
    )
    assert tuple(a_star[0].argmax(-1).tolist()) == expected
    assert q[0, 0].item() == pytest.approx(CLIMBING[expected])


# The climbing game. 6 seeds, 300 batched steps of 16 one-step episodes (290 updates). A random
# greedy joint action is optimal with probability 1/9, so 4 of 6 by chance has probability < 0.002.
SEEDS, STEPS = range(6), 300
# Raised learning rates fit the budget: at the defaults (actor 5e-4, critic 1e-3) the same runs need
# ~1500 steps (docs/omdpg-algorithm.md section 12).
FAST = {"actor.lr": 1e-2, "gqc.lr": 3e-3}


def test_prefix_critic_reaches_the_optimum():
    """Exact OMQ: prefix critic, context = the optimal sequence a*, and the actor ascending the
    exact expectation over its actions. Agent 0 sees φ*(a_0) = max_a1 Q and picks 0; agent 1
    responds to a*_0 = 0. Reaches (0, 0) in at least 4 of 6 seeds (6 of 6 when written)."""
    sets = {
        "omq.max_impl": "prefix_critic",
        "gqc.form": "prefix",
        "omq.context": "optimal",
        "actor.discrete_relax": "expected",
        **FAST,
    }
    reached = [play_climbing(make_learner(CLIMB_SPEC, sets, seed), STEPS) for seed in SEEDS]
    assert sum(r == (0, 0) for r in reached) >= 4, reached


def test_joint_critic_reaches_a_safe_equilibrium():
    """A finding, not a defect: the default joint_critic evaluates φ*(s, a_1:i) at the later
    agents' greedy actors, which cannot respond to a_1:i, so each agent best-responds to the
    others' current or logged actions, like independent learners. Its critic knows the optimum
    (argmax of the learned Q is (0, 0) in every seed), but the actors settle on a safe equilibrium,
    never on (0, 0): (1, 2) = 6 in 6 of 6 seeds when written ((2, 2) = 5 with st_gumbel)."""
    outcomes = []
    for seed in SEEDS:
        learner = make_learner(CLIMB_SPEC, FAST, seed)
        outcomes.append((play_climbing(learner, STEPS), divmod(int(q_table(learner).argmax()), 3)))
    assert all(best == (0, 0) for _, best in outcomes), outcomes
    reached = [joint for joint, _ in outcomes]
    assert (0, 0) not in reached and all(CLIMBING[j] >= 0.5 for j in reached), reached


def test_entropy_bonus_is_alpha_times_the_masked_policy_entropy():
    """Uniform logits: agent 0 has 2 of 3 actions available, agent 1 all 3, so α·H adds
    α·log 2 and α·log 3 to their objectives; unavailable actions carry no probability."""
    alpha = 0.3
    learner = make_learner(CLIMB_SPEC, {"actor.entropy_coef": alpha})
    with torch.no_grad():
        learner.actor.net.net.out.weight.zero_()
        learner.actor.net.net.out.bias.zero_()
    obs, state = torch.ones(4, 2, 1), torch.ones(4, 1)
    avail = torch.tensor([[True, True, False], [True, True, True]]).expand(4, -1, -1)
    out = learner.actor(obs, avail)
    a_star, pos = learner.actor.greedy(out), torch.arange(2)
    with_bonus = learner.agent_values(state, a_star, a_star, out, pos)
    learner.cfg.actor.entropy_coef = 0.0
    without = learner.agent_values(state, a_star, a_star, out, pos)
    expected = alpha * torch.log(torch.tensor([2.0, 3.0]))
    assert torch.allclose(with_bonus - without, expected.expand(4, -1), atol=1e-6)


def test_policy_entropy_is_logged_over_the_agents_with_a_choice():
    """Uniform logits; agent 0 has 2 of 3 actions in every sample, agent 1 is dead (no-op only) in
    samples 0-1 and has all 3 in samples 2-3: dead agents do not dilute the mean, so it is
    (4 log 2 + 2 log 3) / 6. An update logs it as policy_entropy, in [0, log 3]."""
    learner = make_learner(CLIMB_SPEC)
    with torch.no_grad():
        learner.actor.net.net.out.weight.zero_()
        learner.actor.net.net.out.bias.zero_()
    avail = torch.tensor([[True, True, False], [True, False, False]]).repeat(4, 1, 1)
    avail[2:, 1] = True
    out = learner.actor(torch.ones(4, 2, 1), avail)
    expected = (4 * math.log(2) + 2 * math.log(3)) / 6
    h = learner.actor.entropy(out, 1.0)
    assert mean_over_choices(h, avail).item() == pytest.approx(expected, rel=1e-6)
    play_climbing(learner, 40)  # more rows than n_step (20)
    metrics = learner.gradient_step()
    assert 0.0 <= metrics["policy_entropy"].item() <= math.log(3) + 1e-6
