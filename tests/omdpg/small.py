"""Small OMDPG learners and the climbing game, for mechanism tests that take seconds."""

import numpy as np
import torch

from omdpg.config import ProtocolConfig
from omdpg.envs.base import EnvSpec
from omdpg.grouping import make_groups
from omdpg.learner import Transition
from omdpg.omdpg import OMDPG, OMDPGConfig

# Climbing game (Claus & Boutilier, AAAI 1998): optimum (0, 0) = 11, but action 0 risks -30 when the
# other agent miscoordinates, so learners that average over the partner's actions settle on the
# safe (2, 2) = 5 or (1, 2) = 6. Rewards are divided by 10.
CLIMBING = np.array([[11, -30, 0], [-30, 7, 6], [0, 0, 5]], np.float32) / 10
CLIMB_SPEC = EnvSpec(
    env="smax",
    map="climbing",
    n_agents=2,
    obs_dims=(1, 1),
    state_dim=1,
    discrete=True,
    n_actions=3,
    action_dims=(1, 1),
    agent_types=("row", "col"),
    episode_limit=1,
)


def small_config(sets: dict | None = None) -> OMDPGConfig:
    """SMAX defaults except small networks, a fast cadence (one update per batched step) and
    unscaled rewards."""
    cfg = OMDPG.default_config("smax")
    cfg.actor.hidden = cfg.gqc.hidden = (32, 32)
    cfg.train.warmup_steps, cfg.train.batch_size, cfg.train.buffer_size = 160, 64, 5000
    cfg.train.train_interval = cfg.train.policy_freq = 1
    cfg.train.tau = 0.05
    for key, value in (sets or {}).items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
    cfg.check()
    return cfg


def make_learner(
    spec: EnvSpec, sets: dict | None = None, seed: int = 0, grouping: str = "none", n_envs: int = 16
) -> OMDPG:
    torch.manual_seed(seed)
    np.random.seed(seed)
    return OMDPG(
        spec,
        make_groups(grouping, spec.agent_types, seed),
        small_config(sets),
        ProtocolConfig(gamma=0.95),  # SMAX's discount; the climbing game's payoffs are unscaled
        n_envs,
        torch.device("cpu"),
    )


def play_climbing(learner: OMDPG, steps: int) -> tuple[int, int]:
    """Explore and learn for ``steps`` batched one-step episodes; return the greedy joint action."""
    B = learner.n_envs
    obs, state = np.ones((B, 2, 1), np.float32), np.ones((B, 1), np.float32)
    avail, done = np.ones((B, 2, 3), bool), np.ones(B, bool)
    for _ in range(steps):
        a = learner.act(obs, state, avail, explore=True)
        learner.observe(
            Transition(
                obs, state, avail, a, CLIMBING[a[:, 0], a[:, 1]], done, ~done, obs, state, avail
            )
        )
    return tuple(int(x) for x in learner.act(obs[:1], state[:1], avail[:1], explore=False)[0])


def q_table(learner: OMDPG) -> torch.Tensor:
    """The critic's ensemble-mean Q of all 9 joint actions, [3, 3]."""
    eye = torch.eye(3)
    joint = torch.stack([torch.stack([eye[i], eye[j]]) for i in range(3) for j in range(3)])
    full = torch.ones(2, dtype=torch.bool)
    with torch.no_grad():
        q = learner.critic(torch.ones(1, 1), joint[None], full if learner.critic.prefix else None)
    return q.mean(0).reshape(3, 3)


# A small SMAX-like problem: 3 agents of 2 types, 5 actions with some unavailable, random states.
MIXED_SPEC = EnvSpec(
    env="smax",
    map="mixed",
    n_agents=3,
    obs_dims=(4, 4, 3),
    state_dim=6,
    discrete=True,
    n_actions=5,
    action_dims=(1, 1, 1),
    agent_types=("stalker", "zealot", "zealot"),
    episode_limit=5,
)


def fill(learner: OMDPG, rows: int, seed: int = 0) -> None:
    """Add ``rows`` batched steps of random data (states, availability, rewards, episode ends)."""
    rng = np.random.default_rng(seed)
    s, B = learner.spec, learner.n_envs

    def arrays():
        avail = rng.random((B, s.n_agents, s.n_actions)) < 0.6
        avail[..., 0] = True  # no-op, always available
        return (
            rng.normal(size=(B, s.n_agents, s.obs_dim)).astype(np.float32),
            rng.normal(size=(B, s.state_dim)).astype(np.float32) + 0.5,
            avail,
        )

    obs, state, avail = arrays()
    for _ in range(rows):
        actions = np.stack(
            [[rng.choice(np.flatnonzero(a)) for a in env] for env in avail]
        )  # available ones
        nxt = arrays()
        done = rng.random(B) < 0.2
        trunc = done & (rng.random(B) < 0.5)
        learner.buffer.add(
            Transition(
                obs,
                state,
                avail,
                actions,
                rng.normal(size=B).astype(np.float32),
                done & ~trunc,
                trunc,
                *nxt,
            )
        )
        obs, state, avail = nxt
