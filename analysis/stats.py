"""Statistics over seeds: mean ± std, median, and IQM with a stratified bootstrap 95% CI.

The bootstrap is rliable's (Agarwal et al., NeurIPS 2021) with seeds on axis 0 and one task on
axis 1; runs and tasks transposed give a CI with almost no width (google-research/rliable#20).
"""

from __future__ import annotations

import contextlib
import functools
import warnings

import numpy as np

MIN_SEEDS_FOR_IQM = 3  # design.md: IQM and its CI only where there are 3 or more seeds
REPS = 2000  # bootstrap replications (per-resample metric calls: see iqm_cis)
RANDOM_SEED = 0  # fixed, so tables do not change between builds (peers.md section 5)


def iqm_ci(scores, reps: int = REPS, seed: int = RANDOM_SEED) -> tuple[float, float, float]:
    """IQM of per-seed scores and the 95% percentile-bootstrap CI: (iqm, low, high)."""
    return iqm_cis([scores], reps, seed)[0]


def _iqms(*runs: np.ndarray) -> np.ndarray:
    """rliable's aggregate_iqm (scipy's 25% trimmed mean) of each [n_seeds, 1] array, in one
    call."""
    from scipy.stats import trim_mean  # rliable.metrics.aggregate_iqm's own definition

    return trim_mean(np.stack([r.ravel() for r in runs]), proportiontocut=0.25, axis=1)


def iqm_cis(samples, reps: int = REPS, seed: int = RANDOM_SEED) -> list[tuple[float, float, float]]:
    """iqm_ci of many score vectors at once, each exactly as iqm_ci gives it alone.

    rliable's StratifiedBootstrap draws one index array per resample and applies it to every array
    it is given, and each call used to restart the global generator at `seed`, so all vectors with
    the same number of seeds were resampled with the same indices: they are bootstrapped together
    here, one StratifiedBootstrap per seed count, with the IQM of all of them computed per resample
    (2,001 metric calls per seed count instead of per vector).
    """
    from rliable import library as rly  # imports arch: only when a CI is asked for

    runs = [np.asarray(s, dtype=float).reshape(-1, 1) for s in samples]  # [n_seeds, 1 task] each
    out: list = [None] * len(runs)
    by_n: dict[int, list[int]] = {}
    for i, r in enumerate(runs):
        by_n.setdefault(len(r), []).append(i)
    for rows in by_n.values():
        group = [runs[i] for i in rows]
        with rliable_rng(seed) as random_state:
            # what rly.get_interval_estimates does for one score matrix, with several matrices
            bs = rly.StratifiedBootstrap(*group, random_state=random_state)
            point = _iqms(*group)
            interval = bs.conf_int(_iqms, reps=reps, size=0.95, method="percentile")
        for j, i in enumerate(rows):
            out[i] = (float(point[j]), float(interval[0, j]), float(interval[1, j]))
    return out


@contextlib.contextmanager
def rliable_rng(seed: int = RANDOM_SEED):
    """A RandomState for rliable, with the global numpy generator seeded too and given back after.

    rliable 1.2's StratifiedBootstrap.update_indices draws resamples from the global np.random
    (rliable/library.py), and create_performance_profile takes no random_state at all, so
    random_state alone does not fix them: every rliable call here runs inside this guard.
    """
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            # rliable 1.2 passes random_state, which arch 7 deprecates; the result is unchanged.
            warnings.filterwarnings("ignore", category=FutureWarning, module="arch")
            yield np.random.RandomState(seed)
    finally:
        np.random.set_state(saved)


def interval_estimates(score_dict: dict, func, reps: int = REPS, seed: int = RANDOM_SEED):
    """rliable's get_interval_estimates (stratified bootstrap over runs, 95% percentile CIs):
    {key: point}, {key: [2, ...] (low, high)}. A value of ``score_dict`` is one [runs, tasks, ...]
    matrix, or a list of them (independent bootstraps, as for probability of improvement)."""
    from rliable import library as rly

    with rliable_rng(seed) as random_state:
        return rly.get_interval_estimates(score_dict, func, reps=reps, random_state=random_state)


def probability_of_improvement(pairs: dict, reps: int = REPS, seed: int = RANDOM_SEED) -> dict:
    """(P(X > Y), low, high), its 95% CI, for each pair of [runs, tasks] score matrices (X, Y) on
    the same tasks:

        P(X > Y) = 1/M Σ_m P(X_m > Y_m),  P(X_m > Y_m) = 1/(N K) Σ_i Σ_j S(x_m,i, y_m,j),

    S(x, y) = 1 if x > y, 1/2 if equal, 0 otherwise: the Mann-Whitney U statistic per task, averaged
    over the M tasks (Agarwal et al. 2021, section 4.3; rliable.metrics.probability_of_improvement),
    bootstrapped over the runs of X and of Y independently."""
    from rliable import metrics

    point, interval = interval_estimates(
        {key: list(xy) for key, xy in pairs.items()}, metrics.probability_of_improvement, reps, seed
    )
    out = {}
    for key in pairs:
        low, high = np.ravel(interval[key])
        out[key] = (float(np.ravel(point[key])[0]), float(low), float(high))
    return out


def aggregate_metrics(score_dict: dict, reps: int = REPS, seed: int = RANDOM_SEED):
    """Median, IQM, mean and optimality gap (γ = 1) over all runs and tasks of each [runs, tasks]
    matrix, with 95% stratified bootstrap CIs (Agarwal et al. 2021, section 4.2): point {key: [4]},
    interval {key: [2, 4]}."""
    from rliable import metrics

    def four(scores):
        return np.array(
            [
                metrics.aggregate_median(scores),
                metrics.aggregate_iqm(scores),
                metrics.aggregate_mean(scores),
                metrics.aggregate_optimality_gap(scores),
            ]
        )

    return interval_estimates(score_dict, four, reps, seed)


