"""Run the workflow as a user would: the venv's snakemake on workflow/Snakefile, local profile."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [
    str(Path(sys.executable).parent / "snakemake"),
    "--snakefile",
    str(ROOT / "workflow/Snakefile"),
]
LOCAL = ["--profile", str(ROOT / "workflow/profiles/local"), "--cores", "2"]


def snakemake(*args, cwd, timeout=300):
    return subprocess.run(
        SNAKEMAKE + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def job_count(output: str, rule: str) -> int:
    """The count of `rule` in Snakemake's job stats table (0 when absent)."""
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == rule and parts[1].isdigit():
            return int(parts[1])
    return 0
