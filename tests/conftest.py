import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch

from omdpg.envs.checker import random_actions
from omdpg.run_folder import EVAL_COLUMNS, EVAL_EPISODE_COLUMNS, PROGRESS_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
OMDPG = [sys.executable, "-m", "omdpg.cli"]

# `make test` gives each pytest worker a core (pytest-xdist); torch's own threads would share it.
if "PYTEST_XDIST_WORKER" in os.environ:
    torch.set_num_threads(1)


def run_cli(*args, timeout=600, **kw):
    """Run the real command line in a subprocess, as a user would."""
    return subprocess.run(
        OMDPG + [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=kw.pop("cwd", ROOT),
        **kw,
    )


@pytest.fixture
def cli():
    return run_cli


# --- the run-folder contract (docs/design.md, contract 2), shared by every test that trains ---
def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def header(path):
    with open(path) as f:
        return f.readline().strip().split(",")


def without_wall(table):
    return [{k: v for k, v in r.items() if k != "wall_seconds"} for r in table]


def without_clock(table):
    return [
        {k: v for k, v in r.items() if k not in ("wall_seconds", "steps_per_second")} for r in table
    ]


def assert_same_rows(run, reference) -> None:
    """A resumed run's CSVs and absolute metric are the uninterrupted run's, but for the clocks."""
    # absolute_episodes.csv: the best evaluation's policy, kept in the checkpoint through the kill
    for name in ("eval.csv", "eval_episodes.csv", "absolute_episodes.csv"):
        assert without_wall(rows(run / name)) == without_wall(rows(reference / name)), name
    absolute = ("absolute_return", "absolute_episodes", "absolute_env_steps")
    done, ref = (json.loads((d / "DONE").read_text()) for d in (run, reference))
    assert [done[k] for k in absolute] == [ref[k] for k in absolute]
    assert without_clock(rows(run / "progress.csv")) == without_clock(
        rows(reference / "progress.csv")
    )


def check_contract(run, has_win):
    """Every file of a finished run folder, its fixed columns and provenance; returns eval.csv."""
    for name in ("config.json", "progress.csv", "eval.csv", "eval_episodes.csv", "DONE"):
        assert (run / name).is_file(), name
    assert (run / "checkpoint" / "state.pt").is_file()
    assert header(run / "progress.csv")[: len(PROGRESS_COLUMNS)] == PROGRESS_COLUMNS
    assert header(run / "eval.csv") == EVAL_COLUMNS
    assert header(run / "eval_episodes.csv") == EVAL_EPISODE_COLUMNS
    config = json.loads((run / "config.json").read_text())
    for key in ("git_commit", "git_dirty", "packages", "device", "host", "command", "started"):
        assert key in config["provenance"], key
    assert config["provenance"]["packages"]["torch"].startswith("2.13.0")
    evals = rows(run / "eval.csv")
    assert all((r["win_rate"] != "") == has_win for r in evals)
    done = json.loads((run / "DONE").read_text())
    assert done["env_steps"] == int(evals[-1]["env_steps"])
    return evals


# --- tiny runs of every algorithm on every backend that runs here (test_registry_runs.py) ---
# Per backend: a cheap map, its batch and evaluation; 512 env steps, evaluated every 128 and
# checkpointed every 64, so a run killed after its first evaluation resumes from mid-run.
TINY_ENVS = {
    "smax": {"map": "3m", "n_envs": 4, "eval.episodes": 4},
    "mamujoco": {"map": "HalfCheetah-6x1", "n_envs": 2, "eval.episodes": 1},
}
TINY_STEPS, TINY_EVAL, TINY_LOG = 512, 128, 64
# Per algorithm: small networks and a cadence that updates several times within TINY_STEPS. A new
# algorithm adds its line here and is then trained on every backend it supports.
TINY_ALGOS = {
    "mappo": ["rollout_length=32", "hidden=32,32"],
    "happo": ["rollout_length=32", "hidden=32,32"],
    "omdpg": [
        "train.warmup_steps=64",
        "train.train_interval=8",
        "train.batch_size=32",
        "train.buffer_size=1000",
        "actor.hidden=32,32",
        "gqc.hidden=32,32",
    ],
    "hatd3": [
        "train.warmup_steps=64",
        "train.train_interval=8",
        "train.batch_size=32",
        "train.buffer_size=1000",
        "hidden=32,32",
    ],
    "qmix": ["train.batch_size=32", "train.buffer_size=1000", "hidden=32,32"],
}


def tiny_command(
    algo: str,
    env: str,
    out,
    seed: int = 1,
    steps: int = TINY_STEPS,
    map_name: str | None = None,
) -> list[str]:
    """The `omdpg train` command line of a tiny run (on the backend's cheap map by default)."""
    tiny = TINY_ENVS[env]
    sets = [
        f"n_envs={tiny['n_envs']}",
        f"eval.episodes={tiny['eval.episodes']}",
        f"eval.interval={TINY_EVAL}",
        f"log_interval={TINY_LOG}",
        f"checkpoint_interval={TINY_LOG}",
    ]
    return [
        *OMDPG,
        "train",
        "--algo",
        algo,
        "--env",
        env,
        "--seed",
        str(seed),
        "--steps",
        str(steps),
        "--out",
        str(out),
        "--map",
        map_name or tiny["map"],
        *(arg for item in sets + TINY_ALGOS[algo] for arg in ("--set", item)),
    ]


# --- StarCraft II: the stand-in's runs (tests/envs) and the game's (tests/sc2) ---
def kill_and_resume(argv: list, out: Path, n_envs: int, every: int, evals: list, timeout: int):
    """Run ``argv`` (a StarCraft II run into ``out``), SIGKILL it after its first evaluation, as a
    lost node does, and the game processes it leaves orphaned, then run it again. The resumed run
    must say that it dropped its ``n_envs`` episodes in flight, record that in config.json, and
    finish with a progress row every ``every`` steps, evaluations at ``evals``, no row repeated."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if (out / "eval.csv").exists() and rows(out / "eval.csv"):
            break
        time.sleep(0.1)
    games = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for game in games:
        with contextlib.suppress(psutil.NoSuchProcess):
            game.kill()
    assert not (out / "DONE").exists()
    assert "episodes_dropped_at_resume" not in json.loads((out / "config.json").read_text())
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"its {n_envs} episodes in flight were dropped" in r.stderr
    (dropped,) = json.loads((out / "config.json").read_text())["episodes_dropped_at_resume"]
    assert dropped["env_steps"] % every == 0 and dropped["episodes"] == n_envs
    progress = [int(row["env_steps"]) for row in rows(out / "progress.csv")]
    assert progress == list(range(every, evals[-1] + 1, every))
    assert [int(row["env_steps"]) for row in rows(out / "eval.csv")] == evals
    keys = [(e["env_steps"], e["episode"]) for e in rows(out / "eval_episodes.csv")]
    assert len(keys) == len(set(keys))


class RandomLearner:
    """Acts like a learner in evaluate(): random available actions (the env checker's)."""

    def __init__(self, env, seed: int):
        self.env, self.rng = env, np.random.default_rng(seed)

    def act(self, obs, state, avail, explore):
        return random_actions(self.env, avail, self.rng)


def kill_after_evaluations(args, out: Path, evaluations: int = 2) -> None:
    """Start `omdpg ARGS --out OUT` and SIGKILL it (a crash: no chance to clean up) once eval.csv
    has this many rows, so a checkpoint and an evaluation exist; it must not have finished."""
    proc = subprocess.Popen(
        OMDPG + [str(a) for a in args] + ["--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 600
    while time.time() < deadline:
        if (out / "eval.csv").exists():
            with open(out / "eval.csv", newline="") as f:
                if len(list(csv.DictReader(f))) >= evaluations:
                    break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "DONE").exists(), "the run finished before it could be killed"
