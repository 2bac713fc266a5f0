import pytest

from tests.envs import fake_sc2


@pytest.fixture
def sc2(monkeypatch):
    """The StarCraft II stand-in in place of smac and smacv2; its World of processes and knobs."""
    world = fake_sc2.install(monkeypatch)
    yield world
    world.close()  # no process outlives its test, whatever the test left running
