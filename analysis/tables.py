"""Per-study tables of final scores over seeds, as CSV (numbers), Markdown and LaTeX (formatted).

Only complete runs enter the statistics; the others are counted ("seeds 3/5") and named in a
`left_out` column, never averaged in. The paper's numbers (paper_figures/reference.csv) sit in
their own columns, labelled as the paper's, on the rows the study file's `paper.compare` names.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import entry
from analysis.aggregate import PAPER_METHOD, variant_label
from analysis.captions import caption
from analysis.runs import read_tidy, tidy_progress
from analysis.stats import MIN_SEEDS_FOR_IQM, REPS, probability_of_improvement, seed_stats_many
from omdpg.layout import FIGURE_TABLES, REFERENCE
from omdpg.studies import FACTORS, NA, load_study

PAPER = "arXiv:2507.09989"
LATEX_SPECIAL = re.compile(r"([&%$#_{}~^\\])")


def final_table(
    summary: pd.DataFrame, reference: pd.DataFrame | None = None, compare: dict | None = None
) -> pd.DataFrame:
    """One row per cell without its seed: n, mean, std, median, IQM [CI] of the final scores."""
    keys = [f for f in FACTORS if f in summary.columns and f != "seed"]
    groups = list(summary.groupby(keys, sort=False))
    done = [group[group["status"] == "complete"] for _, group in groups]
    stats = seed_stats_many([d["final"] for d in done])  # all bootstraps in one go: same numbers
    rows = []
    for (values, group), complete, stat in zip(groups, done, stats):
        left_out = group[group["status"] != "complete"]
        row = {
            **dict(zip(keys, values)),
            "metric": group["metric"].iloc[0],
            "seeds": f"{len(complete)}/{len(group)}",
            **stat,
            "left_out": "; ".join(
                f"{status}: seeds {', '.join(runs['seed'])}"
                for status, runs in left_out.groupby("status", sort=False)
            ),
        }
        rows.append({**row, **_paper(reference, compare or {}, row)})
    return _with_poi(pd.DataFrame(rows), [d["final"].to_numpy(float) for d in done])


# The drift study's measures (baselines/happo.py, docs/baselines.md): each run's mean over its
# progress rows, and its final greedy return (summary.csv), then statistics over seeds as for
# final scores.
DRIFT_MEASURES = {
    "final_return": ("final return", 3),
    "happo_improvement_gap": ("improvement gap", 4),
    "happo_drift_rel": ("relative drift", 3),
}


def drift_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per HAPPO cell: complete seeds of all, and n, mean, std, median, IQM [CI] over them
    of the final return and each run's training-mean improvement gap and relative drift."""
    happo = summary[summary["algorithm"] == "happo"]
    keys = [f for f in FACTORS if f in happo.columns and f != "seed"]
    complete = happo[happo["status"] == "complete"].copy()
    for column in list(DRIFT_MEASURES)[1:]:
        progress = tidy_progress(complete, column)
        complete[column] = complete["run_dir"].map(progress.groupby("run_dir")[column].mean())
    rows, done = [], []
    for values, group in happo.groupby(keys, sort=False):
        runs = complete.loc[group.index[group["status"] == "complete"]]
        rows.append(dict(zip(keys, values)) | {"seeds": f"{len(runs)}/{len(group)}"})
        done.append(runs)
    for column in DRIFT_MEASURES:
        for row, stat in zip(rows, seed_stats_many([d[column] for d in done])):
            row.update({"n": stat.pop("n")} | {f"{column}_{k}": v for k, v in stat.items()})
    return pd.DataFrame(rows)


