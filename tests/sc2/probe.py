"""Checks of the StarCraft II path that need one process each (smac and smacv2 cannot share one):
``python -m tests.sc2.probe CHECK ENV MAP`` asserts and prints one JSON line of what it saw.

- crash: one game SIGKILLed mid-episode; its step is a counted truncation with reward 0, the
  relaunched game plays on, and exactly the env's games are left running.
- eval: two evaluations of 4 episodes in 2 eval envs keep the same 2 game processes.
- throughput: env steps per second of 8 games stepped with random available actions, launches
  excluded: the games' rate `omdpg plan` uses for StarCraft II hours.

tests/sc2 runs them on StarCraft II; tests/envs on the stand-in (fake_sc2.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import psutil

from omdpg.envs import make_env
from omdpg.envs.checker import random_actions
from omdpg.evaluation import evaluate
from tests.conftest import ROOT, RandomLearner


def games() -> list[psutil.Process]:
    """This process's game processes (pysc2 starts SC2_x64 as a child), oldest first."""
    alive = [c for c in psutil.Process().children() if c.status() != psutil.STATUS_ZOMBIE]
    return sorted(alive, key=lambda c: (c.create_time(), c.pid))


def crash(env_name: str, map_name: str) -> dict:
    env, rng = make_env(env_name, map_name, 2), np.random.default_rng(0)
    step = env.reset(seed=0)
    for _ in range(5):
        step = env.step(random_actions(env, step.avail, rng))
    assert not step.done.any(), "an episode ended within 5 steps: kill a game later"
    killed = games()[0]
    killed.send_signal(signal.SIGKILL)
    while killed.is_running() and killed.status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.05)
    step = env.step(random_actions(env, step.avail, rng))
    (slot,) = np.flatnonzero(step.truncated)
    assert step.restarts == 1 and not step.terminated[slot] and step.reward[slot] == 0, step
    for _ in range(20):
        step = env.step(random_actions(env, step.avail, rng))
    running = len(games())
    assert running == 2, f"{running} game processes after a crash in 2 envs"
    env.close()
    return {"restarts": 1, "slot": int(slot), "games_running": running}


def evaluations(env_name: str, map_name: str) -> dict:
    env = make_env(env_name, map_name, 2)
    learner = RandomLearner(env, 0)
    first = evaluate(env, learner, 4, seed=1).episodes
    launched = [g.pid for g in games()]
    second = evaluate(env, learner, 4, seed=1).episodes
    kept = [g.pid for g in games()]
    assert len(launched) == 2 and kept == launched, (launched, kept)
    env.close()
    return {"episodes": len(first) + len(second), "game_pids": kept}


def throughput(env_name: str, map_name: str, n_envs: int = 8, batched_steps: int = 250) -> dict:
    env, rng = make_env(env_name, map_name, n_envs), np.random.default_rng(0)
    step = env.reset(seed=0)  # launches the games: not timed
    episodes = restarts = 0
    start = time.perf_counter()
    for _ in range(batched_steps):
        step = env.step(random_actions(env, step.avail, rng))
        episodes, restarts = episodes + int(step.done.sum()), restarts + step.restarts
    seconds = time.perf_counter() - start
    env.close()
    return {
        "steps_per_second": n_envs * batched_steps / seconds,
        "n_envs": n_envs,
        "env_steps": n_envs * batched_steps,
        "seconds": round(seconds, 2),
        "episodes": episodes,
        "restarts": restarts,
    }


CHECKS = {"crash": crash, "eval": evaluations, "throughput": throughput}


def run(check: str, env_name: str, map_name: str, stand_in: bool = False) -> dict:
    """A check in its own process, on StarCraft II or on the stand-in; what it saw."""
    module = ["tests.envs.fake_sc2", "tests.sc2.probe"] if stand_in else ["tests.sc2.probe"]
    command = [sys.executable, "-m", *module, check, env_name, map_name]
    r = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    check, env_name, map_name = sys.argv[1:4]
    print(json.dumps(CHECKS[check](env_name, map_name)))
