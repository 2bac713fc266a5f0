"""What config.json records besides the config: code, packages, simulator, machine, command."""

from __future__ import annotations

import datetime
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from omdpg.envs.registry import BACKENDS, backend

# torch and numpy decide every run's numbers; each backend names the packages that decide its own.
PACKAGES = tuple(
    dict.fromkeys(("torch", "numpy", *(name for b in BACKENDS.values() for name in b.versions)))
)


def _git(*args: str) -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def collect(device: str, env: str) -> dict:
    from omdpg.envs.starcraft import sc2_build, sc2_path

    sc2 = backend(env).needs_sc2
    commit = _git("rev-parse", "HEAD")
    # Without a checkout (the image holds no .git and no git), the commit the image was built from:
    # envs/Dockerfile sets OMDPG_GIT_COMMIT from `make image`. Whether that tree was dirty is
    # unknown.
    built_from = os.environ.get("OMDPG_GIT_COMMIT", "").strip()
    return {
        "git_commit": commit or built_from or "unknown (not a git checkout)",
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no"))
        if commit
        else None,
        "packages": {name: _version(name) for name in PACKAGES},
        "python": sys.version.split()[0],
        "sc2_build": sc2_build() if sc2 else None,
        "sc2_path": str(sc2_path()) if sc2 else None,
        "device": device,
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "command": sys.argv,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
