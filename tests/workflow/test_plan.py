"""`omdpg plan STUDY`: jobs, env steps and CPU hours, with unmeasured throughput said as such."""

import re

import pytest

from omdpg import plan
from omdpg.errors import UserError
from omdpg.layout import THROUGHPUT
from omdpg.studies import load_study


def test_plan_counts_jobs_steps_and_hours(capsys, tmp_path):
    steps = load_study("smax_main").spec["steps"]
    rate = plan.load_throughput(THROUGHPUT)["steps_per_cpu_second"]["smax"]["omdpg"]
    assert plan.main("smax_main", results=str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert out.startswith("study smax_main: 18 jobs (0 done under ")
    assert f"{18 * steps:,} env steps ({steps:,} per run)" in out
    # 3 seeds x 2 maps of OMDPG: 6 * steps / rate CPU-seconds
    assert re.search(
        rf"smax\s+omdpg\s+6\s+{6 * steps:,}\s+{rate}\s+{6 * steps / rate / 3600:,.1f}\n", out
    )
    assert "estimated CPU hours: " in out and "throughput: " in out


def test_plan_says_unmeasured(capsys, tmp_path, monkeypatch):
    throughput = plan.load_throughput(THROUGHPUT)
    del throughput["steps_per_cpu_second"]["smax"]["omdpg"]
    monkeypatch.setattr(plan, "load_throughput", lambda path: throughput)
    assert plan.main("smax_main", results=str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert re.search(r"smax\s+omdpg\s+6\s+3,000,000\s+unmeasured\s+unknown", out)
    known = sum(
        3_000_000 / throughput["steps_per_cpu_second"]["smax"][a] for a in ("happo", "mappo")
    )
    unknown = "unknown for smax/omdpg (throughput unmeasured)"
    assert f"estimated CPU hours: at least {known / 3600:,.1f}; {unknown}" in out


def test_plan_gives_starcraft_hours_published_until_measured(capsys, tmp_path, monkeypatch):
    local = tmp_path / "throughput.local.yaml"
    monkeypatch.setattr(plan, "local_throughput", lambda path: local)
    throughput = plan.load_throughput(THROUGHPUT)
    learner = throughput["steps_per_cpu_second"]["smax"]["happo"]
    fast, slow = throughput["sc2_env_steps_per_second"]["published"]["rate"][::-1]
    assert plan.main("mmm2", results=str(tmp_path)) == 0
    out = capsys.readouterr().out
    # 5 runs of 1e7 steps, each step costing the games' time plus the learner's
    low, high = (5e7 * (1 / games + 1 / learner) / 3600 for games in (fast, slow))
    assert re.search(rf"smac\s+happo\s+5\s+50,000,000\s+\S+\s+{low:,.0f}-{high:,.0f}\n", out)
    assert "unknown" not in out and "estimated smac run-hours: " in out
    assert "published, not measured here" in out and "marlbenchmark/on-policy#123" in out
    plan.record_sc2_rate(THROUGHPUT, "smac", 150.0, map="MMM2", n_envs=8)
    assert plan.main("mmm2", results=str(tmp_path)) == 0
    out = capsys.readouterr().out
    hours = 5e7 * (1 / 150.0 + 1 / learner) / 3600
    assert re.search(rf"smac\s+happo\s+5\s+50,000,000\s+\S+\s+{hours:,.1f}\n", out)
    assert "measured by make test-sc2" in out and "published" not in out


def test_a_broken_local_rate_is_one_clear_error(tmp_path, monkeypatch):
    local = tmp_path / "throughput.local.yaml"
    local.write_text("sc2_env_steps_per_second: {smac: {rate: fast}}\n")
    monkeypatch.setattr(plan, "local_throughput", lambda path: local)
    with pytest.raises(UserError, match=r"smac.rate='fast': give a rate > 0, or delete the file"):
        plan.main("mmm2", results=str(tmp_path))


def test_plan_through_the_cli(cli):
    ok = cli("plan", "ci")
    assert ok.returncode == 0 and "study ci: 4 jobs" in ok.stdout
    bad = cli("plan", "no_such_study")
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown study 'no_such_study'")
