import contextlib
import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

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


def kill_and_resume(argv: list, out: Path, n_envs: int, every: int, evals: list, timeout: int):
    """Run ``argv`` (a StarCraft II run into ``out``), SIGKILL it after its first evaluation, as a
    lost node does, and the game processes it leaves orphaned, then run it again. The resumed run
    must say that it dropped its ``n_envs`` episodes in flight, record that in config.json, and
    finish with a progress row every ``every`` steps, evaluations at ``evals``, no row repeated."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if (out / "eval.csv").exists() and len((out / "eval.csv").read_text().splitlines()) > 1:
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


def rows(path: Path) -> list[dict]:
    """A CSV file's rows as dicts."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def random_actions(avail: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random available action per agent: [B, n, A] mask -> [B, n]."""
    return (rng.random(avail.shape) * avail).argmax(-1)


class RandomLearner:
    """Acts like a learner in evaluate(): random available actions."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def act(self, obs, state, avail, explore):
        return random_actions(avail, self.rng)
