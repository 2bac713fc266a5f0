"""Publish a study's results as committed evidence (docs/design.md, contract 6).

`python -m analysis.publish STUDY` (`make publish STUDY=...`) copies the small files of every
finished run under RESULTS/STUDY/runs (config.json, progress.csv, eval.csv, eval_episodes.csv,
DONE; never a checkpoint) to evidence/STUDY/runs, keeping each run's cell path, then builds the
study's summary, tables and figures from those files alone, in evidence/STUDY/. A partial study
may be published: unfinished cells are left out and the tables count them ("seeds 2/3").
`python -m analysis.report STUDY --evidence --rebuild` builds the same files again from
evidence/ on a fresh clone.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from analysis import entry, figures, summary, tables
from omdpg.layout import Layout
from omdpg.studies import Study, cell_path, cells, load_study

RUN_FILES = ("config.json", "progress.csv", "eval.csv", "eval_episodes.csv", "DONE")


def publish_runs(study: Study, source: Layout, target: Layout) -> tuple[int, int]:
    """Copy every finished run's small files; drop evidence of cells the study no longer has.
    Returns (runs copied, cells of the study)."""
    wanted = {cell_path(c) for c in cells(study).to_dict("records")}
    if target.runs.is_dir():  # a cell removed from the study file leaves no stale evidence
        for done in list(target.runs.rglob("DONE")):
            if str(done.parent.relative_to(target.runs)) not in wanted:
                shutil.rmtree(done.parent)
    copied = 0
    for path in sorted(wanted):
        run, dest = source.runs / path, target.runs / path
        if not (run / "DONE").is_file():
            continue
        dest.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:
            shutil.copy2(run / name, dest / name)
        copied += 1
    return copied, len(wanted)


def build(study: Study, args: list[str]) -> None:
    """summary.csv and evals.csv, the tables, then every figure the study asks for: the workflow's
    own steps (workflow/rules/aggregate.smk, figures.smk), run in this process."""
    summary.main([str(study.path), *args])
    tables.main([str(study.path), *args])
    for figure in study.spec["figures"]:
        figures.main([str(study.path), figure, *args])


def main(argv=None) -> int:
    args = entry.parser(__doc__.splitlines()[0]).parse_args(argv)
    study = load_study(args.study)
    source = Layout(Path(args.results), Path(args.figures), study.name)
    target = Layout.evidence(study.name, Path(args.evidence or "evidence"))
    copied, total = publish_runs(study, source, target)
    build(study, ["--evidence", str(target.results)])
    held = sum(1 for _ in target.runs.rglob("DONE"))
    print(
        f"{study.name}: {copied} finished runs copied from {source.runs}; {held} of the study's "
        f"{total} cells have a finished run in {target.study_dir} (summary.csv: each one's status)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(entry.run(main))
