"""Every algorithm in ALGORITHMS on every backend it supports that runs here, through the real
command line: the run-folder contract, and a run killed with SIGKILL after its first evaluation
that resumes to exactly the rows of an uninterrupted one (replay buffers, RNGs and envs included).
Then one longer run per learner family (on-policy, off-policy), stopped ten times: SIGKILL at
random steps, in the middle of a checkpoint write and of an evaluation, SIGTERM (what Slurm sends
at a time limit) and SIGINT, which write a checkpoint first; rerun after each, it ends with exactly
the rows of an uninterrupted run.

The runs are the tiny ones of tests/conftest.py (TINY_ALGOS, one line per algorithm). StarCraft II
backends are left to tests/sc2 (`make test-sc2`): a game cannot be saved, so their resume starts new
episodes by design and cannot equal an uninterrupted run.
"""

import json
import random
import re
import signal
import subprocess
import time
from pathlib import Path

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
    assert_same_rows,
    check_contract,
    rows,
    tiny_command,
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
    steps = [0] + [int(p["env_steps"]) for p in progress]
    walls = [0.0] + [float(p["wall_seconds"]) for p in progress]
    for k, p in enumerate(progress, start=1):  # the rate since the previous row (ms-rounded walls)
        rate = float(p["steps_per_second"])
        assert rate * (walls[k] - walls[k - 1]) == pytest.approx(
            steps[k] - steps[k - 1], abs=rate * 1.1e-3
        )
    cls = learner_class(algo)
    metrics = [m for m in cls.metrics if backend.discrete or m not in cls.discrete_only_metrics]
    assert all(progress[-1][name] != "" for name in metrics), "the learner never updated"
    if not backend.discrete:
        assert all(progress[-1][name] == "" for name in cls.discrete_only_metrics)
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
    assert_same_rows(killed, reference)


# --- one long run per learner family, stopped again and again -----------------------------------
FAMILY_ENV = "mamujoco"  # the cheapest start-up, which each of the reruns pays
FAMILIES = {"on-policy": "mappo", "off-policy": "omdpg"}
LONG_STEPS = 4 * TINY_STEPS  # 16 evaluations and 32 checkpoints at the tiny intervals
# (signal, the moment it is sent at), in order; the run is rerun after each, then to its end.
STOPS = [
    (signal.SIGKILL, "checkpoint"),
    (signal.SIGKILL, "evaluation"),
    (signal.SIGTERM, "evaluation"),
    (signal.SIGTERM, "step"),
    (signal.SIGINT, "step"),
    (signal.SIGKILL, "checkpoint"),
    (signal.SIGKILL, "evaluation"),
    *[(signal.SIGKILL, "step")] * 3,
]


def env_steps(path: Path) -> list[int]:
    """The env_steps of a CSV's complete rows, read while its run may be appending."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [int(line.split(",", 1)[0]) for line in text.split("\n")[1:-1]]


def stop_at(proc, run: Path, moment: str, signum: int, rng: random.Random) -> dict:
    """Send ``signum`` at ``moment`` of the victim's run, wait for it to end; what it hit."""
    begun, seen = time.time_ns(), max(env_steps(run / "progress.csv"), default=0)
    tmp = run / "checkpoint" / "state.pt.tmp"
    target = seen + TINY_LOG * rng.randint(1, 3)

    def evaluating() -> int | None:  # the step of an evaluation started after `seen`, not ended
        done = set(env_steps(run / "eval.csv"))
        due = [s for s in env_steps(run / "progress.csv") if s > seen and s % TINY_EVAL == 0]
        return next((s for s in due if s not in done), None)

    def due() -> bool:
        if moment == "checkpoint":
            try:
                return tmp.stat().st_mtime_ns > begun  # this run is writing a checkpoint now
            except FileNotFoundError:
                return False
        if moment == "evaluation":
            return evaluating() is not None
        return max(env_steps(run / "progress.csv"), default=0) >= target

    while not due():
        assert proc.poll() is None, f"the run ended before its {moment}"
        time.sleep(0.001)
    at = evaluating() if moment == "evaluation" else None
    if moment == "step":
        time.sleep(rng.uniform(0, 0.3))
    proc.send_signal(signum)
    proc.wait(timeout=300)
    hit = {
        "checkpoint": tmp.exists(),  # a finished write renames it away
        "evaluation": at is not None and at not in env_steps(run / "eval.csv"),
        "step": True,
    }[moment]
    return {"signal": signum, "moment": moment, "hit": hit, "returncode": proc.returncode}


@pytest.fixture(scope="module", params=list(FAMILIES.items()), ids=list(FAMILIES))
def stopped_often(request, tmp_path_factory):
    _, algo = request.param
    if BACKENDS[FAMILY_ENV].unavailable() is not None:
        pytest.skip(f"{FAMILY_ENV} cannot run here")
    base = tmp_path_factory.mktemp(f"{algo}-stopped")
    reference, run = base / "reference", base / "run"
    ref = subprocess.Popen(
        tiny_command(algo, FAMILY_ENV, reference, steps=LONG_STEPS),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    rng, stops, logs = random.Random(f"{algo} {FAMILY_ENV}"), [], []
    for i, (signum, moment) in enumerate(STOPS + [(None, "end")]):
        logs.append(base / f"rerun-{i}.err")
        with open(logs[-1], "w") as err:
            proc = subprocess.Popen(
                tiny_command(algo, FAMILY_ENV, run, steps=LONG_STEPS),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            if signum is None:
                assert proc.wait(timeout=900) == 0, logs[-1].read_text()[-2000:]
            else:
                stops.append(stop_at(proc, run, moment, signum, rng))
    _, err = ref.communicate(timeout=900)
    assert ref.returncode == 0, err.decode()[-2000:]
    return run, reference, stops, [log.read_text() for log in logs]


def test_stopped_ten_times_equals_uninterrupted(stopped_often):
    run, reference, stops, stderr = stopped_often
    assert len(stops) >= 10
    assert any(s["moment"] == "checkpoint" and s["hit"] for s in stops), stops
    assert any(s["moment"] == "evaluation" and s["hit"] for s in stops), stops
    # SIGTERM in an evaluation leaves it at once: no eval row, the checkpoint of the step before it
    assert all(
        s["hit"] for s in stops if s["moment"] == "evaluation" and s["signal"] != signal.SIGKILL
    ), stops
    for stop, err, rerun in zip(stops, stderr, stderr[1:]):
        resumed = re.search(r"resuming .* from env step (\d+)", rerun)
        if stop["signal"] == signal.SIGKILL:
            assert stop["returncode"] == -signal.SIGKILL
            continue
        # SIGTERM, SIGINT: a checkpoint where it stopped, from which the rerun goes on
        name = signal.Signals(stop["signal"]).name
        stopped = re.search(rf"stopped by {name} at env step (\d+): checkpoint written", err)
        assert stop["returncode"] == 128 + stop["signal"] and stopped, err[-2000:]
        assert resumed and resumed[1] == stopped[1], rerun[-2000:]
    assert_same_rows(run, reference)
    assert json.loads((run / "DONE").read_text())["env_steps"] == LONG_STEPS
    assert not list(run.rglob("*.tmp")), "a temporary file was left behind"
