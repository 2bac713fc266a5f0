"""The fixed evaluation protocol: greedy episodes in separate envs, every episode's outcome kept.

Every evaluation resets its envs with the same seeds, derived from the run seed, so evaluations
compare policies on the same start states, a resumed run evaluates exactly as an uninterrupted one,
and training RNGs are never touched. On StarCraft II only in part (omdpg/envs/smac.py): each eval
env is one game, launched at the first evaluation and seeded then; a reset restarts the episode in
the running game, whose RNG runs on. A SMAC v1 map starts every episode from the map's own state
and SMACv2 draws the same scenarios per seed, but the game's randomness differs between
evaluations, and after a resume the relaunched games start their RNG streams again.

An episode whose simulator crashed (``Step.crashed``: StarCraft II) is no outcome of the policy,
so it is not scored: its env plays a new episode in its place, up to ``MAX_CRASHES_PER_EPISODE``
times, and the restarts are returned for the run's ``restarts`` count.

The absolute metric (Gorsane et al. 2022, "Towards a Standardised Performance Evaluation Protocol
for Cooperative MARL", section 5; marl-eval and Mava report it): the learner of the best evaluation
is kept and, at the end, plays ``eval.absolute_multiple`` times ``eval.episodes`` episodes from
start states that no training evaluation used, so its selection does not flatter it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from omdpg.envs.base import BatchedEnv
from omdpg.envs.registry import backend
from omdpg.learner import Learner

# Evaluation seeds: the periodic evaluations' and the held-out ones of the absolute metric and of
# `omdpg eval` (offsets of the run seed).
PROTOCOL_SEED_OFFSET = 10_000
HELD_OUT_SEED_OFFSET = 20_000
MAX_CRASHES_PER_EPISODE = 3  # a game that dies this often in one episode is a broken installation


class Played(NamedTuple):
    episodes: list[dict]  # one row per scored episode: episode, won, return, length
    restarts: int  # simulator processes restarted meanwhile (crashed episodes played again)


def eval_env_count(env: str, episodes: int) -> int:
    """How many envs evaluate ``episodes`` episodes on backend ``env``: one per episode, up to the
    backend's ``max_eval_envs`` (on StarCraft II, 32 episodes then take 4 passes of 8)."""
    return min(episodes, backend(env).max_eval_envs)


def score_key(has_win: bool) -> str:
    """The evaluation score: win rate where the env has wins (SMAC, SMAX), else episode return."""
    return "win_rate" if has_win else "return_mean"


def evaluate(env: BatchedEnv, learner: Learner, episodes: int, seed: int, recorder=None) -> Played:
    """Run ``episodes`` greedy episodes (the first episode of each env, in passes of env.n_envs;
    after a crash, the env's next one).

    A ``recorder`` (omdpg/recording.py) sees episode 0, env 0 of the first pass: ``before_step(env,
    actions)`` before each of its steps and ``finish(env)`` once it has ended.
    """
    out: list[dict] = []
    restarts = 0
    for p in range(-(-episodes // env.n_envs)):
        first = env.reset(seed * 7919 + p)
        obs, state, avail = first.obs, first.state, first.avail
        want = min(env.n_envs, episodes - len(out))
        ret = np.zeros(env.n_envs)
        length = np.zeros(env.n_envs, int)
        finished = np.zeros(env.n_envs, bool)
        won = np.full(env.n_envs, np.nan)
        crashes = np.zeros(env.n_envs, int)
        while not finished[:want].all():
            with torch.no_grad():
                actions = learner.act(obs, state, avail, explore=False)
            recording = recorder is not None and p == 0 and not finished[0]
            if recording:
                recorder.before_step(env, actions)
            step = env.step(actions)
            restarts += step.restarts
            live = ~finished
            ret[live] += step.reward[live]
            length[live] += 1
            if step.crashed is not None and (crashed := live & step.crashed).any():
                crashes[crashed] += 1
                if crashes.max() > MAX_CRASHES_PER_EPISODE:
                    raise RuntimeError(
                        f"the simulator crashed {crashes.max()} times in one evaluation episode: "
                        "check the StarCraft II installation (`make test-sc2`)"
                    )
                ret[crashed], length[crashed] = 0.0, 0  # its env has started a new episode
                live = live & ~crashed
            ended = live & step.done
            won[ended] = step.won[ended]
            finished |= ended
            if recording and finished[0]:
                recorder.finish(env)
            obs, state, avail = step.obs, step.state, step.avail
        for k in range(want):
            out.append(
                {
                    "episode": len(out),
                    "won": None if np.isnan(won[k]) else int(won[k]),
                    "return": float(ret[k]),
                    "length": int(length[k]),
                }
            )
    return Played(out, restarts)


def summarise(episodes: list[dict], has_win: bool) -> dict:
    returns = np.array([e["return"] for e in episodes])
    return {
        "n_episodes": len(episodes),
        "win_rate": float(np.mean([e["won"] for e in episodes])) if has_win else None,
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
    }


class BestPolicy:
    """The policy of the best evaluation so far; ties go to the later one, as Mava keeps it
    (``max_episode_return <= episode_return`` in its systems), the more trained of equals."""

    def __init__(self):
        self.score, self.env_steps, self.policy = -np.inf, None, None

    def offer(self, learner: Learner, score: float, env_steps: int) -> None:
        if score >= self.score:
            self.score, self.env_steps = score, env_steps
            self.policy = learner.policy_state_dict()

    def state_dict(self) -> dict:
        return {"score": self.score, "env_steps": self.env_steps, "policy": self.policy}

    def load_state_dict(self, saved: dict) -> None:
        self.score, self.env_steps = saved["score"], saved["env_steps"]
        self.policy = saved["policy"]
