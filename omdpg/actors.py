"""Grouped actors: one network per group, shared by its members (CCGA's ParPS, and every baseline's
--grouping). Each agent's input is its zero-padded observation plus a one-hot agent id."""

from __future__ import annotations

import torch
from torch import nn

from omdpg.grouping import Groups
from omdpg.networks import StackedMLP


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
