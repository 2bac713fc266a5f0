"""Real training through Snakemake: the `ci` study end to end, a killed job that resumes, and a
killed workflow whose job runs on (an orphan) while the workflow is rerun."""

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
from omdpg.studies import load_study, run_table, train_args
from tests.conftest import OMDPG, ROOT, assert_same_rows

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


def test_a_killed_workflow_s_orphan_is_waited_for(tmp_path):
    """SIGKILL Snakemake, not its job: the job runs on as an orphan, writing its run folder. The
    rerun (after `--unlock`, as Snakemake's own message advises) must not write beside it: its job
    waits for the orphan's lock, the orphan finishes the run, and the rerun's job finds it complete.
    The run folder ends with exactly the rows of an uninterrupted run: no row twice."""
    spec = yaml.safe_load((STUDIES / "ci.yaml").read_text())
    spec.update(
        tasks=[{"env": "mamujoco", "map": "HalfCheetah-6x1"}],
        algorithms=[{"name": "mappo", "grouping": ["single"]}],
        seeds=[0],
        steps=6144,  # long enough to outlive the rerun's start-up, which is when its job waits
        eval={"interval": 2048, "episodes": 1},
        set={"n_envs": 2, "rollout_length": 32, "hidden": "32,32", "checkpoint_interval": 512},
    )
    study_file = tmp_path / "orphan.yaml"
    study_file.write_text(yaml.safe_dump(spec))
    study = load_study(str(study_file))
    table = run_table(study, Layout(tmp_path / "results", "-", "orphan"))
    run_dir = Path(table["run_dir"][0])
    args = train_args(study, table.iloc[0].to_dict())
    reference = subprocess.Popen(
        [*OMDPG, "train", *args, "--out", str(tmp_path / "reference")],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    target = [str((run_dir / "DONE").relative_to(tmp_path)), "--config", f"study={study_file}"]
    first = subprocess.Popen(
        SNAKEMAKE + LOCAL + target,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    orphans = []
    try:
        deadline = time.time() + 600
        while not (run_dir / "checkpoint" / "state.pt").exists():
            assert first.poll() is None and time.time() < deadline, "no checkpoint"
            time.sleep(0.5)
        orphans = [
            p for p in psutil.Process(first.pid).children(recursive=True) if "train" in p.cmdline()
        ]
        first.send_signal(signal.SIGKILL)  # the workflow dies; its job does not
        first.wait()
        assert orphans and all(p.is_running() for p in orphans)
        unlock = snakemake(*LOCAL, *target, "--unlock", cwd=tmp_path)
        assert unlock.returncode == 0, unlock.stderr[-2000:]
        assert not (run_dir / "DONE").exists(), "the orphan finished before the rerun: too short"
        second = snakemake(*LOCAL, *target, cwd=tmp_path, timeout=900)
        assert second.returncode == 0, second.stderr[-3000:]
    finally:
        for p in orphans:
            if p.is_running():
                p.kill()
    log = next((tmp_path / "results/orphan/logs/train").rglob("*.log")).read_text()
    assert f"waiting for PID {orphans[0].pid}, since" in log, log[-3000:]
    assert "run already complete" in log.split("waiting for PID")[1]
    assert reference.wait(timeout=900) == 0
    assert_same_rows(run_dir, tmp_path / "reference")
