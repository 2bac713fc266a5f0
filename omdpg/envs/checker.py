"""An environment checker for the batched contract (docs/design.md, contract 3), run by the tests
over every backend that runs here; run it on a new adapter before training on it.

Like Stable-Baselines3's ``common/env_checker.py`` ``check_env``, it steps the env with random
valid actions and checks what comes back against what the env declares: the spec against array
shapes and dtypes and against the backend's record in the registry, at least one available action
per agent, ``won`` NaN where no episode ended, final observations, and an exact replay after
``set_state(get_state())``. Every failure is an ``EnvCheckError`` naming the check.
"""

from __future__ import annotations

import numpy as np

from omdpg.envs.base import BatchedEnv, Reset, Step
from omdpg.envs.registry import backend, lookup


class EnvCheckError(AssertionError):
    pass


def _require(ok, what: str) -> None:
    if not bool(ok):
        raise EnvCheckError(what)


def _array(x, name: str, shape: tuple, dtype) -> None:
    _require(isinstance(x, np.ndarray), f"{name}: expected a numpy array, got {type(x).__name__}")
    _require(x.shape == shape, f"{name}: shape {x.shape}, the spec says {shape}")
    _require(x.dtype == dtype, f"{name}: dtype {x.dtype}, expected {np.dtype(dtype)}")


def check_spec(env: BatchedEnv) -> None:
    """The spec agrees with the registry: its backend's action space and win, its map's agents."""
    s = env.spec
    b, info = backend(s.env), lookup(s.env, s.map)
    _require(s.discrete == b.discrete, f"spec.discrete={s.discrete}, backend says {b.discrete}")
    _require(s.has_win == b.has_win, f"spec.has_win={s.has_win}, backend says {b.has_win}")
    _require(s.agent_types == info.agent_types, "spec.agent_types differ from the map's")
    _require(s.n_agents == len(s.obs_dims) == len(s.action_dims), "per-agent sizes vs n_agents")
    _require(s.episode_limit > 0, "episode_limit must be positive")
    if not s.discrete:
        _require(max(s.action_dims) == s.n_actions, "continuous: n_actions = max(action_dims)")


def check_observation(env: BatchedEnv, out: Reset | Step, where: str) -> None:
    """Shapes, dtypes, zero padding of short observations, and an available action per agent."""
    s, B = env.spec, env.n_envs
    _array(out.obs, f"{where} obs", (B, s.n_agents, s.obs_dim), np.float32)
    _array(out.state, f"{where} state", (B, s.state_dim), np.float32)
    for i, size in enumerate(s.obs_dims):
        _require(not out.obs[:, i, size:].any(), f"{where} obs: agent {i} is not zero past {size}")
    if s.discrete:
        _array(out.avail, f"{where} avail", (B, s.n_agents, s.n_actions), np.bool_)
        _require(out.avail.any(-1).all(), f"{where} avail: an agent has no available action")
    else:
        _require(out.avail is None, f"{where} avail: must be None for continuous actions")


def check_step(env: BatchedEnv, step: Step, where: str) -> None:
    """One step's arrays, ``won`` against ``done``, and final observations where nothing ended."""
    B = env.n_envs
    check_observation(env, step, where)
    _array(step.reward, f"{where} reward", (B,), np.float32)
    _require(np.isfinite(step.reward).all(), f"{where} reward: not finite")
    for name in ("terminated", "truncated"):
        _array(getattr(step, name), f"{where} {name}", (B,), np.bool_)
    _array(step.won, f"{where} won", (B,), np.float32)
    _require(np.isnan(step.won[~step.done]).all(), f"{where} won: not NaN where no episode ended")
    ended = step.won[step.done]
    if env.spec.has_win:
        _require(np.isin(ended, (0.0, 1.0)).all(), f"{where} won: not 0 or 1 where one ended")
    else:
        _require(np.isnan(ended).all(), f"{where} won: not NaN on a backend without a win")
    final = Reset(step.final_obs, step.final_state, step.final_avail)
    check_observation(env, final, f"{where} final")
    live = ~step.done  # an episode that goes on ends nowhere: its final observation is the next one
    _require(np.array_equal(step.final_obs[live], step.obs[live]), f"{where} final_obs differ")
    _require(np.array_equal(step.final_state[live], step.state[live]), f"{where} final_state")
    if env.spec.discrete:
        _require(np.array_equal(step.final_avail[live], step.avail[live]), f"{where} final_avail")


def random_actions(env: BatchedEnv, avail: np.ndarray | None, rng: np.random.Generator):
    """Uniform over each agent's available actions (discrete) or over [-1, 1] (continuous)."""
    s = env.spec
    if s.discrete:
        scores = np.where(avail, rng.random(avail.shape), -1.0)
        return scores.argmax(-1).astype(np.int64)
    return rng.uniform(-1.0, 1.0, (env.n_envs, s.n_agents, s.n_actions)).astype(np.float32)


def _same(a: Step, b: Step) -> bool:
    fields = ("obs", "state", "avail", "reward", "terminated", "truncated", "won", "final_obs")
    return all(
        np.array_equal(getattr(a, f), getattr(b, f), equal_nan=getattr(a, f).dtype.kind == "f")
        if getattr(a, f) is not None
        else getattr(b, f) is None
        for f in fields
    )


def check_env(env: BatchedEnv, steps: int, seed: int = 0, replay: int = 5) -> int:
    """Step ``env`` ``steps`` times with random valid actions, checking every step; then check that
    ``set_state(get_state())`` replays ``replay`` steps exactly, where get_state() is not None.
    Returns the episodes that ended."""
    check_spec(env)
    rng = np.random.default_rng(seed)
    first = env.reset(seed)
    check_observation(env, first, "reset")
    avail, ended = first.avail, 0
    for t in range(steps):
        step = env.step(random_actions(env, avail, rng))
        check_step(env, step, f"step {t}")
        avail, ended = step.avail, ended + int(step.done.sum())
    saved = env.get_state()
    if saved is None:  # the backend cannot save its episodes (StarCraft II): nothing to replay
        return ended
    actions = [random_actions(env, avail, rng)]
    runs = []
    for _ in range(2):
        env.set_state(saved)
        run = []
        for k in range(replay):
            run.append(env.step(actions[k]))
            if len(actions) == k + 1:
                actions.append(random_actions(env, run[-1].avail, rng))
        runs.append(run)
    _require(
        all(_same(a, b) for a, b in zip(*runs)),
        "set_state(get_state()) does not replay the same steps",
    )
    return ended
