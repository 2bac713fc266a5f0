"""The log line a Slurm or workflow log shows: the rate now and an ETA from the recent rate."""

import re

import pandas as pd

from omdpg import cli, progress
from omdpg.progress import ETA_WINDOW, Progress
from tests.conftest import OMDPG, tiny_command


def test_log_line_rate_is_the_last_interval_and_eta_the_recent_window(monkeypatch, capsys):
    clock = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: clock[0])
    bar = Progress(total=100_000, start=0, label="run")
    assert bar._bar is None  # pytest's stderr is no terminal: log lines, not a bar
    # a fast warm-up (1,000 steps/s: the replay buffer filling), then training at 10 steps/s
    clock[0], steps = 10.0, 10_000
    bar.update(steps, None, None)
    for _ in range(ETA_WINDOW):
        clock[0] += 100.0
        steps += 1_000
        bar.update(steps, 0.5, None)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    rate, eta = re.search(r"([\d,]+) steps/s ETA (\S+)", line).groups()
    assert rate == "10"  # not the run's average of 20,000 / 1,010 s = 19.8
    # (100,000 - 20,000) steps at 10 steps/s: the window no longer holds the warm-up
    assert eta == "2h13m"
    assert line.endswith("win 0.50")


def test_eta_window_starts_again_when_a_warm_up_ends(monkeypatch, capsys):
    """An off-policy run logs warm-up intervals at 1,000 steps/s, then trains at 10: from the line
    after the warm-up ended the ETA is the training rate's, not a mixture with the warm-up's."""
    clock = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: clock[0])
    bar = Progress(total=100_000, start=0, label="run")
    for steps in (2_000, 4_000):  # warm-up
        clock[0] += 2.0
        bar.update(steps, None, None)
    clock[0] += 100.0  # the interval in which updates began (the runner says so)
    bar.update(5_000, None, None, new_phase=True)
    clock[0] += 100.0
    bar.update(6_000, None, None)
    eta = re.search(r"ETA (\S+)", capsys.readouterr().err.splitlines()[-1]).group(1)
    assert eta == "2h36m"  # 94,000 steps at 10 steps/s; over the whole window it would be 53m


def test_the_runner_starts_the_eta_window_again_at_its_first_updates(tmp_path, monkeypatch):
    """In a run the new phase is the first logged interval whose progress row has learner metrics
    (the end of HATD3's warm-up here), and only that one."""
    phases, update = [], Progress.update

    def record(self, env_steps, win_rate, ret, new_phase=False):
        phases.append((env_steps, new_phase))
        update(self, env_steps, win_rate, ret, new_phase)

    monkeypatch.setattr(Progress, "update", record)
    out = tmp_path / "run"
    argv = tiny_command("hatd3", "mamujoco", out)[len(OMDPG) :]
    argv[argv.index("train.warmup_steps=64")] = "train.warmup_steps=192"  # 3 log intervals
    assert cli.main(argv) == 0
    rows = pd.read_csv(out / "progress.csv")
    first_updates = rows["env_steps"][rows["critic_loss"].notna()].iloc[0]
    assert first_updates > rows["env_steps"].iloc[0]  # the warm-up logged a row before it
    assert [steps for steps, new in phases if new] == [first_updates]
