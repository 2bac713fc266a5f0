"""Run folders (design.md, contract 2) -> tidy pandas tables, one row per evaluation.

The study factors come from the folder path (`algorithm~omdpg/.../seed~0`, Paramspace's encoding),
so a table can be built from any tree of run folders, with or without its study file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from omdpg.run_folder import EVAL_COLUMNS, EVAL_EPISODE_COLUMNS
from omdpg.studies import FACTORS

FILES = ("config.json", "progress.csv", "eval.csv", "eval_episodes.csv", "checkpoint", "DONE")


def cell_from_path(run_dir: Path) -> dict[str, str]:
    """The `key~value` parts of a run folder's path."""
    return dict(part.split("~", 1) for part in Path(run_dir).parts if "~" in part)


def find_runs(root: Path) -> list[Path]:
    """Every folder under root that holds a run's files (a started run writes config.json first)."""
    return sorted({p.parent for name in ("config.json", "DONE") for p in Path(root).rglob(name)})


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
    return tidy_csv(runs, "eval.csv", EVAL_COLUMNS)


def tidy_episodes(runs: pd.DataFrame, name: str = "eval_episodes.csv") -> pd.DataFrame:
    """One row per evaluation episode (eval_episodes.csv), or per absolute-metric episode
    (absolute_episodes.csv), of every run in `runs`."""
    return tidy_csv(runs, name, EVAL_EPISODE_COLUMNS)


def tidy_csv(runs: pd.DataFrame, name: str, columns) -> pd.DataFrame:
    """A run-folder CSV of every run in `runs`, each row with its run's factors and run_dir."""
    frames = []
    for run in runs.to_dict("records"):
        rows = read_csv(Path(run["run_dir"]) / name, columns)
        if len(rows):
            frames.append(rows.assign(**run))
    keys = list(runs.columns)
    if not frames:
        return pd.DataFrame(columns=keys + list(columns))
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
