"""The simulators without omdpg.envs: the baselines the adapters' overhead is measured against.

- ``BareSmax``: HeuristicEnemySMAX, as ``omdpg.envs.smax.heuristic_enemy_env`` builds it (the
  medivac subclass on maps with medivacs), driven the way any PyTorch harness must drive it (the
  fair baseline, environments.md 1.7): one jitted vmapped ``env.step`` (auto-reset included) per
  batched step, numpy actions in, obs / state / avail / reward / done copied to host as writable
  arrays (torch cannot wrap jax's read-only buffers), by the cheapest route measured:
  ``np.array`` per output (~3 us an array at B=1) where ``jax.device_get`` costs ~20 us an array.
- ``ScannedSmax``: the same env rolled out inside ``lax.scan`` with random actions drawn in JAX;
  nothing leaves the device, so this is the upper bound no host-driven harness can reach.
- ``BareMamujoco``: B PettingZoo ``parallel_env``s stepped in a loop: step, ``state()``, reset at
  the episode end, and nothing else (no padding, no rescaling, no final-observation copies).

Each exposes ``spec``, ``n_envs``, ``reset(seed)`` and ``step(actions)`` returning something with
``avail``, so ``benchmarks.random_policy.RandomDriver`` drives it exactly like an adapter.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from omdpg.envs.base import EnvSpec


class Arrays(NamedTuple):
    obs: object
    state: object
    avail: np.ndarray | None
    reward: object = None
    done: object = None


class BareSmax:
    def __init__(self, spec: EnvSpec, n_envs: int):
        import jax
        import jax.numpy as jnp

        from omdpg.envs.smax import heuristic_enemy_env

        self.spec, self.n_envs = spec, n_envs
        env = heuristic_enemy_env(spec.map, spec.episode_limit)
        agents = env.agents

        def arrays(obs, state):
            avail = env.get_avail_actions(state)
            return (
                jnp.stack([obs[a] for a in agents]),
                obs["world_state"],
                jnp.stack([avail[a] for a in agents]),
            )

        def reset(key):
            key, sub = jax.random.split(key)
            obs, state = env.reset(sub)
            return (key, state) + arrays(obs, state)

        def step(key, state, actions):
            key, sub = jax.random.split(key)
            obs, state, reward, dones, _ = env.step(sub, state, dict(zip(agents, actions)))
            return (key, state) + arrays(obs, state) + (reward[agents[0]], dones["__all__"])

        self._jax = jax
        self._reset, self._step = jax.jit(jax.vmap(reset)), jax.jit(jax.vmap(step))
        self._key = self._state = None

    def reset(self, seed: int) -> Arrays:
        keys = self._jax.random.split(self._jax.random.PRNGKey(seed), self.n_envs)
        self._key, self._state, *out = self._reset(keys)
        return Arrays(*(np.array(a) for a in out))

    def step(self, actions: np.ndarray) -> Arrays:
        self._key, self._state, *out = self._step(self._key, self._state, actions.astype(np.int32))
        return Arrays(*(np.array(a) for a in out))


class ScannedSmax:
    """``run(k)``: k batched random steps in one jitted call (compiled once per k)."""

    def __init__(self, spec: EnvSpec, n_envs: int, seed: int = 0):
        import jax
        import jax.numpy as jnp

        from omdpg.envs.smax import heuristic_enemy_env

        self.n_envs = n_envs
        env = heuristic_enemy_env(spec.map, spec.episode_limit)
        agents = env.agents

        def avail_of(state):
            avail = env.get_avail_actions(state)
            return jnp.stack([avail[a] for a in agents]).astype(bool)

        def rollout(key, k):
            key, sub = jax.random.split(key)
            _, state = env.reset(sub)
            # reset() leaves a weak-typed leaf; make it strong so the scan carry type is stable
            state = jax.tree.map(lambda x: x.astype(x.dtype), state)

            def body(carry, _):
                key, state, avail, checksum = carry
                key, k_act, k_step = jax.random.split(key, 3)
                actions = jax.random.categorical(k_act, jnp.where(avail, 0.0, -jnp.inf))
                obs, state, reward, _, _ = env.step(k_step, state, dict(zip(agents, actions)))
                # Consume the observations, or XLA drops their computation and flatters the bound.
                checksum = (
                    checksum + reward[agents[0]] + obs[agents[0]].sum() + obs["world_state"].sum()
                )
                return (key, state, avail_of(state), checksum), None

            carry, _ = jax.lax.scan(
                body, (key, state, avail_of(state), jnp.float32(0)), None, length=k
            )
            return carry[-1]

        self._rollout = jax.jit(jax.vmap(rollout, in_axes=(0, None)), static_argnums=1)
        self._keys = jax.random.split(jax.random.PRNGKey(seed), n_envs)

    def run(self, k: int) -> int:
        self._rollout(self._keys, k).block_until_ready()
        return k * self.n_envs


class BareMamujoco:
    def __init__(self, spec: EnvSpec, n_envs: int):
        from gymnasium_robotics import mamujoco_v1

        scenario, conf = spec.map.split("-")
        self.spec, self.n_envs = spec, n_envs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._envs = [
                mamujoco_v1.parallel_env(scenario, conf, agent_obsk=1) for _ in range(n_envs)
            ]
        self._agents = self._envs[0].possible_agents

    def reset(self, seed: int) -> Arrays:
        obs = [e.reset(seed=seed * 1000 + k)[0] for k, e in enumerate(self._envs)]
        return Arrays(obs, [e.state() for e in self._envs], None)

    def step(self, actions: np.ndarray) -> Arrays:
        dims = self.spec.action_dims
        obs, states = [], []
        for k, env in enumerate(self._envs):
            o, _, te, tr, _ = env.step(
                {a: actions[k, i, : dims[i]] for i, a in enumerate(self._agents)}
            )
            states.append(env.state())
            if any(te.values()) or any(tr.values()):
                o, _ = env.reset()
            obs.append(o)
        return Arrays(obs, states, None)
