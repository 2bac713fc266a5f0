"""SMAX (JaxMARL): a vmapped batch of HeuristicEnemySMAX envs, one jitted step for the whole batch.

SMAX is a StarCraft-like simulator with no StarCraft II: every result on it is a stand-in and is
labelled as one. Custom scenarios (6m2m_15m, mm2_no_medivac, MMM, MMM2) are registered here; maps
with medivacs run on ``omdpg.envs.medivac``, SMAX with a healing unit added.

An episode that reaches the time limit lasts episode_limit + 1 steps (SMAC's lasts episode_limit):
jaxmarl's ``step_env`` asks ``is_terminal`` before it increments the step count. Kept as jaxmarl
has it, so that SMAX results compare with jaxmarl's own.
"""

from __future__ import annotations

import os

import numpy as np

from omdpg.envs.base import EnvSpec, Reset, Step
from omdpg.envs.registry import MapInfo

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax

# Compiling a vmapped SMAX step takes ~10 s per map and batch size; keep compiled programs on disk
# so later runs, evaluation envs and tests start in about a second.
jax.config.update(
    "jax_compilation_cache_dir",
    os.environ.get(
        "OMDPG_JAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "omdpg", "jax")
    ),
)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
import jax.numpy as jnp  # noqa: E402
from jaxmarl.environments.smax import (  # noqa: E402
    HeuristicEnemySMAX,
    Scenario,
    map_name_to_scenario,
    register_scenario,
)

from omdpg.envs.medivac import MEDIVAC, MedivacHeuristicEnemySMAX, fighting  # noqa: E402

MARINE, MARAUDER = 0, 1  # SMAX unit type indices (environments.md 1.2)


def _scenario(allies: list[int], enemies: list[int]) -> Scenario:
    # SMAX keeps this order for agent ids: allies first, in the order given.
    return Scenario(
        unit_types=jnp.array(allies + enemies, dtype=jnp.uint8),
        num_allies=len(allies),
        num_enemies=len(enemies),
        smacv2_position_generation=False,
        smacv2_unit_type_generation=False,
    )


# Our interpretation of the paper's "6m2m_15m": 6 marines + 2 marauders vs 15 marines.
register_scenario("6m2m_15m", _scenario([MARINE] * 6 + [MARAUDER] * 2, [MARINE] * 15))
# MMM2 without medivacs (SMAX cannot heal): 2 marauders + 7 marines vs 3 marauders + 8 marines.
register_scenario(
    "mm2_no_medivac", _scenario([MARAUDER] * 2 + [MARINE] * 7, [MARAUDER] * 3 + [MARINE] * 8)
)
# SMAC's MMM2 and MMM with healing medivacs, in SMAC's ally order (marauders, marines, medivac).
_MMM = [MARAUDER] * 2 + [MARINE] * 7 + [MEDIVAC]
register_scenario("MMM2", _scenario(_MMM, [MARAUDER] * 3 + [MARINE] * 8 + [MEDIVAC]))
register_scenario("MMM", _scenario(_MMM, _MMM))


def heuristic_enemy_env(name: str, max_steps: int) -> HeuristicEnemySMAX:
    """The map's scenario against SMAX's scripted enemy; on ``MedivacSMAX`` if it has medivacs."""
    scenario = map_name_to_scenario(name)
    medivacs = bool((np.asarray(scenario.unit_types) == MEDIVAC).any())
    cls = MedivacHeuristicEnemySMAX if medivacs else HeuristicEnemySMAX
    return cls(scenario=scenario, max_steps=max_steps)


def env_arrays(env: HeuristicEnemySMAX, obs: dict, state) -> tuple:
    """One env's observations [n, obs_dim], world state and availability [n, n_actions] as the
    learners see them."""
    o = jnp.stack([obs[a] for a in env.agents]).astype(jnp.float32)
    avail = env.get_avail_actions(state)
    m = jnp.stack([avail[a] for a in env.agents]).astype(bool)
    return o, obs["world_state"].astype(jnp.float32), m


def _host(arrays):
    """Writable host copies: torch refuses to wrap the read-only buffers jax hands out. np.array
    per array copies once; jax.device_get first costs ~20 us an array (benchmarks/env_overhead)."""
    return tuple(np.array(a) for a in arrays)


