"""SYNTHETIC run folders that follow the run-folder contract (design.md, contract 2).

For tests and benchmarks of the analysis only: every folder says `"synthetic": true` in its
config.json and DONE, and every table and figure built from one says SYNTHETIC DATA.
`python -m analysis.synthetic STUDY [--steps N]` fills RESULTS/STUDY/runs/ with one per cell.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import entry
from omdpg.envs.registry import backend
from omdpg.layout import Layout
from omdpg.studies import NA, load_study, run_table

NOTE = "synthetic run folder written by analysis.synthetic: not a training result"
SKILL = {"omdpg": 0.85, "happo": 0.55, "mappo": 0.65, "hatd3": 0.6, "qmix": 0.6}  # made up
EPISODE_LENGTH = 50


def _skill(cell: dict) -> float:
    """A made-up final level per cell, so that plots of synthetic data have visible structure."""
    skill = SKILL.get(cell["algorithm"], 0.5)
    if cell.get("lambda_pu", NA) != NA:
        skill -= 0.08 * abs(np.log10((float(cell["lambda_pu"]) + 1e-3) / 0.1))
    if cell.get("grouping") == "random":
        skill -= 0.15
    return float(np.clip(skill, 0.05, 0.95))


def _eval_steps(steps: int, interval: int, upto: int) -> list[int]:
    """Evaluations every `interval` steps and once more at the end (the protocol)."""
    points = list(range(interval, steps + 1, interval))
    if not points or points[-1] != steps:
        points.append(steps)
    return [p for p in points if p <= upto]


def write_run(
    run_dir: Path, cell: dict, steps: int, interval: int, episodes: int, complete: bool = True
) -> None:
    """One run folder for `cell`; an incomplete one stops halfway and has no DONE."""
    run_dir = Path(run_dir)
    rng = np.random.default_rng(zlib.crc32(str(sorted(cell.items())).encode()))
    reached = steps if complete else max(steps // 2, 1)
    skill, wins = _skill(cell), backend(cell["env"]).has_win
    run_dir.joinpath("checkpoint").mkdir(parents=True, exist_ok=True)
    run_dir.joinpath("checkpoint", "SYNTHETIC").write_text(NOTE + "\n")
    config = {
        "algo": cell["algorithm"],
        "env": cell["env"],
        "map": cell["map"],
        "seed": int(cell["seed"]),
        "steps": steps,
        "grouping": cell["grouping"],
        "lambda_pu": None if cell.get("lambda_pu", NA) == NA else float(cell["lambda_pu"]),
        "eval": {"interval": interval, "episodes": episodes},
        "synthetic": True,
        "note": NOTE,
    }
    if cell.get("ensemble_size", NA) != NA:
        config["gqc"] = {"ensemble_size": int(cell["ensemble_size"])}
    run_dir.joinpath("config.json").write_text(json.dumps(config, indent=1))

    evals, episodes_rows = [], []
    for env_steps in _eval_steps(steps, interval, reached):
        level = skill * (1 - np.exp(-4 * env_steps / steps))
        won = rng.random(episodes) < level
        returns = (
            (20 * won + rng.normal(5, 1, episodes))
            if wins
            else rng.normal(3000 * level, 200, episodes)
        )
        evals.append(
            {
                "env_steps": env_steps,
                "wall_seconds": env_steps / 1000,
                "n_episodes": episodes,
                "win_rate": won.mean() if wins else None,
                "return_mean": returns.mean(),
                "return_std": returns.std(),
            }
        )
        episodes_rows += [
            {
                "env_steps": env_steps,
                "episode": i,
                "won": int(won[i]) if wins else None,
                "return": returns[i],
                "length": EPISODE_LENGTH,
            }
            for i in range(episodes)
        ]
    pd.DataFrame(evals).to_csv(run_dir / "eval.csv", index=False)
    pd.DataFrame(episodes_rows).to_csv(run_dir / "eval_episodes.csv", index=False)

    log_steps = np.arange(interval // 2 or 1, reached + 1, interval // 2 or 1)
    progress = pd.DataFrame(
        {
            "env_steps": log_steps,
            "wall_seconds": log_steps / 1000,
            "episodes": log_steps // EPISODE_LENGTH,
            "train_return_mean": rng.normal(10, 1, len(log_steps)),
            "train_win_rate": np.clip(rng.normal(skill / 2, 0.05, len(log_steps)), 0, 1)
            if wins
            else None,
            "steps_per_second": rng.normal(1000, 50, len(log_steps)),
            "critic_loss": rng.gamma(2, 0.1, len(log_steps)),
        }
    )
    if cell["algorithm"] == "omdpg":  # a critic whose estimate climbs; a policy that sharpens
        progress["q_mean"] = log_steps / reached + rng.normal(0, 0.05, len(log_steps))
        progress["q_std_ood"] = np.abs(rng.normal(0.05, 0.01, len(log_steps)))
        if backend(cell["env"]).discrete:
            progress["policy_entropy"] = (
                2.0 - log_steps / reached + rng.normal(0, 0.05, len(log_steps))
            )
            progress["alpha"] = 0.02 * np.exp(-log_steps / reached)  # an annealed weight
    if cell["algorithm"] == "happo":
        # Shared parameters make the compounded factor drift; one network per agent does not.
        scale = 0.0 if cell["grouping"] == "none" else 0.2
        for column in ("happo_drift", "happo_drift_rel", "happo_improvement_gap"):
            progress[column] = np.abs(rng.normal(scale, 0.01 + scale / 4, len(log_steps)))
    progress.to_csv(run_dir / "progress.csv", index=False)
    if complete:
        last = evals[-1]
        done = {
            "synthetic": True,
            "note": NOTE,
            "steps": steps,
            "wall_seconds": last["wall_seconds"],
            "final_win_rate": last["win_rate"],
            "final_return": last["return_mean"],
        }
        run_dir.joinpath("DONE").write_text(json.dumps(done))


def write_study(
    study, layout: Layout, steps: int | None = None, incomplete=(), missing=()
) -> pd.DataFrame:
    """A synthetic run folder per cell; `incomplete` and `missing` are row numbers of run_table."""
    runs = run_table(study, layout)
    spec = study.spec
    for i, run in enumerate(runs.to_dict("records")):
        if i not in missing:
            write_run(
                run.pop("run_dir"),
                run,
                steps or spec["steps"],
                spec["eval"]["interval"],
                spec["eval"]["episodes"],
                complete=i not in incomplete,
            )
    return runs


def main(argv=None) -> int:
    parser = entry.parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="steps per run (default: the study's)")
    args = parser.parse_args(argv)
    study = load_study(args.study)
    runs = write_study(
        study, Layout(Path(args.results), Path(args.figures), study.name), args.steps
    )
    print(f"{len(runs)} SYNTHETIC run folders under {Path(args.results) / study.name / 'runs'}")
    return 0


if __name__ == "__main__":
    sys.exit(entry.run(main))