def iqm_curves(score_dict: dict, reps: int = REPS, seed: int = RANDOM_SEED):
    """IQM over runs and tasks at each evaluation of [runs, tasks, evaluations] matrices, with 95%
    stratified bootstrap CIs (rliable's sample-efficiency curves): {key: [E]}, {key: [2, E]}."""
    from rliable import metrics

    def per_evaluation(scores):
        return np.array([metrics.aggregate_iqm(scores[..., e]) for e in range(scores.shape[-1])])

    return interval_estimates(score_dict, per_evaluation, reps, seed)


def performance_profiles(
    score_dict: dict, taus: np.ndarray, reps: int = REPS, seed: int = RANDOM_SEED
):
    """The fraction of runs scoring above τ for each τ (run-score distributions, Agarwal et al.
    2021, section 4.1; rliable.library.create_performance_profile), with 95% bootstrap CIs."""
    from rliable import library as rly

    with rliable_rng(seed):
        return rly.create_performance_profile(score_dict, taus, reps=reps)


def seed_stats(scores, reps: int = REPS, seed: int = RANDOM_SEED) -> dict[str, float]:
    """n, mean, std (sample, ddof=1), median, and IQM with CI (NaN below MIN_SEEDS_FOR_IQM
    seeds)."""
    return seed_stats_many([scores], reps, seed)[0]


def seed_stats_many(samples, reps: int = REPS, seed: int = RANDOM_SEED) -> list[dict[str, float]]:
    """seed_stats of each score vector, the bootstraps done together (iqm_cis): same numbers."""
    nan = float("nan")
    xs = [np.asarray(s, dtype=float) for s in samples]
    xs = [x[~np.isnan(x)] for x in xs]
    outs = [
        {
            "n": len(x),
            "mean": float(x.mean()) if len(x) else nan,
            "std": float(x.std(ddof=1)) if len(x) > 1 else nan,
            "median": float(np.median(x)) if len(x) else nan,
            "iqm": nan,
            "iqm_low": nan,
            "iqm_high": nan,
        }
        for x in xs
    ]
    enough = [i for i, x in enumerate(xs) if len(x) >= MIN_SEEDS_FOR_IQM]
    for i, (iqm, low, high) in zip(enough, iqm_cis([xs[i] for i in enough], reps, seed)):
        outs[i].update(iqm=iqm, iqm_low=low, iqm_high=high)
    return outs


def bootstrap_mean_ci(
    samples, n_boot: int, seed: int, level: float = 95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of each sample and the percentile-bootstrap CI of it: (mean, low, high) arrays.

    Exactly seaborn 0.13's estimator="mean", errorbar=("ci", level) with n_boot and seed (pandas'
    mean; seaborn.algorithms.bootstrap, then np.nanpercentile; no CI below 2 values), which restarts
    default_rng(seed) for every sample and draws n_boot index vectors one by one: all samples of the
    same size get the same indices, so they are resampled together here, one [samples, n_boot, size]
    array at a time, instead of n_boot np.mean calls per sample. Samples must be free of NaN
    (seaborn
    drops them). Sums are taken in np.mean's order (_pairwise_sum): equal to the bit.
    """
    mean = np.full(len(samples), np.nan)
    low = np.full(len(samples), np.nan)
    high = np.full(len(samples), np.nan)
    edge = (100 - level) / 2
    by_n: dict[int, list[int]] = {}
    for i, sample in enumerate(samples):
        if len(sample):
            by_n.setdefault(len(sample), []).append(i)
    for n, rows in by_n.items():
        values = np.stack([np.asarray(samples[i], dtype=float) for i in rows])  # [samples, n]
        mean[rows] = _pairwise_sum(values) / n
        if n < 2:
            continue
        idx = _resamples(n, int(n_boot), seed)  # [n_boot, n]
        chunk = max(1, 4_000_000 // idx.size)  # at most ~32 MB of resamples at a time
        for start in range(0, len(rows), chunk):
            boots = _pairwise_sum(values[start : start + chunk][:, idx]) / n  # [samples, n_boot]
            lo, hi = np.nanpercentile(boots, (edge, 100 - edge), axis=1)
            where = rows[start : start + chunk]
            low[where], high[where] = lo, hi
    return mean, low, high


@functools.lru_cache(maxsize=64)
def _resamples(n: int, n_boot: int, seed: int) -> np.ndarray:
    """seaborn.algorithms.bootstrap's index vectors for a sample of n values, in its order."""
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.integers(0, n, n, dtype=np.intp) for _ in range(n_boot)])
    idx.setflags(write=False)
    return idx


def _pairwise_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis in the order np.add.reduce sums one contiguous 1-D array (numpy's
    pairwise summation: 8 partial sums up to 128 values, halves above), vectorised over the other
    axes; a.sum(axis=-1) on a 3-D array adds in another order and differs in the last bit."""
    n = a.shape[-1]
    if n < 8:
        total = np.zeros(a.shape[:-1])
        for i in range(n):
            total = total + a[..., i]
        return total
    if n <= 128:
        m = n - n % 8
        r = a[..., 0:8].copy()
        for i in range(8, m, 8):
            r += a[..., i : i + 8]
        total = ((r[..., 0] + r[..., 1]) + (r[..., 2] + r[..., 3])) + (
            (r[..., 4] + r[..., 5]) + (r[..., 6] + r[..., 7])
        )
        for i in range(m, n):
            total = total + a[..., i]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(a[..., :half]) + _pairwise_sum(a[..., half:])
