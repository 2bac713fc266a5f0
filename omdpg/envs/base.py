"""The batched multi-agent environment contract (docs/design.md, contract 3).

Every backend is reduced to the same arrays, batched over ``B`` parallel environments and padded
over agents, so learners never see a backend:

- ``obs``    float32 [B, n, obs_dim]    per-agent observations, zero-padded to the largest
- ``state``  float32 [B, state_dim]     global state for centralised critics
- ``avail``  bool    [B, n, n_actions]  available actions (discrete) or None (continuous)
- ``reward`` float32 [B]                one shared team reward
- ``terminated`` / ``truncated`` bool [B]  an episode ended by the task / by the time limit
- ``won``    float32 [B]                1.0 / 0.0 where an episode ended, NaN elsewhere or without a
                                        notion of winning (MaMuJoCo)

Finished environments reset themselves; the observation the episode ended on is kept in
``final_obs`` / ``final_state`` / ``final_avail`` so that truncated episodes can bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class EnvSpec:
    env: str
    map: str
    n_agents: int
    obs_dims: tuple[int, ...]  # true per-agent sizes; arrays are padded to max(obs_dims)
    state_dim: int
    discrete: bool
    n_actions: int  # discrete: actions per agent; continuous: max action dims
    action_dims: tuple[int, ...]  # continuous: per-agent action sizes; discrete: all 1
    agent_types: tuple[str, ...] = ()  # unit or joint type of each agent, used by --grouping
    episode_limit: int = 0
    has_win: bool = True
    notes: str = ""

    @property
    def obs_dim(self) -> int:
        return max(self.obs_dims)


@dataclass
class Step:
    obs: np.ndarray
    state: np.ndarray
    avail: np.ndarray | None
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    won: np.ndarray
    final_obs: np.ndarray
    final_state: np.ndarray
    final_avail: np.ndarray | None
    restarts: int = 0  # crashed simulator processes restarted during this step
    crashed: np.ndarray | None = None  # [B] the episodes that ended because their simulator died

    @property
    def done(self) -> np.ndarray:
        return self.terminated | self.truncated


@dataclass
class Reset:
    obs: np.ndarray
    state: np.ndarray
    avail: np.ndarray | None


class BatchedEnv(Protocol):
    spec: EnvSpec
    n_envs: int

    def reset(self, seed: int) -> Reset: ...

    def step(self, actions: np.ndarray) -> Step: ...

    def get_state(self) -> object:
        """Everything needed to continue exactly where this batch is (for checkpoints), or None
        where that cannot be saved (StarCraft II): a resumed run then drops the episodes in flight
        and starts new ones with reset(), and set_state is never called."""

    def set_state(self, saved: object) -> None: ...

    def close(self) -> None: ...
