"""SMAC v1 (oxwhirl/smac) and SMACv2 (oxwhirl/smacv2) on StarCraft II: B game processes in a loop.

The two packages register the same map names with pysc2 and cannot share a process, so each is
imported lazily, only in the process that uses it. A crashed or timed-out game is closed and
relaunched, the episode counted as ended (not won), and the restart counted in progress.csv.
"""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path

import numpy as np

from omdpg.envs.base import EnvSpec, Reset, Step
from omdpg.envs.registry import MapInfo
from omdpg.envs.starcraft import FIX, missing_reason
from omdpg.errors import UserError

MAX_LAUNCH_TRIES = 3

# SMACv2's published scenario settings (smacv2 README, configs/envs/sc2_gen_*.yaml).
_SMACV2_UNITS = {
    "protoss": (["stalker", "zealot", "colossus"], "colossus"),
    "terran": (["marine", "marauder", "medivac"], "medivac"),
    "zerg": (["zergling", "hydralisk", "baneling"], "baneling"),
}


def smacv2_capability_config(race: str, n: int) -> dict:
    units, exception = _SMACV2_UNITS[race]
    return {
        "n_units": n,
        "n_enemies": n,
        "team_gen": {
            "dist_type": "weighted_teams",
            "unit_types": units,
            "exception_unit_types": [exception],
            "weights": [0.45, 0.45, 0.1],
            "observe": True,
        },
        "start_positions": {
            "dist_type": "surrounded_and_reflect",
            "p": 0.5,
            "n_enemies": n,
            "map_x": 32,
            "map_y": 32,
        },
    }


def episode_won(info: dict) -> float:
    # After a ProtocolError smac restarts the game and returns (0, True, {}) without the key.
    return float(bool(info.get("battle_won", False)))


def episode_truncated(info: dict) -> bool:
    return bool(info.get("episode_limit", False))


class SmacEnv:
    def __init__(self, info: MapInfo, n_envs: int):
        package = "smac" if info.env == "smac" else "smacv2"
        reason = missing_reason(package)
        if reason:
            raise UserError(f"cannot run {info.env} map {info.name}: {reason}; fix: {FIX}")
        self._info, self._package, self.n_envs = info, package, n_envs
        self._envs = [self._launch(k) for k in range(n_envs)]
        env_info = self._envs[0].get_env_info()
        n, n_act = env_info["n_agents"], env_info["n_actions"]
        self.spec = EnvSpec(
            env=info.env,
            map=info.name,
            n_agents=n,
            obs_dims=(env_info["obs_shape"],) * n,
            state_dim=env_info["state_shape"],
            discrete=True,
            n_actions=n_act,
            action_dims=(1,) * n,
            agent_types=info.agent_types,
            episode_limit=env_info["episode_limit"],
            has_win=True,
            notes=info.notes,
        )
        self._seed = 0

    def _launch(self, k: int, seed: int | None = None):
        if self._package == "smac":
            module = importlib.import_module("smac.env")
            return module.StarCraft2Env(map_name=self._info.name, seed=seed)
        module = importlib.import_module("smacv2.env.starcraft2.wrapper")
        race, n = self._info.name.split("_")[0], int(self._info.name.split("_")[1])
        return module.StarCraftCapabilityEnvWrapper(
            capability_config=smacv2_capability_config(race, n),
            map_name=f"10gen_{race}",
            conic_fov=False,
            obs_own_pos=True,
            use_unit_ranges=True,
            min_attack_range=2,
            seed=seed,
        )

    def _observe(self, env):
        return (
            np.asarray(env.get_obs(), np.float32),
            np.asarray(env.get_state(), np.float32),
            np.asarray(env.get_avail_actions(), bool),
        )

    def _relaunch(self, k: int) -> None:
        try:
            self._envs[k].close()
        except Exception:  # noqa: BLE001 - the process is already gone
            pass
        for attempt in range(MAX_LAUNCH_TRIES):
            try:
                self._envs[k] = self._launch(k, self._seed * 1000 + k)
                self._envs[k].reset()
                return
            except Exception:  # noqa: BLE001 - SC2LaunchError, websocket time-outs
                time.sleep(2.0 * (attempt + 1))
        raise RuntimeError(f"StarCraft II failed to relaunch {MAX_LAUNCH_TRIES} times")

    def reset(self, seed: int) -> Reset:
        self._seed = seed
        for k in range(self.n_envs):
            self._envs[k].close()
            self._envs[k] = self._launch(k, seed * 1000 + k)
            self._envs[k].reset()
        obs, state, avail = map(np.stack, zip(*(self._observe(e) for e in self._envs)))
        return Reset(obs=obs, state=state, avail=avail)

    def step(self, actions: np.ndarray) -> Step:
        B = self.n_envs
        out = {k: [] for k in ("obs", "state", "avail", "f_obs", "f_state", "f_avail")}
        reward, term, trunc = np.zeros(B, np.float32), np.zeros(B, bool), np.zeros(B, bool)
        won, restarts = np.full(B, np.nan, np.float32), 0
        for k in range(B):
            try:
                r, done, info = self._envs[k].step(actions[k].tolist())
            except Exception:  # noqa: BLE001 - a crashed or hung game (ProtocolError, ConnectionError)
                self._relaunch(k)
                restarts += 1
                r, done, info = 0.0, True, {}
            reward[k] = r
            f = self._observe(self._envs[k])
            if done:
                trunc[k] = episode_truncated(info)
                term[k] = not trunc[k]
                won[k] = episode_won(info)
                self._envs[k].reset()
            for key, value in zip(("f_obs", "f_state", "f_avail"), f):
                out[key].append(value)
            for key, value in zip(("obs", "state", "avail"), self._observe(self._envs[k])):
                out[key].append(value)
        a = {k: np.stack(v) for k, v in out.items()}
        return Step(
            obs=a["obs"],
            state=a["state"],
            avail=a["avail"],
            reward=reward,
            terminated=term,
            truncated=trunc,
            won=won,
            final_obs=a["f_obs"],
            final_state=a["f_state"],
            final_avail=a["f_avail"],
            restarts=restarts,
        )

    def save_replay(self, k: int, path: Path) -> Path:
        """Env k's game so far as a StarCraft II replay at ``path`` (smac's save_replay, which
        names the file itself: it is written beside ``path`` under a unique prefix, then moved)."""
        game = getattr(self._envs[k], "env", self._envs[k])  # SMACv2's wrapper holds the env
        prefix = f".{path.stem}-{os.getpid()}"
        game.replay_dir, game.replay_prefix = str(path.parent.resolve()), prefix
        self._envs[k].save_replay()
        written = sorted(path.parent.glob(f"{prefix}*.SC2Replay"))
        if not written:
            raise UserError(f"StarCraft II wrote no replay into {path.parent}; check its log")
        os.replace(written[-1], path)
        return path

    def get_state(self):
        return None  # a StarCraft II game cannot be saved: a resumed run starts new episodes

    def set_state(self, saved) -> None:
        self.reset(self._seed)

    def close(self) -> None:
        for e in self._envs:
            e.close()
