"""`make demo`: a short but real training run on SMAX and on MaMuJoCo, then where the results are."""
from __future__ import annotations

from pathlib import Path

from omdpg.cli import main as cli


def main() -> int:
    runs = [("smax", "3m", "mappo", 30_000), ("mamujoco", "HalfCheetah-6x1", "mappo", 10_000)]
    for env, map_name, algo, steps in runs:
        out = Path("runs/demo") / f"{algo}_{env}_{map_name}"
        code = cli(["train", "--algo", algo, "--env", env, "--map", map_name, "--steps",
                    str(steps), "--out", str(out), "--set", f"eval.interval={steps // 3}",
                    "--set", "eval.episodes=8"])
        if code:
            return code
    print("demo results: runs/demo/*/ (eval.csv, progress.csv, config.json, DONE)")
    return 0
