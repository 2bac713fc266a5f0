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

from omdpg import __version__
from omdpg.errors import UserError

# The run folder's layout and checkpoint contents. Raise it whenever a change makes older folders
# unreadable by this code (columns, files, what state.pt holds); `omdpg eval` and a resume refuse a
# folder of another version. 2: the best evaluation's policy in state.pt, absolute_episodes.csv.
RUN_FORMAT = 2

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
# `omdpg eval`: one row per call, appended; never the training logs.
POSTHOC_COLUMNS = [
    "evaluated",
    "learner",
    "env_steps",
    "seed",
    "n_episodes",
    "win_rate",
    "return_mean",
    "return_std",
    "recording",
]


def harness_stamp() -> dict:
    """What config.json records of the code that wrote the folder; ``check_harness`` compares it."""
    return {"version": __version__, "run_format": RUN_FORMAT}


def check_harness(config: dict, where: Path) -> None:
    """Refuse a run folder that another version of the harness wrote (one line, exit 2)."""
    stamp = config.get("harness")
    if stamp != harness_stamp():
        written = (
            f"version {stamp.get('version')}, run format {stamp.get('run_format')}"
            if isinstance(stamp, dict)
            else "an older version (no harness stamp in config.json)"
        )
        raise UserError(
            f"{where} was written by harness {written}, this is version {__version__}, run "
            f"format {RUN_FORMAT}: use the harness that wrote it (its git_commit in config.json) "
            "or train the run again"
        )


def read_json(path: Path) -> dict | None:
    """A JSON file of a run folder, or None where it is missing or torn."""
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


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

    def write(self, rows: list[dict]) -> None:
        """The whole file at once, atomically: header and rows, or the old file."""
        tmp = CsvLog(self.path.with_name(self.path.name + ".tmp"), self.columns)
        tmp.create()
        tmp.append(rows)
        os.replace(tmp.path, self.path)


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
        # Written once, at the end, before DONE: the best evaluation's policy on held-out episodes.
        self.absolute = CsvLog(root / "absolute_episodes.csv", EVAL_EPISODE_COLUMNS)
        self.posthoc = CsvLog(root / "posthoc_eval.csv", POSTHOC_COLUMNS)

    def create_logs(self) -> None:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        for log in self.logs:
            log.create()

    def row_counts(self) -> list[int]:
        return [log.rows() for log in self.logs]

    def cut_logs(self, counts: list[int]) -> None:
        for log, n in zip(self.logs, counts):
            log.truncate(n)
