"""A healing medivac for SMAX: SMAC's MMM and MMM2 compositions in pure JAX, without StarCraft II.

``MedivacSMAX`` subclasses jaxmarl's ``SMAX`` with a seventh unit type, the medivac, and
``MedivacHeuristicEnemySMAX`` its heuristic-enemy wrapper. Both stay jit- and vmap-compatible.

The unit (SMAClite ``smaclite/env/units/smaclite_units/medivac.json``, SC2 4.10's medivac):
hp 150, energy 200 with 50 at the start, speed 3.5, heal range 4, sight 11, radius 0.75 (size
1.5), an air unit without a weapon that heals ground units. SMAX's other units keep their stats.

Time. SMAX uses SC2's "Faster" per-second values (marine speed 3.15, cooldown 0.61 s) with
``time_per_step`` = 1/16 s per world step and ``world_steps_per_env_step`` = 8, so one env step is
0.5 s of game time (SMAC's step_mul 8 is 8 game loops, 0.357 s at Faster). The healing rates are
therefore Faster values too: SC2 heals 12.6 hp/s at 3 hp per energy, and every caster regains
0.7875 energy/s. SMAClite's ``unit.py`` writes the Normal-speed values, ``HEAL_PER_SECOND = 9``
and ``ENERGY_PER_SECOND = 0.5625`` (x 1.4 = 12.6 and 0.7875). Per world step a medivac heals
min(12.6/16 = 0.7875 hp, the target's missing hp, 3 x its energy) and gains 0.7875/16 energy.

Rules, after SMAC (oxwhirl/smac ``starcraft2.py``: ``get_avail_agent_actions``,
``get_agent_action``, ``only_medivac_left``):

- a medivac's target actions index its own team (allies in agent order, as SMAC; the enemy team
  in the reversed order its observations use, as SMAX does for enemy attacks). Slot k is available
  when the unit there is alive, not a medivac (SC2 heals biological ground units), within heal
  range and below full health, and the medivac is alive with energy left. It never damages anyone;
- each team has max(n_allies, n_enemies) target slots, so a medivac can address its whole team;
  an attack slot past the other team's size is never available;
- marauders cannot attack air units (SC2; SMAClite's ``valid_targets``; SMAC's heuristic skips
  medivacs for marauders), so a medivac is only exposed to marines (and SMAX's other air-capable
  types: stalker, hydralisk);
- a team whose only living units are medivacs has lost (SMAC's ``only_medivac_left``);
- the reward stays SMAX's, damage dealt plus the win bonus: an enemy healed within a step pays only
  its net health lost, and healing never pays (SMAC pays no healing either);
- medivacs fly: they take no part in SMAX's ground collisions (``_push_units_away``).

A medivac has no weapon, so its ``unit_weapon_cooldowns`` entry holds its energy, as SMAC's state
puts a medivac's energy in the cooldown column (``get_state``: energy / max energy). Observations
show it as energy / 200 through SMAX's own cooldown feature; the world state shows the same.
"""

from __future__ import annotations

import inspect
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jaxmarl.environments.smax import SMAX, HeuristicEnemySMAX
from jaxmarl.environments.smax.heuristic_enemy import create_heuristic_policy

MEDIVAC = 6  # appended after SMAX's six types (0 marine ... 5 hydralisk)
HEAL_PER_SECOND = 12.6  # SC2 4.10 at Faster; SMAClite's 9 is the Normal-speed value
HP_PER_ENERGY = 3.0  # SC2 and SMAClite HEAL_PER_ENERGY
ENERGY_PER_SECOND = 0.7875  # SC2 at Faster; SMAClite's 0.5625 is the Normal-speed value
MAX_ENERGY, START_ENERGY = 200.0, 50.0  # SMAClite medivac.json
HITS_AIR = np.array([1, 0, 1, 0, 0, 1, 0], dtype=bool)  # marine, marauder, stalker, ... medivac

_SMAX = {k: p.default for k, p in inspect.signature(SMAX.__init__).parameters.items()}
UNIT_TYPES = {  # SMAX's per-type stats with the medivac appended; its cooldown slot is energy
    "unit_type_names": [*_SMAX["unit_type_names"], "medivac"],
    "unit_type_shorthands": [*_SMAX["unit_type_shorthands"], "V"],
    "unit_type_velocities": jnp.append(_SMAX["unit_type_velocities"], 3.5),
    "unit_type_attacks": jnp.append(_SMAX["unit_type_attacks"], 0.0),
    "unit_type_attack_ranges": jnp.append(_SMAX["unit_type_attack_ranges"], 4.0),  # heal range
    "unit_type_sight_ranges": jnp.append(_SMAX["unit_type_sight_ranges"], 11.0),
    "unit_type_radiuses": jnp.append(_SMAX["unit_type_radiuses"], 0.75),
    "unit_type_health": jnp.append(_SMAX["unit_type_health"], 150.0),
    "unit_type_weapon_cooldowns": jnp.append(_SMAX["unit_type_weapon_cooldowns"], MAX_ENERGY),
}
HEAL_RANGE = float(UNIT_TYPES["unit_type_attack_ranges"][MEDIVAC])


