"""The healing medivac (omdpg/envs/medivac.py) on the real simulator: scripted episodes with known
answers, the availability rules in every state of a random MMM2 rollout, the scripted enemy's
medivac, vmapped against single envs, and how often medivacs heal under a random policy."""

import json
import subprocess

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxmarl.environments.smax import Scenario

from omdpg.envs import make_env
from omdpg.envs.checker import check_env, random_actions
from omdpg.envs.medivac import (
    ENERGY_PER_SECOND,
    HEAL_PER_SECOND,
    HITS_AIR,
    HP_PER_ENERGY,
    MEDIVAC,
    START_ENERGY,
    UNIT_TYPES,
    MedivacHeuristicEnemySMAX,
    MedivacSMAX,
)
from omdpg.envs.smax import MARAUDER, MARINE
from omdpg.learner import ALGORITHMS, learner_class
from tests.conftest import ROOT, TINY_EVAL, TINY_STEPS, check_contract, tiny_command

SLOT0, STOP = 5, 4  # 4 moves, then stop (4), then target slot k is action 5 + k
HP = np.asarray(UNIT_TYPES["unit_type_health"])
RANGE = np.asarray(UNIT_TYPES["unit_type_attack_ranges"])
ENV_STEP = 8 / 16  # seconds: 8 world steps of 1/16 s


def scenario(allies, enemies):
    return Scenario(
        jnp.array(allies + enemies, dtype=jnp.uint8), len(allies), len(enemies), False, False
    )


@pytest.fixture(scope="module")
def duel():
    """Allies: marine 0, medivac 1, marine 2; enemies: marine 3, medivac 4. Both teams scripted."""
    env = MedivacSMAX(scenario=scenario([MARINE, MEDIVAC, MARINE], [MARINE, MEDIVAC]))
    _, state = env.reset(jax.random.PRNGKey(0))
    # marine 0 is 1 from the medivac, marine 2 is 5 away (heal range 4); the enemies are far off
    state = state.replace(
        unit_positions=jnp.array([[10.0, 16], [11, 16], [16, 16], [28, 28], [28, 26]]),
        unit_health=state.unit_health.at[jnp.array([0, 2])].set(20.0),
    )
    return env, state


def run(env, state, actions, steps):
    """Step the two-team env with fixed actions (agent index -> action, others stop)."""
    act = {a: jnp.int32(actions.get(i, STOP)) for i, a in enumerate(env.agents)}
    key, out = jax.random.PRNGKey(1), []
    for _ in range(steps):
        key, sub = jax.random.split(key)
        _, state, rewards, dones, _ = env.step_env(sub, state, act)
        out.append((state, rewards, dones))
    return out


def avail(env, state, agent):
    return np.asarray(env.get_avail_actions(state)[env.agents[agent]])


def test_heals_at_the_rate_stops_at_full_health_and_spends_energy(duel):
    env, state = duel
    assert avail(env, state, 1)[SLOT0 + 0] and not avail(env, state, 1)[SLOT0 + 2]
    out = run(env, state, {1: SLOT0 + 0}, 5)
    health = [float(s.unit_health[0]) for s, _, _ in out]
    # 12.6 hp/s x 0.5 s = 6.3 hp per env step from 20: 26.3, 32.6, 38.9, then capped at 45
    np.testing.assert_allclose(health, [26.3, 32.6, 38.9, 45.0, 45.0], atol=1e-4)
    # energy: 50 - 25 hp / 3 hp per energy + 0.7875/s x 2.5 s
    energy = float(out[-1][0].unit_weapon_cooldowns[1])
    want = START_ENERGY - 25 / HP_PER_ENERGY + ENERGY_PER_SECOND * 2.5
    assert energy == pytest.approx(want, abs=1e-3)  # float32 sums over 40 world steps
    assert not avail(env, out[3][0], 1)[SLOT0 + 0]  # full health: nothing to heal
    assert float(out[-1][0].unit_health[2]) == 20.0  # out of range all along
    assert all(float(r["ally_0"]) == 0.0 for _, r, _ in out)  # healing pays nothing


def test_no_heal_out_of_range_or_when_dead(duel):
    env, state = duel
    out = run(env, state, {1: SLOT0 + 2}, 3)  # marine 2 is out of range
    assert float(out[-1][0].unit_health[2]) == 20.0
    dead = state.replace(
        unit_health=state.unit_health.at[0].set(0.0), unit_alive=state.unit_alive.at[0].set(False)
    )
    assert not avail(env, dead, 1)[SLOT0 + 0]
    out = run(env, dead, {1: SLOT0 + 0}, 3)
    assert float(out[-1][0].unit_health[0]) == 0.0 and not bool(out[-1][0].unit_alive[0])
    # only regeneration: no energy was spent on either target
    energy = float(out[-1][0].unit_weapon_cooldowns[1])
    assert energy == pytest.approx(START_ENERGY + ENERGY_PER_SECOND * 3 * ENV_STEP)


