"""StarCraft II preflight: find the game before any SMAC env is built, and say how to fix it."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

FIX = (
    "use the container (make image SC2_EULA=iagreetotheeula; see README 'StarCraft II') or an "
    "SMAX stand-in map (omdpg envs)"
)


def sc2_path() -> Path:
    return Path(os.environ.get("SC2PATH", os.path.expanduser("~/StarCraftII")))


def sc2_builds() -> list[str]:
    versions = sc2_path() / "Versions"
    return sorted(p.name for p in versions.glob("Base*")) if versions.is_dir() else []


def missing_reason(package: str) -> str | None:
    """Why a SMAC backend cannot run here, or None when it can."""
    root = sc2_path()
    where = f"SC2PATH={root}" + ("" if "SC2PATH" in os.environ else " (SC2PATH unset, default)")
    if importlib.util.find_spec(package) is None:
        return (
            f"the '{package}' package is not installed (it comes from git, not PyPI: "
            f"`pip install smac` is an unrelated optimiser)"
        )
    if not root.is_dir():
        return f"StarCraft II not installed: {where} does not exist"
    if not (root / "Versions").is_dir():
        return f"StarCraft II not installed: {where} has no Versions folder"
    if not sc2_builds():
        return f"StarCraft II not installed: {where}/Versions holds no Base* build"
    if not (root / "Maps" / "SMAC_Maps").is_dir():
        return f"SMAC maps missing: {where}/Maps/SMAC_Maps does not exist"
    return None


def sc2_build() -> str:
    """The build runs will use (pysc2 picks the highest), recorded in config.json."""
    builds = sc2_builds()
    return builds[-1] if builds else ""
