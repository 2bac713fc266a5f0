"""A stand-in for StarCraft II behind smac's and smacv2's Python classes, for tests only.

``install`` puts this module in place of ``smac.env`` and ``smacv2.env.starcraft2.wrapper`` for the
real adapter (omdpg/envs/smac.py); the package never imports it. ``python -m tests.envs.fake_sc2
omdpg.cli train ...`` runs the real command line on it (or any module: tests.sc2.probe too).
What it mirrors, by the lines of oxwhirl/smac's smac/env/starcraft2/starcraft2.py at 26f4c4e (the
commit envs/Dockerfile installs) and of oxwhirl/smacv2's wrapper.py and distributions.py at 577ab5a:

- Building an object launches nothing. reset() launches StarCraft II while the object has ended no
  episode (``_episode_count == 0``, even if a game runs already) and otherwise restarts the episode
  inside the running game (L396-405); close() ends the process (L1470-1476). Every launch appends a
  FakeProcess, with a real OS process, to ``world.processes``.
- step(actions) returns (reward, terminated, info). It asserts that every action is available
  (get_agent_action, L550-553); info holds battle_won (L494), True on a win (L508-515); a time-out
  ends the episode with terminated=True and sets info["episode_limit"] only with
  continuing_episode=True (L527-531); an ended episode increments _episode_count (L538-539).
- A crashed game (its process SIGKILLed, by a test or at ``world.crash_at_step``) raises pysc2's
  ConnectionError inside step; smac catches it, relaunches (full_restart, L446-450) and returns
  (0, True, {}) (L482-484). If that launch fails too (``world.fail_launches``), the SC2LaunchError
  escapes step, as it does from smac.
- Shapes and masks: get_env_info() with smac's obs and state sizes (L1260-1340); available actions
  as smac builds them (L1416-1461): a dead unit can only no-op, a live one stops, moves and attacks
  enemies in range (a medivac heals allies instead); at an episode's start nothing is in range, as
  the armies of SMAC maps start apart. Rewards as reward_battle with reward_only_positive (L774-829)
  scaled to a best return of 20 (L541-542); max_reward grows by the enemies' health at every reset
  while _episode_count is 0 (init_units, L1535-1536).
- SMACv2's wrapper (wrapper.py L6-43): each reset draws a scenario from distributions that make
  unseeded default_rng()s, nested as in distributions.py (L116-383), and shuffle teams with Python's
  random (L140); the env's reset(episode_config) takes it, and observations show the team.

The battle is a toy, drawn from the game's RNG: seeded at launch from ``seed`` (random_seed, L335),
never reset by an in-game restart. Each step every live ally attacking an enemy in range hurts it
and every live enemy in range hurts a random live ally.
"""

from __future__ import annotations

import random
import runpy
import signal
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

from omdpg.envs import smac as adapter
from omdpg.envs import starcraft

N_NO_ATTACK = 6  # no-op, stop, 4 moves (L243)
APPROACH_STEPS = 3  # steps before the armies are in range of each other
HEALTH = 100.0
UNIT_TYPES = ["baneling", "colossus", "hydralisk", "marauder", "marine", "medivac", "stalker"]
UNIT_TYPES += ["zealot", "zergling"]

# smac/env/starcraft2/maps/smac_maps.py at 26f4c4e; smacv2's 10gen maps take their sizes from the
# capability config (starcraft2.py at 577ab5a, L280-290).
MAP_PARAMS = {
    "MMM2": dict(n_agents=10, n_enemies=12, limit=180, race="T", type_bits=3, mmm=True),
    "2s3z": dict(n_agents=5, n_enemies=5, limit=120, race="P", type_bits=2, mmm=False),
    "10gen_terran": dict(n_agents=10, n_enemies=10, limit=200, race="T", type_bits=3, mmm=False),
    "10gen_protoss": dict(n_agents=10, n_enemies=10, limit=200, race="P", type_bits=3, mmm=False),
    "10gen_zerg": dict(n_agents=10, n_enemies=10, limit=200, race="Z", type_bits=3, mmm=False),
}


def _padded(parts: list, size: int) -> np.ndarray:
    values = np.concatenate([np.asarray(p, np.float32).ravel() for p in parts])
    out = np.zeros(size, np.float32)
    out[: min(size, len(values))] = values[:size]
    return out


class ConnectionError(Exception):  # pysc2.lib.protocol.ConnectionError
    pass


class SC2LaunchError(Exception):  # pysc2.lib.sc_process.SC2LaunchError
    pass


