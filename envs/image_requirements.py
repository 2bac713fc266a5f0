"""The image's requirements: requirements.lock's pins, then the pyproject extras asked for.

    python3 envs/image_requirements.py requirements.lock pyproject.toml smac > requirements.txt

Every package of the default install keeps its locked version, as `make setup` installs it, except
one an extra names itself: the smac extra needs protobuf<3.21 (pysc2 3.0.0's generated code), where
the lock has the protobuf that orbax-checkpoint takes unpinned, so the extra's rule replaces that
pin. Plain Python (3.11, tomllib), as it runs in the builder before any package is installed.
"""

from __future__ import annotations

import re
import sys

import tomllib

NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """PEP 503: case and runs of -_. do not distinguish package names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(lock: str, pyproject: str, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject)["project"]
    wanted = [r for e in extras for r in project["optional-dependencies"][e]]
    named = {canonical(NAME.match(r)[1]) for r in wanted}
    pins = [
        line.strip()
        for line in lock.splitlines()
        if NAME.match(line) and "==" in line and canonical(NAME.match(line)[1]) not in named
    ]
    return pins + wanted


def main(argv: list[str]) -> int:
    lock, pyproject, extras = argv[1], argv[2], argv[3] if len(argv) > 3 else ""
    with open(lock) as f, open(pyproject, "rb") as g:
        out = requirements(f.read(), g.read().decode(), [e for e in extras.split(",") if e])
    print(*out, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
