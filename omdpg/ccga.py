"""CCGA's actor half: deterministic grouped actors μ_g(i)(o_i, id_i) (docs/omdpg-algorithm.md 4.3).

One network per group shared by its members (ParPS [paper]; ``omdpg/actors.py`` batches all agents
in one matmul). The critic half of CCGA is the GQC ensemble in ``omdpg/gqc.py``.

Actions exist in three forms, all [B, n, A]:
- ``greedy``: the action the policy means: one-hot masked argmax (discrete) or tanh output with
  padded action dims zeroed (continuous). This is a* in OMQ and what evaluation plays.
- ``relaxed``: the same with a gradient path for the actor loss: straight-through Gumbel-softmax,
  hard, τ = 1 (HARL harl/utils/discrete_util.py, used by HASAC [background]) or a plain softmax.
- ``explore``: env actions for data collection (4.4): Gumbel sampling from the masked logits or
  ε-greedy over available actions; Gaussian noise 0.1 for continuous actions (HARL HATD3
  [background]).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from omdpg.actors import GroupedActor
from omdpg.envs.base import EnvSpec
from omdpg.grouping import Groups
from omdpg.networks import masked_logits


class DeterministicActors(nn.Module):
    def __init__(self, spec: EnvSpec, groups: Groups, hidden: tuple[int, ...], agent_id: str):
        super().__init__()
        self.discrete, self.n_actions = spec.discrete, spec.n_actions
        self.net = GroupedActor(spec.obs_dim, spec.n_actions, groups, hidden, agent_id)
        # Continuous agents with fewer joints than n_actions: padded dims are always 0.
        dims = torch.arange(spec.n_actions) < torch.as_tensor(spec.action_dims)[:, None]
        self.register_buffer("dim_mask", dims.float())  # [n, A]

    def forward(self, obs: torch.Tensor, avail: torch.Tensor | None) -> torch.Tensor:
        """Masked logits (discrete) or tanh actions (continuous), [B, n, A]. The methods below
        turn this output into actions, so one forward serves a* and the actor loss."""
        out = self.net(obs)
        return masked_logits(out, avail) if self.discrete else torch.tanh(out) * self.dim_mask

    def one_hot(self, actions: torch.Tensor) -> torch.Tensor:
        return F.one_hot(actions, self.n_actions).float()

    def greedy(self, out: torch.Tensor) -> torch.Tensor:
        return self.one_hot(out.argmax(-1)) if self.discrete else out

    def relaxed(self, out: torch.Tensor, relax: str, tau: float) -> torch.Tensor:
        if not self.discrete:
            return out
        if relax == "st_gumbel":
            return F.gumbel_softmax(out, tau=tau, hard=True)
        assert relax == "softmax", f"no relaxed action for discrete_relax={relax}"
        return F.softmax(out / tau, dim=-1)

    def explore(
        self, out: torch.Tensor, avail, how: str, epsilon: float, noise: float
    ) -> torch.Tensor:
        """Env actions: [B, n] int64 (never an unavailable one) or [B, n, A] in [-1, 1]."""
        if not self.discrete:
            return (out + noise * torch.randn_like(out)).clamp(-1, 1) * self.dim_mask
        if how == "gumbel":  # a Gumbel-max sample = a sample of softmax(masked logits)
            return torch.distributions.Categorical(logits=out).sample()
        explored = torch.rand(out.shape[:-1], device=out.device) < epsilon
        return torch.where(explored, self.uniform(out, avail), out.argmax(-1))

    def uniform(self, obs: torch.Tensor, avail) -> torch.Tensor:
        """Uniformly random available actions (the warm-up policy, HARL off-policy runner)."""
        if self.discrete:
            return torch.distributions.Categorical(probs=avail.float()).sample()
        return (
            torch.rand(*obs.shape[:-1], self.n_actions, device=obs.device) * 2 - 1
        ) * self.dim_mask
