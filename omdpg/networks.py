"""Stacked networks: K independent MLPs evaluated in one batched matmul.

One class serves both ends of CCGA: grouped actors (K = n agents, gathering each agent's group
weights, so agents of a group share parameters and gradients add up over members) and the GQC
ensemble (K = C_k heads). No Python loop over agents, groups or heads.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn


class StackedLinear(nn.Module):
    def __init__(self, members: int, inp: int, out: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, inp, out))
        self.bias = nn.Parameter(torch.zeros(members, 1, out))
        for w in self.weight.data:  # orthogonal init per member, as HARL does for each network
            nn.init.orthogonal_(w.T, gain=gain)

    def forward(self, x: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """x: [K, N, inp]; index: [K] member of each row block (None: row k uses member k)."""
        w, b = (self.weight, self.bias) if index is None else (self.weight[index], self.bias[index])
        return torch.baddbmm(b, x, w)


class StackedMLP(nn.Module):
    def __init__(
        self,
        members: int,
        inp: int,
        hidden: tuple[int, ...],
        out: int,
        out_gain: float = 0.01,
        input_norm: bool = True,
    ):
        super().__init__()
        sizes = (inp,) + tuple(hidden)
        self.hidden = nn.ModuleList(
            StackedLinear(members, a, b) for a, b in itertools.pairwise(sizes)
        )
        self.out = StackedLinear(members, sizes[-1], out, gain=out_gain)
        self.input_norm = input_norm

    def forward(self, x: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        if self.input_norm:  # HARL's feature normalisation, without learned scale
            x = F.layer_norm(x, x.shape[-1:])
        return self.after_first(self.first(x, index), index)

    @property
    def first(self) -> StackedLinear:
        return self.hidden[0] if len(self.hidden) else self.out

    def after_first(self, h: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """The network from the first layer's pre-activation h on (GQCritic computes that layer
        itself for discrete joint actions)."""
        for layer in [*self.hidden, self.out][1:]:
            h = layer(F.relu(h), index)
        return h


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging, every tensor in one foreach kernel (one launch per dtype on a GPU)."""
    with torch.no_grad():
        torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), tau)


def masked_logits(logits: torch.Tensor, avail: torch.Tensor | None) -> torch.Tensor:
    """Unavailable actions get -1e10, so neither sampling nor argmax can pick them."""
    return logits if avail is None else logits.masked_fill(~avail, -1e10)
