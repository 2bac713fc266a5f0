"""The run folder (docs/design.md, contract 2): fixed CSV columns, atomic files, resumable logs.

Every write leaves either the old or the new version of a file: JSON files go through a temporary
file, fsync and ``os.replace``, then an fsync of the folder, and carry a checksum of their content
(``sha256``) that ``read_sealed_json`` verifies; CSVs are append-only with fsync. A checkpoint
and DONE record a ``Mark`` of each CSV (its length and the checksum of that prefix): a resumed run
checks the rows its checkpoint counts and cuts off only what follows them (rows written after the
checkpoint, or a torn last row), so no row is lost, repeated or trusted when changed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
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


SEAL = "sha256"  # the key of a JSON file's checksum of the rest of its content


class Damaged(Exception):
    """A run-folder file that is missing, cut or changed since it was written (the message says
    which and how); the caller knows what the user can do about it."""


def fsync_path(path: Path) -> None:
    """fsync a file, or a folder (which makes a rename or a new file in it durable), by name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path: Path, mode: str):
    """A file open for writing ``path``: on success fsynced and renamed over it, between fsyncs of
    the folder, so that after a crash either version is whole; on failure (a full disk) removed,
    which leaves the old version and gives the space back."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        fsync_path(path.parent)
        os.replace(tmp, path)
        fsync_path(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _seal_of(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def write_json_atomic(path: Path, data: dict) -> None:
    """``data`` as JSON with its checksum (SEAL), atomically and durably."""
    plain = json.loads(json.dumps({k: v for k, v in data.items() if k != SEAL}, default=str))
    with atomic_file(path, "w") as f:
        json.dump({**plain, SEAL: _seal_of(plain)}, f, indent=2)


def read_sealed_json(path: Path, require_seal: bool = True) -> dict:
    """A JSON file ``write_json_atomic`` wrote, checked against its checksum; raises Damaged.
    ``require_seal=False`` also takes one without a checksum (an older harness's: the analysis
    reads those, a run never resumes them)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise Damaged(f"{path.name} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Damaged(f"{path.name} is not valid JSON") from None
    if not isinstance(data, dict):
        raise Damaged(f"{path.name} is not a JSON object")
    if SEAL not in data:
        if not require_seal:
            return data
        raise Damaged(f"{path.name} has no checksum (not written by this version of the harness)")
    seal = data.pop(SEAL)
    if seal != _seal_of(data):
        raise Damaged(f"{path.name} does not match its checksum (changed since it was written)")
    return data


@dataclass(frozen=True)
class Mark:
    """How far a CSV had been written: rows and bytes, and the checksum of those bytes."""

    rows: int
    bytes: int
    sha256: str


def _digest(path: Path, n_bytes: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while n_bytes > 0:
            chunk = f.read(min(n_bytes, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            n_bytes -= len(chunk)
    return h.hexdigest()


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
            f.flush()
            os.fsync(f.fileno())

    def append(self, rows: list[dict]) -> None:
        with open(self.path, "a", newline="") as f:
            for row in rows:
                f.write(",".join(_cell(row.get(c)) for c in self.columns) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def rows(self) -> int:
        with open(self.path) as f:
            return sum(1 for _ in f) - 1

    def mark(self) -> Mark:
        size = self.path.stat().st_size
        return Mark(self.rows(), size, _digest(self.path, size))

    def check(self, mark: Mark) -> int:
        """Raise Damaged unless the file starts with exactly the bytes ``mark`` recorded; return
        the file's length."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            raise Damaged(f"{self.path.name} is missing") from None
        if size < mark.bytes or _digest(self.path, mark.bytes) != mark.sha256:
            with open(self.path, newline="") as f:
                head = f.readline().rstrip("\n")
            what = (
                "its header is not the run's columns"
                if head != ",".join(self.columns)
                else f"its first {mark.rows} rows are not those written (changed, cut or deleted)"
            )
            raise Damaged(f"{self.path.name}: {what}")
        return size

    def restore(self, mark: Mark) -> None:
        """Back to ``mark``, after checking that the rows up to it are intact: what follows them can
        only be rows written after the mark or a torn last row, which the resumed run rewrites."""
        if self.check(mark) > mark.bytes:
            os.truncate(self.path, mark.bytes)
            fsync_path(self.path)

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
        self.lock = root / "lock"  # omdpg/run_lock.py: held by the process writing the folder
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

    def marks(self) -> dict[str, dict]:
        """Each CSV's Mark, by file name, as a checkpoint and DONE record them."""
        return {log.path.name: asdict(log.mark()) for log in self.logs}

    def check_logs(self, marks: dict[str, dict], finished: bool) -> None:
        """Raise Damaged unless every CSV starts as ``marks`` recorded, and, if ``finished``, ends
        there too."""
        for log in self.logs:
            mark = Mark(**marks[log.path.name])
            if log.check(mark) != mark.bytes and finished:
                raise Damaged(f"{log.path.name} has rows after the ones its run wrote")

    def restore_logs(self, marks: dict[str, dict]) -> None:
        for log in self.logs:
            log.restore(Mark(**marks[log.path.name]))
