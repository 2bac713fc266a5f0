"""omdpg/provenance.py: the commit a run records, from the checkout or, in the image (no .git, no
git), from OMDPG_GIT_COMMIT, which envs/Dockerfile sets from `make image`'s GIT_COMMIT."""

import subprocess

import pytest

from omdpg import provenance
from tests.conftest import ROOT

BUILT_FROM = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def no_checkout(monkeypatch):
    monkeypatch.setattr(provenance, "_git", lambda *args: "")  # as in the image: git fails


def test_a_checkout_records_its_head_and_dirty_flag(monkeypatch):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    monkeypatch.setenv("OMDPG_GIT_COMMIT", BUILT_FROM)  # a checkout knows better than the variable
    p = provenance.collect("cpu", "smax")
    assert p["git_commit"] == head.stdout.strip() and isinstance(p["git_dirty"], bool)


def test_without_a_checkout_the_image_commit_is_recorded(no_checkout, monkeypatch):
    monkeypatch.setenv("OMDPG_GIT_COMMIT", BUILT_FROM)
    p = provenance.collect("cpu", "smax")
    assert p["git_commit"] == BUILT_FROM and p["git_dirty"] is None  # the build tree's: unknown


@pytest.mark.parametrize("value", [None, "", "  "])
def test_without_a_checkout_or_the_variable_the_commit_is_unknown(no_checkout, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("OMDPG_GIT_COMMIT", raising=False)
    else:
        monkeypatch.setenv("OMDPG_GIT_COMMIT", value)
    p = provenance.collect("cpu", "smax")
    assert p["git_commit"] == "unknown (not a git checkout)" and p["git_dirty"] is None
