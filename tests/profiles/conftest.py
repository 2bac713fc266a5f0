"""The tiny study of profile_cli.py, written where a test runs."""

from pathlib import Path

import pytest
import yaml
from profile_cli import TINY_STUDY


@pytest.fixture
def tiny_study(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_STUDY))
    return path
