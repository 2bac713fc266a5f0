"""The runner beyond one run's contract (tests/runtime/test_registry_runs.py has those): a finished
run is not rerun, and on a terminal the progress is a tqdm bar."""

import subprocess

from omdpg.config import RunConfig, cpu_threads
from omdpg.runner import run_identity, same_run
from tests.conftest import OMDPG, ROOT, tiny_command


def test_finished_run_is_not_rerun(tmp_path):
    out = tmp_path / "run"
    first = subprocess.run(
        tiny_command("mappo", "smax", out), capture_output=True, text=True, cwd=ROOT
    )
    assert first.returncode == 0, first.stderr
    before = {name: (out / name).read_text() for name in ("eval.csv", "progress.csv", "DONE")}
    again = subprocess.run(
        tiny_command("mappo", "smax", out), capture_output=True, text=True, cwd=ROOT
    )
    assert again.returncode == 0 and "already complete" in again.stdout
    assert {name: (out / name).read_text() for name in before} == before


def test_progress_bar_on_a_terminal(tmp_path):
    """On a terminal (a sized pseudo-terminal from `script`) the run draws a tqdm bar."""
    out = tmp_path / "tty"
    train = " ".join(
        OMDPG
        + [
            "train",
            "--algo",
            "mappo",
            "--env",
            "mamujoco",
            "--map",
            "HalfCheetah-6x1",
            "--steps",
            "256",
            "--out",
            str(out),
            "--set",
            "eval.interval=256",
            "--set",
            "eval.episodes=1",
            "--set",
            "n_envs=2",
            "--set",
            "log_interval=128",
        ]
    )
    r = subprocess.run(
        ["script", "-qec", f"stty cols 120 rows 40; {train}", "/dev/null"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout
    assert "256/256" in r.stdout and "step/s" in r.stdout
    assert "ETA" not in r.stdout  # the log-line form is for non-terminals only


def test_torch_threads_are_those_asked_for_else_the_jobs_omp_num_threads_else_one(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert cpu_threads(0) == 1 and cpu_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # what the workflow's train rule sets from threads
    assert cpu_threads(0) == 2 and cpu_threads(1) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")  # OpenMP's nested form: the outer level counts
    assert cpu_threads(0) == 4


def test_a_checkpoint_written_when_threads_were_part_of_the_identity_still_resumes():
    cfg = RunConfig(algo="mappo", env="smax", map="3m")
    before = {**run_identity(cfg), "torch_threads": 1}  # as checkpoints before 2026-12-04 hold it
    assert same_run(before, cfg) and not same_run({**before, "seed": cfg.seed + 1}, cfg)
