"""Shared shape of the `python -m analysis.*` entry points: one-line errors, exit status 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omdpg.errors import UserError
from omdpg.layout import Layout
from omdpg.studies import Study


def parser(description: str) -> argparse.ArgumentParser:
    """STUDY plus the workflow's two roots, with the same defaults as config/config.yaml."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("study", help="study name (config/studies/) or path to a study file")
    p.add_argument("--results", default="results", help="results root (default: results)")
    p.add_argument(
        "--figures", default="paper_figures", help="figures root (default: paper_figures)"
    )
    p.add_argument(
        "--evidence",
        nargs="?",
        const="evidence",
        metavar="ROOT",
        help="read and write the study's committed evidence, ROOT/STUDY/ (default ROOT: evidence)",
    )
    return p


def layout(args: argparse.Namespace, study: Study) -> Layout:
    """The study's folders: the workflow's roots, or evidence/STUDY/ with --evidence."""
    if args.evidence:
        return Layout.evidence(study.name, Path(args.evidence))
    return Layout(Path(args.results), Path(args.figures), study.name)


def run(main, argv=None) -> int:
    try:
        return main(argv) or 0
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return UserError.exit_code
