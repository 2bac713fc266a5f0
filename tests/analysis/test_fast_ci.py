"""The batched bootstraps give the numbers the per-row / per-point computations gave, to the bit."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from seaborn._statistics import _percentile_interval
from seaborn.algorithms import bootstrap

from analysis import figures
from analysis.stats import _pairwise_sum, bootstrap_mean_ci, iqm_cis, seed_stats_many


def _iqm_ci_one_call(scores, reps, seed=0):
    """The previous iqm_ci: one rly.get_interval_estimates call per score vector."""
    from rliable import library as rly
    from rliable import metrics

    runs = np.asarray(scores, dtype=float).reshape(-1, 1)
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module="arch")
            point, interval = rly.get_interval_estimates(
                {"scores": runs},
                lambda x: np.array([metrics.aggregate_iqm(x)]),
                reps=reps,
                random_state=np.random.RandomState(seed),
            )
    finally:
        np.random.set_state(saved)
    return (
        float(point["scores"][0]),
        float(interval["scores"][0, 0]),
        float(interval["scores"][1, 0]),
    )


def test_batched_iqm_cis_equal_one_call_per_vector():
    rng = np.random.default_rng(3)
    samples = [
        rng.normal(size=n) * scale
        for n, scale in [
            (3, 1),
            (10, 0.01),
            (10, 100),
            (5, 1),
            (10, 1),
            (3, 7),
            (12, 1),
            (10, 1e-4),
        ]
    ]
    batched = iqm_cis(samples, reps=300)
    assert batched == [_iqm_ci_one_call(s, reps=300) for s in samples]


def test_seed_stats_many_keeps_small_and_nan_rows_apart():
    out = seed_stats_many(
        [[0.1, 0.5, 0.9], [0.3], [0.2, float("nan"), 0.6], [1, 2, 3, 4]], reps=200
    )
    assert [o["n"] for o in out] == [3, 1, 2, 4]
    assert np.isnan(out[1]["iqm"]) and np.isnan(out[2]["iqm"])
    assert (out[0]["iqm"], out[0]["iqm_low"], out[0]["iqm_high"]) == _iqm_ci_one_call(
        [0.1, 0.5, 0.9], 200
    )
    assert (out[3]["iqm"], out[3]["iqm_low"], out[3]["iqm_high"]) == _iqm_ci_one_call(
        [1, 2, 3, 4], 200
    )


@pytest.mark.parametrize("n", list(range(1, 20)) + [127, 128, 129, 300])
def test_pairwise_sum_is_numpys_order(n):
    x = np.random.default_rng(n).normal(size=(40, n)) * 10.0 ** np.arange(-20, 20).reshape(40, 1)
    assert (_pairwise_sum(x) == np.array([np.add.reduce(row) for row in x])).all()


def test_bootstrap_mean_ci_is_seaborns():
    rng = np.random.default_rng(5)
    samples = [
        rng.normal(size=n) * 10.0 ** rng.integers(-3, 4) for n in [1, 2, 3, 10, 10, 17, 200, 3]
    ]
    mean, low, high = bootstrap_mean_ci(samples, n_boot=1000, seed=0)
    assert list(mean) == [pd.Series(sample).mean() for sample in samples]
    for sample, lo, hi in zip(samples, low, high):
        if len(sample) < 2:
            assert np.isnan(lo) and np.isnan(hi)
            continue
        ref = _percentile_interval(bootstrap(sample, func="mean", n_boot=1000, seed=0), 95)
        assert (lo, hi) == (ref[0], ref[1])


def _bands(ax):
    return [
        (c.get_paths()[0].vertices if c.get_paths() else None, tuple(c.get_facecolor()[0]))
        for c in ax.collections
    ]


def test_lineplot_draws_what_seaborns_ci_lineplot_draws():
    rng = np.random.default_rng(0)
    rows = [
        {"step": step, "score": rng.normal(step / 1000, 1), "kind": kind}
        for kind in ("a", "b", "c")
        for seed in range(7)
        for step in (0, 1000, 2000, 3000)
        if not (kind == "b" and seed > 0 and step == 3000)
    ]  # b: one value at 3000, no band
    rows += [
        {"step": step, "score": rng.normal(), "kind": "d"} for step in (0, 1000, 2000)
    ]  # 1 seed
    rows += [
        {"step": 4000, "score": float("nan"), "kind": "a"},
        {"step": 5000, "score": np.inf, "kind": "c"},
    ]
    data = pd.DataFrame(rows).sample(frac=1, random_state=1)  # seaborn sorts; so must we
    order = ["c", "missing", "a", "d", "b"]
    fig, (new, old) = plt.subplots(1, 2)
    figures._lineplot(new, data, "step", "score", "kind", order)
    sns.lineplot(
        data=data,
        x="step",
        y="score",
        hue="kind",
        hue_order=order,
        errorbar=figures.CI,
        ax=old,
        **figures.BOOT,
        **figures.LINE,
    )

    def drawn(ax):
        return [(tuple(ln.get_xdata()), tuple(ln.get_ydata()), ln.get_color()) for ln in ax.lines]

    assert drawn(new) == drawn(old)
    got, want = _bands(new), _bands(old)
    assert len(got) == len(want) == 4
    for (v_new, c_new), (v_old, c_old) in zip(got, want):
        assert c_new == c_old and np.array_equal(v_new, v_old)
    assert new.get_xlim() == old.get_xlim() and new.get_ylim() == old.get_ylim()
    plt.close(fig)