def test_heal_is_bounded_by_energy(duel):
    env, state = duel
    low = state.replace(unit_weapon_cooldowns=state.unit_weapon_cooldowns.at[1].set(1.0))
    after = run(env, low, {1: SLOT0 + 0}, 1)[0][0]
    # The energy runs out mid-step; afterwards each 1/16 s heals what it regenerates, so the
    # step heals 3 x (1 + 7 world steps of regeneration) and ends with one world step's worth.
    regen = ENERGY_PER_SECOND / 16
    assert float(after.unit_health[0]) == pytest.approx(20 + HP_PER_ENERGY * (1 + 7 * regen))
    assert float(after.unit_weapon_cooldowns[1]) == pytest.approx(regen, abs=1e-6)


def test_a_medivac_never_damages_an_enemy(duel):
    env, state = duel
    close = state.replace(unit_positions=state.unit_positions.at[3].set(jnp.array([12.0, 16])))
    slots = env.num_target_slots
    assert not avail(env, close, 1)[SLOT0:][slots - 1]  # slot of enemy 3 for an attacker: masked
    health = float(close.unit_health[3])
    for k in range(slots):
        out = run(env, close, {1: SLOT0 + k}, 2)
        assert float(out[-1][0].unit_health[3]) == health
    # the marine beside it does shoot the same enemy: the test would see damage
    out = run(env, close, {0: SLOT0 + 0}, 2)
    assert float(out[-1][0].unit_health[3]) < health


def test_the_enemy_medivac_heals_its_team_and_is_seen_as_a_unit(duel):
    env, state = duel
    # enemy marine 3 damaged beside enemy medivac 4; enemy slots count in reverse: slot 1 = unit 3
    hurt = state.replace(unit_health=state.unit_health.at[3].set(30.0))
    assert avail(env, hurt, 4)[SLOT0 + 1]
    out = run(env, hurt, {4: SLOT0 + 1}, 1)
    assert float(out[0][0].unit_health[3]) == pytest.approx(30 + HEAL_PER_SECOND * ENV_STEP)
    assert float(out[0][1]["ally_0"]) == 0.0  # SMAX's abs() would pay the enemy's healing
    # ally marine 0 sees the ally medivac (its first other unit): health, position, type bit
    width = len(env.unit_features)
    seen = np.asarray(env.get_obs(state)["ally_0"][:width])
    assert seen[0] == 1.0 and seen[1:3] == pytest.approx([1 / 9, 0])  # sight range 9
    assert seen[width - env.unit_type_bits + MEDIVAC] == 1.0
    assert seen[6] == pytest.approx(START_ENERGY / 200)  # the cooldown feature shows energy


def test_a_team_with_only_medivacs_left_has_lost(duel):
    env, state = duel
    kill = lambda s, idx: s.replace(  # noqa: E731
        unit_health=s.unit_health.at[idx].set(0.0), unit_alive=s.unit_alive.at[idx].set(False)
    )
    _, rewards, dones = run(env, kill(state, jnp.array([3])), {}, 1)[0]
    assert bool(dones["__all__"]) and float(rewards["ally_0"]) == 1.0  # the win bonus
    _, rewards, dones = run(env, kill(state, jnp.array([0, 2])), {}, 1)[0]
    assert bool(dones["__all__"]) and float(rewards["enemy_0"]) == 1.0


def test_the_scripted_enemy_heals_its_most_damaged_ally_in_range():
    env = MedivacHeuristicEnemySMAX(scenario=scenario([MARINE], [MARINE, MARINE, MARINE, MEDIVAC]))
    _, state = env.reset(jax.random.PRNGKey(0))
    inner = state.state.replace(
        # medivac 4; marines 1 (40 %) and 2 (60 %) in range; marine 3 (20 %) out of range
        unit_positions=jnp.array([[4.0, 4], [20, 16], [21, 17], [27, 16], [21, 16]]),
        unit_health=jnp.array([45.0, 18, 27, 9, 150]),
    )

    @jax.jit
    def policy(inner):
        obs = env._env.get_obs(inner)
        enemy_obs = jnp.stack([obs[a] for a in env.enemy_agents])
        key = jax.random.PRNGKey(1)
        return env.get_enemy_actions(key, state.enemy_policy_state, enemy_obs)[0]

    actions = policy(inner)
    # enemy slots count in reverse: slot k is unit 4 - k, so marine 1 is slot 3
    assert int(actions["enemy_3"]) == SLOT0 + 3
    assert avail(env._env, inner, 4)[SLOT0 + 3]
    # nobody in range: it flies toward the most damaged ally it sees (marine 3, to the east)
    far = inner.replace(unit_health=jnp.array([45.0, 45, 45, 9, 150]))
    actions = policy(far)
    assert int(actions["enemy_3"]) == 1  # move east (moves 0-3: north, east, south, west)


