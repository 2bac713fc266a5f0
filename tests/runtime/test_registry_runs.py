"""Every algorithm in ALGORITHMS on every backend it supports that runs here, through the real
command line: the run-folder contract, and a run killed with SIGKILL after its first evaluation
that resumes to exactly the rows of an uninterrupted one (replay buffers, RNGs and envs included).

The runs are the tiny ones of tests/conftest.py (TINY_ALGOS, one line per algorithm). StarCraft II
backends are left to tests/sc2 (`make test-sc2`): a game cannot be saved, so their resume starts new
episodes by design and cannot equal an uninterrupted run.
"""

import json
import re
import signal
import subprocess
import time

import pytest

from omdpg.envs.registry import BACKENDS, lookup
from omdpg.learner import ALGORITHMS, learner_class
from tests.conftest import (
    ROOT,
    TINY_ALGOS,
    TINY_ENVS,
    TINY_EVAL,
    TINY_LOG,
    TINY_STEPS,
    check_contract,
    rows,
    tiny_command,
    without_clock,
    without_wall,
)


def _supports(algo: str, env: str) -> bool:
    cls = learner_class(algo)
    return cls.discrete if BACKENDS[env].discrete else cls.continuous


EXACT_RESUME = [env for env, b in BACKENDS.items() if not b.needs_sc2]
PAIRS = [
    pytest.param(
        (algo, env),
        id=f"{algo}-{env}",
        marks=pytest.mark.skipif(
            BACKENDS[env].unavailable() is not None, reason=f"{env} cannot run here"
        ),
    )
    for algo in ALGORITHMS
    for env in EXACT_RESUME
    if _supports(algo, env) and (env in TINY_ENVS or BACKENDS[env].unavailable() is not None)
]


def test_every_algorithm_and_runnable_backend_has_a_tiny_run():
    assert set(TINY_ALGOS) == set(ALGORITHMS)
    runnable = {env for env in EXACT_RESUME if BACKENDS[env].unavailable() is None}
    assert runnable <= set(TINY_ENVS), "a backend that runs here needs its TINY_ENVS line"


@pytest.fixture(scope="module", params=PAIRS)
def runs(request, tmp_path_factory):
    """An uninterrupted run and, beside it, one killed after its first evaluation and rerun."""
    algo, env = request.param
    base = tmp_path_factory.mktemp(f"{algo}-{env}")
    reference, killed = base / "reference", base / "killed"
    ref = subprocess.Popen(
        tiny_command(algo, env, reference), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    victim = subprocess.Popen(
        tiny_command(algo, env, killed),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 600
    while time.time() < deadline and not (
        (killed / "eval.csv").exists() and rows(killed / "eval.csv")
    ):
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (killed / "DONE").exists(), "the run finished before it could be killed"
    _, err = ref.communicate(timeout=900)
    assert ref.returncode == 0, err.decode()
    resumed = subprocess.run(
        tiny_command(algo, env, killed), cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert resumed.returncode == 0, resumed.stderr
    return algo, env, reference, killed, err.decode(), resumed.stderr


def test_run_folder_contract(runs):
    algo, env, reference, _, stderr, _ = runs
    backend = BACKENDS[env]
    evals = check_contract(reference, has_win=backend.has_win)
    assert [int(e["env_steps"]) for e in evals] == list(range(TINY_EVAL, TINY_STEPS + 1, TINY_EVAL))
    episodes = rows(reference / "eval_episodes.csv")
    assert len(episodes) == TINY_ENVS[env]["eval.episodes"] * len(evals)
    for e in evals:  # each summary row is recomputed from its episodes
        eps = [x for x in episodes if x["env_steps"] == e["env_steps"]]
        returns = [float(x["return"]) for x in eps]
        assert float(e["return_mean"]) == pytest.approx(sum(returns) / len(returns))
        # JaxMARL's SMAX ends an episode one step past max_steps (is_terminal reads the step count
        # before it is incremented): 101 steps at episode_limit 100
        limit = lookup(env, TINY_ENVS[env]["map"]).episode_limit + (env == "smax")
        assert all(1 <= int(x["length"]) <= limit for x in eps)
        if backend.has_win:
            assert float(e["win_rate"]) == pytest.approx(sum(int(x["won"]) for x in eps) / len(eps))
    progress = rows(reference / "progress.csv")
    assert [int(p["env_steps"]) for p in progress] == list(
        range(TINY_LOG, TINY_STEPS + 1, TINY_LOG)
    )
    metrics = learner_class(algo).metrics
    assert all(progress[-1][name] != "" for name in metrics), "the learner never updated"
    config = json.loads((reference / "config.json").read_text())
    assert (config["protocol"]["gamma"], config["protocol"]["reward_scale"]) == (
        backend.protocol.gamma,
        backend.protocol.reward_scale,
    )
    assert "steps/s" in stderr and "ETA" in stderr  # no TTY: periodic log lines instead of a bar


def test_kill_and_resume_equals_uninterrupted(runs):
    _, _, reference, killed, _, resumed_stderr = runs
    resumed_at = re.search(r"resuming .* from env step (\d+)", resumed_stderr)
    assert resumed_at and 0 < int(resumed_at[1]) < TINY_STEPS, resumed_stderr
    # absolute_episodes.csv: the best evaluation's policy, kept in the checkpoint through the kill
    for name in ("eval.csv", "eval_episodes.csv", "absolute_episodes.csv"):
        assert without_wall(rows(killed / name)) == without_wall(rows(reference / name)), name
    absolute = ("absolute_return", "absolute_episodes", "absolute_env_steps")
    done, ref = (json.loads((d / "DONE").read_text()) for d in (killed, reference))
    assert [done[k] for k in absolute] == [ref[k] for k in absolute]
    assert without_clock(rows(killed / "progress.csv")) == without_clock(
        rows(reference / "progress.csv")
    )
