"""Synthetic problems for learner-only measurements: specs of any size and an env of random arrays.

The cost of an update depends on the sizes (agents, observation, state, actions, groups), not on
what the numbers mean, so scaling and memory are measured without a simulator. Sizes follow SMAX's
formulas (environments.md 1.4) or SMAC MMM2's (environments.md 3.4), so they are the sizes a real
map of that many agents has.
"""

from __future__ import annotations

import numpy as np

from omdpg.envs.base import EnvSpec, Reset, Step


def smax_like(n: int) -> EnvSpec:
    """n allies vs n enemies, one marauder in five (MMM2's mix), SMAX sizes: obs 13(2n-1)+10,
    state 12*2n, actions n+5."""
    types = tuple("marauder" if i < max(n // 5, 1) else "marine" for i in range(n))
    return EnvSpec(
        env="smax",
        map=f"synthetic_{n}v{n}",
        n_agents=n,
        obs_dims=(13 * (2 * n - 1) + 10,) * n,
        state_dim=24 * n,
        discrete=True,
        n_actions=n + 5,
        action_dims=(1,) * n,
        agent_types=types,
        episode_limit=100,
        has_win=True,
        notes="synthetic",
    )


def mmm2_like() -> EnvSpec:
    """SMAC MMM2's sizes: 10 agents, obs 176, state 322, 18 actions, episode limit 180."""
    types = ("marauder",) * 2 + ("marine",) * 7 + ("medivac",)
    return EnvSpec(
        env="smac",
        map="synthetic_MMM2",
        n_agents=10,
        obs_dims=(176,) * 10,
        state_dim=322,
        discrete=True,
        n_actions=18,
        action_dims=(1,) * 10,
        agent_types=types,
        episode_limit=180,
        has_win=True,
        notes="synthetic",
    )


class SyntheticEnv:
    """The BatchedEnv contract filled with random numbers; an episode ends with probability
    1 / episode_limit per step, half of them by the time limit."""

    def __init__(self, spec: EnvSpec, n_envs: int, seed: int = 0):
        self.spec, self.n_envs = spec, n_envs
        self.rng = np.random.default_rng(seed)

    def _arrays(self):
        s, B, r = self.spec, self.n_envs, self.rng
        obs = r.standard_normal((B, s.n_agents, s.obs_dim), dtype=np.float32)
        state = r.standard_normal((B, s.state_dim), dtype=np.float32)
        avail = None
        if s.discrete:
            avail = r.random((B, s.n_agents, s.n_actions)) < 0.7
            avail[..., 4 % s.n_actions] = True  # stop is always available in SMAX/SMAC
        return obs, state, avail

    def reset(self, seed: int) -> Reset:
        return Reset(*self._arrays())

    def step(self, actions: np.ndarray) -> Step:
        obs, state, avail = self._arrays()
        done = self.rng.random(self.n_envs) < 1.0 / max(self.spec.episode_limit, 1)
        truncated = done & (self.rng.random(self.n_envs) < 0.5)
        return Step(
            obs=obs,
            state=state,
            avail=avail,
            reward=self.rng.random(self.n_envs, dtype=np.float32),
            terminated=done & ~truncated,
            truncated=truncated,
            won=np.where(done & ~truncated, 1.0, np.nan).astype(np.float32),
            final_obs=obs,
            final_state=state,
            final_avail=avail,
        )

    def get_state(self):
        return self.rng.bit_generator.state

    def set_state(self, saved) -> None:
        self.rng.bit_generator.state = saved

    def close(self) -> None:
        pass
