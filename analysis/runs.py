"""Run folders (design.md, contract 2) -> tidy pandas tables, one row per evaluation.

The study factors come from the folder path (`algorithm~omdpg/.../seed~0`, Paramspace's encoding),
so a table can be built from any tree of run folders, with or without its study file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from omdpg.studies import FACTORS

EVAL_COLUMNS = ("env_steps", "wall_seconds", "n_episodes", "win_rate", "return_mean", "return_std")
FILES = ("config.json", "progress.csv", "eval.csv", "eval_episodes.csv", "checkpoint", "DONE")


def cell_from_path(run_dir: Path) -> dict[str, str]:
    """The `key~value` parts of a run folder's path."""
    return dict(part.split("~", 1) for part in Path(run_dir).parts if "~" in part)


def find_runs(root: Path) -> list[Path]:
    """Every folder under root that holds a run's files (a started run writes config.json first)."""
    return sorted({p.parent for name in ("config.json", "DONE") for p in Path(root).rglob(name)})


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def read_csv(path: Path, columns=None) -> pd.DataFrame:
    """A run's CSV, or an empty frame with the expected columns when the run has not written it."""
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame(columns=list(columns or []))


def read_tidy(path: Path) -> pd.DataFrame:
    """A table this package wrote: factor columns stay strings ('NA', 'none' are values, not
    NaN)."""
    head = pd.read_csv(path, nrows=0).columns
    return pd.read_csv(
        path, dtype={f: str for f in FACTORS if f in head}, keep_default_na=False, na_values=[""]
    )


def tidy_evals(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per evaluation of every run in `runs` (factor columns + run_dir), from eval.csv."""
    frames = []
    for run in runs.to_dict("records"):
        evals = read_csv(Path(run["run_dir"]) / "eval.csv", EVAL_COLUMNS)
        if len(evals):
            frames.append(evals.assign(**run))
    keys = list(runs.columns)
    if not frames:
        return pd.DataFrame(columns=keys + list(EVAL_COLUMNS))
    table = pd.concat(frames, ignore_index=True)
    return table[keys + [c for c in table.columns if c not in keys]]


def tidy_progress(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per progress.csv line with env_steps and `column` (absent column: no rows)."""
    frames = []
    for run in runs.to_dict("records"):
        progress = read_csv(Path(run["run_dir"]) / "progress.csv")
        if column in progress.columns:
            frames.append(progress[["env_steps", column]].assign(**run))
    if not frames:
        return pd.DataFrame(columns=list(runs.columns) + ["env_steps", column])
    return pd.concat(frames, ignore_index=True)


def runs_under(root: Path) -> pd.DataFrame:
    """Every run folder under root as a table of its factors, for trees without a study file."""
    rows = [{**cell_from_path(d.relative_to(root)), "run_dir": str(d)} for d in find_runs(root)]
    return pd.DataFrame(rows)
