"""`python -m benchmarks.run --quick --only env` writes its CSV and page (nothing is timed here)."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]

ENV_COLUMNS = [
    "env",
    "map",
    "B",
    "batched_steps_per_trial",
    "repeats",
    "adapter_steps_s",
    "bare_steps_s",
    "scan_steps_s",
    "ratio",
    "ratio_cpu",
    "target",
]


@pytest.mark.slow
def test_quick_env_benchmark_writes_csv_and_page(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--quick",
            "--only",
            "env",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    table = pd.read_csv(tmp_path / "env.csv")
    assert list(table.columns) == ENV_COLUMNS
    assert set(table["env"]) == {"smax", "mamujoco"}
    assert (table[["adapter_steps_s", "bare_steps_s", "ratio"]] > 0).all().all()
    page = (tmp_path / "results.md").read_text()
    assert "--quick" in page and "load average" in page and "| env | map | B |" in page


def test_unknown_section_is_one_line_and_status_2():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and out.stderr.startswith("error: unknown --only nope")


def test_cuda_runs_only_the_learner_sections():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--device", "cuda", "--only", "env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.startswith(
        "error: unknown --only env with --device cuda: choose from train, scaling, update_paths"
    )


def test_cuda_without_a_gpu_is_one_line_and_status_2():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--device", "cuda"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "torch sees no GPU" in out.stderr


def test_profile_update_reports_time_flops_and_the_operator_table():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.profile_update",
            "--n",
            "2",
            "--updates",
            "2",
            "--set",
            "train.batch_size=8",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    first = next(line for line in out.stdout.splitlines() if line.startswith("omdpg, n=2:"))
    assert "s per update" in first and "GFLOP per update" in first and "GFLOP/s" in first
    assert "aten::bmm" in out.stdout or "aten::baddbmm" in out.stdout
