"""`omdpg plan STUDY`: jobs, env steps and CPU hours, with unmeasured throughput said as such."""
import re

from omdpg import plan


def test_plan_counts_jobs_steps_and_hours(capsys, tmp_path):
    assert plan.main("smax_main", results=str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert out.startswith("study smax_main: 18 jobs (0 done under ")
    assert "18,000,000 env steps (1,000,000 per run)" in out
    assert re.search(r"smax\s+omdpg\s+6\s+6,000,000", out)
    assert "estimated CPU hours: " in out and "throughput: " in out


def test_plan_says_unmeasured(capsys, tmp_path):
    assert plan.main("mmm2", results=str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert re.search(r"smac\s+omdpg\s+5\s+50,000,000\s+unmeasured\s+unknown", out)
    assert "estimated CPU hours: unknown for smac/omdpg, smac/happo, smac/mappo (throughput unmeasured)" in out


def test_plan_through_the_cli(cli):
    ok = cli("plan", "ci")
    assert ok.returncode == 0 and "study ci: 4 jobs" in ok.stdout
    bad = cli("plan", "no_such_study")
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown study 'no_such_study'")
