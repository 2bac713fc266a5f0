"""GQC, the generalized Q critic (docs/omdpg-algorithm.md 4.2) [reconstruction; C_k, λ_PU and the
ensemble minimum are [paper]].

An ensemble of C_k joint-action critics Q_ψc(s, a), evaluated in one batched matmul per layer
(StackedMLP, members = heads, independent orthogonal initialisation). In the ``prefix`` form the
critic is φ_ψc(s, a_1:i): actions outside the prefix are zeroed and the n-bit prefix mask appended.

Loss, with ℓ = squared error (or Huber) and the mean over the mini-batch:

    L_GQC = Σ_c [ ℓ(Q_c(s, a) − y_true) + λ_PU · mean_i ℓ(Q_c(s, ã^(i)) − y_PU(s, ã^(i))) ]
    y_true = r + γ^m (1 − terminated) · agg_c Q'_c(s', μ'(o'))
    ã^(i)  = (a^ctx_1:i−1, a*_i:n)                              (the points OMQ scores agent i at)
    y_PU   = mean_c Q'_c(s, ã) − β · std_c Q'_c(s, ã)          (gqc.pu_target = shared)
    y_PU,c = Q'_c(s, ã) − β · std_c Q'_c(s, ã)                 (gqc.pu_target = per_head)

ã^(i) are the out-of-distribution joint actions of OMQ (``omdpg/omq.py``), shifted by one agent
from section 4.2's (docs 9.4). A row ã^(i) that equals the data's joint action a is not out of
distribution: TD already regresses Q(s, a) to y_true, so such rows are left out of the PU mean
(the two terms would pull one point to two targets). λ_PU = 0 removes the PU term exactly: the loss
is then the plain ensemble TD loss. Pessimism for unseen actions in proportion to the heads'
disagreement follows PBRL (Bai et al. 2022, arXiv:2202.11566) [background], which gives each head
its own target Q'_c − β·std (``per_head``); one target for every head (``shared``) pulls the heads
together and shrinks the very disagreement the term measures [reconstruction, both].
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from omdpg.networks import StackedMLP
from omdpg.omq import joint_actions, take_rows


class GQCritic(nn.Module):
    def __init__(
        self,
        state_dim: int,
        n_agents: int,
        n_actions: int,
        ensemble_size: int,
        hidden: tuple[int, ...],
        prefix: bool = False,
        out_gain: float = 1.0,
        gather: bool = True,
        skip_unneeded: bool = True,
    ):
        super().__init__()
        self.prefix, self.ensemble_size = prefix, ensemble_size
        self.n_agents, self.n_actions = n_agents, n_actions
        self.gather = gather and not prefix  # the prefix mask changes the input's statistics
        # Skip the rows a caller does not need (fewer products on a CPU); a CUDA-graph learner
        # turns it off, since their count depends on the data and would end the graph.
        self.skip_unneeded = skip_unneeded
        self.inp = state_dim + n_agents * n_actions + (n_agents if prefix else 0)
        self.heads = StackedMLP(ensemble_size, self.inp, hidden, 1, out_gain=out_gain)

    def forward(
        self,
        state: torch.Tensor,
        actions: torch.Tensor,
        mask: torch.Tensor | None = None,
        needed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """state [B, S]; actions [B, *K, n, A] (one-hot or continuous) or discrete action indices
        [B, *K, n]; mask broadcastable to [B, *K, n], the prefix membership (prefix form only);
        needed [B, *K] bool, the joint actions the caller uses (the gathered path returns 0 at
        the others while ``skip_unneeded``). Returns Q [C, B, *K]."""
        if not actions.is_floating_point():
            if self.gather:
                return self.gathered(state, actions, needed)
            actions = F.one_hot(actions, self.n_actions).float()
        lead = actions.shape[:-2]
        assert state.shape[0] == lead[0], "state and actions disagree on the batch size"
        feats = [state.reshape(lead[0], *(1,) * (len(lead) - 1), -1).expand(*lead, -1)]
        if self.prefix:
            m = mask.float().expand(*lead, -1)
            feats += [(actions * m[..., None]).flatten(-2), m]
        else:
            feats.append(actions.flatten(-2))
        x = torch.cat(feats, dim=-1).reshape(1, -1, self.inp)
        return self.heads(x.expand(self.ensemble_size, -1, -1)).reshape(-1, *lead)

    def gathered(
        self, state: torch.Tensor, joint: torch.Tensor, needed: torch.Tensor | None
    ) -> torch.Tensor:
        """Q [C, B, *K] at discrete joint actions [B, *K, n] without their one-hot vectors
        (``gqc.first_layer=gather``). Each head's first layer over the layer-normed input
        x = [s, one-hot(a_1), ..., one-hot(a_n)] (D = S + nA entries, W = [W_s; W_a]) is

            h = b + ((s − μ)ᵀ W_s − μ Σ_d W_a[d] + Σ_j W_a[j, a_j]) / σ,

        and since x holds n ones and n(A − 1) zeros besides s whatever the actions, μ = (Σ s + n)/D
        and σ² = (Σ (s − μ)² + n(1 − μ)² + n(A − 1)μ²)/D + 1e-5 (``F.layer_norm``'s) depend on s
        alone: the state's part is one product per sample, and each joint action adds n rows of
        W_a (an embedding-bag sum) instead of an (S + nA)-long product. Only the ``needed`` joint
        actions are evaluated (while ``skip_unneeded``). Equal to the one-hot path to float rounding
        (tests/omdpg/test_gqc.py, tests/omdpg/test_update_paths.py)."""
        lead, (n, A, C) = joint.shape[:-1], (self.n_agents, self.n_actions, self.ensemble_size)
        B, S = state.shape
        assert B == lead[0], "state and actions disagree on the batch size"
        first = self.heads.first
        w_s, w_a = first.weight[:, :S], first.weight[:, S:]  # [C, S, H], [C, nA, H]
        mu = (state.sum(-1) + n) / self.inp  # [B]
        centred = state - mu[:, None]
        var = centred.square().sum(-1) + n * (1 - mu).square() + n * (A - 1) * mu.square()
        inv = torch.rsqrt(var / self.inp + 1e-5)[None, :, None]  # [1, B, 1]
        per_sample = first.bias + inv * (
            torch.bmm(centred.expand(C, -1, -1), w_s) - mu[None, :, None] * w_a.sum(1, True)
        )  # [C, B, H]
        rows = joint.reshape(B, -1, n)  # [B, K, n]
        every = needed is None or not self.skip_unneeded
        if every:  # all B·K rows: static shapes, which a captured update needs (no nonzero)
            K = rows.shape[1]
            sample = torch.arange(B, device=joint.device).repeat_interleave(K)
            k = torch.arange(K, device=joint.device).repeat(B)
        else:
            sample, k = needed.reshape(B, -1).nonzero(as_tuple=True)  # the R rows, in row order
        # One embedding bag per head and row gives h: its n rows of W_a, each weighted 1/σ, and its
        # sample's row of per_sample; the table holds every head's W_a, then every head's samples.
        head = torch.arange(C, device=joint.device)[:, None, None]
        agent = torch.arange(n, device=joint.device)
        index = torch.cat(
            [
                (head * n + agent) * A + rows[sample, k],
                (C * n * A + head * B + sample[:, None]).expand(-1, -1, 1),
            ],
            -1,
        )  # [C, R, n + 1]
        weight = torch.cat([inv[0, sample].expand(-1, n), inv.new_ones(len(sample), 1)], -1)
        table = torch.cat([w_a.reshape(C * n * A, -1), per_sample.reshape(C * B, -1)])
        h = F.embedding_bag(
            index.reshape(-1, n + 1),
            table,
            per_sample_weights=weight.expand(C, -1, -1).reshape(-1, n + 1),
            mode="sum",
        )
        q = self.heads.after_first(h.reshape(C, len(sample), -1))[..., 0]  # [C, R]
        if every:
            return q.reshape(C, *lead)
        out = q.new_zeros(C, *rows.shape[:2])
        out[:, sample, k] = q
        return out.reshape(C, *lead)


def ensemble_estimate(q: torch.Tensor, how: str, beta: float) -> torch.Tensor:
    """Aggregate over heads (dim 0): ``min`` (TD3's clipped double Q, the paper's actor estimate),
    ``mean``, or ``mean_minus_std`` (mean − β·std, a lower confidence bound)."""
    if how == "min":
        return q.min(0).values
    if how == "mean":
        return q.mean(0)
    return y_pu(q, beta)


def y_pu(q_target: torch.Tensor, beta: float) -> torch.Tensor:
    """Pessimistic-uncertainty target: mean_c Q'_c − β·std_c Q'_c over the heads (dim 0).
    Population std, so that C_k = 1 gives std 0 and y_PU = Q'."""
    return q_target.mean(0) - beta * q_target.std(0, correction=0)


def pu_targets(q_target: torch.Tensor, beta: float, how: str) -> torch.Tensor:
    """y_PU at the OOD joint actions from the target heads q_target [C, B, K]: one target for every
    head, mean − β·std [B, K] (``shared``), or each head's own Q'_c − β·std [C, B, K] (``per_head``,
    PBRL's). Population std over heads, as y_pu."""
    if how == "shared":
        return y_pu(q_target, beta)
    return q_target - beta * q_target.std(0, correction=0)


def y_true(
    reward: torch.Tensor, discount: torch.Tensor, q_next: torch.Tensor, how: str, beta: float
) -> torch.Tensor:
    """r + γ^m (1 − terminated) agg_c Q'_c(s', μ'(o')); reward, discount [B], q_next [C, B]."""
    return reward + discount * ensemble_estimate(q_next, how, beta)


def ood_rows(batch: int, n: int, how: str, device: torch.device) -> torch.Tensor:
    """The agents i whose ã^(i) enter the PU term (``gqc.ood_agents``): all, or one at random per
    sample, [B, K]."""
    if how == "all":
        return torch.arange(n, device=device).expand(batch, n)
    return torch.randint(n, (batch, 1), device=device)


def ood_joint_actions(
    context: torch.Tensor, a_star: torch.Tensor, pos: torch.Tensor, rows: torch.Tensor
) -> torch.Tensor:
    """ã^(i) = (a^ctx_1:i−1, a*_i:n) for the agents i in ``rows`` [B, K]: agent i's OMQ joint action
    at its greedy own action. context, a_star [B, n] indices or [B, n, A] vectors -> [B, K, n(, A)].
    """
    return take_rows(joint_actions(context, a_star, a_star, pos), rows)


def off_data(ood_actions: torch.Tensor, data_actions: torch.Tensor) -> torch.Tensor:
    """[B, K] 1.0 where ã^(i) [B, K, n(, A)] differs from the data's joint action a [B, n(, A)]
    (indices or vectors), 0.0 where it is a (then it is no OOD point: TD already fits it)."""
    same = (ood_actions == data_actions[:, None]).flatten(2).all(-1)
    return (~same).float()


class OOD(NamedTuple):
    """Where the PU term regresses: the critic's inputs and the target heads' values there."""

    actions: torch.Tensor  # [B, K, n] discrete indices or [B, K, n, A] vectors (prefix: masked)
    mask: torch.Tensor | None  # [B, K, n] prefix membership (prefix form), else None
    q_target: torch.Tensor  # [C, B, K] Q'_c, the heads y_PU aggregates
    weight: torch.Tensor | None = None  # [B, K] 0 where a row is the data's joint action


def gqc_loss(
    q_data: torch.Tensor,
    target: torch.Tensor,
    q_ood: torch.Tensor,
    target_pu: torch.Tensor,
    lambda_pu: float,
    loss: str = "mse",
    delta: float = 10.0,
    pu_weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """L_GQC = TD + λ_PU·PU. q_data [C, B], target [B]; q_ood [C, B, K], target_pu [B, K] or
    [C, B, K] (per head), both unused when λ_PU = 0; pu_weight [B, K] leaves rows out of the PU
    mean. Each term sums over heads and averages over samples (and the OOD joint actions), so every
    head gets the gradient it would get trained alone."""
    td = _error(q_data, target, loss, delta)
    if lambda_pu == 0.0:
        return td, td, None
    pu = _error(q_ood, target_pu, loss, delta, pu_weight)
    return td + lambda_pu * pu, td, pu


def _error(
    q: torch.Tensor, y: torch.Tensor, loss: str, delta: float, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Σ_c mean ℓ(q_c − y) over the rows weight keeps: squared error, or torch's Huber (0.5 x²
    inside δ, HARL's choice for large rewards [background])."""
    y = y.detach().expand_as(q)
    e = (q - y).square() if loss == "mse" else F.huber_loss(q, y, reduction="none", delta=delta)
    if weight is None:
        return e.flatten(1).mean(1).sum()
    return (e * weight).flatten(1).sum(1).sum() / weight.sum().clamp(min=1.0)
