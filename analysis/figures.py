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
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import EngFormatter
from rliable import plot_utils

from analysis import entry
from analysis.aggregate import (
    NORMALISATION,
    SHARING,
    normalised,
    poi_pairs,
    return_bounds,
    score_matrices,
    variant_label,
)
from analysis.captions import caption
from analysis.runs import read_tidy, tidy_episodes, tidy_progress
from analysis.stats import (
    MIN_SEEDS_FOR_IQM,
    aggregate_metrics,
    bootstrap_mean_ci,
    iqm_curves,
    performance_profiles,
    probability_of_improvement,
)
from omdpg.envs.registry import backend
from omdpg.studies import NA, load_study

# progress.csv columns written by HAPPO (docs/baselines.md, the drift experiment)
DRIFT_PANELS = {
    "happo_improvement_gap": "improvement gap (happo_improvement_gap)",
    "happo_drift_rel": "relative drift (happo_drift_rel)",
}
# progress.csv columns written by OMDPG (docs/omdpg-algorithm.md section 11), for its diagnosis
OMDPG_PANELS = {
    "q_mean": "mean Q, data actions (q_mean)",
    "q_std_ood": "heads' std, OOD actions (q_std_ood)",
    "policy_entropy": "policy entropy, nats (policy_entropy)",
    "alpha": "entropy weight (alpha)",
}
GREEDY, SAMPLED = "greedy (evaluation)", "sampled (training)"
CI = ("ci", 95)
BOOT = {"n_boot": 1000, "seed": 0}
LINE = {"marker": "o", "markersize": 3, "markeredgewidth": 0}  # a one-point run still shows;
# no white marker edges, which on a flat line of dense points hide the line (drift at 0)


def _tasks(table: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(table["env"], table["map"])))


def _panels(n: int, per_row: int = 3, size=(4.4, 3.4)):
    """n panels, per_row to a row; none to draw (no complete run yet) gives one that says so."""
    if n == 0:
        fig, ax = plt.subplots(figsize=size)
        _empty(ax, "no complete run to draw yet")
        return fig, [ax]
    cols = min(n, per_row)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _lineplot(
    ax, data: pd.DataFrame, x: str, y: str, hue: str, order: list, palette: dict | None = None
) -> dict:
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
    sns.lineplot(
        data=agg, x=x, y=y, hue=hue, hue_order=order, palette=palette, errorbar=None, ax=ax, **LINE
    )
    lines = [line for line in ax.lines[first:] if len(line.get_xdata())]  # not the legend's
    levels = [level for level in order if level in set(agg[hue])]
    if len(lines) != len(levels):
        raise RuntimeError(f"seaborn drew {len(lines)} lines for {len(levels)} {hue} levels")
    for line, level in zip(lines, levels):
        band = agg[agg[hue] == level].sort_values(x)
        ax.fill_between(band[x], band["low"], band["high"], color=line.get_color(), alpha=0.2)
    return dict(zip(levels, lines))


def _finish_panel(ax, env: str, name: str) -> None:
    """Title the panel by its map; win rates on their whole scale; env steps as 200k, 1.5M."""
    ax.set_title(f"{name} ({env})", fontsize=10)
    if ax.get_xlabel() == "env steps":
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    if backend(env).score == "win_rate" and ax.get_ylabel().endswith("win rate"):
        ax.set_ylim(-0.03, 1.03)  # so that flat curves are not magnified noise


def _empty(ax, why: str) -> None:
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, fontsize=9)
    ax.set(xticks=[], yticks=[])  # no scale where nothing is drawn


def _legend_columns(labels: list[str], width: float) -> int:
    """The most legend columns (at most 4) whose entries fit the figure's width in inches. At the
    legend's 8 pt a column takes about 0.53 in (handle, padding, spacing) plus 0.061 in per
    character of its longest label, and matplotlib fills the columns top to bottom."""
    for ncol in range(min(len(labels), 4), 1, -1):
        rows = math.ceil(len(labels) / ncol)
        columns = [labels[i : i + rows] for i in range(0, len(labels), rows)]
        if sum(0.53 + 0.061 * max(map(len, c)) for c in columns) <= width:
            return ncol
    return 1


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
    ncol = _legend_columns(list(handles), width)
    top = 0.25 + 0.2 * math.ceil(len(handles) / ncol) if handles else 0.1
    fig.set_figheight(height + extra + top)
    total = fig.get_figheight()
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, va="bottom", ha="left")
    if handles:
        fig.legend(
            handles.values(),
            handles.keys(),
            loc="upper center",
            ncol=ncol,
            frameon=False,
            fontsize=8,
        )
    fig.tight_layout(rect=(0, (extra + 0.05) / total, 1, 1 - top / total))
    return fig