class SmaxEnv:
    def __init__(self, info: MapInfo, n_envs: int):
        self.n_envs = n_envs
        self._env = env = heuristic_enemy_env(info.name, info.episode_limit)
        n, n_allies = env.num_agents, env.num_allies
        obs_dim = env.observation_spaces[env.agents[0]].shape[0]
        self.spec = EnvSpec(
            env="smax",
            map=info.name,
            n_agents=n,
            obs_dims=(obs_dim,) * n,
            state_dim=int(env._env.state_size)
            if hasattr(env._env, "state_size")
            else 12 * (n_allies + env.num_enemies),
            discrete=True,
            n_actions=int(env.action_spaces[env.agents[0]].n),
            action_dims=(1,) * n,
            agent_types=info.agent_types,
            episode_limit=info.episode_limit,
            has_win=True,
            notes=info.notes,
        )
        self._reset_batch = jax.jit(jax.vmap(self._reset_one))
        self._step_batch = jax.jit(jax.vmap(self._step_one))
        self._key = self._state = None

    # --- pure functions of one environment, vmapped and jitted above -------------------------

    def _reset_one(self, key):
        key, sub = jax.random.split(key)
        obs, state = self._env.reset(sub)
        # reset() leaves a weak-typed leaf; cast so the jitted step compiles once
        # (environments.md 1.6)
        state = jax.tree.map(lambda x: x.astype(x.dtype), state)
        return (key, state) + env_arrays(self._env, obs, state)

    def _step_one(self, key, state, actions):
        env = self._env
        key, k_step, k_reset = jax.random.split(key, 3)
        act = {a: actions[i] for i, a in enumerate(env.agents)}
        obs, st, rewards, dones, _ = env.step_env(k_step, state, act)
        done = dones["__all__"]
        alive = fighting(st.state)  # a team with only medivacs left has lost (SMAC)
        allies_dead = jnp.all(~alive[: env.num_allies])
        enemies_dead = jnp.all(~alive[env.num_allies :])
        # A win is the event SMAX pays won_battle_bonus for (the log wrapper's reward >= 1 rule).
        won = enemies_dead & ~allies_dead
        terminated = done & (allies_dead | enemies_dead)
        truncated = done & ~terminated
        f_obs, f_state, f_avail = env_arrays(self._env, obs, st)
        obs_r, st_r = env.reset(k_reset)
        st_r = jax.tree.map(lambda x: x.astype(x.dtype), st_r)
        o_r, s_r, m_r = env_arrays(self._env, obs_r, st_r)
        pick = lambda r, s: jnp.where(done, r, s)  # noqa: E731
        nxt = jax.tree.map(pick, st_r, st)
        reward = rewards[env.agents[0]].astype(jnp.float32)  # one team reward, same for all allies
        return (
            key,
            nxt,
            pick(o_r, f_obs),
            pick(s_r, f_state),
            pick(m_r, f_avail),
            reward,
            terminated,
            truncated,
            jnp.where(done, won.astype(jnp.float32), jnp.nan),
            f_obs,
            f_state,
            f_avail,
        )

    # --- the batched contract -------------------------------------------------------------------
    def reset(self, seed: int) -> Reset:
        keys = jax.random.split(jax.random.PRNGKey(seed), self.n_envs)
        self._key, self._state, obs, state, avail = self._reset_batch(keys)
        obs, state, avail = _host((obs, state, avail))
        return Reset(obs=obs, state=state, avail=avail)

    def step(self, actions: np.ndarray) -> Step:
        # A numpy argument is moved to the device by jit's dispatch; jnp.asarray would cost ~0.2 ms.
        out = self._step_batch(self._key, self._state, np.asarray(actions, dtype=np.int32))
        self._key, self._state = out[0], out[1]
        (obs, state, avail, reward, term, trunc, won, f_obs, f_state, f_avail) = _host(out[2:])
        return Step(
            obs=obs,
            state=state,
            avail=avail,
            reward=reward,
            terminated=term,
            truncated=trunc,
            won=won,
            final_obs=f_obs,
            final_state=f_state,
            final_avail=f_avail,
        )

    def step_inputs(self, k: int):
        """(key, jaxmarl state) that env k's next step passes to ``step_env``: recordings replay the
        step's world ticks from them exactly (omdpg/recording.py)."""
        key = jax.random.split(self._key[k], 3)[1]  # _step_one's k_step
        return key, jax.tree.map(lambda x: x[k], self._state)

    @property
    def simulator(self) -> HeuristicEnemySMAX:
        return self._env

    def get_state(self):
        return jax.device_get((self._key, self._state))

    def set_state(self, saved) -> None:
        self._key, self._state = jax.tree.map(jnp.asarray, saved)

    def close(self) -> None:
        pass
