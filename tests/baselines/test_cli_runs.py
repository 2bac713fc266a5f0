"""Every baseline through the real command line: the run-folder contract, resume after SIGKILL equal
to an uninterrupted run, and (HAPPO) learning on SMAX 3m."""

import signal
import subprocess
import time

import pytest

from tests.conftest import OMDPG, ROOT
from tests.runtime.test_runner import check_contract, rows, without_wall

RUNS = {
    # Learning budget, measured: after 10,240 steps seeds 0-2 win 0.31-0.50 of 32 greedy episodes
    # with return 1.15-1.39; the untrained greedy policies win 0 with return 0.09-0.13.
    "happo": [
        "--env",
        "smax",
        "--map",
        "3m",
        "--steps",
        "10240",
        "--set",
        "eval.interval=5120",
        "--set",
        "eval.episodes=32",
        "--set",
        "checkpoint_interval=2048",
    ],
    "qmix": [
        "--env",
        "smax",
        "--map",
        "3m",
        "--steps",
        "2048",
        "--set",
        "eval.interval=1024",
        "--set",
        "eval.episodes=8",
        "--set",
        "checkpoint_interval=512",
        "--set",
        "log_interval=512",
        "--set",
        "train.batch_size=32",
        "--set",
        "train.buffer_size=4096",
        "--set",
        "hidden=32,32",
    ],
    "hatd3": [
        "--env",
        "mamujoco",
        "--map",
        "HalfCheetah-6x1",
        "--steps",
        "600",
        "--set",
        "n_envs=2",
        "--set",
        "eval.interval=300",
        "--set",
        "eval.episodes=1",
        "--set",
        "checkpoint_interval=100",
        "--set",
        "log_interval=100",
        "--set",
        "train.warmup_steps=200",
        "--set",
        "train.train_interval=10",
        "--set",
        "train.batch_size=64",
        "--set",
        "train.buffer_size=2000",
        "--set",
        "hidden=32,32",
    ],
}


def command(algo, out):
    return OMDPG + ["train", "--algo", algo, "--seed", "1", *RUNS[algo], "--out", str(out)]


def progress_without_clock(out):
    return [
        {k: v for k, v in r.items() if k not in ("wall_seconds", "steps_per_second")}
        for r in rows(out / "progress.csv")
    ]


@pytest.fixture(scope="module", params=sorted(RUNS))
def runs(request, tmp_path_factory):
    """An uninterrupted run and, beside it, one killed after its first evaluation and rerun."""
    algo = request.param
    base = tmp_path_factory.mktemp(algo)
    reference, killed = base / "reference", base / "killed"
    ref = subprocess.Popen(
        command(algo, reference),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    victim = subprocess.Popen(
        command(algo, killed), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 600
    while time.time() < deadline and not (
        (killed / "eval.csv").exists() and rows(killed / "eval.csv")
    ):
        time.sleep(0.1)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (killed / "DONE").exists(), "the run finished before it could be killed"
    _, err = ref.communicate(timeout=900)
    assert ref.returncode == 0, err
    resumed = subprocess.run(
        command(algo, killed), cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    return algo, reference, killed


def test_run_folder_contract(runs):
    algo, reference, _ = runs
    check_contract(reference, has_win=algo != "hatd3")


def test_resume_equals_uninterrupted(runs):
    _, reference, killed = runs
    for name in ("eval.csv", "eval_episodes.csv"):
        assert without_wall(rows(killed / name)) == without_wall(rows(reference / name)), name
    assert progress_without_clock(killed) == progress_without_clock(reference)


@pytest.mark.parametrize("runs", ["happo"], indirect=True)
def test_happo_learns_3m(runs):
    """QMIX and HATD3 show learning on one-step games (test_qmix.py, test_hatd3.py): on SMAX and
    MaMuJoCo they need far more steps than a test can afford on two cores."""
    _, reference, _ = runs
    final = rows(reference / "eval.csv")[-1]
    assert float(final["win_rate"]) >= 0.15 and float(final["return_mean"]) >= 0.6, final
    drift = [float(r["happo_drift"]) for r in rows(reference / "progress.csv")]
    assert drift and all(d == 0.0 for d in drift)  # --grouping none is HAPPO's default: NoPS