def curves(evals: pd.DataFrame, _summary: pd.DataFrame, text: str):
    """Learning curves: evaluation score against env steps, mean and 95% CI band over seeds."""
    evals = evals.assign(variant=variant_label(evals))
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
            variant=lambda t: variant_label(t, leave_out=factor)
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
        sharing=summary["grouping"].map(SHARING), variant=variant_label(summary, "grouping")
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


def diagnostics(evals: pd.DataFrame, summary: pd.DataFrame, text: str):
    """OMDPG per variant: the greedy evaluation return beside the sampled (exploring) training
    return (returns, since a win rate stuck at 0 hides progress), then the critic's mean Q, its
    heads' OOD disagreement and the policy entropy (progress.csv), one row of panels per map."""
    omdpg = summary.assign(label=variant_label(summary))[summary["algorithm"] == "omdpg"]
    order = list(dict.fromkeys(omdpg["label"]))
    per_row = 1 + len(OMDPG_PANELS)
    tasks = _tasks(omdpg)
    fig, axes = _panels(per_row * len(tasks), per_row=per_row)
    for k, (env, name) in enumerate(tasks):
        row = axes[per_row * k : per_row * (k + 1)]
        runs = omdpg[(omdpg["env"] == env) & (omdpg["map"] == name)]
        label = dict(zip(runs["run_dir"], runs["label"]))
        greedy = evals[evals["run_dir"].isin(label)]
        sampled = tidy_progress(runs, "train_return_mean")
        sampled = sampled.rename(columns={"train_return_mean": "return_mean"})
        both = pd.concat(
            [
                greedy.assign(how=greedy["run_dir"].map(label) + f", {GREEDY}"),
                sampled.assign(how=sampled["label"] + f", {SAMPLED}"),
            ]
        )
        # a variant's colour in every panel; its sampled return dashed beside its greedy one
        colour = dict(zip(order, sns.color_palette(n_colors=len(order))))
        palette = {f"{v}, {kind}": colour[v] for v in order for kind in (GREEDY, SAMPLED)}
        drawn = _lineplot(row[0], both, "env_steps", "return_mean", "how", list(palette), palette)
        for level, line in drawn.items():
            if level.endswith(SAMPLED):
                line.set_linestyle("--")
        for line in row[0].lines:  # the legend names colours and styles, not every pairing
            if line.get_label() in palette:
                line.set_label(f"_{line.get_label()}")
        for v in order:
            row[0].add_line(Line2D([], [], color=colour[v], label=v))
        row[0].add_line(Line2D([], [], color="0.35", label=GREEDY))
        row[0].add_line(Line2D([], [], color="0.35", linestyle="--", label=SAMPLED))
        row[0].set(xlabel="env steps", ylabel="episode return")
        _finish_panel(row[0], env, name)
        for ax, (column, label) in zip(row[1:], OMDPG_PANELS.items()):
            progress = tidy_progress(runs, column).dropna(subset=[column])
            if progress.empty:
                why = "not logged by these runs" if backend(env).discrete else "continuous actions"
                _empty(ax, f"no {column} in progress.csv\n({why})")
            else:
                _lineplot(ax, progress, "env_steps", column, "label", order)
            ax.set(xlabel="env steps", ylabel=label)
            _finish_panel(ax, env, name)
    return _finish(fig, axes, text)


