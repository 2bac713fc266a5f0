"""The real runner and command line on the StarCraft II stand-in (fake_sc2.py): time-outs reach the
learner as truncations, evaluations launch their games once, a crashed game is counted and is not a
terminal transition, a crash in an evaluation is played again and counted, a SIGKILLed run resumes
on new episodes without repeating a CSV row, and the probes of tests/sc2 pass."""

import json
import sys

import numpy as np
import pytest

from omdpg.cli import main
from omdpg.learner import learner_class
from tests.conftest import kill_and_resume, rows
from tests.sc2 import probe

BACKENDS = [("smac", "MMM2"), ("smacv2", "terran_5_vs_5")]
MAPPO = ["--algo", "mappo", "--seed", "3", "--set", "rollout_length=64"]


def train(out, env, map_name, steps, *settings):
    argv = ["train", *MAPPO, "--env", env, "--map", map_name, "--steps", str(steps)]
    assert main([*argv, "--out", str(out), *(a for s in settings for a in ("--set", s))]) == 0
    return out


@pytest.fixture
def transitions(monkeypatch):
    """Every Transition the learner is given, in order."""
    seen = []
    cls = learner_class("mappo")
    observe = cls.observe

    def spy(self, t):
        seen.append(t)
        return observe(self, t)

    monkeypatch.setattr(cls, "observe", spy)
    return seen


@pytest.mark.parametrize("env,map_name", BACKENDS)
def test_time_outs_reach_the_learner_as_truncations(sc2, transitions, tmp_path, env, map_name):
    sc2.ally_damage = sc2.enemy_damage = 0.0  # every episode reaches its limit
    limit = {"smac": 180, "smacv2": 200}[env]
    steps = 2 * limit * 2  # two episodes in each of two envs
    out = train(tmp_path / "run", env, map_name, steps, "n_envs=2", f"eval.interval={steps}",
                "eval.episodes=2")  # fmt: skip
    truncated = np.stack([t.truncated for t in transitions])
    assert truncated.sum() == 4 and not np.stack([t.terminated for t in transitions]).any()
    assert truncated[limit - 1].all() and truncated[2 * limit - 1].all()
    episodes = rows(out / "eval_episodes.csv")
    assert [(int(e["length"]), e["won"]) for e in episodes] == [(limit, "0")] * 2


@pytest.mark.parametrize("env,map_name", BACKENDS)
def test_two_evaluations_launch_their_8_games_once(sc2, tmp_path, env, map_name):
    out = train(tmp_path / "run", env, map_name, 200, "n_envs=2", "eval.interval=100")
    assert [int(r["n_episodes"]) for r in rows(out / "eval.csv")] == [32, 32]
    # 2 training games and 8 eval games, each launched once; before: 2 + 2 x 32 launches
    assert len(sc2.processes) == 10 and sc2.live() == 0  # all closed at the end


@pytest.mark.parametrize("env,map_name", BACKENDS)
def test_a_crash_is_counted_and_is_not_a_terminal_transition(
    sc2, transitions, tmp_path, env, map_name
):
    sc2.crash_at_step = 151  # the 151st game step: slot 0 of batched training step 76
    out = train(tmp_path / "run", env, map_name, 400, "n_envs=2", "eval.interval=400",
                "eval.episodes=2", "log_interval=100")  # fmt: skip
    assert [int(r["restarts"]) for r in rows(out / "progress.csv")] == [0, 1, 1, 1]
    crashed = [(i, t) for i, t in enumerate(transitions) if t.truncated.any()]
    assert len(crashed) == 1  # battles end well before any time-out
    i, t = crashed[0]
    assert i == 75 and t.truncated[0] and not t.terminated[0] and t.reward[0] == 0
    np.testing.assert_array_equal(t.next_obs[0], t.obs[0])  # bootstraps from its last good state
    assert [p.killed for p in sc2.processes].count(True) == 1


@pytest.mark.parametrize("env,map_name", BACKENDS)
def test_a_crash_in_an_evaluation_is_played_again_and_counted(sc2, tmp_path, env, map_name):
    sc2.crash_at_step = 205  # the 5th game step of the evaluation at env step 200: its game 0
    out = train(tmp_path / "run", env, map_name, 400, "n_envs=2", "eval.interval=200",
                "eval.episodes=2", "log_interval=100")  # fmt: skip
    assert int(rows(out / "progress.csv")[-1]["restarts"]) == 1
    assert [p.killed for p in sc2.processes].count(True) == 1
    episodes = rows(out / "eval_episodes.csv")
    assert [int(e["env_steps"]) for e in episodes] == [200, 200, 400, 400]
    # every scored episode is a battle fought to its end, never the crashed one (3 steps)
    assert all(int(e["length"]) > 3 and e["won"] in ("0", "1") for e in episodes)


def test_a_crash_in_the_absolute_metric_is_played_again_and_counted(sc2, tmp_path):
    settings = ("n_envs=2", "eval.interval=200", "eval.episodes=2", "log_interval=100")
    first = train(tmp_path / "first", "smac", "MMM2", 400, *settings, "eval.absolute_multiple=0")
    before_absolute = sc2.steps  # game steps of training and its evaluations, the same again below
    sc2.steps, sc2.crash_at_step = 0, before_absolute + 3  # a game of the absolute metric
    out = train(tmp_path / "run", "smac", "MMM2", 400, *settings, "eval.absolute_multiple=2")
    assert rows(out / "eval_episodes.csv") == rows(first / "eval_episodes.csv")  # crash after them
    assert int(rows(out / "progress.csv")[-1]["restarts"]) == 0
    assert json.loads((out / "DONE").read_text())["restarts"] == 1
    episodes = rows(out / "absolute_episodes.csv")
    assert len(episodes) == 4 and all(int(e["length"]) > 3 for e in episodes)


def cli(*args):
    """The real command line on the stand-in, in its own process."""
    return [sys.executable, "-m", "tests.envs.fake_sc2", "omdpg.cli", *map(str, args)]


@pytest.mark.parametrize("env,map_name", BACKENDS)
def test_a_sigkilled_run_resumes_on_new_episodes(tmp_path, env, map_name):
    # Acting on the checkpoint's observations would choose attacks, which the stand-in, as smac,
    # refuses at an episode's start: the resumed run finishes only on the new games' own.
    out = tmp_path / "run"
    argv = cli("train", *MAPPO, "--env", env, "--map", map_name, "--steps", 2400, "--out", out)
    argv += [f"--set={s}" for s in ("checkpoint_interval=400", "log_interval=400")]
    argv += [f"--set={s}" for s in ("eval.interval=800", "eval.episodes=8")]
    kill_and_resume(argv, out, n_envs=8, every=400, evals=[800, 1600, 2400], timeout=600)
    assert len(rows(out / "eval_episodes.csv")) == 3 * 8


@pytest.mark.parametrize("check", sorted(probe.CHECKS))
def test_the_starcraft_probes_pass_on_the_stand_in(check):
    """tests/sc2's probes (crash, eval, throughput) on the stand-in, so that `make test-sc2` runs
    code that has run before; each asserts what it checks and exits non-zero otherwise."""
    seen = probe.run(check, "smac", "MMM2", stand_in=True)
    assert seen.get("restarts", 0) == (check == "crash")