@dataclass
class World:
    """Everything the games of one test share: the processes launched and the knobs."""

    processes: list = field(default_factory=list)  # every launch, in order
    games: list = field(default_factory=list)  # every StarCraft2Env object, in order
    ally_damage: float = 0.1  # of a unit's health, per attack
    enemy_damage: float = 0.05
    fail_launches: int = 0  # the next N launches raise SC2LaunchError
    crash_at_step: int | None = None  # the game stepped at this global step count crashes
    steps: int = 0

    def live(self) -> int:
        return sum(p.alive for p in self.processes)

    def close(self) -> None:
        for p in self.processes:
            p.close()


world = World()


class FakeProcess:
    """One StarCraft II process and its game: a real OS process (``_proc``, as pysc2's
    StarcraftProcess holds its Popen) that a test can SIGKILL, the units' health, the game's RNG."""

    def __init__(self, seed, n_agents: int, n_enemies: int):
        if world.fail_launches > 0:
            world.fail_launches -= 1
            raise SC2LaunchError("SC2 did not start")
        self._proc = subprocess.Popen(["sleep", "900"])
        self.rng = np.random.default_rng(seed)
        self.n_agents, self.n_enemies = n_agents, n_enemies
        world.processes.append(self)
        self.new_battle()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def killed(self) -> bool:
        return self._proc.poll() == -signal.SIGKILL

    def new_battle(self) -> None:
        self._check()
        self.t = 0
        self.ally, self.enemy = np.full(self.n_agents, HEALTH), np.full(self.n_enemies, HEALTH)

    def kill(self) -> None:
        self._proc.kill()
        self._proc.wait()

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait()

    def _check(self) -> None:
        if not self.alive:
            raise ConnectionError("Connection already closed. SC2 probably crashed.")

    def advance(self, actions: list[int], medivac: int | None) -> None:
        world.steps += 1
        if world.crash_at_step == world.steps:
            self.kill()
        self._check()
        self.t += 1
        for a_id, action in enumerate(actions):
            target = action - N_NO_ATTACK
            if target < 0 or self.ally[a_id] <= 0:
                continue
            if a_id == medivac:
                self.ally[target] = min(HEALTH, self.ally[target] + 5.0)
            else:
                self.enemy[target] -= world.ally_damage * HEALTH * self.rng.uniform(0.5, 1.5)
        if self.t >= APPROACH_STEPS:
            for _ in range(int((self.enemy > 0).sum())):
                alive = np.flatnonzero(self.ally > 0)
                if len(alive):
                    hit = self.rng.choice(alive)
                    self.ally[hit] -= world.enemy_damage * HEALTH * self.rng.uniform(0.5, 1.5)
        np.clip(self.ally, 0.0, None, out=self.ally)
        np.clip(self.enemy, 0.0, None, out=self.enemy)


