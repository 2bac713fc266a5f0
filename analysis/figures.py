"""Figures from the tidy tables, PNG + PDF, each with its caption printed under the plot.

`python -m analysis.figures STUDY FIGURE` writes FIGURES/STUDY/FIGURE.{png,pdf}. Only complete
runs are drawn; the caption says how many were left out. Bands and error bars are 95% bootstrap
CIs over seeds (seaborn's, fixed seed; the line plots' bands computed for all points at once,
equal to seaborn's: see _lineplot).
"""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, also on machines without a display

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import EngFormatter

from analysis import entry
from analysis.captions import caption
from analysis.runs import read_tidy, tidy_progress
from analysis.stats import bootstrap_mean_ci
from omdpg.envs.registry import backend
from omdpg.studies import NA, load_study

# progress.csv columns written by HAPPO (docs/baselines.md, the drift experiment)
DRIFT_PANELS = {
    "happo_improvement_gap": "improvement gap (happo_improvement_gap)",
    "happo_drift_rel": "relative drift (happo_drift_rel)",
}
SHARING = {"type": "ParPS (type)", "random": "ParPS (random)", "single": "FuPS", "none": "NoPS"}
CI = ("ci", 95)
BOOT = {"n_boot": 1000, "seed": 0}
LINE = {"marker": "o", "markersize": 3}  # markers: a run with one logged point still shows


def _variant(table: pd.DataFrame, leave_out: str | None = None) -> pd.Series:
    """Legend label per row: the algorithm plus each grid factor that varies in the study."""
    label = table["algorithm"].str.upper()
    if "variant" in table:
        label = label + (" " + table["variant"].str.replace("_", " ")).where(
            table["variant"] != NA, ""
        )
    for factor, name in (("grouping", None), ("lambda_pu", "λ_PU"), ("ensemble_size", "C_k")):
        if factor == leave_out or factor not in table or table[factor].nunique() < 2:
            continue
        text = table[factor].map(SHARING) if name is None else name + "=" + table[factor]
        label = label + (" " + text).where(table[factor] != NA, "")
    return label


def _tasks(table: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(table["env"], table["map"])))


def _panels(n: int, per_row: int = 3, size=(4.4, 3.4)):
    cols = min(n, per_row)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _lineplot(ax, data: pd.DataFrame, x: str, y: str, hue: str, order: list) -> None:
    """sns.lineplot(..., errorbar=CI, **BOOT, **LINE), drawn the same, its numbers computed apart.

    seaborn takes the mean and bootstraps each (hue, x) point in Python (n_boot np.mean calls per
    point): 1,000 runs take minutes. Here stats.bootstrap_mean_ci computes the same means and CIs
    for all points at once, from the same values (seaborn's NaN/inf dropping, its ascending sort of
    each point's values, its seed); seaborn draws the lines from one row per point (errorbar=None),
    and the bands are filled as seaborn fills them (the line's colour, alpha 0.2).
    """
    clean = pd.DataFrame(
        {
            "x": pd.to_numeric(data[x]).astype(float),
            "y": pd.to_numeric(data[y]).astype(float),
            "hue": data[hue],
        }
    )
    clean = clean.replace([float("inf"), float("-inf")], float("nan")).dropna()
    clean = clean.sort_values(["x", "y"])
    points = clean.groupby(["hue", "x"], sort=False).indices  # (level, x) -> rows, y ascending
    values = clean["y"].to_numpy()
    mean, low, high = bootstrap_mean_ci(
        [values[rows] for rows in points.values()], BOOT["n_boot"], BOOT["seed"], level=CI[1]
    )
    keys = list(points)
    agg = pd.DataFrame(
        {x: [k[1] for k in keys], y: mean, hue: [k[0] for k in keys], "low": low, "high": high}
    )
    first = len(ax.lines)
    sns.lineplot(data=agg, x=x, y=y, hue=hue, hue_order=order, errorbar=None, ax=ax, **LINE)
    lines = [line for line in ax.lines[first:] if len(line.get_xdata())]  # not the legend's
    levels = [level for level in order if level in set(agg[hue])]
    if len(lines) != len(levels):
        raise RuntimeError(f"seaborn drew {len(lines)} lines for {len(levels)} {hue} levels")
    for line, level in zip(lines, levels):
        band = agg[agg[hue] == level].sort_values(x)
        ax.fill_between(band[x], band["low"], band["high"], color=line.get_color(), alpha=0.2)


