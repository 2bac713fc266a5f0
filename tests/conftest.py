import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

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
