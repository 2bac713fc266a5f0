"""A one-cell study small enough to run for real under each execution profile, and the workflow's
command line as a user types it."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STEPS = 512
TINY_STUDY = {
    "description": "One SMAX cell, a few updates: checks an execution profile, not an algorithm.",
    "paper": {"counterpart": "none: a test of the harness", "stand_in": "none needed: SMAX"},
    "tasks": [{"env": "smax", "map": "3m"}],
    "algorithms": [{"name": "mappo", "grouping": ["single"]}],
    "seeds": [0],
    "steps": STEPS,
    "eval": {"interval": 256, "episodes": 2},
    "figures": [],
    "set": {"n_envs": 2, "rollout_length": 64, "log_interval": 256, "checkpoint_interval": 256},
}


@pytest.fixture
def tiny_study(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_STUDY))
    return path


def snakemake(profile: str, *args, cwd: Path, env: dict | None = None, timeout: int = 600):
    """snakemake with one of workflow/profiles/, run in `cwd` (results land there)."""
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--snakefile",
           str(ROOT / "workflow" / "Snakefile"), "--profile", str(ROOT / "workflow" / "profiles" / profile),
           *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def run_folder(results: Path) -> Path:
    """The single run folder of the tiny study."""
    (done,) = results.glob("*/runs/**/DONE")
    return done.parent