def fighting(state) -> jax.Array:
    """Units that can still win a battle: alive and not medivacs (SMAC ``only_medivac_left``)."""
    return state.unit_alive & (state.unit_types != MEDIVAC)


class MedivacSMAX(SMAX):
    def __init__(self, **kwargs):
        super().__init__(**{**UNIT_TYPES, **kwargs})
        n, n_allies = self.num_agents, self.num_allies
        self.num_target_slots = slots = max(n_allies, self.num_enemies)
        self.num_ally_actions = self.num_enemy_actions = slots + self.num_movement_actions
        self.action_spaces = {
            a: self._get_individual_action_space(i) for i, a in enumerate(self.agents)
        }
        # Static slot -> unit tables [n, slots]; team 1 counts in reverse, as SMAX observes it.
        k, team1 = jnp.arange(slots), jnp.arange(n)[:, None] >= n_allies
        self._heal_target = jnp.where(team1, n - 1 - k, k)
        self._heal_slot = (self._heal_target >= n_allies) == team1
        attack = jnp.where(team1, n_allies - 1 - k, n_allies + k)
        self._attack_slot = (attack >= 0) & (attack < n)
        self._attack_target = jnp.clip(attack, 0, n - 1)

    # --- masks -----------------------------------------------------------------------------------
    def _heal_mask(self, state) -> jax.Array:
        """[n, slots]: unit i is a medivac that can heal the unit in its slot k now."""
        t = self._heal_target
        t_type, t_health = state.unit_types[t], state.unit_health[t]
        near = jnp.linalg.norm(state.unit_positions[t] - state.unit_positions[:, None], axis=-1)
        target_ok = (
            self._heal_slot
            & state.unit_alive[t]
            & (t_type != MEDIVAC)
            & (t_health < self.unit_type_health[t_type])
            & (near < HEAL_RANGE)
        )
        healer = (
            (state.unit_types == MEDIVAC) & state.unit_alive & (state.unit_weapon_cooldowns > 0)
        )
        return healer[:, None] & target_ok

    def _attack_mask(self, state) -> jax.Array:
        """[n, slots]: unit i can attack the unit in its slot k now (SMAX's rule + air targets)."""
        t, types = self._attack_target, state.unit_types
        near = jnp.linalg.norm(state.unit_positions[t] - state.unit_positions[:, None], axis=-1)
        can_hit = jnp.asarray(HITS_AIR)[types][:, None] | (types[t] != MEDIVAC)
        return (
            self._attack_slot
            & (types != MEDIVAC)[:, None]
            & state.unit_alive[:, None]
            & state.unit_alive[t]
            & (near < self.unit_type_attack_ranges[types][:, None])
            & can_hit
        )

    @partial(jax.jit, static_argnums=(0,))
    def get_avail_actions(self, state):
        """Moves need the unit alive, stop is always available, then one action per target slot:
        a heal for a medivac, an attack for every other unit (environments.md 1.4)."""
        is_medivac = (state.unit_types == MEDIVAC)[:, None]
        targets = jnp.where(is_medivac, self._heal_mask(state), self._attack_mask(state))
        moves = jnp.repeat(state.unit_alive[:, None], self.num_movement_actions - 1, axis=1)
        stop = jnp.ones((self.num_agents, 1), dtype=bool)
        mask = jnp.concatenate([moves, stop, targets], axis=1).astype(jnp.uint8)
        return {a: mask[i] for i, a in enumerate(self.agents)}

    # --- dynamics --------------------------------------------------------------------------------
    @partial(jax.jit, static_argnums=(0,))
    def reset(self, key):
        _, state = super().reset(key)
        is_medivac = state.unit_types == MEDIVAC
        state = state.replace(
            unit_weapon_cooldowns=jnp.where(is_medivac, START_ENERGY, state.unit_weapon_cooldowns)
        )
        obs = self.get_obs(state)
        obs["world_state"] = self.get_world_state(state)
        return obs, state

    @partial(jax.jit, static_argnums=(0,))
    def _world_step(self, key, state, actions):
        """SMAX's world step for everyone's moves and attacks, then the medivacs' heals.

        Damage and heals are both judged on the state before the world step, as SMAX judges
        attacks; a unit the damage kills is not healed. Per medivac i healing target t:
        h_t += min(HEAL_PER_SECOND dt, max_t - h_t, HP_PER_ENERGY e_i), then
        e_i = min(e_i - heal / HP_PER_ENERGY + ENERGY_PER_SECOND dt, MAX_ENERGY), dt = 1/16 s.
        """
        movement, attack = actions
        n = jnp.arange(self.num_agents)
        slot = jnp.clip(attack - self.num_movement_actions, 0, self.num_target_slots - 1)
        acting = attack >= self.num_movement_actions
        attack_ok = acting & self._attack_mask(state)[n, slot] | ~acting
        after = super()._world_step(key, state, (movement, jnp.where(attack_ok, attack, 0)))

        dt, target = self.time_per_step, self._heal_target[n, slot]
        energy = state.unit_weapon_cooldowns
        room = self.unit_type_health[state.unit_types[target]] - after.unit_health[target]
        heals = acting & self._heal_mask(state)[n, slot] & (after.unit_health[target] > 0)
        amount = jnp.where(
            heals, jnp.minimum(jnp.minimum(HEAL_PER_SECOND * dt, room), HP_PER_ENERGY * energy), 0
        )
        max_health = self.unit_type_health[state.unit_types]
        health = jnp.minimum(after.unit_health.at[target].add(amount), max_health)
        energy = jnp.minimum(energy - amount / HP_PER_ENERGY + ENERGY_PER_SECOND * dt, MAX_ENERGY)
        cooldowns = jnp.where(state.unit_types == MEDIVAC, energy, after.unit_weapon_cooldowns)
        return after.replace(unit_health=health, unit_weapon_cooldowns=cooldowns)

    def _push_units_away(self, state, firmness: float = 1.0):
        # Medivacs fly: SMAX's collision, written for ground units, leaves out what it thinks dead.
        ground = state.replace(unit_alive=state.unit_alive & (state.unit_types != MEDIVAC))
        return super()._push_units_away(ground, firmness).replace(unit_alive=state.unit_alive)

    @partial(jax.jit, static_argnums=(0,))
    def is_terminal(self, state):
        return super().is_terminal(state.replace(unit_alive=fighting(state)))

    @partial(jax.jit, static_argnums=(0,))
    def compute_reward(self, state, health_before, health_after):
        """SMAX's reward with medivac-only teams defeated and healing never paid (see module)."""
        return super().compute_reward(
            state.replace(unit_alive=fighting(state)),
            health_before,
            jnp.minimum(health_after, health_before),
        )

    def get_world_state(self, state):
        shown = jnp.where(
            state.unit_types == MEDIVAC,
            state.unit_weapon_cooldowns / MAX_ENERGY,
            state.unit_weapon_cooldowns,
        )
        return super().get_world_state(state.replace(unit_weapon_cooldowns=shown))

    # --- rendering (jaxmarl's SMAXVisualizer calls these) -----------------------------------------
    def init_render(self, ax, state, step: int, env_step: int):
        """Units as SMAX draws them (allies blue, enemies green), medivacs as diamonds with a
        dashed heal-range ring, heals as green beams and shots as grey squares in flight."""
        from matplotlib.patches import Circle, RegularPolygon

        _, state, actions = state
        ax.clear()
        ax.set_xlim(0.0, self.map_width)
        ax.set_ylim(0.0, self.map_height)
        ax.set_aspect("equal")
        ax.set_title(f"Step {env_step}")
        pos = np.asarray(state.unit_positions)
        heal, attack = np.asarray(self._heal_mask(state)), np.asarray(self._attack_mask(state))
        frac = step / self.world_steps_per_env_step
        for i, agent in enumerate(self.agents):
            if not state.unit_alive[i]:
                continue
            colour = "blue" if i < self.num_allies else "green"
            radius = float(self.unit_type_radiuses[state.unit_types[i]])
            k = int(actions[agent]) - self.num_movement_actions
            if int(state.unit_types[i]) == MEDIVAC:  # flying: drawn above, see-through
                ax.add_patch(
                    RegularPolygon(pos[i], 4, radius=2 * radius, fc=colour, ec="white", alpha=0.7)
                ).set_zorder(3)
                ax.add_patch(Circle(pos[i], HEAL_RANGE, fill=False, ls="--", ec=colour, lw=0.6))
                if k >= 0 and heal[i, k]:
                    t = pos[self._heal_target[i, k]]
                    ax.plot(*zip(pos[i], t), color="lime", lw=2.5, zorder=4)
            else:
                ax.add_patch(Circle(pos[i], radius, color=colour, zorder=2))
                if k >= 0 and attack[i, k]:
                    bullet = (1 - frac) * pos[i] + frac * pos[self._attack_target[i, k]]
                    ax.add_patch(RegularPolygon(bullet, 4, radius=0.3, color="grey", zorder=4))
            ax.text(*pos[i], self.unit_type_shorthands[state.unit_types[i]], fontsize=6,
                    color="white", ha="center", va="center", zorder=5)  # fmt: skip
        ax.text(0.5, 0.5, "diamond: medivac, dashed: heal range, green: heal, grey: shot",
                fontsize=6, color="grey")  # fmt: skip
        return ax

    def update_render(self, im, state, step: int, env_step: int):
        return self.init_render(im, state, step, env_step)


