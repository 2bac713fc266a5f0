"""Real training through Snakemake: the `ci` study end to end (tables, figures, marl-eval JSON and
the HTML report), a killed job that resumes, and a killed workflow whose job runs on (an orphan)
while the workflow is rerun."""

import importlib.util
import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
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


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("ci")
    result = snakemake(*LOCAL, "--config", "study=ci", cwd=cwd, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd, result


def test_ci_study_end_to_end(ci_run):
    tmp_path, result = ci_run
    summary = pd.read_csv(tmp_path / "results/ci/summary.csv")
    assert list(summary["status"]) == ["complete"] * 4 and not summary["synthetic"].any()
    assert (summary["steps"] == 2000).all() and summary["final"].between(0, 1).all()
    assert summary["absolute"].between(0, 1).all()  # DONE's absolute metric, every run
    for path in (
        "results/ci/tables/final.md",
        "results/ci/tables/runtimes.csv",
        "paper_figures/ci/curves.png",
        "paper_figures/ci/curves.pdf",
        "paper_figures/ci/poi.png",
        "results/ci/recordings/mappo_smax_3m_seed0.gif",
    ):
        assert (tmp_path / path).is_file(), path
    assert "Runs: 4 of 4 complete" in result.stdout
    runtimes = pd.read_csv(tmp_path / "results/ci/tables/runtimes.csv")
    assert (runtimes["job_seconds"] > 0).all() and (runtimes["max_rss_mb"] > 0).all()


def test_marl_eval_json_loads_back_equal_to_the_csvs(ci_run):
    tmp_path, _ = ci_run
    data = json.loads((tmp_path / "results/ci/marl_eval.json").read_text())
    summary = pd.read_csv(tmp_path / "results/ci/summary.csv", dtype=str)
    assert set(data) == {"smax"} and set(data["smax"]) == {"3m"}
    assert set(data["smax"]["3m"]) == {"MAPPO FUPS", "OMDPG PARPS (TYPE)"}
    for run in summary.to_dict("records"):
        name = "MAPPO FUPS" if run["algorithm"] == "mappo" else "OMDPG PARPS (TYPE)"
        steps = data["smax"]["3m"][name][f"seed_{run['seed']}"]
        run_dir = tmp_path / run["run_dir"]
        evals = pd.read_csv(run_dir / "eval.csv")
        episodes = pd.read_csv(run_dir / "eval_episodes.csv")
        assert list(steps) == [f"step_{i}" for i in range(len(evals))] + ["absolute_metrics"]
        for i, row in evals.iterrows():
            step = steps[f"step_{i}"]
            mine = episodes[episodes["env_steps"] == row["env_steps"]]
            assert step["step_count"] == row["env_steps"]
            assert step["elapsed_time"] == row["wall_seconds"]
            assert step["return"] == list(mine["return"]) and len(step["return"]) == 4
            assert np.mean(step["win_rate"]) == pytest.approx(row["win_rate"])
        absolute = pd.read_csv(run_dir / "absolute_episodes.csv")
        assert steps["absolute_metrics"]["return"] == list(absolute["return"])
        assert len(absolute) == 10 * 4  # 10 x eval.episodes: the absolute metric
        done = json.loads((run_dir / "DONE").read_text())
        assert np.mean(steps["absolute_metrics"]["win_rate"]) == done["absolute_win_rate"]


def test_html_report_names_every_figure_and_table(ci_run):
    tmp_path, _ = ci_run
    report = tmp_path / "report.html"
    result = snakemake(*LOCAL, "--config", "study=ci", "--report", report, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    html = report.read_text()
    for name in ("curves.png", "poi.png", "final.csv", "runtimes.csv", "mappo_smax_3m_seed0.gif"):
        assert name in html, name
    assert "Probability of improvement P(X &gt; Y)" in html or "Probability of improvement" in html


def test_killed_job_resumes_from_its_checkpoint(tmp_path):
    spec = yaml.safe_load((STUDIES / "ci.yaml").read_text())
    spec.update(
        algorithms=[spec["algorithms"][0]],
        seeds=[0],
        steps=4096,
        eval={"interval": 2048, "episodes": 2},
        set={"checkpoint_interval": 1024},
        figures=["curves"],  # one algorithm: nothing for 'poi' to compare
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
        steps=20480,  # long enough (~30 s) to outlive the rerun's start-up, when its job waits
        eval={"interval": 2048, "episodes": 1},
        set={"n_envs": 2, "rollout_length": 32, "hidden": "32,32", "checkpoint_interval": 512},
        figures=["curves"],  # one algorithm: nothing for 'poi' to compare
    )
    spec.pop("record", None)  # the ci study's recorded cell is not among these
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
