import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from omdpg.run_folder import EVAL_COLUMNS, EVAL_EPISODE_COLUMNS, PROGRESS_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
OMDPG = [sys.executable, "-m", "omdpg.cli"]


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
        "warmup_steps=64",
        "train_interval=8",
        "batch_size=32",
        "buffer_size=1000",
        "hidden=32,32",
    ],
    "qmix": ["batch_size=32", "buffer_size=1000", "hidden=32,32"],
}


def tiny_command(algo: str, env: str, out, seed: int = 1, map_name: str | None = None) -> list[str]:
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
        str(TINY_STEPS),
        "--out",
        str(out),
        "--map",
        map_name or tiny["map"],
        *(arg for item in sets + TINY_ALGOS[algo] for arg in ("--set", item)),
    ]
