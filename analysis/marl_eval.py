"""A study's results in marl-eval's JSON format, for its plots and tables and for other harnesses.

`python -m analysis.marl_eval STUDY` writes RESULTS/STUDY/marl_eval.json from the complete runs'
eval_episodes.csv, eval.csv and absolute_episodes.csv. The format is marl-eval's documented one
(instadeepai/marl-eval README, "Data Structure for Raw Experiment data", and the JsonLogger of
marl_eval/json_tools), written here without the id-marl-eval package, whose pins clash with ours:

    {env: {task: {algorithm: {"seed_N": {
        "step_0": {"step_count": int, "elapsed_time": float, "return": [...], "win_rate": [...]},
        ...,
        "absolute_metrics": {"return": [...], "win_rate": [...]}}}}}}

Names follow marl-eval's DiagnoseData: tasks lower case, algorithms upper case (the variant label,
e.g. "OMDPG" or "HAPPO NOPS", without commas), metrics lower case; "absolute_metrics" comes last
in each run. win_rate is written on envs with a win only, as one 0/1 value per episode.
"""

from __future__ import annotations

import json
import sys

import pandas as pd

from analysis import entry
from analysis.aggregate import variant_label
from analysis.runs import read_tidy, tidy_episodes, tidy_evals
from omdpg.envs.registry import backend
from omdpg.studies import load_study


def _metrics(episodes: pd.DataFrame, has_win: bool) -> dict:
    out = {"return": [float(r) for r in episodes["return"]]}
    if has_win:
        out["win_rate"] = [float(w) for w in episodes["won"]]
    return out


def marl_eval_data(summary: pd.DataFrame) -> dict:
    """The nested marl-eval dictionary of the complete runs in ``summary``."""
    runs = summary[summary["status"] == "complete"]
    runs = runs.assign(label=variant_label(runs).str.replace("λ_PU", "lambda_pu").str.upper())
    keys = runs[["env", "map", "run_dir"]]
    episodes = tidy_episodes(keys).groupby("run_dir")
    absolute = tidy_episodes(keys, "absolute_episodes.csv").groupby("run_dir")
    evals = tidy_evals(keys).groupby("run_dir")
    data: dict = {}
    for run in runs.to_dict("records"):
        has_win = backend(run["env"]).has_win
        wall = evals.get_group(run["run_dir"]).set_index("env_steps")["wall_seconds"]
        steps = {}
        by_step = episodes.get_group(run["run_dir"]).groupby("env_steps")
        for i, (env_steps, rows) in enumerate(by_step):
            steps[f"step_{i}"] = {
                "step_count": int(env_steps),
                "elapsed_time": float(wall[env_steps]),
                **_metrics(rows, has_win),
            }
        if run["run_dir"] in absolute.groups:
            steps["absolute_metrics"] = _metrics(absolute.get_group(run["run_dir"]), has_win)
        task = data.setdefault(run["env"], {}).setdefault(run["map"].lower(), {})
        task.setdefault(run["label"], {})[f"seed_{run['seed']}"] = steps
    return data


def main(argv=None) -> int:
    args = entry.parser(__doc__.splitlines()[0]).parse_args(argv)
    study = load_study(args.study)
    layout = entry.layout(args, study)
    data = marl_eval_data(read_tidy(layout.summary))
    layout.marl_eval.write_text(json.dumps(data, indent=1))
    runs = sum(
        len(seeds) for tasks in data.values() for t in tasks.values() for seeds in t.values()
    )
    print(f"{study.name}: {runs} runs in marl-eval's format -> {layout.marl_eval}")
    return 0


if __name__ == "__main__":
    sys.exit(entry.run(main))
