"""The workflow's command line under one of workflow/profiles/, and a one-cell study small enough
to run for real under each of them."""

import subprocess
import sys
from pathlib import Path

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


def snakemake(profile: str, *args, cwd: Path, env: dict | None = None, timeout: int = 600):
    """snakemake with one of workflow/profiles/, run in `cwd` (results land there)."""
    cmd = [
        str(Path(sys.executable).parent / "snakemake"),
        "--snakefile",
        str(ROOT / "workflow" / "Snakefile"),
        "--profile",
        str(ROOT / "workflow" / "profiles" / profile),
        *map(str, args),
    ]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def run_folder(results: Path) -> Path:
    """The single run folder of the tiny study."""
    (done,) = results.glob("*/runs/**/DONE")
    return done.parent
