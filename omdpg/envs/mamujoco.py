"""MaMuJoCo (Gymnasium-Robotics mamujoco_v1): B PettingZoo parallel envs stepped in a loop.

Continuous actions in [-1, 1] from the learner are rescaled to each joint's bounds. There is no
notion of winning, so ``won`` is always NaN and eval.csv leaves win_rate empty.
"""

from __future__ import annotations

import pickle
import warnings

import mujoco
import numpy as np

from omdpg.envs.base import EnvSpec, Reset, Step
from omdpg.envs.registry import MapInfo

RENDER_SIZE = (320, 240)  # width, height of recorded frames: a quarter of gymnasium's default cost

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from gymnasium_robotics import mamujoco_v1


def _limit(env):
    wrapper = env.single_agent_env
    while not hasattr(wrapper, "_elapsed_steps"):
        wrapper = wrapper.env
    return wrapper


def _make(scenario: str, conf: str, **render):
    if (scenario, conf) == ("Walker2d", "6x1"):
        # Gymnasium-Robotics has no Walker2d 6x1: one joint per agent, thigh -> leg -> foot per side
        # (environments.md 2.3). agent_conf is only a label when a factorization is given.
        parts, edges, globals_ = mamujoco_v1.get_parts_and_edges("Walker2d", "2x3")
        six = [(joint,) for part in parts for joint in reversed(part)]
        return mamujoco_v1.parallel_env(
            "Walker2d",
            "6x1",
            agent_obsk=1,
            agent_factorization={"partition": six, "edges": edges, "globals": globals_},
            **render,
        )
    return mamujoco_v1.parallel_env(scenario, conf, agent_obsk=1, **render)


class MamujocoEnv:
    def __init__(self, info: MapInfo, n_envs: int, render: bool = False):
        """``render``: env 0 draws RGB frames (``render(0)``) for recordings; MuJoCo renders
        headless with MUJOCO_GL=egl or osmesa."""
        self.n_envs = n_envs
        scenario, conf = info.name.split("-")
        frames = {"render_mode": "rgb_array", "width": RENDER_SIZE[0], "height": RENDER_SIZE[1]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._envs = [
                _make(scenario, conf, **(frames if render and k == 0 else {}))
                for k in range(n_envs)
            ]
        env = self._envs[0]
        env.reset(seed=0)  # state() needs initialised MuJoCo data
        self._agents = list(env.possible_agents)
        obs_dims = tuple(env.observation_space(a).shape[0] for a in self._agents)
        act_dims = tuple(env.action_space(a).shape[0] for a in self._agents)
        low = np.zeros((len(self._agents), max(act_dims)), np.float32)
        high = np.zeros_like(low)
        for i, a in enumerate(self._agents):
            low[i, : act_dims[i]] = env.action_space(a).low
            high[i, : act_dims[i]] = env.action_space(a).high
        self._low, self._high = low, high
        self.spec = EnvSpec(
            env="mamujoco",
            map=info.name,
            n_agents=len(self._agents),
            obs_dims=obs_dims,
            state_dim=int(env.state().shape[0]),
            discrete=False,
            n_actions=max(act_dims),
            action_dims=act_dims,
            agent_types=info.agent_types,
            episode_limit=info.episode_limit,
            has_win=False,
            notes=info.notes,
        )

    def _pack(self, obs: dict) -> np.ndarray:
        out = np.zeros((self.spec.n_agents, self.spec.obs_dim), np.float32)
        for i, a in enumerate(self._agents):
            out[i, : self.spec.obs_dims[i]] = obs[a]
        return out

    def reset(self, seed: int) -> Reset:
        obs = np.stack(
            [self._pack(e.reset(seed=seed * 1000 + k)[0]) for k, e in enumerate(self._envs)]
        )
        state = np.stack([e.state() for e in self._envs]).astype(np.float32)
        return Reset(obs=obs, state=state, avail=None)

    def step(self, actions: np.ndarray) -> Step:
        B, n = self.n_envs, self.spec.n_agents
        scaled = self._low + (np.clip(actions, -1.0, 1.0) + 1.0) * 0.5 * (self._high - self._low)
        obs = np.zeros((B, n, self.spec.obs_dim), np.float32)
        state = np.zeros((B, self.spec.state_dim), np.float32)
        reward = np.zeros(B, np.float32)
        term = np.zeros(B, bool)
        trunc = np.zeros(B, bool)
        f_obs, f_state = obs.copy(), state.copy()
        for k, env in enumerate(self._envs):
            act = {a: scaled[k, i, : self.spec.action_dims[i]] for i, a in enumerate(self._agents)}
            o, r, te, tr, _ = env.step(act)
            reward[k] = r[self._agents[0]]  # one team reward, copied to every agent
            term[k], trunc[k] = any(te.values()), any(tr.values())
            f_obs[k], f_state[k] = self._pack(o), env.state()
            if term[k] or trunc[k]:
                o, _ = env.reset()
            obs[k], state[k] = self._pack(o), env.state()
        won = np.full(B, np.nan, np.float32)
        return Step(
            obs=obs,
            state=state,
            avail=None,
            reward=reward,
            terminated=term,
            truncated=trunc,
            won=won,
            final_obs=f_obs,
            final_state=f_state,
            final_avail=None,
        )

    def render(self, k: int) -> np.ndarray:
        """Env k's current frame, uint8 [height, width, 3] (only env 0 of a ``render`` batch)."""
        return self._envs[k].render()

    def get_state(self):
        # The wrapper holds lambdas and cannot pickle; what moves an env on is its MuJoCo data, the
        # time-limit counter and the reset RNG, and those can.
        return pickle.dumps(
            [
                (
                    _limit(e)._elapsed_steps,
                    e.single_agent_env.unwrapped.data,
                    e.single_agent_env.unwrapped.np_random,
                )
                for e in self._envs
            ]
        )

    def set_state(self, saved) -> None:
        for e, (elapsed, data, rng) in zip(self._envs, pickle.loads(saved)):
            e.reset()  # gymnasium's order check refuses step() on an env never reset
            _limit(e)._elapsed_steps = elapsed
            inner = e.single_agent_env.unwrapped
            mujoco.mj_copyData(inner.data, inner.model, data)
            inner.np_random = rng

    def close(self) -> None:
        for e in self._envs:
            e.close()
