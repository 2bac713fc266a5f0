"""Every figure kind draws from synthetic run folders and says so in its caption."""

import pandas as pd
import pytest

from analysis import figures
from analysis.captions import caption
from analysis.runs import tidy_evals
from analysis.summary import summarise
from omdpg.studies import task_targets
from tests.analysis.conftest import BASE, make_study


@pytest.mark.parametrize("figure", list(figures.FIGURES))
def test_figure(figure_study, figure):
    study, layout, runs = figure_study
    evals = tidy_evals(runs)
    summary = summarise(runs, evals, study.spec["steps"], task_targets(study))
    text = caption(study, summary, figures.WHAT[figure])
    assert text.startswith("SYNTHETIC DATA") and "greedy evaluation every 1,000 env steps" in text
    assert "Backend: SMAX stand-in" in text and "Seeds 0, 1, 2; 3,200 env steps per run" in text
    assert "Every algorithm trains with the env's protocol (smax gamma 0.95, rewards x 10)." in text
    fig = figures.draw(figure, evals, summary, text)
    assert text.split()[0] in " ".join(t.get_text() for t in fig.texts)
    paths = layout.figure_files(figure)
    figures.save(fig, paths)
    assert all(p.stat().st_size > 1000 for p in paths)


def test_drift_plots_return_gap_and_relative_drift_per_sharing_variant(figure_study):
    study, _layout, runs = figure_study
    evals = tidy_evals(runs)
    summary = summarise(runs, evals, study.spec["steps"])
    fig = figures.draw("drift", evals, summary, "caption")
    score, gap, rel = fig.axes[:3]
    assert score.get_ylabel() == "greedy episode return"
    assert gap.get_ylabel().endswith("(happo_improvement_gap)")
    assert rel.get_ylabel().endswith("(happo_drift_rel)")
    # NoPS, ParPS (type) and ParPS (type) equal steps: one line each in every panel
    assert all(
        len([ln for ln in ax.lines if not ln.get_label().startswith("_")]) == 3
        for ax in (score, gap, rel)
    )
    legend = {t.get_text() for t in fig.legends[0].get_texts()} if fig.legends else set()
    assert {"NoPS", "ParPS (type)", "ParPS (type) equal steps"} <= legend


def test_diagnostics_plots_greedy_beside_sampled_and_omdpgs_logged_metrics(figure_study):
    study, _layout, runs = figure_study
    evals = tidy_evals(runs)
    summary = summarise(runs, evals, study.spec["steps"])
    fig = figures.draw("diagnostics", evals, summary, "caption")
    score, *metrics = fig.axes[: 1 + len(figures.OMDPG_PANELS)]
    assert score.get_ylabel() == "episode return"
    assert [ax.get_ylabel() for ax in metrics] == list(figures.OMDPG_PANELS.values())
    variants = summary.loc[summary["algorithm"] == "omdpg", "run_dir"].map(
        dict(zip(summary["run_dir"], figures.variant_label(summary)))
    )
    drawn = [ln for ln in score.lines if len(ln.get_xdata())]  # not the legend's
    assert len(drawn) == 2 * len(set(variants))
    # the legend: one colour per variant (the colour of its lines in every panel), then the two
    # line styles once each
    handles = dict(
        zip((t.get_text() for t in fig.legends[0].get_texts()), fig.legends[0].legend_handles)
    )
    assert list(handles) == [*dict.fromkeys(variants), "greedy (evaluation)", "sampled (training)"]
    assert handles["greedy (evaluation)"].get_linestyle() == "-"
    assert handles["sampled (training)"].get_linestyle() == "--"
    order = list(dict.fromkeys(variants))
    q_mean = [ln for ln in metrics[0].lines if len(ln.get_xdata())]
    for k, variant in enumerate(order):  # drawn: each variant's greedy, then its sampled line
        colour = handles[variant].get_color()
        assert drawn[2 * k].get_color() == drawn[2 * k + 1].get_color() == colour
        assert q_mean[k].get_color() == colour
    greedy_lines, sampled_lines = drawn[0::2], drawn[1::2]
    assert {ln.get_linestyle() for ln in greedy_lines} == {"-"}
    assert {ln.get_linestyle() for ln in sampled_lines} == {"--"}
    assert all(len([ln for ln in ax.lines if len(ln.get_xdata())]) for ax in metrics)