def _fixed(value: float, digits: int) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def display_drift(table: pd.DataFrame) -> pd.DataFrame:
    keys = [f for f in FACTORS if f in table.columns and f != "seed" and not (table[f] == NA).all()]
    out = table[keys + ["seeds"]].copy()
    rows = table.to_dict("records")
    for column, (name, digits) in DRIFT_MEASURES.items():
        mean, std, iqm, low, high = (
            [_fixed(r[f"{column}_{k}"], digits) for r in rows]
            for k in ("mean", "std", "iqm", "iqm_low", "iqm_high")
        )
        out[f"{name}: mean ± std"] = [f"{m} ± {s}" for m, s in zip(mean, std)]
        out[f"{name}: IQM [95% CI]"] = [
            f"{i} [{lo}, {hi}]" if r["n"] >= MIN_SEEDS_FOR_IQM else f"– (n < {MIN_SEEDS_FOR_IQM})"
            for r, i, lo, hi in zip(rows, iqm, low, high)
        ]
    return out


def first_reach(evals: pd.DataFrame, metric: str, target: float) -> pd.Series | None:
    """One run's evaluation rows by env steps: the first row whose score reaches ``target``."""
    reached = evals[evals[metric] >= target]
    return reached.iloc[0] if len(reached) else None


def time_to_target_table(summary: pd.DataFrame, evals: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: its task's target (summary.csv's), the complete seeds that reached it of
    all complete seeds, and over complete seeds the wall-clock hours and env steps to the first
    greedy evaluation at or above it (median, a seed that never reached it counted as infinitely
    late; the fastest and slowest seed that did), the run's env steps per wall-clock second and
    its final score."""
    keys = [f for f in FACTORS if f in summary.columns and f != "seed"]
    by_run = {r: g.sort_values("env_steps") for r, g in evals.groupby("run_dir")}
    rows = []
    for values, group in summary.groupby(keys, sort=False):
        cell = dict(zip(keys, values))
        target = float(group["target"].iloc[0])
        complete = group[group["status"] == "complete"]
        hours, steps = [], []
        for run in complete.to_dict("records"):
            hit = first_reach(by_run[run["run_dir"]], run["metric"], target)
            hours.append(math.inf if hit is None else hit["wall_seconds"] / 3600)
            steps.append(math.inf if hit is None else float(hit["env_steps"]))
        reached = [h for h in hours if h < math.inf]
        nan = float("nan")
        rows.append(
            cell
            | {
                "metric": group["metric"].iloc[0],
                "target": target,
                "seeds": f"{len(complete)}/{len(group)}",
                "reached": f"{len(reached)}/{len(complete)}",
                "hours_median": float(np.median(hours)) if hours else nan,
                "hours_min": min(reached, default=nan),
                "hours_max": max(reached, default=nan),
                "steps_median": float(np.median(steps)) if steps else nan,
                "steps_per_second": float((complete["steps"] / complete["wall_seconds"]).mean())
                if len(complete)
                else nan,
                "final_mean": float(complete["final"].mean()) if len(complete) else nan,
            }
        )
    return pd.DataFrame(rows)


def display_time_to_target(table: pd.DataFrame) -> pd.DataFrame:
    keys = [f for f in FACTORS if f in table.columns and f != "seed" and not (table[f] == NA).all()]
    out = table[keys + ["seeds", "reached"]].copy()
    rows = table.to_dict("records")
    out["target"] = [_number(r["target"], r["metric"]) for r in rows]

    def late(value: float, text: str) -> str:
        return "not reached" if value == math.inf else "–" if math.isnan(value) else text

    out["hours to target: median"] = [
        late(r["hours_median"], f"{r['hours_median']:.2f}") for r in rows
    ]
    out["fastest–slowest seed"] = [
        "–" if math.isnan(r["hours_min"]) else f"{r['hours_min']:.2f}–{r['hours_max']:.2f}"
        for r in rows
    ]
    out["env steps to target: median"] = [
        late(r["steps_median"], f"{r['steps_median']:,.0f}") for r in rows
    ]
    out["env steps/s"] = [_fixed(r["steps_per_second"], 1) for r in rows]
    out["final score: mean"] = [_number(r["final_mean"], r["metric"]) for r in rows]
    return out


def _with_poi(table: pd.DataFrame, finals: list[np.ndarray]) -> pd.DataFrame:
    """P(X > this row) [95% CI], X as in the P(X > Y) figure (aggregate.poi_pairs): the task's
    first OMDPG row against each baseline row, or in a study of one algorithm the task's first row
    against each other one; where both have MIN_SEEDS_FOR_IQM seeds
    (stats.probability_of_improvement; one task, so no normalisation is needed)."""
    nan = float("nan")
    labels = variant_label(table)
    one_algorithm = table["algorithm"].nunique() == 1
    table = table.assign(poi_vs="", poi=nan, poi_low=nan, poi_high=nan)
    pairs = {}
    for i, row in table.iterrows():
        task = (table["env"] == row["env"]) & (table["map"] == row["map"])
        ours = table.index[task if one_algorithm else task & (table["algorithm"] == PAPER_METHOD)]
        if ours.empty or i == ours[0] or (not one_algorithm and row["algorithm"] == PAPER_METHOD):
            continue
        table.loc[i, "poi_vs"] = labels[ours[0]]
        if min(len(finals[ours[0]]), len(finals[i])) >= MIN_SEEDS_FOR_IQM:
            pairs[i] = (finals[ours[0]][:, None], finals[i][:, None])
    for i, (p, low, high) in probability_of_improvement(pairs).items():
        table.loc[i, ["poi", "poi_low", "poi_high"]] = (p, low, high)
    return table


def poi_header(table: pd.DataFrame) -> str:
    """The P(X > row) column's name: X spelled out when every row is compared with the same one,
    else named per row in a column X."""
    x = table.loc[table["poi_vs"] != "", "poi_vs"].unique()
    return f"P({x[0] if len(x) == 1 else 'X'} > row) [95% CI]"


def _paper(reference: pd.DataFrame | None, compare: dict, row: dict) -> dict:
    """The paper's number for this row's algorithm on the map the study compares it with."""
    nothing = {"paper_value": float("nan"), "paper_map": "", "paper_source": ""}
    if reference is None or row["map"] not in compare or row.get("variant", NA) != NA:
        return nothing
    match = reference[
        (reference["map"] == compare[row["map"]])
        & (reference["algorithm"] == row["algorithm"])
        & (reference["metric"] == row["metric"])
    ]
    if match.empty:
        return nothing
    ref = match.iloc[0]
    return {
        "paper_value": float(ref["value"]),
        "paper_map": f"{ref['env'].upper()} {ref['map']}",
        "paper_source": ref["source"],
    }


def load_reference(path: Path = REFERENCE) -> pd.DataFrame:
    return pd.read_csv(path)


def _number(value: float, metric: str) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.3f}" if metric == "win_rate" else f"{value:.1f}"


def display(table: pd.DataFrame) -> pd.DataFrame:
    """The table as text: factor columns that vary or mean something, then formatted statistics."""
    keys = [f for f in FACTORS if f in table.columns and f != "seed" and not (table[f] == NA).all()]
    out = table[keys].copy()
    out["metric"] = table["metric"].str.replace("return_mean", "return")
    out["seeds"] = table["seeds"]
    rows = table.to_dict("records")
    out["mean ± std"] = [
        f"{_number(r['mean'], r['metric'])} ± {_number(r['std'], r['metric'])}" for r in rows
    ]
    out["median"] = [_number(r["median"], r["metric"]) for r in rows]
    out["IQM [95% CI]"] = [
        f"{_number(r['iqm'], r['metric'])} [{_number(r['iqm_low'], r['metric'])}, "
        f"{_number(r['iqm_high'], r['metric'])}]"
        if r["n"] >= MIN_SEEDS_FOR_IQM
        else f"– (n < {MIN_SEEDS_FOR_IQM})"
        for r in rows
    ]
    if table["poi_vs"].ne("").any():
        if poi_header(table).startswith("P(X "):
            out["X"] = table["poi_vs"]
        out[poi_header(table)] = [
            ""
            if not r["poi_vs"]
            else f"– (n < {MIN_SEEDS_FOR_IQM})"
            if math.isnan(r["poi"])
            else f"{r['poi']:.2f} [{r['poi_low']:.2f}, {r['poi_high']:.2f}]"
            for r in rows
        ]
    if table["paper_map"].ne("").any():
        out[f"paper ({PAPER})"] = [
            f"{_number(r['paper_value'], r['metric'])} ({r['paper_map']})" if r["paper_map"] else ""
            for r in rows
        ]
    if table["left_out"].ne("").any():
        out["left out"] = table["left_out"]
    return out


def paper_note(table: pd.DataFrame) -> str:
    sources = sorted(set(table.loc[table["paper_map"] != "", "paper_source"]))
    if not sources:
        return ""
    return (
        f" The paper column gives numbers reported in {PAPER}, not produced by this harness: "
        + "; ".join(sources)
        + "."
    )


def latex_escape(text: str) -> str:
    return LATEX_SPECIAL.sub(r"\\\1", text)


def write_tables(table: pd.DataFrame, text: str, stem: Path, shown: pd.DataFrame) -> list[Path]:
    """STEM.csv (numbers), STEM.md and STEM.tex (``shown``: formatted, with the caption)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(ext) for ext in (".csv", ".md", ".tex")]
    table.to_csv(paths[0], index=False)
    paths[1].write_text(f"{text}\n\n{shown.to_markdown(index=False, disable_numparse=True)}\n")
    latex = shown.style.hide(axis="index").format(escape="latex")
    latex = latex.format_index(escape="latex", axis="columns")
    paths[2].write_text(latex.to_latex(caption=latex_escape(text), hrules=True, position="htbp"))
    return paths


