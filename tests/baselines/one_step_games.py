"""Cooperative one-step games with known optima, for learning checks that take seconds.

Every episode is one step (terminated), so a learner that maximises the reward must learn the
optimal joint action for each observation; nothing about the game is hidden from the agents.
"""

import numpy as np

from omdpg.envs.base import EnvSpec
from omdpg.learner import Transition

# Both agents see the same one-hot cue k of 3; each earns 1 for playing k, and 1 more if both do.
CUE = EnvSpec(
    env="smax",
    map="cue",
    n_agents=2,
    obs_dims=(3, 3),
    state_dim=3,
    discrete=True,
    n_actions=3,
    action_dims=(1, 1),
    agent_types=("a", "b"),
    episode_limit=1,
)

# Agent i sees x_i, one of 5 levels in [-0.8, 0.8], one-hot (actor inputs are layer-normalised, so
# a scalar would lose its magnitude); the team earns -(a_1 + a_2 - (x_1 + x_2) / 2)^2, so the agents
# must split the target between them: a_i = x_i / 2 (+-c) is optimal.
LEVELS = np.linspace(-0.8, 0.8, 5, dtype=np.float32)
SPLIT = EnvSpec(
    env="mamujoco",
    map="split",
    n_agents=2,
    obs_dims=(5, 5),
    state_dim=2,
    discrete=False,
    n_actions=1,
    action_dims=(1, 1),
    agent_types=("a", "b"),
    episode_limit=1,
    has_win=False,
)


def cue_round(rng, batch: int):
    k = rng.integers(0, 3, batch)
    onehot = np.eye(3, dtype=np.float32)[k]
    return np.repeat(onehot[:, None], 2, axis=1), onehot, np.ones((batch, 2, 3), bool), k


def cue_reward(k, actions):
    hit = actions == k[:, None]
    return (hit.sum(1) + hit.all(1)).astype(np.float32)


def split_round(rng, batch: int):
    level = rng.integers(0, 5, (batch, 2))
    x = LEVELS[level]
    return np.eye(5, dtype=np.float32)[level], x, None, x


def split_reward(x, actions):
    return -((actions[..., 0].sum(1) - x.sum(1) / 2) ** 2).astype(np.float32)


def play(learner, round_fn, reward_fn, batches: int, batch: int, seed: int = 0) -> None:
    """Explore and learn for ``batches`` batched one-step episodes."""
    rng = np.random.default_rng(seed)
    for _ in range(batches):
        obs, state, avail, hidden = round_fn(rng, batch)
        actions = learner.act(obs, state, avail, explore=True)
        done = np.ones(batch, bool)
        learner.observe(
            Transition(
                obs=obs,
                state=state,
                avail=avail,
                actions=actions,
                reward=reward_fn(hidden, actions),
                terminated=done,
                truncated=~done,
                next_obs=obs,
                next_state=state,
                next_avail=avail,
            )
        )


def greedy_reward(learner, round_fn, reward_fn, batch: int = 512, seed: int = 1) -> float:
    obs, state, avail, hidden = round_fn(np.random.default_rng(seed), batch)
    return float(reward_fn(hidden, learner.act(obs, state, avail, explore=False)).mean())