def test_the_legend_takes_as_many_columns_as_fit_the_figure():
    """The schedule study's single panel (4.4 in) cannot hold its four entries in one row (they
    ran off both edges), so they take two rows; the alpha study's three fit one."""
    labels = ["OMDPG ours", "OMDPG between", "OMDPG hasac", "target"]
    assert figures._legend_columns(labels, 4.4) == 3
    assert figures._legend_columns(labels, 13.2) == 4
    assert figures._legend_columns(["OMDPG", "OMDPG small alpha", "OMDPG auto alpha"], 4.4) == 3
    assert figures._legend_columns(["a very long label " * 4, "b"], 4.4) == 1


@pytest.mark.parametrize("figure", ["diagnostics", "drift", "curves"])
def test_a_figure_with_no_complete_run_to_draw_says_so(figure_study, figure):
    study, _layout, runs = figure_study
    evals = tidy_evals(runs)
    summary = summarise(runs, evals, study.spec["steps"]).assign(status="incomplete")
    fig = figures.draw(figure, evals, summary, "caption")
    assert "no complete run to draw yet" in [t.get_text() for t in fig.axes[0].texts]


def test_poi_draws_only_pairs_with_three_seeds_each_as_the_tables_do(figure_study):
    """Every variant with seeds 0-2 complete: pairs drawn; with seed 2 incomplete, two seeds a
    side would bootstrap to P = 0 or 1 with no width, so no pair is drawn and the panel says so."""
    study, _layout, runs = figure_study
    evals = tidy_evals(runs)
    summary = summarise(runs, evals, study.spec["steps"])
    drawn = figures.draw("poi", evals, summary, "caption").axes[0]
    assert drawn.get_yticklabels() and not drawn.texts
    last = summary["seed"].astype(int) == 2
    two_seeds = summary.assign(status=summary["status"].where(~last, "incomplete"))
    empty = figures.draw("poi", evals, two_seeds, "caption").axes[0]
    assert [t.get_text() for t in empty.texts] == [
        "no pair of variants with 3 or more complete seeds each"
    ]


def test_wallclock_puts_each_evaluation_at_its_seeds_mean_time_and_draws_the_target(figure_study):
    study, _layout, runs = figure_study
    evals = tidy_evals(runs)
    summary = summarise(runs, evals, study.spec["steps"], task_targets(study))
    fig = figures.draw("wallclock", evals, summary, "caption")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "wall-clock hours"
    (target,) = [ln for ln in ax.lines if ln.get_label() == "target"]
    assert set(target.get_ydata()) == {0.5}
    hours = sorted(evals["wall_seconds"].unique() / 3600)  # synthetic: every seed at steps / 1000
    curves = [ln for ln in ax.lines if len(ln.get_xdata()) > 2]  # not the legend's, not target
    assert curves and all(sorted(ln.get_xdata()) == pytest.approx(hours) for ln in curves)


def test_caption_names_a_study_set_protocol_deviation(figure_study):
    study, _layout, runs = figure_study
    study.spec["algorithms"][0]["set"] = {"protocol.gamma": 0.99}
    evals = tidy_evals(runs)
    summary = summarise(runs, evals, study.spec["steps"])
    text = caption(study, summary, "Curves.")
    name = study.spec["algorithms"][0]["name"]
    assert f"except as this study sets: {name} protocol.gamma=0.99." in text


def test_caption_labels_smax_mmm2_as_a_stand_in_with_healing_medivacs(tmp_path):
    spec = {
        **BASE,
        "tasks": [{"env": "smax", "map": "MMM2"}, {"env": "smax", "map": "mm2_no_medivac"}],
        "algorithms": [{"name": "mappo", "grouping": ["single"]}],
        "seeds": [0],
        "figures": ["curves"],
    }
    study, _ = make_study(tmp_path, spec, "medivac_study")
    summary = pd.DataFrame({"status": ["complete"] * 2, "synthetic": [False] * 2})
    text = caption(study, summary, "Curves.")
    assert (
        "SMAX MMM2 (stand-in, with healing medivacs) = 1 medivac + 2 marauders + 7 marines vs "
        "1 medivac + 3 marauders + 8 marines (defined by this project)." in text
    )
    assert "mm2_no_medivac = 2 marauders + 7 marines vs 3 marauders + 8 marines" in text