class StarCraft2Env:
    """smac.env.StarCraft2Env (and smacv2's, which adds ``capability_config``)."""

    def __init__(self, map_name="8m", seed=None, continuing_episode=False, **kwargs):
        p = MAP_PARAMS[map_name]
        team = kwargs.get("capability_config", {})
        self.map_name, self._seed, self.continuing_episode = map_name, seed, continuing_episode
        self.n_agents = team.get("n_units", p["n_agents"])
        self.n_enemies = team.get("n_enemies", p["n_enemies"])
        self.episode_limit, self.n_actions = p["limit"], N_NO_ATTACK + self.n_enemies
        self._type_bits, self._shield = p["type_bits"], int(p["race"] == "P")
        self._medivac = self.n_agents - 1 if p["mmm"] else None
        self.max_reward = self.n_enemies * 10 + 200  # reward_death_value, reward_win (L256-258)
        self._episode_count = self._episode_steps = self._total_steps = 0
        self.battles_won = self.battles_game = self.timeouts = self.force_restarts = 0
        self._sc2_proc = None
        self._team: list = []
        world.games.append(self)
        self.last_action = np.zeros((self.n_agents, self.n_actions))

    # --- lifecycle (L316-450) -----------------------------------------------------------------
    def _launch(self) -> None:
        self._sc2_proc = FakeProcess(self._seed, self.n_agents, self.n_enemies)

    def _restart(self) -> None:
        try:
            self._sc2_proc.new_battle()  # kill all units: the map's trigger respawns them
        except ConnectionError:
            self.full_restart()

    def full_restart(self) -> None:
        self._sc2_proc.close()
        self._launch()
        self.force_restarts += 1

    def reset(self, episode_config=None):
        self._episode_steps = 0
        if self._episode_count == 0:
            self._launch()
        else:
            self._restart()
        self._team = (episode_config or {}).get("team_gen", {}).get("ally_team", [])
        self._start = (episode_config or {}).get("ally_start_positions", {}).get("item")
        if self._episode_count == 0:
            self.max_reward += self.n_enemies * HEALTH
        self._previous_enemy = self._sc2_proc.enemy.copy()
        self._dead_enemies = np.zeros(self.n_enemies, bool)
        self.win_counted = False
        self.last_action = np.zeros((self.n_agents, self.n_actions))
        return self.get_obs(), self.get_state()

    def close(self) -> None:
        if self._sc2_proc:
            self._sc2_proc.close()

    def seed(self):
        return self._seed

    # --- one step (L452-546) ------------------------------------------------------------------
    def step(self, actions):
        actions_int = [int(a) for a in actions]
        for a_id, action in enumerate(actions_int):
            avail = self.get_avail_agent_actions(a_id)
            assert avail[action] == 1, f"Agent {a_id} cannot perform action {action}"
        self.last_action = np.eye(self.n_actions)[np.array(actions_int)]
        try:
            self._sc2_proc.advance(actions_int, self._medivac)
        except ConnectionError:
            self.full_restart()
            return 0, True, {}
        self._total_steps += 1
        self._episode_steps += 1
        proc = self._sc2_proc
        allies_dead = (proc.ally <= 0).all() or (
            self._medivac is not None and (proc.ally[: self._medivac] <= 0).all()
        )
        enemies_dead = (proc.enemy <= 0).all()
        terminated, reward = False, self._reward_battle()
        info = {"battle_won": False}
        info["dead_allies"], info["dead_enemies"] = (
            int((proc.ally <= 0).sum()),
            int((proc.enemy <= 0).sum()),
        )
        if allies_dead or enemies_dead:
            terminated = True
            self.battles_game += 1
            if enemies_dead and not allies_dead and not self.win_counted:
                self.battles_won += 1
                self.win_counted = True
                info["battle_won"] = True
                reward += 200
        elif self._episode_steps >= self.episode_limit:
            terminated = True
            if self.continuing_episode:
                info["episode_limit"] = True
            self.battles_game += 1
            self.timeouts += 1
        if terminated:
            self._episode_count += 1
        return reward / (self.max_reward / 20), terminated, info

    def _reward_battle(self) -> float:
        enemy, proc = self._previous_enemy, self._sc2_proc
        newly_dead = (proc.enemy <= 0) & ~self._dead_enemies
        self._dead_enemies |= newly_dead
        delta = float((enemy - proc.enemy).sum()) + 10.0 * int(newly_dead.sum())
        self._previous_enemy = proc.enemy.copy()
        return abs(delta)

    # --- what agents see (L946-1470) ----------------------------------------------------------
    def get_obs_size(self) -> int:
        enemy = 4 + self._type_bits + 1 + self._shield
        ally = 4 + self._type_bits + 1 + self._shield
        own = self._type_bits + 1 + self._shield
        return 4 + self.n_enemies * enemy + (self.n_agents - 1) * ally + own

    def get_state_size(self) -> int:
        ally = 4 + self._shield + self._type_bits
        enemy = 3 + self._shield + self._type_bits
        return self.n_enemies * enemy + self.n_agents * ally + self.n_agents * self.n_actions

    def get_total_actions(self) -> int:
        return self.n_actions

    def get_env_info(self) -> dict:
        return {
            "state_shape": self.get_state_size(),
            "obs_shape": self.get_obs_size(),
            "n_actions": self.n_actions,
            "n_agents": self.n_agents,
            "episode_limit": self.episode_limit,
        }

    def _in_range(self) -> bool:
        return self._sc2_proc.t >= APPROACH_STEPS

    def get_avail_agent_actions(self, agent_id: int) -> list[int]:
        proc = self._sc2_proc
        if proc.ally[agent_id] <= 0:
            return [1] + [0] * (self.n_actions - 1)
        avail = [0, 1, 1, 1, 1, 1] + [0] * self.n_enemies
        targets = proc.enemy
        if agent_id == self._medivac:  # heals the other allies (L1440-1447)
            targets = np.where(np.arange(self.n_agents) == agent_id, 0.0, proc.ally)
        for t_id, health in enumerate(targets):
            if health > 0 and self._in_range():
                avail[N_NO_ATTACK + t_id] = 1
        return avail

    def get_avail_actions(self) -> list[list[int]]:
        return [self.get_avail_agent_actions(a) for a in range(self.n_agents)]

    def get_obs(self) -> list[np.ndarray]:
        proc = self._sc2_proc
        team = [UNIT_TYPES.index(unit) for unit in self._team]
        start = [] if self._start is None else list(np.ravel(self._start))
        shared = [proc.ally / HEALTH, proc.enemy / HEALTH * self._in_range(), team, start]
        return [
            _padded([[proc.ally[a] / HEALTH, self._episode_steps], *shared], self.get_obs_size())
            for a in range(self.n_agents)
        ]

    def get_state(self) -> np.ndarray:
        proc = self._sc2_proc
        parts = [proc.ally / HEALTH, proc.enemy / HEALTH, self.last_action.ravel()]
        return _padded(parts, self.get_state_size())

    def get_stats(self) -> dict:
        return {
            "battles_won": self.battles_won,
            "battles_game": self.battles_game,
            "battles_draw": self.timeouts,
            "win_rate": self.battles_won / max(self.battles_game, 1),
            "timeouts": self.timeouts,
            "restarts": self.force_restarts,
        }


