"""The log line a Slurm or workflow log shows: the rate now and an ETA from the recent rate."""

import re

from omdpg import progress
from omdpg.progress import ETA_WINDOW, Progress


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
