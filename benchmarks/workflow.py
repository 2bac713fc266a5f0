"""5. Workflow overhead: Snakemake planning of a 1,000-cell study and its analysis.

A temporary study file (valid against config/schemas/study.schema.yaml, SMAX only so no StarCraft
II check is involved) with 5 maps x 10 seeds x 20 algorithm variants = 1,000 cells, at the
protocol of the SMAX studies (1e6 steps, evaluation every 20,000 steps with 32 episodes). Timed,
each as the command a user or a rule runs, in a subprocess (so interpreter start-up is included,
as it is for every rule):
- ``snakemake --dry-run`` of the whole study before any run exists (1,000 train jobs + aggregation),
- ``python -m analysis.synthetic`` writing 1,000 SYNTHETIC run folders (setup, shown for scale),
- the same dry run once every cell is DONE (only the aggregation jobs remain),
- the aggregation the rules run: ``analysis.summary``, ``analysis.tables``, ``analysis.figures``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks.report import Section
from benchmarks.timing import Stopwatch

TITLE = "Workflow overhead (Snakemake planning, analysis of synthetic run folders)"
ROOT = Path(__file__).resolve().parent.parent
SNAKEFILE = ROOT / "workflow" / "Snakefile"
NEEDS = (
    "analysis/synthetic.py",
    "analysis/summary.py",
    "analysis/tables.py",
    "analysis/figures.py",
)
MAPS = ("2s3z", "3s5z", "3s5z_vs_3s6z", "mm2_no_medivac", "6m2m_15m")
SEEDS = (10, 1)  # full: 5 maps x 10 seeds x 20 variants = 1,000 cells; --quick: 100
FIGURES = ["curves", "lambda_pu", "grouping", "drift"]
QUICK_FIGURES = FIGURES[:1]


def study(seeds: int) -> dict:
    """20 variants per map and seed: OMDPG 4 groupings x 4 lambda_pu, HAPPO 3 groupings, MAPPO."""
    return {
        "description": "Benchmark of the workflow's own overhead (benchmarks/workflow.py); "
        "never trained.",
        "paper": {
            "counterpart": "none: a benchmark of the harness",
            "stand_in": "none needed: SMAX runs without StarCraft II",
        },
        "tasks": [{"env": "smax", "map": m} for m in MAPS],
        "algorithms": [
            {
                "name": "omdpg",
                "grouping": ["type", "random", "single", "none"],
                "lambda_pu": [0.0, 0.1, 1.0, 10.0],
            },
            {"name": "happo", "grouping": ["none", "type", "random"]},
            {"name": "mappo", "grouping": ["single"]},
        ],
        "seeds": list(range(seeds)),
        "steps": 1_000_000,
        "eval": {"interval": 20_000, "episodes": 32},
        "figures": FIGURES,
    }


def _timed(label: str, cmd: list[str], cwd: Path) -> tuple[dict, str]:
    print(f"  {label}", flush=True)
    with Stopwatch() as w:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:]
        raise RuntimeError(f"{label}: exit status {out.returncode}: {tail[0] if tail else ''}")
    return {"step": label, "wall_s": w.wall}, out.stdout + out.stderr


def _jobs(log: str) -> int | None:
    """Snakemake's job-stats table ends with 'total N'."""
    found = re.findall(r"^total\s+(\d+)", log, flags=re.M)
    return int(found[-1]) if found else None


def run(quick: bool) -> Section:
    section = Section(
        TITLE,
        notes=[
            "wall seconds of each command in a subprocess (interpreter start-up included, as for a "
            "rule); the study: 5 SMAX maps x seeds x (OMDPG 4 groupings x 4 lambda_pu + HAPPO 3 "
            "groupings + MAPPO), 1e6 steps, eval every 20,000 steps x 32 episodes; run folders are "
            "SYNTHETIC (analysis.synthetic)."
        ],
    )
    missing = [p for p in ("workflow/Snakefile",) + NEEDS if not (ROOT / p).exists()]
    if missing:
        section.skip(f"not in this checkout yet: {', '.join(missing)}")
        return section
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = study(SEEDS[quick])
        path = tmp / "bench_workflow.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        roots = ["--results", str(tmp / "results"), "--figures", str(tmp / "figures")]
        snakemake = [
            py,
            "-m",
            "snakemake",
            "--snakefile",
            str(SNAKEFILE),
            "--directory",
            str(tmp),
            "--dry-run",
            "--cores",
            "1",
            "--config",
            f"study={path}",
            f"results={tmp / 'results'}",
            f"figures={tmp / 'figures'}",
        ]
        cells = len(MAPS) * SEEDS[quick] * 20
        steps = [
            (f"snakemake --dry-run, {cells} cells, none done", snakemake),
            (
                f"analysis.synthetic: write {cells} run folders",
                [py, "-m", "analysis.synthetic", str(path)] + roots,
            ),
            (f"snakemake --dry-run, {cells} cells, all done", snakemake),
            ("analysis.summary", [py, "-m", "analysis.summary", str(path)] + roots),
            ("analysis.tables", [py, "-m", "analysis.tables", str(path)] + roots),
        ]
        steps += [
            (f"analysis.figures {f}", [py, "-m", "analysis.figures", str(path), f] + roots)
            for f in (QUICK_FIGURES if quick else FIGURES)
        ]
        for label, cmd in steps:
            try:
                row, log = _timed(label, cmd, ROOT)
            except RuntimeError as err:
                section.skip(str(err))
                continue
            row.update(
                {"cells": cells, "jobs_planned": _jobs(log) if "snakemake" in label else None}
            )
            section.rows.append(row)
    return section