def main(argv=None) -> int:
    args = entry.parser(__doc__.splitlines()[0]).parse_args(argv)
    study = load_study(args.study)
    layout = entry.layout(args, study)
    summary = read_tidy(layout.summary)
    table = final_table(summary, load_reference(), study.spec["paper"].get("compare"))
    text = caption(
        study,
        summary,
        "Final score over seeds: mean ± std (sample), median, and IQM "
        f"with a 95% stratified bootstrap CI (rliable, {REPS:,} resamples).",
    )
    if table["poi_vs"].ne("").any():
        x = "first" if table["algorithm"].nunique() == 1 else "OMDPG"
        text += (
            f" {poi_header(table).removesuffix(' [95% CI]')}: probability of improvement of the "
            f"task's {x} row over this row (rliable, Agarwal et al. 2021), 95% stratified "
            "bootstrap CI."
        )
    paths = write_tables(table, text + paper_note(table), layout.tables / "final", display(table))
    if "drift" in study.spec["figures"]:
        drift = drift_table(summary)
        text = caption(
            study,
            summary,
            "HAPPO's lost improvement: each run's final greedy return (its final score's "
            "evaluations) and its mean over training of happo_improvement_gap (believed minus "
            "realised surrogate improvement per iteration; 0 under NoPS by construction) and of "
            "happo_drift_rel, then over complete seeds: mean ± std and IQM with a 95% "
            f"stratified bootstrap CI (rliable, {REPS:,} resamples).",
        )
        paths += write_tables(
            drift, text, layout.tables / FIGURE_TABLES["drift"], display_drift(drift)
        )
    if "wallclock" in study.spec["figures"]:
        timed = time_to_target_table(summary, read_tidy(layout.evals))
        text = caption(
            study,
            summary,
            "Wall-clock time to each task's target score (fixed before the runs): complete seeds "
            "whose greedy evaluation reached it, and over complete seeds the median wall-clock "
            "hours and env steps to the first evaluation at or above it (a seed that never did "
            "counts as infinitely late, so a median of 'not reached' means most seeds did not), "
            "the fastest and slowest seed that did, the mean env steps per wall-clock second of "
            "a run (evaluations included) and the mean final score.",
        )
        paths += write_tables(
            timed, text, layout.tables / FIGURE_TABLES["wallclock"], display_time_to_target(timed)
        )
    print(f"{study.name}: tables -> {', '.join(map(str, paths))}")
    return 0


if __name__ == "__main__":
    sys.exit(entry.run(main))
