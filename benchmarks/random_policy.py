"""The random policy every env measurement uses, so two sides of a comparison pay the same for it.

Discrete: uniform over each agent's available actions (the mask is always given, stop is always
available). Continuous: uniform in [-1, 1] per action dimension (the adapter's convention).
"""

from __future__ import annotations

import numpy as np

from omdpg.envs.base import BatchedEnv


def random_actions(
    rng: np.random.Generator, avail: np.ndarray | None, shape: tuple[int, ...]
) -> np.ndarray:
    """avail [B, n, A] bool -> int [B, n]; without a mask, uniform floats of ``shape``."""
    if avail is None:
        return rng.uniform(-1.0, 1.0, shape).astype(np.float32)
    return (rng.random(avail.shape) * avail).argmax(-1)


class RandomDriver:
    """Steps a BatchedEnv with random actions; ``run(k)`` makes k batched steps, returns env
    steps."""

    def __init__(self, env: BatchedEnv, seed: int = 0):
        self.env, self.rng = env, np.random.default_rng(seed)
        s = env.spec
        self.shape = (env.n_envs, s.n_agents, s.n_actions)
        self.avail = env.reset(seed).avail

    def run(self, k: int) -> int:
        for _ in range(k):
            self.avail = self.env.step(random_actions(self.rng, self.avail, self.shape)).avail
        return k * self.env.n_envs
