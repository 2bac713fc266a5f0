"""requirements.lock (written by `make lock`, installed by `make setup` and envs/Dockerfile) agrees
with pyproject.toml, holds no machine-specific lines, and is what this environment runs."""

import importlib.util
import re
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import ROOT

LOCK = (ROOT / "requirements.lock").read_text()
PYPROJECT = (ROOT / "pyproject.toml").read_text()
PINS = dict(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", LOCK, re.M))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


LOCKED = {canonical(name): version for name, version in PINS.items()}


# pyproject.toml's [project] dependencies, as the install recorded them (make setup reinstalls when
# pyproject.toml changes); the extras' requirements carry an `extra ==` marker.
DEPENDENCIES = [r for r in metadata.requires("omdpg-harness") if "extra ==" not in r]


@pytest.mark.parametrize("line", DEPENDENCIES)
def test_every_dependency_is_locked_within_its_range(line):
    req = Requirement(line)
    assert canonical(req.name) in LOCKED, f"{req.name} is not in requirements.lock: make lock"
    assert req.specifier.contains(Version(LOCKED[canonical(req.name)]), prereleases=True), (
        f"requirements.lock has {req.name}=={LOCKED[canonical(req.name)]}, pyproject asks "
        f"{req.specifier}: make lock"
    )


def test_the_lock_is_portable():
    """No index, find-links or host lines from this machine's pip config, and no local version
    label: torch==2.13.0, not 2.13.0+cpu, so the image gets the CUDA build of the same version."""
    assert not re.search(r"^\s*--|/opt/|file://", LOCK, re.M)
    assert not [f"{n}=={v}" for n, v in PINS.items() if "+" in v]
    assert LOCKED["torch"] == "2.13.0"


@pytest.mark.parametrize("name", sorted(LOCKED))
def test_this_environment_runs_the_locked_versions(name):
    """`make setup` installs the lock: a mismatch is a stale .venv (rerun make setup)."""
    installed = Version(metadata.version(name))
    assert installed.public == LOCKED[name], f"{name} {installed} installed, {LOCKED[name]} locked"


def _image_requirements():
    spec = importlib.util.spec_from_file_location(
        "image_requirements", ROOT / "envs/image_requirements.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.requirements


def test_the_image_installs_the_lock_and_the_extras_rules():
    requirements = _image_requirements()
    assert requirements(LOCK, PYPROJECT, []) == [f"{n}=={v}" for n, v in PINS.items()]
    with_smac = requirements(LOCK, PYPROJECT, ["smac"])
    assert "protobuf<3.21" in with_smac and f"protobuf=={LOCKED['protobuf']}" not in with_smac
    assert f"jax=={LOCKED['jax']}" in with_smac and "pysc2==3.0.0" in with_smac
