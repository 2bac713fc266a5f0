"""Where a study's results are: run counts, the final-score table, and the figure paths.

`python -m analysis.report STUDY` prints it; the workflow prints it after a successful run.
`--evidence --rebuild` first rebuilds the tables and figures from the committed evidence.
"""

from __future__ import annotations

import sys
from pathlib import Path

from analysis import entry
from analysis.captions import caption
from analysis.publish import build
from analysis.runs import read_tidy
from analysis.summary import STATUSES
from omdpg.layout import Layout
from omdpg.studies import Study, load_study, recordings


def _path(path: Path) -> str:
    return str(path) if path.exists() else f"{path} (not built yet)"


def report_caption(study: Study, layout: Layout, figure: str | None = None) -> str:
    """A caption for Snakemake's HTML report (workflow/report/caption.rst): a figure's, as the
    figure prints it under itself, or else the final table's, from its Markdown file; empty before
    they can be built (Snakemake evaluates it for every run, the report reads it last)."""
    if figure is None:
        md = layout.table_files()[1]
        return md.read_text().split("\n\n")[0] if md.exists() else ""
    if not layout.summary.exists():
        return ""
    from analysis.figures import WHAT  # matplotlib: only when a figure caption is asked for

    return caption(study, read_tidy(layout.summary), WHAT[figure])


def report(study: Study, layout: Layout) -> str:
    lines = [f"Study '{study.name}': {study.spec['description']}"]
    if layout.summary.exists():
        summary = read_tidy(layout.summary)
        counts = summary["status"].value_counts()
        lines.append(
            f"Runs: {counts.get('complete', 0)} of {len(summary)} complete ({layout.summary})"
        )
        lines += [
            f"  {n} {status}: {STATUSES[status]}"
            for status, n in counts.items()
            if status != "complete"
        ]
    else:
        lines.append(f"Runs: no summary yet ({_path(layout.summary)})")
    files = layout.table_files(study.spec["figures"])
    for csv, md, tex in zip(files[::3], files[1::3], files[2::3]):
        lines.append(f"Table: {_path(md)} (also {csv.suffix} and {tex.suffix})")
        if md.exists():
            lines += ["", md.read_text().rstrip(), ""]
    for figure in study.spec["figures"]:
        png, pdf = layout.figure_files(figure)
        lines.append(f"Figure {figure}: {_path(png)} (also {pdf.suffix})")
    for path in recordings(study, layout):
        lines.append(f"Recorded episode: {_path(Path(path))}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = entry.parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="first rebuild the summary, tables and figures from the run folders (with "
        "--evidence: from the committed evidence, as on a fresh clone)",
    )
    args = parser.parse_args(argv)
    study = load_study(args.study)
    if args.rebuild:
        roots = ["--results", args.results, "--figures", args.figures]
        build(study, ["--evidence", args.evidence] if args.evidence else roots)
    print(report(study, entry.layout(args, study)))
    return 0


if __name__ == "__main__":
    sys.exit(entry.run(main))
