"""Statistics over seeds: mean ± std, median, and IQM with a stratified bootstrap 95% CI.

The bootstrap is rliable's (Agarwal et al., NeurIPS 2021) with seeds on axis 0 and one task on
axis 1; runs and tasks transposed give a CI with almost no width (google-research/rliable#20).
"""
from __future__ import annotations

import warnings

import numpy as np

MIN_SEEDS_FOR_IQM = 3   # design.md: IQM and its CI only where there are 3 or more seeds
REPS = 2000             # bootstrap replications: ~1 s per table row through arch's loop
RANDOM_SEED = 0         # fixed, so tables do not change between builds (peers.md section 5)


def iqm_ci(scores, reps: int = REPS, seed: int = RANDOM_SEED) -> tuple[float, float, float]:
    """IQM of per-seed scores and the 95% percentile-bootstrap CI: (iqm, low, high)."""
    from rliable import library as rly, metrics   # imports arch: only when a CI is asked for

    runs = np.asarray(scores, dtype=float).reshape(-1, 1)   # [n_seeds, 1 task]
    # rliable 1.2's StratifiedBootstrap.update_indices draws resamples from the global np.random
    # (rliable/library.py), so random_state alone does not fix them: seed the global generator for
    # this call and give the caller's state back afterwards.
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            # rliable 1.2 passes random_state, which arch 7 deprecates; the result is unchanged.
            warnings.filterwarnings("ignore", category=FutureWarning, module="arch")
            point, interval = rly.get_interval_estimates(
                {"scores": runs}, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=reps,
                random_state=np.random.RandomState(seed))
    finally:
        np.random.set_state(saved)
    return float(point["scores"][0]), float(interval["scores"][0, 0]), float(interval["scores"][1, 0])


def seed_stats(scores, reps: int = REPS, seed: int = RANDOM_SEED) -> dict[str, float]:
    """n, mean, std (sample, ddof=1), median, and IQM with CI (NaN below MIN_SEEDS_FOR_IQM seeds)."""
    x = np.asarray(scores, dtype=float)
    x = x[~np.isnan(x)]
    nan = float("nan")
    out = {"n": len(x), "mean": float(x.mean()) if len(x) else nan,
           "std": float(x.std(ddof=1)) if len(x) > 1 else nan,
           "median": float(np.median(x)) if len(x) else nan,
           "iqm": nan, "iqm_low": nan, "iqm_high": nan}
    if len(x) >= MIN_SEEDS_FOR_IQM:
        out["iqm"], out["iqm_low"], out["iqm_high"] = iqm_ci(x, reps, seed)
    return out
