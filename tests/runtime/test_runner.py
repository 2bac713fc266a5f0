"""The run-folder contract end to end through the real CLI, resume after SIGKILL, and re-runs."""

import csv
import json
import subprocess

import pytest

from omdpg.run_folder import EVAL_COLUMNS, EVAL_EPISODE_COLUMNS, PROGRESS_COLUMNS
from tests.conftest import OMDPG, ROOT, kill_after_evaluations

SMAX = [
    "--algo",
    "mappo",
    "--env",
    "smax",
    "--map",
    "3m",
    "--seed",
    "1",
    "--steps",
    "4096",
    "--set",
    "eval.interval=1024",
    "--set",
    "eval.episodes=8",
    "--set",
    "log_interval=512",
    "--set",
    "checkpoint_interval=512",
    "--set",
    "rollout_length=64",
]


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def header(path):
    with open(path) as f:
        return f.readline().strip().split(",")


def without_wall(table):
    return [{k: v for k, v in r.items() if k != "wall_seconds"} for r in table]


def check_contract(run, has_win):
    for name in ("config.json", "progress.csv", "eval.csv", "eval_episodes.csv", "DONE"):
        assert (run / name).is_file(), name
    assert (run / "checkpoint" / "state.pt").is_file()
    assert header(run / "progress.csv")[: len(PROGRESS_COLUMNS)] == PROGRESS_COLUMNS
    assert header(run / "eval.csv") == EVAL_COLUMNS
    assert header(run / "eval_episodes.csv") == EVAL_EPISODE_COLUMNS
    config = json.loads((run / "config.json").read_text())
    for key in ("git_commit", "git_dirty", "packages", "device", "host", "command", "started"):
        assert key in config["provenance"], key
    assert config["provenance"]["packages"]["torch"].startswith("2.13.0")
    evals = rows(run / "eval.csv")
    assert all((r["win_rate"] != "") == has_win for r in evals)
    done = json.loads((run / "DONE").read_text())
    assert done["env_steps"] == int(evals[-1]["env_steps"])
    return evals


@pytest.fixture(scope="module")
def smax_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smax") / "run"
    r = subprocess.run(
        OMDPG + ["train", *SMAX, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    return out, r


def test_smax_run_folder_contract(smax_run):
    out, r = smax_run
    evals = check_contract(out, has_win=True)
    assert [int(e["env_steps"]) for e in evals] == [1024, 2048, 3072, 4096]
    episodes = rows(out / "eval_episodes.csv")
    assert len(episodes) == 8 * len(evals)
    for e in evals:  # the summary row is recomputed from its episodes
        eps = [x for x in episodes if x["env_steps"] == e["env_steps"]]
        assert float(e["win_rate"]) == pytest.approx(sum(int(x["won"]) for x in eps) / len(eps))
    # no TTY: periodic log lines instead of a bar
    assert "steps/s" in r.stderr and "ETA" in r.stderr


def test_finished_run_is_not_rerun(smax_run, cli):
    out, _ = smax_run
    before = (out / "eval.csv").read_text()
    r = cli("train", *SMAX, "--out", out)
    assert r.returncode == 0 and "already complete" in r.stdout
    assert (out / "eval.csv").read_text() == before


def test_kill_and_resume_equals_uninterrupted(smax_run, tmp_path):
    reference, _ = smax_run
    out = tmp_path / "killed"
    kill_after_evaluations(["train", *SMAX], out)
    r = subprocess.run(
        OMDPG + ["train", *SMAX, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr
    # absolute_episodes.csv: the best evaluation's policy, kept in the checkpoint through the kill
    for name in ("eval.csv", "eval_episodes.csv", "absolute_episodes.csv"):
        assert without_wall(rows(out / name)) == without_wall(rows(reference / name)), name
    absolute = ("absolute_win_rate", "absolute_return", "absolute_episodes", "absolute_env_steps")
    done, ref = (json.loads((d / "DONE").read_text()) for d in (out, reference))
    assert [done[k] for k in absolute] == [ref[k] for k in absolute]
    steps = [int(p["env_steps"]) for p in rows(out / "progress.csv")]
    assert steps == sorted(set(steps)) == list(range(512, 4097, 512))


def test_mamujoco_run_folder_contract(tmp_path, cli):
    out = tmp_path / "mj"
    r = cli(
        "train",
        "--algo",
        "mappo",
        "--env",
        "mamujoco",
        "--map",
        "HalfCheetah-6x1",
        "--steps",
        512,
        "--out",
        out,
        "--set",
        "eval.interval=256",
        "--set",
        "eval.episodes=2",
        "--set",
        "n_envs=2",
        "--set",
        "rollout_length=64",
    )
    assert r.returncode == 0, r.stderr
    evals = check_contract(out, has_win=False)
    assert [int(e["env_steps"]) for e in evals] == [256, 512]
    lengths = {int(x["length"]) for x in rows(out / "eval_episodes.csv")}
    assert lengths == {1000}


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
