"""Per-run summary and per-study tables from synthetic run folders, numbers recomputed here."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import summary as summary_module
from analysis import tables
from analysis.runs import read_tidy, runs_under, tidy_evals
from analysis.summary import summarise
from analysis.tables import final_table, load_reference
from omdpg.run_folder import write_json_atomic


def build(table_study):
    study, _layout, runs = table_study
    evals = tidy_evals(runs)
    return evals, summarise(runs, evals, study.spec["steps"])


def by_hand_final(run_dir):
    return pd.read_csv(f"{run_dir}/eval.csv")["win_rate"].tail(3).mean()


def test_summary_status_and_scores(table_study):
    _, summary = build(table_study)
    assert list(summary["status"]) == ["complete"] * 4 + ["short"] + ["complete"] * 3 + [
        "incomplete",
        "missing",
    ]
    assert list(summary["complete"]) == [True] * 4 + [False] + [True] * 3 + [False, False]
    for run in summary[summary["status"] == "complete"].to_dict("records"):
        assert run["final"] == pytest.approx(by_hand_final(run["run_dir"]))
        assert run["best"] == pd.read_csv(f"{run['run_dir']}/eval.csv")["win_rate"].max()
        assert run["steps"] == 4000 and run["metric"] == "win_rate" and run["synthetic"]
    assert summary.iloc[9]["n_evals"] == 0 and np.isnan(summary.iloc[9]["final"])
    assert summary.iloc[8]["steps"] == 2000  # stopped halfway


def test_evals_table_is_tidy(table_study):
    evals, _ = build(table_study)
    assert {
        "algorithm",
        "env",
        "map",
        "grouping",
        "lambda_pu",
        "seed",
        "env_steps",
        "win_rate",
    } <= set(evals.columns)
    assert len(evals) == 4 * 4 + 2 + 3 * 4 + 2  # 4 evaluations per finished run
    assert set(evals.loc[evals["algorithm"] == "happo", "lambda_pu"]) == {"NA"}


def test_final_table_by_hand(table_study):
    _evals, summary = build(table_study)
    table = final_table(summary, load_reference(), {"MMM2": "MMM2"})
    omdpg, happo = table.iloc[0], table.iloc[1]
    finals = sorted(by_hand_final(d) for d in summary["run_dir"][:4])
    assert omdpg["seeds"] == "4/5" and omdpg["n"] == 4
    assert omdpg["mean"] == pytest.approx(np.mean(finals))
    assert omdpg["std"] == pytest.approx(np.std(finals, ddof=1))
    assert omdpg["median"] == pytest.approx((finals[1] + finals[2]) / 2)
    assert omdpg["iqm"] == pytest.approx((finals[1] + finals[2]) / 2)  # 4 seeds: the middle two
    assert omdpg["iqm_low"] <= omdpg["iqm"] <= omdpg["iqm_high"]
    assert omdpg["left_out"] == "short: seeds 4"
    assert (omdpg["paper_value"], omdpg["paper_map"]) == (0.89, "SMAC MMM2")
    assert happo["seeds"] == "3/5" and happo["paper_value"] == 0.45
    assert happo["left_out"] == "incomplete: seeds 3; missing: seeds 4"
    assert happo["iqm"] == pytest.approx(
        np.mean([by_hand_final(d) for d in summary["run_dir"][5:8]])
    )


def test_paper_numbers_only_where_compared(table_study):
    _, summary = build(table_study)
    table = final_table(summary, load_reference(), {})
    assert table["paper_map"].eq("").all() and "paper" not in " ".join(
        tables.display(table).columns
    )


def test_written_tables(table_study, capsys):
    study, layout, _ = table_study
    assert summary_module.main([str(study.path), "--results", str(layout.results)]) == 0
    assert tables.main([str(study.path), "--results", str(layout.results)]) == 0
    csv, md, tex = layout.table_files()
    numbers = pd.read_csv(csv)
    assert list(numbers["seeds"]) == ["4/5", "3/5"]
    text = md.read_text()
    assert text.startswith("SYNTHETIC DATA")
    for words in (
        "paper (arXiv:2507.09989)",
        "0.890 (SMAC MMM2)",
        "every 1,000 env steps",
        "4 episodes",
        "Seeds 0, 1, 2, 3, 4",
        "4,000 env steps",
        "7 of 10 runs complete",
        "SMAC v1 on StarCraft II",
        "incomplete: seeds 3; missing: seeds 4",
        "not produced by this harness",
    ):
        assert words in text, words
    latex = tex.read_text()
    assert "\\caption{SYNTHETIC DATA" in latex and "lambda\\_pu" in latex and "95\\%" in latex
    summary = read_tidy(layout.summary)
    assert summary["lambda_pu"].tolist()[5] == "NA" and summary["grouping"].tolist()[5] == "none"


def test_runs_under_reads_factors_from_paths(table_study):
    _, layout, _runs = table_study
    found = runs_under(layout.runs)
    assert len(found) == 9  # the missing run has no folder
    assert set(found["algorithm"]) == {"omdpg", "happo"} and set(found["seed"]) == set("01234")


@pytest.mark.parametrize(
    "name, damage",
    [
        ("config.json", lambda path: path.unlink()),
        ("config.json", lambda path: path.write_text(path.read_text()[:-30])),
        ("DONE", lambda path: path.write_text("{")),
        ("DONE", lambda path: sealed_then_changed(path)),
    ],
)
def test_a_run_with_a_damaged_config_or_done_is_not_complete(table_study, name, damage):
    """DONE alone does not make a run complete: its config.json and DONE must be readable (and
    match their checksums where they carry one, as the trainer's do)."""
    _, _, runs = table_study
    run_dir = runs["run_dir"][0]
    damage(Path(run_dir) / name)
    assert summary_module.run_status(run_dir, None) == "damaged"
    assert "damaged" in summary_module.STATUSES


def sealed_then_changed(path):
    write_json_atomic(path, json.loads(path.read_text()))  # as the trainer writes it
    path.write_text(path.read_text().replace('"steps": ', '"steps": 1'))


def test_a_finished_run_configured_otherwise_than_its_cell_is_mismatched(table_study, capsys):
    """A run filed under another cell's folder (here: trained with another grouping), or trained
    before a default changed, is left out of the tables, and the first differing key is named. The
    synthetic runs record only some keys: options a record lacks are not differences."""
    study, layout, runs = table_study
    config = Path(runs["run_dir"][0]) / "config.json"
    config.write_text(config.read_text().replace('"grouping": "type"', '"grouping": "single"'))
    argv = [str(study.path), "--results", str(layout.results)]
    assert summary_module.main(argv) == 0 and tables.main(argv) == 0

    summary = pd.read_csv(layout.summary, keep_default_na=False)
    assert list(summary["status"][:4]) == ["mismatched", "complete", "complete", "complete"]
    assert summary["mismatch"][0] == "grouping is 'single' there, 'type' here"
    assert set(summary["mismatch"][1:]) == {""}
    assert f"mismatched: {runs['run_dir'][0]}: grouping is 'single'" in capsys.readouterr().out
    assert "mismatched: seeds 0" in layout.table_files()[1].read_text()


def test_drift_table_averages_each_run_then_takes_statistics_over_complete_seeds(tmp_path):
    """Gap and drift per run = the mean of its progress rows; an incomplete run is left out."""
    gaps = {("none", 0): [0, 0], ("none", 1): [0, 0], ("none", 2): [0, 0]}
    gaps |= {("type", 0): [0.1, 0.3], ("type", 1): [0.2, 0.4], ("type", 2): [0.5, 0.7]}
    gaps |= {("type", 3): [9, 9]}  # incomplete: never averaged in
    rows = []
    for (grouping, seed), values in gaps.items():
        run_dir = tmp_path / grouping / str(seed)
        run_dir.mkdir(parents=True)
        pd.DataFrame(
            {
                "env_steps": [1, 2],
                "happo_improvement_gap": values,
                "happo_drift_rel": [v / 2 for v in values],
            }
        ).to_csv(run_dir / "progress.csv", index=False)
        status = "incomplete" if seed == 3 else "complete"
        rows.append(
            {"algorithm": "happo", "variant": "NA", "env": "smax", "map": "6m2m_15m"}
            | {"grouping": grouping, "lambda_pu": "NA", "seed": str(seed)}
            | {"run_dir": str(run_dir), "status": status, "final_return": 1.0 + seed}
        )
    table = tables.drift_table(pd.DataFrame(rows)).set_index("grouping")
    assert table.loc["none", "seeds"] == "3/3" and table.loc["type", "seeds"] == "3/4"
    assert table.loc["none", "happo_improvement_gap_mean"] == 0
    assert table.loc["type", "happo_improvement_gap_mean"] == pytest.approx((0.2 + 0.3 + 0.6) / 3)
    assert table.loc["type", "happo_improvement_gap_std"] == pytest.approx(
        np.std([0.2, 0.3, 0.6], ddof=1)
    )
    assert table.loc["type", "happo_drift_rel_median"] == pytest.approx(0.15)
    low, high = table.loc[
        "type", ["happo_improvement_gap_iqm_low", "happo_improvement_gap_iqm_high"]
    ]
    assert 0.2 <= low <= high <= 0.6
    shown = tables.display_drift(table.reset_index())
    assert table.loc["type", "final_return_mean"] == 2.0  # seeds 0-2, not the incomplete 3
    assert "0.3667 ± 0.2082" in shown["improvement gap: mean ± std"].tolist()


def test_time_to_target_takes_the_first_evaluation_at_the_target_and_counts_misses(tmp_path):
    """Hours and env steps at each complete seed's first greedy evaluation >= the target; a seed
    that never reaches it is infinitely late in the median; an incomplete run is left out."""
    scores = {  # (variant, seed) -> win rate at 1k, 2k, 3k env steps; 1,800 wall-s per eval
        ("ours", 0): [0.1, 0.5, 0.6],
        ("ours", 1): [0.6, 0.2, 0.7],
        ("ours", 2): [0.0, 0.1, 0.4],
        ("ours", 3): [0.9, 0.9, 0.9],  # incomplete
        ("hasac", 0): [0.0, 0.0, 0.1],
        ("hasac", 1): [0.0, 0.0, 0.2],
        ("hasac", 2): [0.0, 0.3, 0.5],
    }
    rows, evals = [], []
    for (variant, seed), wins in scores.items():
        run_dir = f"{variant}/{seed}"
        cell = {"algorithm": "omdpg", "variant": variant, "env": "smax", "map": "3m"}
        cell |= {"grouping": "type", "lambda_pu": "0.1", "seed": str(seed)}
        evals += [
            {"run_dir": run_dir, "env_steps": 1000 * k, "wall_seconds": 1800.0 * k, "win_rate": w}
            for k, w in enumerate(wins, start=1)
        ]
        rows.append(
            cell
            | {"run_dir": run_dir, "metric": "win_rate", "target": 0.5, "steps": 3000}
            | {"status": "incomplete" if seed == 3 else "complete", "wall_seconds": 5400.0}
            | {"final": float(np.mean(wins))}
        )
    table = tables.time_to_target_table(pd.DataFrame(rows), pd.DataFrame(evals))
    ours, hasac = table.set_index("variant").loc[["ours", "hasac"]].to_dict("records")
    assert (ours["seeds"], ours["reached"]) == ("3/4", "2/3")
    assert ours["hours_median"] == 1.0  # seeds: 1.0 h, 0.5 h, never -> median 1.0 h
    assert (ours["hours_min"], ours["hours_max"]) == (0.5, 1.0)
    assert ours["steps_median"] == 2000 and ours["steps_per_second"] == pytest.approx(3000 / 5400)
    assert ours["final_mean"] == pytest.approx(np.mean([0.4, 0.5, 0.5 / 3]))
    assert hasac["reached"] == "1/3" and hasac["hours_median"] == np.inf
    shown = tables.display_time_to_target(table).set_index("variant")
    assert shown.loc["hasac", "hours to target: median"] == "not reached"
    assert shown.loc["hasac", "fastest–slowest seed"] == "1.50–1.50"
    assert shown.loc["ours", "env steps to target: median"] == "2,000"
    assert shown.loc["ours", "target"] == "0.500"
