"""The run folder (docs/design.md, contract 2): fixed CSV columns, atomic files, resumable logs.

Every write leaves either the old or the new version of a file: JSON files go through a temporary
file and ``os.replace``; CSVs are append-only with fsync, and a resumed run cuts them back to the
row counts its checkpoint recorded, so no row is lost or repeated.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

PROGRESS_COLUMNS = [
    "env_steps",
    "wall_seconds",
    "episodes",
    "train_return_mean",
    "train_win_rate",
    "steps_per_second",
    "restarts",
]
EVAL_COLUMNS = ["env_steps", "wall_seconds", "n_episodes", "win_rate", "return_mean", "return_std"]
EVAL_EPISODE_COLUMNS = ["env_steps", "episode", "won", "return", "length"]


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""  # an empty cell, e.g. win_rate on MaMuJoCo
    if isinstance(value, float):
        return repr(value)
    return str(value)


class CsvLog:
    def __init__(self, path: Path, columns: list[str]):
        self.path, self.columns = path, columns

    def create(self) -> None:
        with open(self.path, "w", newline="") as f:
            f.write(",".join(self.columns) + "\n")

    def append(self, rows: list[dict]) -> None:
        with open(self.path, "a", newline="") as f:
            for row in rows:
                f.write(",".join(_cell(row.get(c)) for c in self.columns) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def rows(self) -> int:
        with open(self.path) as f:
            return sum(1 for _ in f) - 1

    def truncate(self, n_rows: int) -> None:
        """Keep the header and the first n_rows rows; drop later or torn rows."""
        with open(self.path, newline="") as f:
            lines = f.read().split("\n")
        keep = lines[: n_rows + 1]
        if keep[0] != ",".join(self.columns):
            raise ValueError(f"{self.path}: header does not match the run's columns")
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="") as f:
            f.write("\n".join(keep) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def read(self) -> list[dict]:
        with open(self.path, newline="") as f:
            return list(csv.DictReader(f))


class RunFolder:
    def __init__(self, root: Path, learner_metrics: tuple[str, ...]):
        self.root = root
        self.config = root / "config.json"
        self.done = root / "DONE"
        self.checkpoint_dir = root / "checkpoint"
        self.checkpoint = self.checkpoint_dir / "state.pt"
        self.progress = CsvLog(root / "progress.csv", PROGRESS_COLUMNS + list(learner_metrics))
        self.eval = CsvLog(root / "eval.csv", EVAL_COLUMNS)
        self.episodes = CsvLog(root / "eval_episodes.csv", EVAL_EPISODE_COLUMNS)
        self.logs = (self.progress, self.eval, self.episodes)

    def create_logs(self) -> None:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        for log in self.logs:
            log.create()

    def row_counts(self) -> list[int]:
        return [log.rows() for log in self.logs]

    def cut_logs(self, counts: list[int]) -> None:
        for log, n in zip(self.logs, counts):
            log.truncate(n)
