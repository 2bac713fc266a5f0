"""Grouped actors, the shared runtime of every learner's policy (CCGA's ParPS, and every baseline's
--grouping): one network per group, shared by its members; each agent's input is its zero-padded
observation plus a one-hot agent id.

- ``GroupedActor``: the network, all agents in one batched matmul (``omdpg/networks.py``).
- ``DeterministicActors``: μ_g(i)(o_i, id_i) of the deterministic-policy learners, CCGA's actor half
  in OMDPG (docs/omdpg-algorithm.md 4.3) and HATD3's actors, so both compare on one architecture.
- ``sequential_ascent``: the HA sequential actor update (HARL off_policy_ha_runner.py ``train``,
  docs/omdpg-algorithm.md 2.5) of HATD3 and of OMDPG's ``omq.marginal=expect`` ablation.

Deterministic actions exist in three forms, [B, n, A] unless said:
- ``greedy``: the action the policy means: masked argmax indices [B, n] (discrete; ``one_hot``
  makes vectors of them) or tanh output with padded action dims zeroed (continuous). This is a*
  in OMQ and what evaluation plays.
- ``relaxed``: the same with a gradient path for the actor loss: straight-through Gumbel-softmax,
  hard, τ = 1 (HARL harl/utils/discrete_util.py, used by HASAC [background]) or a plain softmax.
- ``explore``: env actions for data collection (4.4): Gumbel sampling from the masked logits or
  ε-greedy over available actions; Gaussian noise 0.1 for continuous actions (HARL HATD3
  [background]).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from omdpg.envs.base import EnvSpec
from omdpg.grouping import Groups
from omdpg.member_adam import MemberAdam
from omdpg.networks import StackedMLP, masked_logits


class GroupedActor(nn.Module):
    def __init__(
        self,
        obs_dim: int,
        out_dim: int,
        groups: Groups,
        hidden: tuple[int, ...],
        agent_id: str = "within_group",
        out_gain: float = 0.01,
    ):
        super().__init__()
        ids = torch.as_tensor(groups.id_features(agent_id))
        self.register_buffer("ids", ids)  # [n, id_dim]
        self.register_buffer("group_of", torch.as_tensor(groups.of_agent))  # [n]
        self.net = StackedMLP(
            groups.n_groups, obs_dim + ids.shape[1], hidden, out_dim, out_gain=out_gain
        )

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """obs [..., n, obs_dim] -> [..., n, out_dim]; agents batched, one matmul per layer."""
        lead = obs.shape[:-2]
        n = obs.shape[-2]
        x = obs.reshape(-1, n, obs.shape[-1]).transpose(0, 1)  # [n, N, obs_dim]
        x = torch.cat([x, self.ids[:, None, :].expand(n, x.shape[1], -1)], dim=-1)
        y = self.net(x, self.group_of)  # [n, N, out]
        return y.transpose(0, 1).reshape(*lead, n, -1)

    def agent_forward(self, obs_i: torch.Tensor, agent: int) -> torch.Tensor:
        """One agent's output through its group's network, obs_i [N, obs_dim] -> [N, out]."""
        x = torch.cat([obs_i, self.ids[agent].expand(obs_i.shape[0], -1)], dim=-1)
        return self.net(x[None], self.group_of[agent : agent + 1])[0]


def mean_over_choices(x: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` [B, n] over the (sample, agent) pairs with a choice (more than one available
    action in ``avail`` [B, n, A]), so that dead agents, whose only action is no-op, do not
    dilute it; 0-dim."""
    choice = (avail.sum(-1) > 1).to(x.dtype)
    return (x * choice).sum() / choice.sum().clamp(min=1)


def action_mask(spec: EnvSpec) -> torch.Tensor:
    """[n, A] float, 1 on each agent's own action dims: a continuous agent with fewer joints than
    the widest has padded dims, which are always 0."""
    return (torch.arange(spec.n_actions) < torch.as_tensor(spec.action_dims)[:, None]).float()


