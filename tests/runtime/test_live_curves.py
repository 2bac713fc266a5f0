"""Live curves: the progress.csv and eval.csv rows as TensorBoard scalars, through a kill and a
resume with no point lost or repeated, and W&B's TensorBoard sync offline."""

import csv
import importlib.util
import os
import subprocess

import pytest

from tests.conftest import OMDPG, ROOT, kill_after_evaluations

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

TRAIN = [
    "train", "--algo", "mappo", "--env", "smax", "--map", "3m", "--seed", "3", "--steps", "4096",
    "--set", "eval.interval=1024", "--set", "eval.episodes=4", "--set", "eval.absolute_multiple=0",
    "--set", "log_interval=256", "--set", "checkpoint_interval=1024", "--set", "rollout_length=64",
    "--set", "log.tensorboard=true",
]  # fmt: skip


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def scalars(run, tag):
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


def test_a_killed_and_resumed_run_repeats_and_loses_no_point(tmp_path):
    out = tmp_path / "run"
    kill_after_evaluations(TRAIN, out)  # after a checkpoint, with points written after it
    r = subprocess.run(
        OMDPG + TRAIN + ["--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=900
    )
    assert r.returncode == 0 and "resuming" in r.stderr, r.stderr
    assert len(list((out / "tensorboard").iterdir())) == 2  # one event file per process
    progress = rows(out / "progress.csv")
    train = scalars(out, "train/train_return_mean")
    assert [s for s, _ in train] == [int(p["env_steps"]) for p in progress]
    assert [v for _, v in train] == pytest.approx([float(p["train_return_mean"]) for p in progress])
    evals = rows(out / "eval.csv")
    win = scalars(out, "eval/win_rate")
    assert [s for s, _ in win] == [1024, 2048, 3072, 4096]
    assert [v for _, v in win] == pytest.approx([float(e["win_rate"]) for e in evals])


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb is not installed")
def test_wandb_syncs_the_tensorboard_files_offline(tmp_path):
    out = tmp_path / "run"
    train = [*TRAIN[:10], "1024", *TRAIN[11:], "--set", "log.wandb=omdpg-test", "--out", str(out)]
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    r = subprocess.run(
        OMDPG + train, capture_output=True, text=True, cwd=ROOT, env=env, timeout=900
    )
    assert r.returncode == 0, r.stderr
    (run,) = (out / "wandb").glob("offline-run-*")
    assert len(list(run.glob("run-*.wandb"))) == 1
    synced = list((run / "files").rglob("events.out.tfevents.*"))
    assert [p.name for p in synced] == [p.name for p in (out / "tensorboard").iterdir()]
