"""Per-run summary: status, final and best score, steps and time; one row per expected run.

`python -m analysis.summary STUDY` writes RESULTS/STUDY/evals.csv (tidy, one row per evaluation)
and RESULTS/STUDY/summary.csv (one row per cell of the study, run or not).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import entry
from analysis.runs import FILES, tidy_evals
from omdpg.envs.registry import backend
from omdpg.integrity import config_difference
from omdpg.run_folder import Damaged, read_json, read_sealed_json
from omdpg.runner import run_identity
from omdpg.studies import cell_configs, load_study, run_table, task_targets

LAST = 3  # design.md: a run's final score is the mean of its last 3 evaluations
STATUSES = {
    "complete": "DONE written and the run's step budget is the study's",
    "short": "DONE written, but the run was configured for fewer steps than the study now asks",
    "incomplete": "started, no DONE yet (running, crashed or killed: rerunning resumes it)",
    "damaged": "DONE written, but DONE or config.json is missing, unreadable or changed since "
    "(`omdpg train` on the folder names the fix)",
    "mismatched": "DONE written, but its config.json is not the run the study's cell makes today "
    "(a default changed since it ran, or the folder was filed under another cell): train the cell "
    "again into an empty folder, or name the run's value in the study file's set",
    "missing": "never started",
}


def final_score(scores, last: int = LAST) -> float:
    """Mean of the last `last` evaluations (fewer if the run has fewer), NaN without any."""
    x = np.asarray(scores, dtype=float)[-last:]
    return float(x.mean()) if len(x) else float("nan")


def run_status(run_dir: Path, target_steps: int | None, identity: dict | None = None) -> str:
    """The run's status (STATUSES); with ``identity`` (the run the cell makes today, as
    omdpg.runner.run_identity), a finished run configured otherwise is "mismatched"."""
    run_dir = Path(run_dir)
    if not any((run_dir / name).exists() for name in FILES):
        return "missing"
    if not (run_dir / "DONE").exists():
        return "incomplete"
    try:
        read_sealed_json(run_dir / "DONE", require_seal=False)
        config = read_sealed_json(run_dir / "config.json", require_seal=False)
    except Damaged:
        return "damaged"
    if target_steps is not None and config.get("steps", target_steps) < target_steps:
        return "short"
    if identity is not None and mismatch(config, identity):
        return "mismatched"
    return "complete"


def mismatch(config: dict, identity: dict) -> str | None:
    """How a finished run's config.json differs from the run its cell makes today, in words;
    options added after it ran (absent from its record) are not differences."""
    return config_difference(config, identity, unrecorded_ok=True)


def _absolute(run_dir: Path, metric: str) -> float:
    """DONE's absolute metric (the best evaluation's policy on 10x the episodes), NaN without."""
    done = read_json(run_dir / "DONE") or {}
    value = done.get({"win_rate": "absolute_win_rate", "return_mean": "absolute_return"}[metric])
    return float("nan") if value is None else float(value)


def summarise(
    runs: pd.DataFrame,
    evals: pd.DataFrame,
    target_steps: int | None = None,
    targets: dict[tuple[str, str], float] | None = None,
    identities: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """One row per run of `runs` (factors + run_dir), scored from its rows in `evals`; `target`
    is its task's target score from `targets` ((env, map) -> score; NaN for a task without one);
    `identities` (run_dir -> the run its cell makes today) marks runs configured otherwise
    "mismatched", saying how in the `mismatch` column."""
    by_run = {
        run_dir: group.sort_values("env_steps") for run_dir, group in evals.groupby("run_dir")
    }
    empty = evals.iloc[0:0]
    rows = []
    for run in runs.to_dict("records"):
        ev = by_run.get(run["run_dir"], empty)
        metric = backend(run["env"]).score
        config = read_json(Path(run["run_dir"]) / "config.json") or {}
        identity = (identities or {}).get(run["run_dir"])
        status = run_status(run["run_dir"], target_steps, identity)
        rows.append(
            {
                **run,
                "status": status,
                "mismatch": mismatch(config, identity) if status == "mismatched" else "",
                "metric": metric,
                "n_evals": len(ev),
                "final": final_score(ev[metric]),
                "best": float(ev[metric].max()) if len(ev) else float("nan"),
                "final_win_rate": final_score(ev["win_rate"]),
                "final_return": final_score(ev["return_mean"]),
                "absolute": _absolute(Path(run["run_dir"]), metric),
                "steps": int(ev["env_steps"].iloc[-1]) if len(ev) else 0,
                "wall_seconds": float(ev["wall_seconds"].iloc[-1]) if len(ev) else float("nan"),
                "synthetic": bool(config.get("synthetic", False)),
                "target": (targets or {}).get((run["env"], run["map"]), float("nan")),
            }
        )
    summary = pd.DataFrame(rows)
    summary.insert(
        summary.columns.get_loc("status") + 1, "complete", summary["status"] == "complete"
    )
    return summary


def main(argv=None) -> int:
    args = entry.parser(__doc__.splitlines()[0]).parse_args(argv)
    study = load_study(args.study)
    layout = entry.layout(args, study)
    runs = run_table(study, layout)
    evals = tidy_evals(runs)
    identities = {
        str(layout.runs / path): run_identity(cfg) for path, cfg in cell_configs(study).items()
    }
    summary = summarise(runs, evals, study.spec["steps"], task_targets(study), identities)
    layout.study_dir.mkdir(parents=True, exist_ok=True)
    evals.to_csv(layout.evals, index=False)
    summary.to_csv(layout.summary, index=False)
    counts = ", ".join(f"{n} {s}" for s, n in summary["status"].value_counts().items())
    print(f"{study.name}: {len(summary)} runs ({counts}) -> {layout.summary}")
    for run in summary[summary["status"] == "mismatched"].to_dict("records"):
        print(f"  mismatched: {run['run_dir']}: {run['mismatch']}")
    return 0


if __name__ == "__main__":
    sys.exit(entry.run(main))
