"""OMQ, the optimal marginal Q function φ*_ψ(s, a_1:i) (docs/omdpg-algorithm.md 4.1)
[reconstruction; "optimal joint action sequences" and the ensemble minimum are [paper]].

    φ*(s, a_1:i) = max_{a_i+1:n} Q(s, a_1:i, a_i+1:n),     a*_i = argmax_{a_i} φ*(s, a*_1:i-1, a_i)

Agent i ascends J_i = E[ φ*(s, a^ctx_1:i-1, μ_g(i)(o_i)) ] (``omq_values``). Neither the context
a^ctx (buffer actions, or the optimal sequence) nor the baseline φ*(s, a^ctx_1:i-1) depends on
another actor's update in progress, so all agents are evaluated in one batched critic call and all
groups step at once.

Two ways to evaluate φ* (``omq.max_impl``):
- ``joint_critic``: φ*(s, a_1:i) ≈ Q(s, a_1:i, sg(a*_i+1:n)) with a*_j = μ_g(j)(o_j) the greedy
  current actors. Row i of one [B, n, n, A] tensor is agent i's joint action. The later actors
  cannot see a_1:i, so this is a best response, not a max (section 12: the climbing game).
- ``prefix_critic``: a critic of prefixes φ(s, a_1:i) (gqc.form = prefix); a*_i by enumerating
  agent i's available actions (discrete) or the actor's output (continuous).

Positions: ``pos[i]`` is agent i's place in the order (``omq.order``: index, or a random permutation
per update); "before i" means pos[j] < pos[i].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:  # gqc.py builds its OOD joint actions from this file's rows
    from omdpg.actors import DeterministicActors
    from omdpg.gqc import GQCritic


def positions(n: int, order: str, device: torch.device) -> torch.Tensor:
    return torch.arange(n, device=device) if order == "index" else torch.randperm(n).to(device)


def joint_actions(
    context: torch.Tensor, own: torch.Tensor, a_star: torch.Tensor, pos: torch.Tensor
) -> torch.Tensor:
    """Row i = (context_j for j before i, own_i, a*_j for j after i). Joint actions are vectors
    [..., n, A] (one-hot or continuous) -> [..., n(i), n(j), A], or discrete action indices
    [..., n] -> [..., n(i), n(j)]; the three inputs broadcast. ``own`` enters only on the
    diagonal, so agent i's gradient reaches only μ_g(i) through row i."""
    tail = (1,) if context.is_floating_point() else ()  # the action-vector axis, if any
    n = len(pos)
    before = (pos[None, :] < pos[:, None]).reshape(n, n, *tail)  # [i, j(, 1)]
    itself = torch.eye(n, dtype=torch.bool, device=pos.device).reshape(n, n, *tail)

    def rows(x):  # insert the row axis i before the agent axis j
        return x.unsqueeze(-2 - len(tail))

    return torch.where(before, rows(context), torch.where(itself, rows(own), rows(a_star)))


def every_own_action(
    context: torch.Tensor, a_star: torch.Tensor, pos: torch.Tensor, n_actions: int
) -> torch.Tensor:
    """Row i of ``joint_actions`` with agent i's own action set to each of its A actions, for the
    exact expectation Σ_k π_i(k) φ*(s, ..., k, ...) (Mean Actor-Critic, Allen et al. 2017,
    arXiv:1709.00503 [background]). One-hot [B, n, A] -> [B, n(i), A(k), n, A]; indices [B, n]
    -> [B, n(i), A(k), n]."""
    own = torch.arange(n_actions, device=pos.device)[:, None].expand(n_actions, len(pos))  # [k, j]
    if context.is_floating_point():
        own = F.one_hot(own, n_actions).to(context.dtype)
    return joint_actions(context[:, None], own, a_star[:, None], pos).transpose(1, 2)


def prefix_masks(pos: torch.Tensor) -> torch.Tensor:
    """Row i: the prefix up to and including agent i, [n, n] bool."""
    return pos[None, :] <= pos[:, None]