def wallclock(evals: pd.DataFrame, summary: pd.DataFrame, text: str):
    """Evaluation score against wall-clock hours, one panel per map, the task's target dashed.
    Seeds evaluate at the same env steps but not at the same time: each evaluation point sits at
    its seeds' mean wall-clock time, and the band is over seeds at that point."""
    evals = evals.assign(variant=variant_label(evals), hours=evals["wall_seconds"] / 3600)
    evals["hours"] = evals.groupby(["variant", "env", "map", "env_steps"])["hours"].transform(
        "mean"
    )
    order = list(dict.fromkeys(evals["variant"]))
    target = summary.groupby(["env", "map"])["target"].first()
    fig, axes = _panels(len(_tasks(evals)))
    for ax, (env, name) in zip(axes, _tasks(evals)):
        data = evals[(evals["env"] == env) & (evals["map"] == name)]
        _lineplot(ax, data, "hours", backend(env).score, "variant", order)
        ax.axhline(target[(env, name)], color="0.4", linestyle="--", linewidth=1, label="target")
        ax.set(xlabel="wall-clock hours", ylabel=backend(env).score_name)
        _finish_panel(ax, env, name)
    return _finish(fig, axes, text)


def _scores(evals: pd.DataFrame, summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each run's final score and each evaluation's score on one scale (aggregate.py), with the
    variant label: (runs, evaluations)."""
    bounds = return_bounds(tidy_episodes(summary[["env", "map", "run_dir"]]))
    runs = summary.assign(variant=variant_label(summary))
    runs["score"] = normalised(runs, "final", bounds)
    evals = evals.assign(variant=variant_label(evals))
    evals["score"] = normalised(evals.assign(raw=_metric(evals)), "raw", bounds)
    return runs, evals


def _metric(evals: pd.DataFrame) -> pd.Series:
    """Each evaluation's score: its win rate, or its mean return where the env scores returns."""
    wins = evals["env"].map(lambda env: backend(env).score) == "win_rate"
    return pd.to_numeric(evals["win_rate"].where(wins, evals["return_mean"])).astype(float)


def poi(evals: pd.DataFrame, summary: pd.DataFrame, text: str):
    """P(X > Y) of the final scores, per task and over all tasks, with 95% bootstrap CIs; as in
    the tables, only where both sides have MIN_SEEDS_FOR_IQM complete seeds (a bootstrap over one
    or two seeds draws P = 0 or 1 with no width)."""
    runs, _ = _scores(evals, summary)
    rows = []  # in reading order: per pair, every task, then all tasks together
    for x, y in poi_pairs(runs):
        for env, name in _tasks(runs):
            task = runs[(runs["env"] == env) & (runs["map"] == name)]
            scores = {v: task[task["variant"] == v]["score"].to_numpy()[:, None] for v in (x, y)}
            rows.append((f"{x} ({name}),{y} ({name})", (scores[x], scores[y])))
        if len(_tasks(runs)) > 1:
            matrices, _, _ = score_matrices(runs, "score")
            rows.append((f"{x} (all tasks),{y} (all tasks)", (matrices[x], matrices[y])))
    enough = [r for r in rows if min(map(len, r[1])) >= MIN_SEEDS_FOR_IQM]
    pairs = dict(reversed(enough))  # rliable draws the first pair at the bottom
    fig, ax = plt.subplots(figsize=(6.5, 0.55 * len(pairs) + 1.2))
    if not pairs:
        _empty(ax, f"no pair of variants with {MIN_SEEDS_FOR_IQM} or more complete seeds each")
        return _finish(fig, [ax], text)
    estimates = probability_of_improvement(pairs)
    plot_utils.plot_probability_of_improvement(
        {k: e[0] for k, e in estimates.items()},
        {k: np.array(e[1:]) for k, e in estimates.items()},
        ax=ax,
        xticks=[0, 0.25, 0.5, 0.75, 1.0],
        ticklabelsize="small",
        labelsize="medium",
    )
    ax.set_xlim(0, 1)
    ax.axvline(0.5, color="0.5", linestyle=":", linewidth=1)
    return _finish(fig, [ax], text)


def aggregates(evals: pd.DataFrame, summary: pd.DataFrame, text: str):
    """Median, IQM, mean and optimality gap of the final scores over runs and tasks (rliable)."""
    runs, _ = _scores(evals, summary)
    matrices, _, _ = score_matrices(runs, "score")
    point, interval = aggregate_metrics(matrices)
    fig, axes = plot_utils.plot_interval_estimates(
        point,
        interval,
        metric_names=["Median", "IQM", "Mean", "Optimality gap"],
        algorithms=list(matrices),
        xlabel="",  # rliable places it in figure coordinates, where the caption goes
    )
    for ax in axes:
        ax.set_title(ax.get_title(), fontsize=10)
        ax.set_xlabel("final score", fontsize=8)
        ax.tick_params(labelsize=8)
    fig.set_size_inches(11, 0.4 * len(matrices) + 1.4)
    return _finish(fig, list(axes), text)


def profiles(evals: pd.DataFrame, summary: pd.DataFrame, text: str):
    """Performance profiles: the fraction of runs (over all tasks) whose final score exceeds τ."""
    runs, _ = _scores(evals, summary)
    matrices, _, _ = score_matrices(runs, "score")
    taus = np.linspace(0.0, 1.0, 51)
    profile, cis = performance_profiles(matrices, taus)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    plot_utils.plot_performance_profiles(
        profile,
        taus,
        performance_profile_cis=cis,
        ax=ax,
        xlabel="final score τ (win rate; normalised return)",
        ylabel="fraction of runs with score > τ",
        labelsize="medium",
        ticklabelsize="small",
    )
    ax.legend(list(profile), fontsize=8, frameon=False)
    return _finish(fig, [ax], text)


def sample_efficiency(evals: pd.DataFrame, summary: pd.DataFrame, text: str):
    """IQM over runs and tasks of the evaluation score at each evaluation step, 95% CIs."""
    _, evals = _scores(evals, summary)
    steps = sorted(set.intersection(*(set(g) for _, g in evals.groupby("run_dir")["env_steps"])))
    curves = {}
    for label, rows in evals[evals["env_steps"].isin(steps)].groupby("variant", sort=False):
        wide = rows.pivot_table(index="seed", columns=["env", "map", "env_steps"], values="score")
        cube = wide.dropna().to_numpy().reshape(len(wide.dropna()), -1, len(steps))
        curves[label] = cube  # [seeds, tasks, evaluations]
    point, interval = iqm_curves(curves)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    plot_utils.plot_sample_efficiency_curve(
        np.array(steps),
        point,
        interval,
        algorithms=list(curves),
        ax=ax,
        xlabel="env steps",
        ylabel="IQM score (win rate; normalised return)",
        labelsize="medium",
        ticklabelsize="small",
    )
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.legend(list(curves), fontsize=8, frameon=False)
    return _finish(fig, [ax], text)


FIGURES = {
    "curves": curves,
    "lambda_pu": sensitivity("lambda_pu"),
    "ensemble_size": sensitivity("ensemble_size"),
    "grouping": grouping,
    "drift": drift,
    "diagnostics": diagnostics,
    "wallclock": wallclock,
    "poi": poi,
    "aggregates": aggregates,
    "profiles": profiles,
    "sample_efficiency": sample_efficiency,
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
    "diagnostics": "OMDPG's diagnosis from its logged metrics: greedy evaluation return beside "
    "the training return of the exploring (sampled) policy (left), the critic's mean Q at the "
    "data's joint actions (in units of the env's reward scale), the target heads' std at the "
    "out-of-distribution joint actions the PU term acts on, the discrete policies' entropy "
    "over the agents with a choice, and the entropy weight alpha of their objective; mean and 95% "
    "bootstrap CI over seeds.",
    "wallclock": "Wall-clock: greedy evaluation score against the hours a run had trained "
    "(evaluations included), each point at its seeds' mean time, mean and 95% bootstrap CI over "
    "seeds; dashed: the task's target score, fixed before the runs (table time_to_target).",
    "poi": "Probability of improvement P(X > Y) of the final score, per task and over all tasks "
    "(rliable; Agarwal et al. 2021), with 95% stratified bootstrap CIs; P > 0.5 favours X. "
    + NORMALISATION,
    "aggregates": "Median, IQM, mean and optimality gap of the final scores over runs and tasks "
    "(rliable), with 95% stratified bootstrap CIs; a lower optimality gap is better. "
    + NORMALISATION,
    "profiles": "Performance profiles: fraction of runs (all tasks) whose final score exceeds τ, "
    "with 95% stratified bootstrap CIs (rliable). " + NORMALISATION,
    "sample_efficiency": "Sample efficiency: IQM over runs and tasks of the greedy evaluation "
    "score at each evaluation, with 95% stratified bootstrap CIs (rliable). " + NORMALISATION,
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
