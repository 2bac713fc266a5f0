"""SMAC v1 (oxwhirl/smac) and SMACv2 (oxwhirl/smacv2) on StarCraft II: B games stepped in a loop.

Line numbers cite smac/env/starcraft2/starcraft2.py at 26f4c4e, the commit envs/Dockerfile installs;
smacv2's starcraft2.py at 577ab5a has the same lifecycle.

- Each slot launches its game once: an object's first reset() starts StarCraft II and later resets
  restart the episode inside the running game (L396-405). Only a crash relaunches a game.
- A time-out is a truncation: the games are built with continuing_episode=True, without which smac
  does not say that an episode ended at its limit (L527-531).
- A crashed step ends its episode as a truncation at the last good observation, with reward 0 and
  not won, is counted in ``restarts`` and flagged in ``crashed`` (an evaluation plays it again):
  it is not a state the task ended in. smac relaunches a
  crashed game itself and returns (0, True, {}) (L482-484); if that relaunch fails, step raises.
- A game's RNG is seeded once, at launch (RequestCreateGame's random_seed, L335), from the seed of
  the reset() that launched it, its slot and its launch count; later episodes continue that stream.
  SMACv2 draws each episode's teams and start positions in Python, and reset(seed) reseeds those
  draws, so the same seed gives the same scenarios.
- A game cannot be saved: get_state() is None and a resumed run starts new episodes (runner.py).

The two packages register the same map names with pysc2 and cannot share a process, so each is
imported lazily, only in the process that uses it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
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
    return float(bool(info.get("battle_won", False)))


def episode_truncated(info: dict) -> bool:
    return bool(info.get("episode_limit", False))


def _seed32(*entropy: int) -> int:
    """A 32-bit seed (SC2's random_seed is a uint32) drawn from non-negative integers."""
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


@contextlib.contextmanager
def _scenarios_seeded(game, seed: int):
    """Seed the draws of SMACv2's next scenario (teams and start positions) for one reset().

    Each smacv2 distribution makes an unseeded ``default_rng()``, some nested in others
    (distributions.py at 577ab5a, L128, L181, L205, L244-254, L303, L370), kept by the wrapper in
    ``env_key_to_distribution_map`` (wrapper.py L9-26); teams are shuffled with Python's global
    ``random`` (L140), which is seeded for this reset and then handed back to its caller.
    """
    seeds = np.random.SeedSequence(seed)
    todo = list(game.env_key_to_distribution_map.values())
    while todo:
        dist = todo.pop(0)
        for name, value in vars(dist).items():
            if isinstance(value, np.random.Generator):
                setattr(dist, name, np.random.default_rng(seeds.spawn(1)[0]))
            elif hasattr(value, "generate"):
                todo.append(value)
    saved = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved)


class SmacEnv:
    def __init__(self, info: MapInfo, n_envs: int):
        package = "smac" if info.env == "smac" else "smacv2"
        reason = missing_reason(package)
        if reason:
            raise UserError(f"cannot run {info.env} map {info.name}: {reason}; fix: {FIX}")
        self._info, self._package, self.n_envs = info, package, n_envs
        self._seed = 0  # of the last reset(); a relaunch after a crash draws its seed from it
        self._games: list = [None] * n_envs
        self._ended = [False] * n_envs  # the game ended an episode, so its reset() restarts in it
        self._launches = [0] * n_envs
        self._restarts = 0  # crashed games replaced; step() reports the new ones
        self._last: list = [None] * n_envs  # each slot's latest (obs, state, avail)
        env_info = self._new_game(None).get_env_info()  # building an object launches nothing
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

    def _new_game(self, seed: int | None):
        if self._package == "smac":
            module = importlib.import_module("smac.env")
            return module.StarCraft2Env(
                map_name=self._info.name, seed=seed, continuing_episode=True
            )
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
            continuing_episode=True,
        )

    def _observe(self, k: int) -> None:
        game = self._games[k]
        self._last[k] = (
            np.asarray(game.get_obs(), np.float32),
            np.asarray(game.get_state(), np.float32),
            np.asarray(game.get_avail_actions(), bool),
        )

    def _reset_game(self, k: int, seed: int | None) -> None:
        game = self._games[k]
        if self._package == "smacv2" and seed is not None:
            with _scenarios_seeded(game, _seed32(seed, k)):
                game.reset()
        else:
            game.reset()
        self._observe(k)

    def _close(self, k: int) -> None:
        if self._games[k] is not None:
            with contextlib.suppress(Exception):  # a crashed game's process may already be gone
                self._games[k].close()

    def _launch(self, k: int, seed: int | None) -> None:
        """Replace slot k's game by a new object, whose first reset() launches StarCraft II."""
        for attempt in range(MAX_LAUNCH_TRIES):
            self._close(k)
            launch_seed = _seed32(self._seed, k, self._launches[k])
            self._games[k] = self._new_game(launch_seed)
            self._launches[k] += 1
            self._ended[k] = False
            try:  # a relaunch after a crash seeds SMACv2's scenario draws from its launch seed
                self._reset_game(k, launch_seed if seed is None else seed)
                return
            except Exception:  # noqa: BLE001 - SC2LaunchError, websocket time-outs
                time.sleep(2.0 * (attempt + 1))
        raise RuntimeError(f"StarCraft II failed to launch {MAX_LAUNCH_TRIES} times")

    def _start(self, k: int, seed: int | None = None) -> None:
        """Start slot k's next episode: inside its game once that game has ended an episode, else in
        a new game (smac's reset() would launch one anyway, without closing the old, L402-403)."""
        if self._ended[k]:
            try:
                self._reset_game(k, seed)
                return
            except Exception:  # noqa: BLE001 - the game died between episodes, smac's relaunch failed
                self._restarts += 1
        self._launch(k, seed)

    def reset(self, seed: int) -> Reset:
        self._seed = seed
        for k in range(self.n_envs):
            self._start(k, seed)
        obs, state, avail = map(np.stack, zip(*self._last))
        return Reset(obs=obs, state=state, avail=avail)

    def step(self, actions: np.ndarray) -> Step:
        B, restarts = self.n_envs, self._restarts
        reward, term, trunc = np.zeros(B, np.float32), np.zeros(B, bool), np.zeros(B, bool)
        won = np.full(B, np.nan, np.float32)
        crashed = np.zeros(B, bool)
        final = list(self._last)  # what each episode ends on; a crashed one, its last good step
        for k in range(B):
            try:
                r, done, info = self._games[k].step(actions[k].tolist())
            except AssertionError:
                raise  # smac asserts that every action is available (L550-553): not a crash
            except Exception:  # noqa: BLE001 - smac's relaunch of a crashed game failed
                r, done, info = 0.0, True, {}
                self._ended[k] = False  # the object is broken: launch a new one
            if done and not info:  # crashed: smac's info always holds battle_won otherwise (L494)
                self._restarts += 1
                trunc[k], won[k], crashed[k] = True, 0.0, True
            else:
                self._observe(k)
                reward[k], final[k] = r, self._last[k]
                if done:
                    trunc[k] = episode_truncated(info)
                    term[k], won[k] = not trunc[k], episode_won(info)
                    self._ended[k] = True
            if done:
                self._start(k)
        obs, state, avail = map(np.stack, zip(*self._last))
        f_obs, f_state, f_avail = map(np.stack, zip(*final))
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
            restarts=self._restarts - restarts,
            crashed=crashed,
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
        return None  # a StarCraft II game cannot be saved: the runner starts new episodes

    def close(self) -> None:
        for k in range(self.n_envs):
            self._close(k)