def _finish_panel(ax, env: str, name: str) -> None:
    """Title the panel by its map; win rates on their whole scale; env steps as 200k, 1.5M."""
    ax.set_title(f"{name} ({env})", fontsize=10)
    if ax.get_xlabel() == "env steps":
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    if backend(env).score == "win_rate" and ax.get_ylabel().endswith("win rate"):
        ax.set_ylim(-0.03, 1.03)  # so that flat curves are not magnified noise


def _empty(ax, why: str) -> None:
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, fontsize=9)


def _finish(fig, axes, text: str):
    """One legend above the panels and the caption under them."""
    handles = {}
    for ax in axes:
        if ax.get_legend():
            for h, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label, h)
            ax.get_legend().remove()
    width, height = fig.get_figwidth(), fig.get_figheight()
    lines = textwrap.wrap(text, int(width * 17))
    extra = 0.13 * len(lines) + 0.15
    top = 0.45 if handles else 0.1
    fig.set_figheight(height + extra + top)
    total = fig.get_figheight()
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, va="bottom", ha="left")
    if handles:
        fig.legend(
            handles.values(),
            handles.keys(),
            loc="upper center",
            ncol=min(len(handles), 4),
            frameon=False,
            fontsize=8,
        )
    fig.tight_layout(rect=(0, (extra + 0.05) / total, 1, 1 - top / total))
    return fig


def curves(evals: pd.DataFrame, _summary: pd.DataFrame, text: str):
    """Learning curves: evaluation score against env steps, mean and 95% CI band over seeds."""
    evals = evals.assign(variant=_variant(evals))
    order = list(dict.fromkeys(evals["variant"]))
    fig, axes = _panels(len(_tasks(evals)))
    for ax, (env, name) in zip(axes, _tasks(evals)):
        data = evals[(evals["env"] == env) & (evals["map"] == name)]
        _lineplot(ax, data, "env_steps", backend(env).score, "variant", order)
        ax.set(xlabel="env steps", ylabel=backend(env).score_name)
        _finish_panel(ax, env, name)
    return _finish(fig, axes, text)


def sensitivity(factor: str):
    """Final score against a numeric grid factor (lambda_pu, ensemble_size): seeds and mean ± CI."""

    def plot(_evals: pd.DataFrame, summary: pd.DataFrame, text: str):
        data = summary[summary[factor] != NA].assign(
            variant=lambda t: _variant(t, leave_out=factor)
        )
        order = sorted(data[factor].unique(), key=float)
        fig, axes = _panels(len(_tasks(data)))
        for ax, (env, name) in zip(axes, _tasks(data)):
            panel = data[(data["env"] == env) & (data["map"] == name)]
            sns.stripplot(data=panel, x=factor, y="final", order=order, color="0.6", size=4, ax=ax)
            sns.pointplot(
                data=panel,
                x=factor,
                y="final",
                order=order,
                hue="variant",
                errorbar=CI,
                ax=ax,
                **BOOT,
            )
            ax.set(
                xlabel={"lambda_pu": "λ_PU", "ensemble_size": "ensemble size C_k"}[factor],
                ylabel=f"final {backend(env).score_name}",
            )
            _finish_panel(ax, env, name)
        return _finish(fig, axes, text)

    return plot


def grouping(_evals: pd.DataFrame, summary: pd.DataFrame, text: str):
    """Final score per grouping mode: bars (mean, 95% CI) with one dot per seed."""
    data = summary.assign(
        sharing=summary["grouping"].map(SHARING), variant=_variant(summary, "grouping")
    )
    order = [SHARING[g] for g in SHARING if g in set(summary["grouping"])]
    fig, axes = _panels(len(_tasks(data)))
    for ax, (env, name) in zip(axes, _tasks(data)):
        panel = data[(data["env"] == env) & (data["map"] == name)]
        sns.barplot(
            data=panel,
            x="sharing",
            y="final",
            order=order,
            hue="variant",
            errorbar=CI,
            alpha=0.7,
            ax=ax,
            **BOOT,
        )
        sns.stripplot(
            data=panel,
            x="sharing",
            y="final",
            order=order,
            hue="variant",
            dodge=True,
            palette="dark:0.2",
            size=4,
            legend=False,
            ax=ax,
        )
        ax.set(xlabel="parameter sharing", ylabel=f"final {backend(env).score_name}")
        _finish_panel(ax, env, name)
    return _finish(fig, axes, text)


