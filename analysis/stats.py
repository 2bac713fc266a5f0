"""Statistics over seeds: mean ± std, median, and IQM with a stratified bootstrap 95% CI.

The bootstrap is rliable's (Agarwal et al., NeurIPS 2021) with seeds on axis 0 and one task on
axis 1; runs and tasks transposed give a CI with almost no width (google-research/rliable#20).
"""

from __future__ import annotations

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
    # rliable 1.2's StratifiedBootstrap.update_indices draws resamples from the global np.random
    # (rliable/library.py), so random_state alone does not fix them: seed the global generator for
    # each bootstrap and give the caller's state back afterwards.
    saved = np.random.get_state()
    try:
        for rows in by_n.values():
            group = [runs[i] for i in rows]
            np.random.seed(seed)
            with warnings.catch_warnings():
                # rliable 1.2 passes random_state, which arch 7 deprecates; the result is unchanged.
                warnings.filterwarnings("ignore", category=FutureWarning, module="arch")
                # what rly.get_interval_estimates does for one score matrix, with several matrices
                bs = rly.StratifiedBootstrap(*group, random_state=np.random.RandomState(seed))
                point = _iqms(*group)
                interval = bs.conf_int(_iqms, reps=reps, size=0.95, method="percentile")
            for j, i in enumerate(rows):
                out[i] = (float(point[j]), float(interval[0, j]), float(interval[1, j]))
    finally:
        np.random.set_state(saved)
    return out


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
