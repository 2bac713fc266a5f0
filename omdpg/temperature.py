"""α, the weight of a discrete policy's entropy in OMDPG's actor objective (HASAC's soft objective),
tuned to a target entropy (``actor.alpha=auto``; ``fixed`` keeps α = ``actor.entropy_coef``).

One α_g per group of actors (HARL HASAC keeps one per agent, harl/runners/off_policy_base_runner.py;
a group shares its actor, so it shares its α), log-parametrised, started at ``actor.entropy_coef``
and stepped after each actor step by SAC's temperature loss (Haarnoja et al. 2018,
arXiv:1812.05905), averaged over the (sample, agent) pairs with a choice of action:

    L(log α) = mean_(b, i) log α_g(i) · sg(H(π_i) − H̄_i),     H̄_i = f · log |available actions of i|

so α falls while the policy's entropy is above its target and rises below it. f is
``actor.target_entropy``, a fraction of the largest entropy at that state. HARL's discrete target,
−0.98 · log(1 / prod(space.shape)), is 0 for a gym ``Discrete`` space (its shape is ()), so there
α only falls, by at most about alpha_lr per step under Adam: f = 0 is that reading
[background].
"""

from __future__ import annotations

import math

import torch
from torch import nn

from omdpg.actors import mean_over_choices


class Temperature(nn.Module):
    def __init__(self, alpha: float, group_of: tuple[int, ...]):
        super().__init__()
        self.log_alpha = nn.Parameter(torch.full((max(group_of) + 1,), math.log(alpha)))
        self.register_buffer("group_of", torch.as_tensor(group_of))  # [n]

    def forward(self) -> torch.Tensor:
        """α of each agent, [n]: its group's."""
        return self.log_alpha.exp()[self.group_of]

    def loss(self, entropy: torch.Tensor, avail: torch.Tensor, target: float) -> torch.Tensor:
        """L(log α) above; ``entropy`` [B, n] is H(π_i) of the policy the actor step started
        from, ``avail`` [B, n, A] bool. Pairs without a choice (a dead agent's no-op) carry no
        weight, so they neither raise nor lower α."""
        goal = target * avail.sum(-1).to(entropy.dtype).log()
        return mean_over_choices(self.log_alpha[self.group_of] * (entropy - goal).detach(), avail)
