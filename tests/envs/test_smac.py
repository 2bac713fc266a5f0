"""SMAC / SMACv2 without StarCraft II: the clear failure, and the parts that need no game."""

import pytest

from omdpg.envs import MAPS, lookup, make_env
from omdpg.envs.smac import episode_truncated, episode_won, smacv2_capability_config
from omdpg.envs.starcraft import missing_reason
from omdpg.errors import UserError


def test_missing_starcraft_fails_at_construction(monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path / "nowhere"))
    with pytest.raises(UserError) as err:
        make_env("smac", "MMM2", 1)
    message = str(err.value)
    assert "\n" not in message and "MMM2" in message and "fix:" in message


@pytest.mark.parametrize(
    "layout,expected",
    [
        ([], "does not exist"),
        (["."], "no Versions folder"),
        (["Versions"], "holds no Base* build"),
        (["Versions/Base75689"], "SMAC maps missing"),
        (["Versions/Base75689", "Maps/SMAC_Maps"], None),
    ],
)
def test_preflight_names_what_is_missing(monkeypatch, tmp_path, layout, expected):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "smac" else real(name, *a)
    )
    root = tmp_path / "SC2"
    for sub in layout:
        (root / sub).mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("SC2PATH", str(root))
    reason = missing_reason("smac")
    assert (reason is None) if expected is None else (expected in reason)


def test_package_missing_is_reported_first(monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    assert "not installed" in missing_reason("smacv2") and "git" in missing_reason("smacv2")


def test_cli_exit_status_2_without_starcraft(cli, tmp_path):
    out = tmp_path / "run"
    r = cli(
        "train",
        "--algo",
        "mappo",
        "--env",
        "smac",
        "--map",
        "MMM2",
        "--steps",
        100,
        "--out",
        out,
        env={"SC2PATH": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "smac" in r.stderr and "fix:" in r.stderr
    assert not out.exists()


def test_registry_mmm2_groups_and_order():
    info = lookup("smac", "MMM2")
    # SMAC sorts allies by unit type: marauders, marines, medivac (algorithm doc 4.5)
    assert info.agent_types == ("marauder",) * 2 + ("marine",) * 7 + ("medivac",)
    assert info.episode_limit == 180
    assert {m for e, m in MAPS if e == "smac"} == {"MMM2", "MMM", "3s5z_vs_3s6z", "1c3s5z", "2s3z"}


def test_info_parsing():
    assert episode_won({"battle_won": True}) == 1.0
    assert episode_won({}) == 0.0  # smac returns {} after restarting a crashed game
    assert episode_truncated({"episode_limit": True}) and not episode_truncated({})


def test_smacv2_scenarios():
    names = {m for e, m in MAPS if e == "smacv2"}
    assert {"protoss_5_vs_5", "terran_10_vs_10", "zerg_5_vs_5"} <= names
    cfg = smacv2_capability_config("terran", 5)
    assert cfg["team_gen"]["unit_types"] == ["marine", "marauder", "medivac"]
    assert cfg["n_units"] == cfg["n_enemies"] == 5
