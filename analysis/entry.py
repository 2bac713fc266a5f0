"""Shared shape of the `python -m analysis.*` entry points: one-line errors, exit status 2."""

from __future__ import annotations

import argparse
import sys

from omdpg.errors import UserError


def parser(description: str) -> argparse.ArgumentParser:
    """STUDY plus the workflow's two roots, with the same defaults as config/config.yaml."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("study", help="study name (config/studies/) or path to a study file")
    p.add_argument("--results", default="results", help="results root (default: results)")
    p.add_argument(
        "--figures", default="paper_figures", help="figures root (default: paper_figures)"
    )
    return p


def run(main, argv=None) -> int:
    try:
        return main(argv) or 0
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return UserError.exit_code
