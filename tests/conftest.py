import contextlib
import signal
import subprocess
import sys
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


def sigkill(proc: subprocess.Popen) -> None:
    """SIGKILL a run, as a lost node does, then the game processes it leaves behind orphaned."""
    games = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for game in games:
        with contextlib.suppress(psutil.NoSuchProcess):
            game.kill()


def random_actions(avail: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random available action per agent: [B, n, A] mask -> [B, n]."""
    return (rng.random(avail.shape) * avail).argmax(-1)


class RandomLearner:
    """Acts like a learner in evaluate(): random available actions."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def act(self, obs, state, avail, explore):
        return random_actions(avail, self.rng)
