"""Agent groups for parameter sharing (``--grouping``), the shape CCGA and every baseline consume.

- ``type``   capability grouping (ParPS): agents of one unit or joint type share a network
- ``random`` the ablation: a seeded random partition with the same number and sizes of groups
- ``single`` one group for all agents (FuPS)
- ``none``   one group per agent (NoPS)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omdpg.errors import UserError

MODES = ("type", "random", "single", "none")


@dataclass(frozen=True)
class Groups:
    mode: str
    of_agent: tuple[int, ...]  # group index of each agent

    @property
    def n_groups(self) -> int:
        return max(self.of_agent) + 1

    def members(self, g: int) -> list[int]:
        return [i for i, x in enumerate(self.of_agent) if x == g]

    @property
    def sizes(self) -> list[int]:
        return [len(self.members(g)) for g in range(self.n_groups)]

    @property
    def index_in_group(self) -> tuple[int, ...]:
        seen: dict[int, int] = {}
        out = []
        for g in self.of_agent:
            out.append(seen.get(g, 0))
            seen[g] = out[-1] + 1
        return tuple(out)

    def id_features(self, mode: str) -> np.ndarray:
        """One-hot agent ids appended to observations: within the group (default), global, none."""
        n = len(self.of_agent)
        if mode == "none":
            return np.zeros((n, 0), np.float32)
        ids = self.index_in_group if mode == "within_group" else tuple(range(n))
        return np.eye(max(ids) + 1, dtype=np.float32)[list(ids)]


def _by_first_appearance(labels) -> tuple[int, ...]:
    order: dict = {}
    return tuple(order.setdefault(x, len(order)) for x in labels)


def make_groups(mode: str, agent_types: tuple[str, ...], seed: int) -> Groups:
    n = len(agent_types)
    if mode == "type":
        return Groups(mode, _by_first_appearance(agent_types))
    if mode == "single":
        return Groups(mode, (0,) * n)
    if mode == "none":
        return Groups(mode, tuple(range(n)))
    if mode == "random":
        typed = make_groups("type", agent_types, seed)
        perm = np.random.default_rng(seed).permutation(n)
        # Deal the type grouping's group labels to a random order of agents: sizes are kept.
        labels = np.empty(n, dtype=int)
        labels[perm] = sorted(typed.of_agent)
        return Groups(mode, _by_first_appearance(labels.tolist()))
    raise UserError(f"unknown grouping '{mode}': choose one of {', '.join(MODES)}")