# --- SMACv2: scenario distributions (distributions.py L116-383) and the wrapper (wrapper.py) -----
class WeightedTeamsDistribution:
    def __init__(self, config):
        self.units, self.weights = np.array(config["unit_types"]), np.array(config["weights"])
        self.n_units, self.env_key = config["n_units"], config["env_key"]
        self.rng = np.random.default_rng()

    def generate(self) -> dict:
        team = list(self.rng.choice(self.units, size=(self.n_units,), p=self.weights))
        random.shuffle(team)
        return {self.env_key: {"ally_team": team, "enemy_team": list(team), "id": 0}}


class PerAgentUniformDistribution:
    def __init__(self, config):
        self.n_units, self.env_key = config["n_units"], config["env_key"]
        self.rng = np.random.default_rng()

    def generate(self) -> dict:
        positions = self.rng.uniform((0, 0), (16, 32), size=(self.n_units, 2))
        return {self.env_key: {"item": positions, "id": 0}}


class ReflectPositionDistribution:
    def __init__(self, config):
        self.pos_generator = PerAgentUniformDistribution(
            {**config, "env_key": "ally_start_positions"}
        )

    def generate(self) -> dict:
        allies = self.pos_generator.generate()["ally_start_positions"]["item"]
        enemies = np.stack([32 - allies[:, 0], allies[:, 1]], axis=1)
        return {
            "ally_start_positions": {"item": allies, "id": 0},
            "enemy_start_positions": {"item": enemies, "id": 0},
        }


class SurroundedPositionDistribution:
    def __init__(self, config):
        self.n_units = config["n_units"]
        self.rng = np.random.default_rng()

    def generate(self) -> dict:
        allies = np.full((self.n_units, 2), 16.0)
        enemies = allies + self.rng.uniform(-14, 14, size=(1, 2))
        return {
            "ally_start_positions": {"item": allies, "id": 0},
            "enemy_start_positions": {"item": enemies, "id": 0},
        }


class SurroundedAndReflectPositionDistribution:
    def __init__(self, config):
        self.p_threshold = config["p"]
        self.surrounded_distribution = SurroundedPositionDistribution(config)
        self.reflect_distribution = ReflectPositionDistribution(config)
        self.rng = np.random.default_rng()

    def generate(self) -> dict:
        if self.rng.random() > self.p_threshold:
            return self.surrounded_distribution.generate()
        return self.reflect_distribution.generate()


DISTRIBUTIONS = {
    "weighted_teams": WeightedTeamsDistribution,
    "surrounded_and_reflect": SurroundedAndReflectPositionDistribution,
}


class StarCraftCapabilityEnvWrapper:
    """smacv2.env.starcraft2.wrapper.StarCraftCapabilityEnvWrapper (wrapper.py L6-43)."""

    def __init__(self, **kwargs):
        self.distribution_config = kwargs["capability_config"]
        self.env_key_to_distribution_map = {}
        for env_key, config in self.distribution_config.items():
            if env_key in ("n_units", "n_enemies"):
                continue
            config["env_key"] = env_key
            config["n_units"] = self.distribution_config["n_units"]
            config["n_enemies"] = self.distribution_config["n_enemies"]
            distribution = DISTRIBUTIONS[config["dist_type"]](config)
            self.env_key_to_distribution_map[env_key] = distribution
        self.env = StarCraft2Env(**kwargs)

    def reset(self):
        reset_config = {}
        for distribution in self.env_key_to_distribution_map.values():
            reset_config = {**reset_config, **distribution.generate()}
        return self.env.reset(reset_config)

    def __getattr__(self, name):
        if name != "env" and hasattr(self.env, name):
            return getattr(self.env, name)
        raise AttributeError(name)


# --- injection ----------------------------------------------------------------------------------
MODULES = ("smac.env", "smacv2.env.starcraft2.wrapper")


def install(monkeypatch: pytest.MonkeyPatch) -> World:
    """This module in place of smac and smacv2 for the adapter, with a fresh World (tests only)."""
    this = sys.modules[__name__]
    for name in MODULES:
        monkeypatch.setitem(sys.modules, name, this)
    monkeypatch.setattr(adapter, "missing_reason", lambda package: None)
    # and for the backend's record, which `omdpg train` asks before it touches the run folder
    monkeypatch.setattr(starcraft, "missing_reason", lambda package: None)
    monkeypatch.setattr(this, "world", World())
    return this.world


if __name__ == "__main__":  # python -m tests.envs.fake_sc2 MODULE ARGS: MODULE as __main__, here
    install(pytest.MonkeyPatch())
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
