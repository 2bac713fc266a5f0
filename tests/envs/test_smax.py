"""The SMAX adapter on the real simulator: shapes, masks, rewards, episode ends, wins, seeding."""

import numpy as np
import pytest

from omdpg.envs import lookup, make_env

B = 8


# obs 13 * (n_allies - 1 + n_enemies) + 10, state 12 * units, actions n_enemies + 5 (env doc
# 1.4); with the medivac one more type bit per unit and max(n_allies, n_enemies) target slots:
# obs 14 * (10 - 1 + 12) + 11, state 13 * 22, actions 12 + 5.
SIZES = {"3m": (3, 75, 72, 8), "MMM2": (10, 305, 286, 17)}


@pytest.fixture(scope="module", params=sorted(SIZES))
def env(request):
    return make_env("smax", request.param, B)


def random_available(avail, rng):
    return (rng.random(avail.shape) * avail).argmax(-1)


def test_shapes_follow_the_documented_formulas(env):
    s = env.spec
    n, obs_dim, state_dim, n_actions = SIZES[s.map]
    assert (s.n_agents, s.obs_dim, s.state_dim, s.n_actions) == SIZES[s.map]
    first = env.reset(0)
    assert first.obs.shape == (B, n, obs_dim) and first.obs.dtype == np.float32
    assert first.state.shape == (B, state_dim) and first.avail.shape == (B, n, n_actions)
    assert first.avail.dtype == bool and first.avail[..., 4].all()  # stop is always available


def test_rollout_episode_ends_wins_and_masks(env):
    rng = np.random.default_rng(0)
    cur = env.reset(1)
    ended = 0
    n = env.spec.n_agents
    for _ in range(250):
        a = random_available(cur.avail, rng)
        assert cur.avail[np.arange(B)[:, None], np.arange(n)[None], a].all()
        step = env.step(a)
        assert step.reward.shape == (B,) and np.all(step.reward >= 0)
        done = step.done
        assert np.all(np.isnan(step.won[~done]))
        assert set(np.unique(step.won[done])) <= {0.0, 1.0}
        assert not np.any(step.terminated & step.truncated)
        # a win is paid the won_battle_bonus of 1.0, the log wrapper's reward >= 1 rule
        assert np.all(step.reward[step.won == 1.0] >= 1.0)
        assert np.all(step.won[step.truncated] == 0.0)
        ended += done.sum()
        cur = step
    assert ended >= B  # SMAX ends every episode within max_steps = 100


def test_same_seed_same_first_observations(env):
    a, b, c = env.reset(3), env.reset(3), env.reset(4)
    np.testing.assert_array_equal(a.obs, b.obs)
    assert not np.array_equal(a.obs, c.obs)


def test_state_restore_continues_identically(env):
    rng = np.random.default_rng(1)
    cur = env.reset(5)
    saved = env.get_state()
    acts = [random_available(cur.avail, rng) for _ in range(3)]
    first = [env.step(a).obs for a in acts]
    env.set_state(saved)
    again = [env.step(a).obs for a in acts]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "name,allies,n_actions",
    [
        ("6m2m_15m", ("marine",) * 6 + ("marauder",) * 2, 20),
        ("mm2_no_medivac", ("marauder",) * 2 + ("marine",) * 7, 16),
        ("MMM2", ("marauder",) * 2 + ("marine",) * 7 + ("medivac",), 17),
        ("MMM", ("marauder",) * 2 + ("marine",) * 7 + ("medivac",), 15),
    ],
)
def test_custom_maps_compositions(name, allies, n_actions):
    info = lookup("smax", name)
    assert info.agent_types == allies
    e = make_env("smax", name, 2)
    assert e.spec.n_agents == len(allies) and e.spec.n_actions == n_actions
    # the simulator's own unit types agree with the registry (SMAX: 0 marine, 1 marauder; the
    # medivac is type 6, after SMAX's six)
    first = e.reset(0)
    types = np.asarray(e._state.state.unit_types[0, : len(allies)])
    names = {0: "marine", 1: "marauder", 6: "medivac"}
    assert [names[t] for t in types] == list(allies)
    assert first.obs.shape == (2, len(allies), e.spec.obs_dim)