def _sharing(table: pd.DataFrame) -> pd.Series:
    """NoPS / ParPS (type) / ... plus the study's variant name (equal steps, group level)."""
    label = table["grouping"].map(SHARING)
    if "variant" in table:
        label = label + (" " + table["variant"].str.replace("_", " ")).where(
            table["variant"] != NA, ""
        )
    return label


def drift(evals: pd.DataFrame, summary: pd.DataFrame, text: str):
    """HAPPO per sharing mode and variant: evaluation return, the improvement gap and the relative
    drift (progress.csv), one row of panels per map."""
    happo = summary[summary["algorithm"] == "happo"]
    evals = evals[evals["algorithm"] == "happo"].assign(sharing=_sharing)
    order = list(dict.fromkeys(_sharing(happo)))
    tasks = _tasks(happo)
    per_row = 1 + len(DRIFT_PANELS)
    fig, axes = _panels(per_row * len(tasks), per_row=per_row)
    for k, (env, name) in enumerate(tasks):
        row = axes[per_row * k : per_row * (k + 1)]

        def where(t, env=env, name=name):
            return t[(t["env"] == env) & (t["map"] == name)]

        _lineplot(row[0], where(evals), "env_steps", "return_mean", "sharing", order)
        row[0].set(xlabel="env steps", ylabel="greedy episode return")
        _finish_panel(row[0], env, name)
        for ax, (column, label) in zip(row[1:], DRIFT_PANELS.items()):
            progress = where(tidy_progress(happo, column))
            if progress.empty:
                _empty(ax, f"no {column} column in progress.csv")
            else:
                _lineplot(
                    ax, progress.assign(sharing=_sharing), "env_steps", column, "sharing", order
                )
            ax.set(xlabel="env steps", ylabel=label)
            _finish_panel(ax, env, name)
    return _finish(fig, axes, text)


FIGURES = {
    "curves": curves,
    "lambda_pu": sensitivity("lambda_pu"),
    "ensemble_size": sensitivity("ensemble_size"),
    "grouping": grouping,
    "drift": drift,
}
WHAT = {
    "curves": "Learning curves: mean and 95% bootstrap CI over seeds of the greedy evaluation "
    "score.",
    "lambda_pu": "Sensitivity to λ_PU: final score per seed (grey) and mean with 95% bootstrap CI.",
    "ensemble_size": "Sensitivity to the ensemble size C_k: final score per seed (grey) and mean "
    "with 95% bootstrap CI.",
    "grouping": "Grouping: final score per parameter-sharing mode, mean with 95% bootstrap CI "
    "and one dot per seed.",
    "drift": "Baseline drift of HAPPO as lost improvement: greedy episode return (left); the "
    "surrogate improvement the blocks believed they achieved with the factor they were given "
    "minus the joint improvement the final policies realise, in units of the advantages' std "
    "(middle, happo_improvement_gap; 0 under NoPS by construction); the factor's drift "
    "|log M_final − log M_used| relative to |log M_final| (right, happo_drift_rel). "
    "NoPS, ParPS, ParPS with equal steps (a shared network's lr divided by its members) and "
    "group-level HAPPO; mean and 95% bootstrap CI over seeds, logged every progress row.",
}


def draw(figure: str, evals: pd.DataFrame, summary: pd.DataFrame, text: str):
    """The figure from complete runs only (the caption counts the others)."""
    complete = summary[summary["status"] == "complete"]
    return FIGURES[figure](evals[evals["run_dir"].isin(complete["run_dir"])], complete, text)


def save(fig, paths: list[Path]) -> None:
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)


def main(argv=None) -> int:
    parser = entry.parser(__doc__.splitlines()[0])
    parser.add_argument("figure", choices=sorted(FIGURES))
    args = parser.parse_args(argv)
    study = load_study(args.study)
    layout = entry.layout(args, study)
    summary = read_tidy(layout.summary)
    fig = draw(
        args.figure, read_tidy(layout.evals), summary, caption(study, summary, WHAT[args.figure])
    )
    paths = layout.figure_files(args.figure)
    save(fig, paths)
    print(f"{study.name}: figure -> {', '.join(map(str, paths))}")
    return 0


if __name__ == "__main__":
    sys.exit(entry.run(main))