def expected_mask(pos, alive, health, types, energy, n_allies, slots):
    """The availability rules written out unit by unit, for the allies (numpy, no jax)."""
    n = len(types)
    mask = np.zeros((n_allies, SLOT0 + slots), dtype=bool)
    for i in range(n_allies):
        mask[i, STOP] = True
        if not alive[i]:
            continue
        mask[i, :STOP] = True
        for k in range(slots):
            if types[i] == MEDIVAC:  # heal ally k
                t = k
                ok = t < n_allies and types[t] != MEDIVAC and health[t] < HP[types[t]]
                ok = ok and energy[i] > 0 and np.linalg.norm(pos[t] - pos[i]) < RANGE[MEDIVAC]
            else:  # attack enemy k
                t = n_allies + k
                ok = t < n and (types[t] != MEDIVAC or HITS_AIR[types[i]])
                ok = ok and np.linalg.norm(pos[t] - pos[i]) < RANGE[types[i]]
            mask[i, SLOT0 + k] = ok and alive[t]
    return mask


@pytest.fixture(scope="module")
def mmm2():
    return make_env("smax", "MMM2", 8)


def test_masks_follow_the_rules_in_every_state_of_a_random_rollout(mmm2):
    rng = np.random.default_rng(0)
    cur, n_allies = mmm2.reset(0), mmm2.spec.n_agents
    slots = mmm2.spec.n_actions - SLOT0
    heal_slots_seen = 0
    for _ in range(120):
        s = jax.device_get(mmm2._state.state)
        for b in range(mmm2.n_envs):
            want = expected_mask(
                s.unit_positions[b],
                s.unit_alive[b],
                s.unit_health[b],
                s.unit_types[b],
                s.unit_weapon_cooldowns[b],
                n_allies,
                slots,
            )
            np.testing.assert_array_equal(cur.avail[b], want)
        heal_slots_seen += cur.avail[:, 9, SLOT0:].sum()
        cur = mmm2.step(random_actions(mmm2, cur.avail, rng))
    assert heal_slots_seen > 0  # the medivac's rule was exercised, not only the attackers'


def test_medivacs_of_both_teams_heal_under_a_random_policy(mmm2):
    """Energy spent beyond regeneration means a heal; steps where an episode ends are skipped."""
    rng = np.random.default_rng(1)
    cur = mmm2.reset(1)
    medivacs = [9, 21]  # the ally medivac, the enemy medivac (the scripted one)
    energy = np.asarray(mmm2._state.state.unit_weapon_cooldowns)[:, medivacs]
    healed, counted, episodes = np.zeros(2), 0, 0
    for _ in range(300):
        cur = mmm2.step(random_actions(mmm2, cur.avail, rng))
        now = np.asarray(mmm2._state.state.unit_weapon_cooldowns)[:, medivacs]
        going = ~cur.done
        spent = energy + ENERGY_PER_SECOND * ENV_STEP - now > 1e-4
        healed += spent[going].sum(0)
        counted += going.sum()
        episodes += cur.done.sum()
        energy = now
    assert episodes >= 20
    fraction = healed / counted
    assert np.all(fraction > 0), fraction


def test_vmapped_envs_equal_single_envs():
    env = MedivacHeuristicEnemySMAX(scenario=scenario([MARINE, MEDIVAC], [MARAUDER, MEDIVAC]))
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    actions = {a: jnp.array([4, 5, 0]) for a in env.agents}

    def one(key, act):
        obs, state = env.reset(key)
        obs, state, reward, _, _ = env.step_env(key, state, act)
        return obs, reward, env.get_avail_actions(state)

    batched = jax.jit(jax.vmap(one))(keys, actions)
    for b, key in enumerate(keys):
        single = one(key, {a: v[b] for a, v in actions.items()})
        for x, y in zip(jax.tree.leaves(single), jax.tree.leaves(batched)):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y)[b], rtol=1e-6, atol=1e-6)


DISCRETE = [name for name in ALGORITHMS if learner_class(name).discrete]


@pytest.mark.parametrize("algo", DISCRETE)
def test_every_discrete_algorithm_writes_the_run_folder_on_mmm2(algo, tmp_path):
    """The tiny runs of tests/conftest.py (TINY_ALGOS), on smax:MMM2 instead of 3m."""
    out = tmp_path / algo
    command = tiny_command(algo, "smax", out, map_name="MMM2")
    r = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    evals = check_contract(out, has_win=True)
    assert [int(e["env_steps"]) for e in evals] == list(range(TINY_EVAL, TINY_STEPS + 1, TINY_EVAL))
    config = json.loads((out / "config.json").read_text())
    assert config["spec"]["agent_types"][-1] == "medivac" and config["spec"]["n_actions"] == 17


def test_mmm2_passes_the_env_checker():
    env = make_env("smax", "MMM2", 2)
    # episode_limit + 5 steps: every episode has ended at least once by its time limit
    assert check_env(env, steps=env.spec.episode_limit + 5) >= env.n_envs
