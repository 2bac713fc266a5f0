import pytest

from tests.envs import fake_sc2


@pytest.fixture
def sc2(monkeypatch) -> fake_sc2.World:
    """The StarCraft II stand-in in place of smac and smacv2; its World of processes and knobs."""
    return fake_sc2.install(monkeypatch)
