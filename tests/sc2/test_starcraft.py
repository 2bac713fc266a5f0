"""The tests that need StarCraft II, for `make test-sc2` (inside the image; README, StarCraft II):
a few MMM2 and SMACv2 episodes per algorithm through the command line, a game killed and
relaunched, evaluations that keep their games, a SIGKILLed run resumed on new games, and the games'
throughput, written where `omdpg plan` reads it. Without smac or the game they skip with one line
saying why; tests/envs runs the probes' checks on the stand-in."""

import json
import subprocess

import pytest

from omdpg import plan
from omdpg.envs.starcraft import FIX, missing_reason, sc2_build
from omdpg.layout import THROUGHPUT
from omdpg.learner import ALGORITHMS, learner_class
from tests.conftest import OMDPG, ROOT, kill_and_resume, rows
from tests.sc2 import probe

MISSING = missing_reason("smac")
if MISSING:  # one line for the whole module (SMACv2 tests without smacv2: conftest.py)
    pytest.skip(f"needs StarCraft II: {MISSING}; fix: {FIX}", allow_module_level=True)
pytestmark = pytest.mark.sc2
BACKENDS = [("smac", "MMM2"), ("smacv2", "protoss_5_vs_5")]
DISCRETE = [name for name in ALGORITHMS if learner_class(name).discrete]
# So that every learner updates within a few hundred steps.
SMALL = {
    "mappo": ["rollout_length=100"],
    "happo": ["rollout_length=100"],
    "omdpg": ["train.warmup_steps=200", "train.batch_size=64"],
    "qmix": ["train.batch_size=64"],
}


def train(out, *args, settings=()):
    argv = OMDPG + ["train", *map(str, args), "--out", str(out)]
    return argv + [f"--set={s}" for s in settings]


@pytest.mark.parametrize("env,map_name", BACKENDS)
@pytest.mark.parametrize("algo", DISCRETE)
def test_a_few_episodes_per_algorithm(tmp_path, algo, env, map_name):
    out, steps = tmp_path / "run", 600
    settings = ["n_envs=2", f"eval.interval={steps}", "eval.episodes=2", "log_interval=200"]
    argv = train(out, "--algo", algo, "--env", env, "--map", map_name, "--steps", steps,
                 settings=settings + SMALL.get(algo, []))  # fmt: skip
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["provenance"]["sc2_build"] == sc2_build() != ""  # the build that ran
    last = rows(out / "progress.csv")[-1]
    assert int(last["episodes"]) >= 2 and int(last["restarts"]) == 0
    limit = config["spec"]["episode_limit"]
    episodes = rows(out / "eval_episodes.csv")
    assert len(episodes) == 2
    assert all(e["won"] in ("0", "1") and 1 <= int(e["length"]) <= limit for e in episodes)


@pytest.mark.parametrize("env,map_name", BACKENDS)
def test_a_killed_game_is_relaunched_counted_and_not_terminal(env, map_name):
    assert probe.run("crash", env, map_name)["restarts"] == 1


@pytest.mark.parametrize("env,map_name", BACKENDS)
def test_evaluations_keep_their_games(env, map_name):
    assert probe.run("eval", env, map_name)["episodes"] == 8


def test_a_sigkilled_run_resumes_on_new_games(tmp_path):
    out = tmp_path / "run"
    settings = ["n_envs=2", "checkpoint_interval=200", "log_interval=200", "eval.interval=400",
                "eval.episodes=2", "rollout_length=100"]  # fmt: skip
    argv = train(out, "--algo", "mappo", "--env", "smac", "--map", "MMM2", "--steps", 1200,
                 settings=settings)  # fmt: skip
    kill_and_resume(argv, out, n_envs=2, every=200, evals=[400, 800, 1200], timeout=3600)
    assert len(rows(out / "eval_episodes.csv")) == 3 * 2


@pytest.mark.parametrize("env,map_name", BACKENDS)
def test_the_games_throughput_is_written_for_plan(env, map_name):
    seen = probe.run("throughput", env, map_name)
    assert seen["restarts"] == 0 and seen["steps_per_second"] > 0
    facts = {"map": map_name, "n_envs": seen["n_envs"], "sc2_build": sc2_build()}
    plan.record_sc2_rate(THROUGHPUT, env, seen["steps_per_second"], **facts)
    study = {"smac": "mmm2", "smacv2": None}[env]
    if study:
        r = subprocess.run(OMDPG + ["plan", study], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0 and "measured by make test-sc2" in r.stdout, r.stdout
