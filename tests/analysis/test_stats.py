"""Statistics over seeds against numbers worked by hand."""

import math

import numpy as np
import pytest

from analysis.stats import iqm_ci, seed_stats
from analysis.summary import final_score


def test_iqm_trims_a_quarter_on_each_side():
    # 4 seeds: drop 0.1 and 0.4, IQM = (0.2 + 0.3) / 2 = 0.25
    assert seed_stats([0.4, 0.1, 0.3, 0.2])["iqm"] == pytest.approx(0.25)
    # 8 seeds: drop two each side, IQM = mean(3, 4, 5, 6) = 4.5 (the outlier 100 does not count)
    assert seed_stats([1, 2, 3, 4, 5, 6, 7, 100])["iqm"] == pytest.approx(4.5)


def test_bootstrap_ci_by_hand():
    # Seeds [0, 0, 1]: with 3 seeds IQM trims nothing, so a resample's IQM is k/3 with
    # k ~ Bin(3, 1/3).
    # P(k = 0) = 8/27 = 0.296 > 0.025, so the 2.5% quantile is 0; P(k = 3) = 1/27 = 0.037 > 0.025,
    # so the 97.5% quantile is 1. Point estimate 1/3.
    iqm, low, high = iqm_ci([0, 0, 1])
    assert (iqm, low, high) == (pytest.approx(1 / 3), 0.0, 1.0)


def test_constant_scores_give_a_zero_width_ci():
    assert iqm_ci([0.5, 0.5, 0.5], reps=100) == (0.5, 0.5, 0.5)


def test_seeds_are_resampled_not_collapsed():
    # Runs on axis 0: a wide spread gives a wide CI (transposed, it would be ~0: rliable#20).
    _, low, high = iqm_ci(np.linspace(0, 1, 10), reps=200)
    assert high - low > 0.2


def test_ci_is_reproducible_and_leaves_the_global_rng_alone():
    np.random.seed(1)
    before = np.random.get_state()[1].copy()
    runs = [iqm_ci([0.1, 0.5, 0.9, 0.3, 0.7], reps=100) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert (np.random.get_state()[1] == before).all()


def test_mean_std_median_by_hand():
    # mean 0.4; sample std sqrt((0.2^2 + 0 + 0.2^2) / 2) = 0.2; median 0.4
    out = seed_stats([0.2, 0.6, 0.4])
    assert (out["n"], out["mean"], out["std"], out["median"]) == (
        3,
        pytest.approx(0.4),
        pytest.approx(0.2),
        pytest.approx(0.4),
    )


def test_no_iqm_below_three_seeds_and_nan_ignored():
    out = seed_stats([0.2, float("nan"), 0.6])
    assert out["n"] == 2 and out["mean"] == pytest.approx(0.4)
    assert math.isnan(out["iqm"]) and math.isnan(out["iqm_low"])
    assert math.isnan(seed_stats([0.3])["std"]) and seed_stats([])["n"] == 0


def test_final_score_is_the_mean_of_the_last_three():
    assert final_score([0.0, 0.1, 0.2, 0.3, 0.7]) == pytest.approx((0.2 + 0.3 + 0.7) / 3)
    assert final_score([0.4, 0.6]) == pytest.approx(0.5)
    assert math.isnan(final_score([]))
