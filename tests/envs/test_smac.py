"""SMAC / SMACv2 without StarCraft II: the clear failure, the parts that need no game, and the
adapter driven through time-outs, evaluations, crashes and seeds by the stand-in (fake_sc2.py)."""

import numpy as np
import pytest

from omdpg.envs import MAPS, lookup, make_env
from omdpg.envs import smac as smac_adapter
from omdpg.envs.checker import check_env, random_actions
from omdpg.envs.smac import episode_truncated, episode_won, smacv2_capability_config
from omdpg.envs.starcraft import missing_reason
from omdpg.errors import UserError
from omdpg.evaluation import eval_env_count, evaluate
from tests.conftest import RandomLearner


def test_missing_starcraft_fails_at_construction(monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path / "nowhere"))
    with pytest.raises(UserError) as err:
        make_env("smac", "MMM2", 1)
    message = str(err.value)
    assert "\n" not in message and "MMM2" in message and "fix:" in message


@pytest.mark.parametrize(
    "layout,expected",
    [
        ([], "does not exist"),
        (["."], "no Versions folder"),
        (["Versions"], "holds no Base* build"),
        (["Versions/Base75689"], "SMAC maps missing"),
        (["Versions/Base75689", "Maps/SMAC_Maps"], None),
    ],
)
def test_preflight_names_what_is_missing(monkeypatch, tmp_path, layout, expected):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "smac" else real(name, *a)
    )
    root = tmp_path / "SC2"
    for sub in layout:
        (root / sub).mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("SC2PATH", str(root))
    reason = missing_reason("smac")
    assert (reason is None) if expected is None else (expected in reason)