class DeterministicActors(nn.Module):
    def __init__(self, spec: EnvSpec, groups: Groups, hidden: tuple[int, ...], agent_id: str):
        super().__init__()
        self.discrete, self.n_actions = spec.discrete, spec.n_actions
        self.net = GroupedActor(spec.obs_dim, spec.n_actions, groups, hidden, agent_id)
        self.register_buffer("dim_mask", action_mask(spec))  # [n, A]

    def forward(self, obs: torch.Tensor, avail: torch.Tensor | None) -> torch.Tensor:
        """Masked logits (discrete) or tanh actions (continuous), [B, n, A]. The methods below
        turn this output into actions, so one forward serves a* and the actor loss."""
        out = self.net(obs)
        return masked_logits(out, avail) if self.discrete else torch.tanh(out) * self.dim_mask

    def one_hot(self, actions: torch.Tensor) -> torch.Tensor:
        return F.one_hot(actions, self.n_actions).float()

    def vectors(self, actions: torch.Tensor) -> torch.Tensor:
        """Joint actions as vectors [B, ..., n, A]: one-hot of discrete indices, others as given."""
        return actions if actions.is_floating_point() else self.one_hot(actions)

    def greedy(self, out: torch.Tensor) -> torch.Tensor:
        """The action the policy means, a* in OMQ and what evaluation plays: [B, n] masked argmax
        indices, or noise-free μ(o) [B, n, A]."""
        return out.argmax(-1) if self.discrete else out

    def entropy(self, out: torch.Tensor, tau: float) -> torch.Tensor:
        """H(π_i) of π_i = softmax(out / τ), [B, n]; masked actions carry no probability."""
        return torch.distributions.Categorical(logits=out / tau).entropy()

    def relaxed(self, out: torch.Tensor, relax: str, tau: float) -> torch.Tensor:
        if not self.discrete:
            return out
        if relax == "st_gumbel":
            return F.gumbel_softmax(out, tau=tau, hard=True)
        assert relax == "softmax", f"no relaxed action for discrete_relax={relax}"
        return F.softmax(out / tau, dim=-1)

    def explore(
        self, out: torch.Tensor, avail, noise: float, how: str = "gumbel", epsilon: float = 0.0
    ) -> torch.Tensor:
        """Env actions: [B, n] int64 (never an unavailable one) or [B, n, A] in [-1, 1]."""
        if not self.discrete:
            return (out + noise * torch.randn_like(out)).clamp(-1, 1) * self.dim_mask
        if how == "gumbel":  # a Gumbel-max sample = a sample of softmax(masked logits)
            return torch.distributions.Categorical(logits=out).sample()
        explored = torch.rand(out.shape[:-1], device=out.device) < epsilon
        uniform = torch.distributions.Categorical(probs=avail.float()).sample()
        return torch.where(explored, uniform, out.argmax(-1))

    def smoothed(self, out: torch.Tensor, noise: float, clip: float) -> torch.Tensor:
        """TD3's target-policy smoothing (Fujimoto et al. 2018; HARL hatd3.py) of the greedy
        action: clip(μ'(o') + clip(ε, −c, c), −1, 1), ε ~ N(0, σ²); discrete actions unsmoothed."""
        a = self.greedy(out)
        if self.discrete:
            return a
        return (a + (torch.randn_like(a) * noise).clamp(-clip, clip)).clamp(-1, 1) * self.dim_mask


def sequential_ascent(
    order: Iterable[int],
    actions: torch.Tensor,
    objective: Callable[[torch.Tensor, int], torch.Tensor],
    updated: Callable[[int], torch.Tensor],
    optimizer: MemberAdam,
    group_of: tuple[int, ...],
) -> torch.Tensor:
    """The HA sequential actor update (HARL off_policy_ha_runner.py ``train``; docs 2.5).

    In ``order``, agent i takes one step of its group on −objective(actions, i), the value of the
    joint action with its own slot μ_g(i)(o_i) (differentiable) and the others' ``actions``
    [B, n(, A)]; then its updated action ``updated(i)`` [B(, A)] replaces actions[:, i], so the
    later agents see it. Under ParPS a group steps once per member. Returns the mean loss over
    agents."""
    total, count = 0.0, 0
    for i in order:
        loss = -objective(actions, i)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step([group_of[i]])
        total, count = total + loss.detach(), count + 1
        with torch.no_grad():
            actions = actions.clone()
            actions[:, i] = updated(i)
    return total / count
