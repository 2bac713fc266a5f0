"""HAPPO learns SMAX 3m through the real command line (QMIX and HATD3 show learning on one-step
games, test_qmix.py and test_hatd3.py: on SMAX and MaMuJoCo they need far more steps than a test
can afford on two cores)."""

from tests.conftest import rows


def test_happo_learns_3m(tmp_path, cli):
    """Learning budget, measured: after 10,240 steps seeds 0-2 win 0.31-0.50 of 32 greedy episodes
    with return 1.15-1.39; the untrained greedy policies win 0 with return 0.09-0.13."""
    out = tmp_path / "happo"
    r = cli(
        "train",
        "--algo",
        "happo",
        "--env",
        "smax",
        "--map",
        "3m",
        "--seed",
        1,
        "--steps",
        10240,
        "--out",
        out,
        "--set",
        "eval.interval=5120",
        "--set",
        "eval.episodes=32",
        "--set",
        "checkpoint_interval=2048",
    )
    assert r.returncode == 0, r.stderr
    final = rows(out / "eval.csv")[-1]
    assert float(final["win_rate"]) >= 0.15 and float(final["return_mean"]) >= 0.6, final
    drift = [float(p["happo_drift"]) for p in rows(out / "progress.csv")]
    assert drift and all(d == 0.0 for d in drift)  # --grouping none is HAPPO's default: NoPS