def take_rows(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """x [B, n, ...] -> [B, K, ...] at rows [B, K]."""
    return x.gather(
        1, rows.reshape(*rows.shape, *(1,) * (x.dim() - 2)).expand(*rows.shape, *x.shape[2:])
    )


def omq_values(
    critic: GQCritic,
    actors: DeterministicActors,
    state: torch.Tensor,
    context: torch.Tensor,
    a_star: torch.Tensor,
    out: torch.Tensor,
    pos: torch.Tensor,
    relax: str,
    tau: float,
    alpha: float | torch.Tensor,
    aggregate: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Every agent's OMQ objective at once, [B, n], differentiable in the actor output ``out`` only:

        J_i = agg_c φ*_c(s, context_1:i-1, μ_g(i)(o_i), a*_i+1:n)  (+ α H(π_i), discrete actions)

    ``agg`` is ``aggregate`` over the heads (dim 0; ``actor.q_estimate``). Discrete actions with
    ``relax="expected"``: the exact expectation Σ_k π_i(k) agg_c φ*_c(s, ..., k, ...) under
    π_i = softmax(out / τ), every own action of every agent in one critic call (Mean Actor-Critic,
    Allen et al. 2017 [background]); otherwise μ_g(i)(o_i) relaxed (straight-through Gumbel,
    softmax; continuous: itself) goes through the critic. A prefix critic reads φ* at a_1:i alone
    (the mask drops a*_i+1:n). α H(π_i) (HASAC's soft objective; ``alpha`` a number, or one per
    agent [n]) keeps discrete policies from collapsing onto critic noise (docs 13). Actions π_i
    gives probability 0 (unavailable ones) add nothing to the expectation or its gradient, so the
    critic may skip them (``needed``).
    state [B, S]; context, a_star [B, n] action indices or [B, n, A] vectors; out [B, n, A]."""
    masks = prefix_masks(pos) if critic.prefix else None
    if actors.discrete and relax == "expected":
        pi = torch.softmax(out / tau, -1)
        phi = own_action_values(
            critic, state, context, a_star, pos, actors.n_actions, aggregate, pi > 0
        )
        value = (pi * phi).sum(-1)
    else:
        own = actors.relaxed(out, relax, tau)
        ctx, star = actors.vectors(context), actors.vectors(a_star)
        critic.requires_grad_(False)  # the actor loss reaches the actions, not the critic
        value = aggregate(critic(state, joint_actions(ctx, own, star, pos), masks))
        critic.requires_grad_(True)
    if actors.discrete and (torch.is_tensor(alpha) or alpha > 0):
        value = value + alpha * actors.entropy(out, tau)
    return value


def own_action_values(
    critic: GQCritic,
    state: torch.Tensor,
    context: torch.Tensor,
    a_star: torch.Tensor,
    pos: torch.Tensor,
    n_actions: int,
    aggregate: Callable[[torch.Tensor], torch.Tensor],
    needed: torch.Tensor | None = None,
) -> torch.Tensor:
    """agg_c φ*_c(s, context_1:i-1, k, a*_i+1:n) [B, n, A] for every agent i and own action k,
    the values the ``expected`` objective averages under π_i; constants (no gradient). ``needed``
    [B, n, A]: the (i, k) the caller uses (GQCritic may skip the others)."""
    mask = prefix_masks(pos)[:, None] if critic.prefix else None
    with torch.no_grad():
        rows = every_own_action(context, a_star, pos, n_actions)
        return aggregate(critic(state, rows, mask, needed=needed))  # q [C, B, n, A]


# --- prefix_critic: exact maximisation over the next agent's actions ----------------------------
def extend_prefix(
    critic: GQCritic,
    state: torch.Tensor,
    prefix: torch.Tensor,
    length: torch.Tensor,
    pos: torch.Tensor,
    candidates: torch.Tensor,
    valid: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best next action after a prefix, by the heads' mean.

    prefix [B, K, n, A] (actions outside the prefix are ignored); length [B, K] prefix lengths;
    candidates [B, n, M, A] each agent's candidate actions (discrete: the M = A one-hots;
    continuous: M = 1, the actor's output); valid [B, n, M] availability or None.
    Returns (Q of every head at the extended prefix [C, B, K], chosen candidate [B, K, A]).
    """
    _, _, n, A = prefix.shape
    nxt = torch.argsort(pos)[length]  # [B, K] next agent
    is_nxt = F.one_hot(nxt, n).float()[:, :, None, :, None]  # [B, K, 1, n, 1]
    cand = take_rows(candidates, nxt)  # [B, K, M, A]
    joint = prefix[:, :, None] * (1 - is_nxt) + is_nxt * cand[:, :, :, None, :]
    mask = (pos < (length + 1)[..., None])[:, :, None]  # [B, K, 1, n]
    q = critic(state, joint, mask)  # [C, B, K, M]
    score = q.mean(0)
    if valid is not None:
        score = score.masked_fill(~take_rows(valid, nxt), float("-inf"))
    best = score.argmax(-1)  # [B, K]
    q_best = q.gather(-1, best[None, ..., None].expand(q.shape[0], -1, -1, 1))[..., 0]
    return q_best, cand.gather(2, best[..., None, None].expand(-1, -1, 1, A))[:, :, 0]


def greedy_sequence(
    critic: GQCritic,
    state: torch.Tensor,
    candidates: torch.Tensor,
    valid: torch.Tensor | None,
    pos: torch.Tensor,
):
    """a*_i = argmax φ(s, a*_1:i-1, a_i), agent by agent in order: n passes of M candidates each.
    Returns (a* [B, n, A], Q of every head at the full sequence [C, B])."""
    B, n, _, A = candidates.shape
    a_star = candidates.new_zeros(B, 1, n, A)
    for step in range(n):
        length = torch.full((B, 1), step, device=state.device)
        q, chosen = extend_prefix(critic, state, a_star, length, pos, candidates, valid)
        agent = torch.argsort(pos)[step]
        a_star = a_star.clone()
        a_star[:, 0, agent] = chosen[:, 0]
    return a_star[:, 0], q[:, :, 0]


def empty_prefix_value(critic: GQCritic, state: torch.Tensor, n: int, A: int) -> torch.Tensor:
    """φ(s, ∅) of every head [C, B]: all actions zeroed, empty mask."""
    zeros = state.new_zeros(state.shape[0], 1, n, A)
    return critic(state, zeros, torch.zeros(n, dtype=torch.bool, device=state.device))[:, :, 0]
