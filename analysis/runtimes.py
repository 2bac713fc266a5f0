"""Run times of a study's training jobs, from the benchmark files Snakemake's `benchmark:` wrote.

`python -m analysis.runtimes STUDY` writes RESULTS/STUDY/tables/runtimes.csv: one row per run with
the job's wall time, CPU time and peak memory (Snakemake's psutil measurements, one file per job
under RESULTS/STUDY/benchmarks/, the run folder's path with .tsv) and its env steps per second.
A run trained outside the workflow (or by a resumed job: the file is the last attempt's) has the
numbers of its last workflow job or none.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from analysis import entry
from analysis.runs import read_tidy
from omdpg.layout import Layout
from omdpg.studies import FACTORS, load_study

COLUMNS = {
    "s": "job_seconds",
    "h:m:s": "job_time",
    "cpu_time": "cpu_seconds",
    "max_rss": "max_rss_mb",
}


def runtimes(summary: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    keys = [f for f in FACTORS if f in summary.columns]
    rows = []
    for run in summary.to_dict("records"):
        tsv = layout.benchmark(Path(run["run_dir"]))
        bench = pd.read_csv(tsv, sep="\t") if tsv.exists() else pd.DataFrame()
        last = bench.iloc[-1] if len(bench) else {}
        row = {k: run[k] for k in keys} | {"status": run["status"], "steps": run["steps"]}
        row |= {name: last.get(column) for column, name in COLUMNS.items()}
        seconds = row["job_seconds"]
        row["steps_per_job_second"] = run["steps"] / seconds if seconds else None
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    args = entry.parser(__doc__.splitlines()[0]).parse_args(argv)
    study = load_study(args.study)
    layout = entry.layout(args, study)
    table = runtimes(read_tidy(layout.summary), layout)
    layout.tables.mkdir(parents=True, exist_ok=True)
    table.to_csv(layout.runtimes, index=False)
    timed = table["job_seconds"].notna().sum()
    print(f"{study.name}: run times of {timed} of {len(table)} jobs -> {layout.runtimes}")
    return 0


if __name__ == "__main__":
    sys.exit(entry.run(main))