class MedivacHeuristicEnemySMAX(HeuristicEnemySMAX):
    """jaxmarl's heuristic enemy on ``MedivacSMAX``. Its medivacs heal the most damaged ally in
    range (lowest health fraction); with none in range they fly toward the most damaged visible
    ally, else toward the visible allies' centre, else stop. Its marauders ignore air units."""

    def __init__(self, enemy_shoots: bool = True, attack_mode: str = "closest", **env_kwargs):
        super().__init__(enemy_shoots, attack_mode, **env_kwargs)
        self._env = MedivacSMAX(**env_kwargs)
        self.observation_spaces = {a: self._env.observation_spaces[a] for a in self.agents}
        self.action_spaces = {a: self._env.action_spaces[a] for a in self.agents}
        self.heuristic_policy = create_heuristic_policy(
            self._env, 1, shoot=enemy_shoots, attack_mode=attack_mode
        )

    def get_enemy_actions(self, key, policy_state, enemy_obs):
        env, n = self._env, self.num_enemies
        width, bits = len(env.unit_features), env.unit_type_bits
        others = (env.num_agents - 1) * width  # the other units' features, then the unit's own
        blocks = enemy_obs[:, :others].reshape(n, -1, width)
        own_type, energy = enemy_obs[:, -bits:].argmax(-1), enemy_obs[:, -bits - 1]
        # Units that cannot hit air do not see air units as targets (health 0 reads as unseen).
        air = blocks[..., width - bits + MEDIVAC] > 0
        hidden = ~jnp.asarray(HITS_AIR)[own_type][:, None] & air
        blocks_seen = blocks.at[..., 0].set(jnp.where(hidden, 0.0, blocks[..., 0]))
        seen = jnp.concatenate([blocks_seen.reshape(n, -1), enemy_obs[:, others:]], axis=1)
        actions, policy_state = super().get_enemy_actions(key, policy_state, seen)
        # Own team first in an enemy's observation (SMAX's get_obs_unit_list).
        medic = jax.vmap(self._medivac_action)(blocks[:, : n - 1], energy, jnp.arange(n))
        is_medivac = enemy_obs[:, -bits + MEDIVAC] > 0
        return {
            a: jnp.where(is_medivac[e], medic[e], actions[a])
            for e, a in enumerate(self.enemy_agents)
        }, policy_state

    def _medivac_action(self, teammates, energy, e):
        """Enemy e's medivac, from its observation of its teammates [n_enemies - 1, features]."""
        env = self._env
        bit = len(env.unit_features) - env.unit_type_bits + MEDIVAC
        health, is_medivac = teammates[:, 0], teammates[:, bit] > 0
        offset = teammates[:, 1:3] * env.unit_type_sight_ranges[MEDIVAC]
        hurt = (health > 0) & (health < 1) & ~is_medivac
        in_range = hurt & (jnp.linalg.norm(offset, axis=-1) < HEAL_RANGE) & (energy > 0)
        worst = jnp.argmin(jnp.where(in_range, health, jnp.inf))
        # teammate block b is slot b, or b + 1 past the medivac's own slot (SMAX skips itself)
        slot = worst + (worst >= self.num_enemies - 1 - e)
        visible = (health > 0) & ~is_medivac
        centre = (offset * visible[:, None]).sum(0) / jnp.maximum(visible.sum(), 1)
        goal = jnp.where(hurt.any(), offset[jnp.argmin(jnp.where(hurt, health, jnp.inf))], centre)
        directions = jnp.array([[0, 1], [1, 0], [0, -1], [-1, 0]])  # moves 0-3, as the heuristic
        move = jnp.where(visible.any(), jnp.argmax(directions @ goal), env.num_movement_actions - 1)
        return jnp.where(in_range.any(), env.num_movement_actions + slot, move)
