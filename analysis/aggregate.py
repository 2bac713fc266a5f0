"""Scores across tasks for rliable: variant labels, normalised scores, score matrices and the pairs
that the probability of improvement compares.

Win rates (SMAC, SMAX) are on [0, 1] already. MaMuJoCo returns are min-max normalised per task,
as marl-eval's data_process_pipeline does: by the lowest and highest return of any evaluation
episode of the task in the study, over every algorithm, run and evaluation. The bounds therefore
depend on the algorithms present (marl-eval issue 65), and the captions say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from omdpg.envs.registry import backend
from omdpg.studies import NA

SHARING = {"type": "ParPS (type)", "random": "ParPS (random)", "single": "FuPS", "none": "NoPS"}
PAPER_METHOD = "omdpg"
NORMALISATION = (
    "MaMuJoCo returns are min-max normalised per task by the lowest and highest return of any "
    "evaluation episode of the task in this study (marl-eval's normalisation: the bounds depend on "
    "the algorithms present); win rates are not normalised."
)


def variant_label(table: pd.DataFrame, leave_out: str | None = None) -> pd.Series:
    """Label per row: the algorithm plus each grid factor that varies in the study."""
    label = table["algorithm"].str.upper()
    if "variant" in table:  # the study's named variant of an algorithm (equal steps, ...)
        label = label + (" " + table["variant"].str.replace("_", " ")).where(
            table["variant"] != NA, ""
        )
    for factor, name in (("grouping", None), ("lambda_pu", "λ_PU"), ("ensemble_size", "C_k")):
        if factor == leave_out or factor not in table:
            continue
        if table.loc[table[factor] != NA, factor].nunique() < 2:
            continue  # one value (beside the other algorithms' NA) tells nothing apart
        text = table[factor].map(SHARING) if name is None else name + "=" + table[factor]
        label = label + (" " + text).where(table[factor] != NA, "")
    return label


def return_bounds(episodes: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float]]:
    """(env, map) -> (lowest, highest) episode return, for the tasks scored by return."""
    scored = episodes[episodes["env"].map(lambda env: backend(env).score) == "return_mean"]
    bounds = (
        pd.to_numeric(scored["return"]).groupby([scored["env"], scored["map"]]).agg(["min", "max"])
    )
    return {task: (float(r["min"]), float(r["max"])) for task, r in bounds.iterrows()}


def normalised(table: pd.DataFrame, column: str, bounds: dict) -> pd.Series:
    """``column`` of each row on a common scale: (x - lo) / (hi - lo) on return-scored tasks."""
    out = pd.to_numeric(table[column]).astype(float).copy()
    for (env, name), (lo, hi) in bounds.items():
        rows = (table["env"] == env) & (table["map"] == name)
        out[rows] = (out[rows] - lo) / (hi - lo) if hi > lo else 0.0
    return out


def tasks(table: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(table["env"], table["map"])))


def score_matrices(table: pd.DataFrame, value: str) -> tuple[dict[str, np.ndarray], list, dict]:
    """{variant: [seeds, tasks]} of ``value`` (one row per run: variant, env, map, seed) over the
    tasks of ``table``, each variant on the seeds it completed on every task; with the tasks and
    the seed count per variant."""
    order = tasks(table)
    out, seeds = {}, {}
    for label, rows in table.groupby("variant", sort=False):
        wide = rows.pivot_table(index="seed", columns=["env", "map"], values=value)
        wide = wide.reindex(columns=pd.MultiIndex.from_tuples(order)).dropna()
        out[label], seeds[label] = wide.to_numpy(), len(wide)
    return out, order, seeds


def poi_pairs(table: pd.DataFrame) -> list[tuple[str, str]]:
    """(X, Y) pairs for P(X > Y): every OMDPG variant against every variant of each other algorithm
    (the paper's claim); in a study of one algorithm, its first variant (in study order) against
    each other one."""
    labels = dict(zip(table["variant"], table["algorithm"]))
    ours = [v for v, algo in labels.items() if algo == PAPER_METHOD]
    others = [v for v, algo in labels.items() if algo != PAPER_METHOD]
    if ours and others:
        return [(x, y) for x in ours for y in others]
    first, *rest = labels
    return [(first, y) for y in rest]