def test_package_missing_is_reported_first(monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    assert "not installed" in missing_reason("smacv2") and "git" in missing_reason("smacv2")


def test_cli_exit_status_2_without_starcraft(cli, tmp_path):
    out = tmp_path / "run"
    r = cli(
        "train",
        "--algo",
        "mappo",
        "--env",
        "smac",
        "--map",
        "MMM2",
        "--steps",
        100,
        "--out",
        out,
        env={"SC2PATH": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "smac" in r.stderr and "fix:" in r.stderr
    assert not out.exists()


def test_registry_mmm2_groups_and_order():
    info = lookup("smac", "MMM2")
    # SMAC sorts allies by unit type: marauders, marines, medivac (algorithm doc 4.5)
    assert info.agent_types == ("marauder",) * 2 + ("marine",) * 7 + ("medivac",)
    assert info.episode_limit == 180
    assert {m for e, m in MAPS if e == "smac"} == {"MMM2", "MMM", "3s5z_vs_3s6z", "1c3s5z", "2s3z"}


def test_info_parsing():
    assert episode_won({"battle_won": True}) == 1.0
    assert episode_won({}) == 0.0  # smac returns {} after restarting a crashed game
    assert episode_truncated({"episode_limit": True}) and not episode_truncated({})


def test_smacv2_scenarios():
    names = {m for e, m in MAPS if e == "smacv2"}
    assert {"protoss_5_vs_5", "terran_10_vs_10", "zerg_5_vs_5"} <= names
    cfg = smacv2_capability_config("terran", 5)
    assert cfg["team_gen"]["unit_types"] == ["marine", "marauder", "medivac"]
    assert cfg["n_units"] == cfg["n_enemies"] == 5


# --- the adapter on the StarCraft II stand-in (tests/envs/fake_sc2.py) ---------------------------
BACKENDS = [("smac", "MMM2"), ("smacv2", "terran_5_vs_5")]
STOP = 1  # smac's action 1: available to every live unit


@pytest.mark.parametrize("env_name,map_name", BACKENDS)
def test_the_adapter_passes_the_env_checker(sc2, env_name, map_name):
    env = make_env(env_name, map_name, 2)
    assert check_env(env, steps=env.spec.episode_limit + 5) >= 2


@pytest.mark.parametrize("env_name,map_name", BACKENDS)
def test_a_time_out_is_truncated_not_terminated(sc2, env_name, map_name):
    sc2.ally_damage = sc2.enemy_damage = 0.0  # nobody dies: every episode reaches its limit
    env = make_env(env_name, map_name, 2)
    first = env.reset(seed=0)
    stop = np.full((2, env.spec.n_agents), STOP)
    for t in range(1, env.spec.episode_limit + 1):
        step = env.step(stop)
        assert step.done.all() == (t == env.spec.episode_limit)
    assert step.truncated.all() and not step.terminated.any()
    assert (step.won == 0).all() and step.restarts == 0
    # the final observation is the episode's last (its step counter at the limit), the next the
    # new episode's first, which on a SMAC v1 map is the start the map always gives
    assert (step.final_obs[:, :, 1] == env.spec.episode_limit).all()
    assert (step.obs[:, :, 1] == 0).all()
    if env_name == "smac":
        np.testing.assert_array_equal(step.obs, first.obs)
    assert len(sc2.processes) == 2  # the next episode restarted inside the running games


@pytest.mark.parametrize("env_name,map_name", BACKENDS)
def test_battles_end_as_terminal_states_with_their_winner(sc2, env_name, map_name):
    env = make_env(env_name, map_name, 4)
    obs, rng = env.reset(seed=1), np.random.default_rng(1)
    avail, wins, ends = obs.avail, 0.0, 0
    for _ in range(300):
        step = env.step(random_actions(env, avail, rng))
        assert not step.truncated.any()
        ends += int(step.terminated.sum())
        wins += float(np.nansum(step.won))
        assert np.isnan(step.won[~step.done]).all()
        avail = step.avail
    stats = [g.get_stats() for g in sc2.games]
    assert ends == sum(s["battles_game"] for s in stats) > 8
    assert wins == sum(s["battles_won"] for s in stats) > 0
    assert len(sc2.processes) == 4


@pytest.mark.parametrize("env_name,map_name", BACKENDS)
def test_two_evaluations_launch_each_eval_game_once(sc2, env_name, map_name):
    env = make_env(env_name, map_name, eval_env_count(env_name, 32))
    learner = RandomLearner(env, 0)
    for _ in range(2):
        episodes = evaluate(env, learner, 32, seed=10_000).episodes
        assert len(episodes) == 32 and all(e["won"] in (0, 1) for e in episodes)
    assert len(sc2.processes) == 8 and sc2.live() == 8  # one game per eval env, kept alive
    env.close()
    assert sc2.live() == 0


@pytest.mark.parametrize("env_name,map_name", BACKENDS)
def test_the_same_seed_gives_the_same_start_states(sc2, env_name, map_name):
    env = make_env(env_name, map_name, 3)
    first = env.reset(seed=5)
    rng, avail, ended = np.random.default_rng(0), first.avail, np.zeros(3, bool)
    while not ended.all():  # as evaluation does: every game ends an episode before a reset
        step = env.step(random_actions(env, avail, rng))
        avail, ended = step.avail, ended | step.done
    again = env.reset(seed=5)
    np.testing.assert_array_equal(again.obs, first.obs)
    assert len(sc2.processes) == 3  # restarted inside the running games
    other = env.reset(seed=6)
    # SMACv2 draws teams and start positions per seed; a SMAC v1 map always starts the same
    assert (other.obs != first.obs).any() == (env_name == "smacv2")


def test_a_reset_before_any_episode_ended_relaunches_without_leaking(sc2):
    # smac's reset() launches while an object has ended no episode, leaving the running game
    # behind (starcraft2.py L402-403); the adapter closes that game and launches a new object
    env = make_env("smac", "MMM2", 2)
    env.reset(seed=0)
    env.reset(seed=0)
    assert len(sc2.processes) == 4 and sc2.live() == 2


@pytest.mark.parametrize("env_name,map_name", BACKENDS)
@pytest.mark.parametrize("relaunch", ["smac relaunches", "smac's relaunch fails"])
def test_a_crashed_game_is_relaunched_counted_and_not_terminal(sc2, env_name, map_name, relaunch):
    env = make_env(env_name, map_name, 2)
    rng = np.random.default_rng(2)
    last = env.reset(seed=0)
    for _ in range(5):
        last = env.step(random_actions(env, last.avail, rng))
    assert not last.done.any()
    sc2.processes[0].kill()  # slot 0's game, as `kill -9` of its SC2_x64
    sc2.fail_launches = int(relaunch == "smac's relaunch fails")  # then smac's step raises
    step = env.step(random_actions(env, last.avail, rng))
    assert step.restarts == 1
    assert step.truncated[0] and not step.terminated[0]  # not a state the task ended in
    assert step.reward[0] == 0 and step.won[0] == 0
    np.testing.assert_array_equal(step.final_obs[0], last.obs[0])  # the last good observation
    assert (step.obs[0, :, 1] == 0).all()  # a new episode, in a new game
    assert not step.done[1]
    assert sc2.live() == 2  # the crashed game's successor only: nothing leaked
    step = env.step(random_actions(env, step.avail, rng))  # and the relaunched game plays on
    assert step.restarts == 0


def test_an_unavailable_action_raises_and_is_no_crash(sc2):
    env = make_env("smac", "MMM2", 1)
    first = env.reset(seed=0)
    attack = np.full((1, env.spec.n_agents), 6)  # nothing is in range at the start
    assert not first.avail[0, :, 6].any()
    with pytest.raises(AssertionError, match="cannot perform action 6"):
        env.step(attack)
    assert len(sc2.processes) == 1


def test_launch_failures_are_retried(sc2, monkeypatch):
    monkeypatch.setattr(smac_adapter.time, "sleep", lambda s: None)
    sc2.fail_launches = smac_adapter.MAX_LAUNCH_TRIES - 1
    env = make_env("smac", "MMM2", 1)
    assert env.reset(seed=0).obs.shape == (1, 10, 176)
    sc2.fail_launches = smac_adapter.MAX_LAUNCH_TRIES
    env.close()
    with pytest.raises(RuntimeError, match="failed to launch 3 times"):
        make_env("smac", "MMM2", 1).reset(seed=0)
