"""rliable's statistics of the paper's claim: probability of improvement by hand, the RNG guard,
marl-eval's normalisation of returns, score matrices, the pairs compared, and the table column."""

import numpy as np
import pandas as pd
import pytest

from analysis import stats
from analysis.aggregate import normalised, poi_pairs, return_bounds, score_matrices
from analysis.runs import tidy_evals
from analysis.summary import summarise
from analysis.tables import display, final_table

X1, Y1 = [[2.0], [3.0], [4.0]], [[1.0], [2.0], [5.0]]


def test_probability_of_improvement_by_hand():
    # Task 1: of the 9 pairs (x, y), x > y in 5 and x = y in 1 (2 vs 2): (5 + 0.5) / 9.
    # Task 2: every x (1) beats every y (0): 1. Over both tasks: the mean of the two.
    x = np.hstack([X1, np.ones((3, 1))])
    y = np.hstack([Y1, np.zeros((3, 1))])
    out = stats.probability_of_improvement({"one": (np.array(X1), np.array(Y1)), "two": (x, y)})
    assert out["one"][0] == pytest.approx(5.5 / 9)
    assert out["two"][0] == pytest.approx((5.5 / 9 + 1) / 2)
    for p, low, high in out.values():
        assert 0 <= low <= p <= high <= 1 and high > low  # resampled seeds: a CI with width


def test_rliable_calls_are_reproducible_and_leave_the_global_rng_alone():
    pairs = {"a": (np.array(X1), np.array(Y1))}
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = stats.probability_of_improvement(pairs, reps=200)
    assert (np.random.get_state()[1] == before).all()
    assert stats.probability_of_improvement(pairs, reps=200) == first
    point, interval = stats.aggregate_metrics({"a": np.array(X1)}, reps=200)
    # median, IQM, mean, optimality gap (γ = 1: mean of max(1 - x, 0), all x >= 1 here)
    assert point["a"] == pytest.approx([3.0, 3.0, 3.0, 0.0])
    assert interval["a"].shape == (2, 4)


def test_returns_are_min_max_normalised_per_task_as_marl_eval():
    episodes = pd.DataFrame(
        {
            "env": ["mamujoco"] * 3 + ["smax"] * 2,
            "map": ["HalfCheetah-6x1"] * 3 + ["3m"] * 2,
            "return": [-10.0, 30.0, 5.0, 0.1, 20.0],
        }
    )
    bounds = return_bounds(episodes)
    assert bounds == {("mamujoco", "HalfCheetah-6x1"): (-10.0, 30.0)}  # win rates stay as they are
    runs = pd.DataFrame(
        {"env": ["mamujoco", "smax"], "map": ["HalfCheetah-6x1", "3m"], "final": [10.0, 0.75]}
    )
    assert list(normalised(runs, "final", bounds)) == [0.5, 0.75]


def test_score_matrices_keep_the_seeds_complete_on_every_task():
    runs = pd.DataFrame(
        {
            "variant": ["A"] * 4 + ["B"] * 3,
            "env": ["smax"] * 7,
            "map": ["3m", "3m", "2s3z", "2s3z", "3m", "3m", "2s3z"],
            "seed": ["0", "1", "0", "1", "0", "1", "1"],
            "score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        }
    )
    matrices, tasks, seeds = score_matrices(runs, "score")
    assert tasks == [("smax", "3m"), ("smax", "2s3z")]
    assert matrices["A"].tolist() == [[0.1, 0.3], [0.2, 0.4]]
    assert matrices["B"].tolist() == [[0.6, 0.7]] and seeds == {"A": 2, "B": 1}


def test_pairs_are_omdpg_against_each_baseline_else_the_first_variant_against_the_rest():
    study = pd.DataFrame(
        {"variant": ["OMDPG", "HAPPO", "MAPPO"], "algorithm": ["omdpg", "happo", "mappo"]}
    )
    assert poi_pairs(study) == [("OMDPG", "HAPPO"), ("OMDPG", "MAPPO")]
    ablation = pd.DataFrame({"variant": ["HAPPO NoPS", "HAPPO ParPS"], "algorithm": ["happo"] * 2})
    assert poi_pairs(ablation) == [("HAPPO NoPS", "HAPPO ParPS")]


def test_table_gives_p_omdpg_over_each_baseline_row(table_study):
    study, _layout, runs = table_study
    summary = summarise(runs, tidy_evals(runs), study.spec["steps"])
    table = final_table(summary)
    omdpg, happo = table.iloc[0], table.iloc[1]
    assert omdpg["poi_vs"] == "" and np.isnan(omdpg["poi"])
    assert happo["poi_vs"] == "OMDPG ParPS (type)"
    done = summary[summary["status"] == "complete"]
    x, y = (done[done["algorithm"] == a]["final"].to_numpy()[:, None] for a in ("omdpg", "happo"))
    assert happo["poi"] == stats.probability_of_improvement({0: (x, y)})[0][0]
    shown = display(table)["P(OMDPG ParPS (type) > row) [95% CI]"]
    assert shown[0] == "" and shown[1] == f"{happo['poi']:.2f} [{happo['poi_low']:.2f}, " + (
        f"{happo['poi_high']:.2f}]"
    )


def test_a_study_of_one_algorithm_gives_p_of_its_first_row_over_each_other_row():
    # P(X > Y) of X1 over Y1 by hand is 5.5 / 9 (test_probability_of_improvement_by_hand).
    finals = {"NA": [2.0, 3.0, 4.0], "auto_alpha": [1.0, 2.0, 5.0], "small_alpha": [1.0, 2.0]}
    summary = pd.DataFrame(
        [
            {"algorithm": "omdpg", "variant": v, "env": "smax", "map": "3m", "seed": str(s)}
            | {"grouping": "type", "lambda_pu": "0.1", "status": "complete", "final": f}
            | {"metric": "win_rate"}
            for v, runs in finals.items()
            for s, f in enumerate(runs)
        ]
    )
    table = final_table(summary)
    assert table["poi_vs"].tolist() == ["", "OMDPG", "OMDPG"]
    assert table["poi"].iloc[1] == pytest.approx(5.5 / 9) and np.isnan(table["poi"].iloc[2])
    shown = display(table)["P(OMDPG > row) [95% CI]"]
    assert shown.iloc[0] == "" and shown.iloc[2] == "– (n < 3)"
