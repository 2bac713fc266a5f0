"""`make bench` / `python -m benchmarks.run [--quick] [--only env,train,...] [--out DIR]`.

Runs the measurements in order, each in this process (scaling and memory start their own
subprocesses to read peak memory cleanly), and writes CSVs + results.md under benchmarks/results/
(``--quick``: benchmarks/results/quick/, so a CI-sized check never overwrites the full record).
``--only`` replaces the named measurements on the page and keeps the others. ``--device cuda``
runs the learner measurements (train, scaling, update_paths) on the GPU into
benchmarks/results[/quick]/cuda/.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from benchmarks import report

# name -> module; each module has TITLE and run(quick) -> report.Section
SECTIONS = {
    "env": "benchmarks.env_overhead",
    "train": "benchmarks.training",
    "headline": "benchmarks.headline",
    "scaling": "benchmarks.scaling",
    "update_paths": "benchmarks.update_paths",
    "memory": "benchmarks.memory",
    "workflow": "benchmarks.workflow",
}
# their run() takes the torch device of the learners
DEVICE_SECTIONS = ("train", "scaling", "update_paths")
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", help="CI-sized: fewer sizes and repeats (~2 min)"
    )
    p.add_argument(
        "--only",
        help=f"comma-separated subset of {', '.join(SECTIONS)} (default: all; "
        f"with --device cuda: {', '.join(DEVICE_SECTIONS)})",
    )
    p.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="torch device of the learners in train and scaling",
    )
    p.add_argument("--out", type=Path, help="results folder (default benchmarks/results[/quick])")
    p.add_argument("--note", default="", help="printed on the page, e.g. 'machine under load'")
    args = p.parse_args(argv)
    allowed = DEVICE_SECTIONS if args.device == "cuda" else tuple(SECTIONS)
    only = [s.strip() for s in (args.only or ",".join(allowed)).split(",") if s.strip()]
    unknown = sorted(set(only) - set(allowed))
    if unknown:
        print(
            f"error: unknown --only {', '.join(unknown)} with --device {args.device}: choose "
            f"from {', '.join(allowed)}",
            file=sys.stderr,
        )
        return 2
    if args.device == "cuda" and not _cuda_available():
        print(
            "error: --device cuda but torch sees no GPU: run on a GPU machine, or drop --device",
            file=sys.stderr,
        )
        return 2
    out = args.out or (
        (RESULTS / "quick" if args.quick else RESULTS) / ("cuda" if args.device == "cuda" else "")
    )
    meta = report.machine(args.quick, args.note, args.device)
    meta["command"] = ["python", "-m", "benchmarks.run"] + (sys.argv[1:] if argv is None else argv)
    sections = {}
    for name in only:
        module = importlib.import_module(SECTIONS[name])
        print(f"== {name}: {module.TITLE}", flush=True)
        before, t0 = os.getloadavg()[0], time.perf_counter()
        section = (
            module.run(args.quick, args.device)
            if name in DEVICE_SECTIONS
            else module.run(args.quick)
        )
        section.load, section.seconds = (before, os.getloadavg()[0]), time.perf_counter() - t0
        for row in section.rows:
            print("  " + ", ".join(f"{k}={report.fmt(v)}" for k, v in row.items()), flush=True)
        sections[name] = section
    page = report.write(out, meta, sections, list(SECTIONS))
    print(f"wrote {page}")
    return 0


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    sys.exit(main())
