"""Real training through Snakemake: the `ci` study end to end, and a killed job that resumes."""

import importlib.util
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml
from workflow_cli import LOCAL, SNAKEMAKE, job_count, snakemake

from omdpg.layout import STUDIES, Layout
from omdpg.studies import load_study, run_table

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("omdpg.runner") is None,
        reason="the trainer (omdpg.runner) is not in this build",
    ),
]


def test_ci_study_end_to_end(tmp_path):
    result = snakemake(*LOCAL, "--config", "study=ci", cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "results/ci/summary.csv")
    assert list(summary["status"]) == ["complete"] * 4 and not summary["synthetic"].any()
    assert (summary["steps"] == 2000).all() and summary["final"].between(0, 1).all()
    for path in (
        "results/ci/tables/final.md",
        "paper_figures/ci/curves.png",
        "paper_figures/ci/curves.pdf",
    ):
        assert (tmp_path / path).is_file(), path
    assert "Runs: 4 of 4 complete" in result.stdout


def test_killed_job_resumes_from_its_checkpoint(tmp_path):
    spec = yaml.safe_load((STUDIES / "ci.yaml").read_text())
    spec.update(
        algorithms=[spec["algorithms"][0]],
        seeds=[0],
        steps=4096,
        eval={"interval": 2048, "episodes": 2},
        set={"checkpoint_interval": 1024},
    )
    study_file = tmp_path / "resume.yaml"
    study_file.write_text(yaml.safe_dump(spec))
    run_dir = Path(
        run_table(load_study(str(study_file)), Layout(tmp_path / "results", "-", "resume"))[
            "run_dir"
        ][0]
    )
    done = run_dir / "DONE"
    target = [str(done.relative_to(tmp_path))]  # train only: the aggregates are tested elsewhere

    first = subprocess.Popen(
        SNAKEMAKE + LOCAL + target + ["--config", f"study={study_file}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 600
    while not (run_dir / "checkpoint").is_dir() or not any((run_dir / "checkpoint").iterdir()):
        assert first.poll() is None and time.time() < deadline, "no checkpoint before the job ended"
        time.sleep(1)
    trainers = [
        p for p in psutil.Process(first.pid).children(recursive=True) if "train" in p.cmdline()
    ]
    for p in trainers:
        p.send_signal(signal.SIGKILL)  # a crash: no chance to clean up
    _, stderr = first.communicate(timeout=120)
    assert trainers and first.returncode != 0 and not done.exists(), stderr[-2000:]

    second = snakemake(
        *LOCAL, *target, "--config", f"study={study_file}", cwd=tmp_path, timeout=600
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert job_count(second.stderr, "train") == 1 and done.exists()
    log = next((tmp_path / "results/resume/logs/train").rglob("*.log")).read_text()
    assert "resuming" in log
    evals = pd.read_csv(run_dir / "eval.csv")
    assert evals["env_steps"].is_monotonic_increasing and evals["env_steps"].is_unique
    assert evals["env_steps"].iloc[-1] == 4096
