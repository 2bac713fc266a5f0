"""`omdpg plan STUDY`: jobs, env steps and CPU hours, with unmeasured throughput said as such."""

import re

from omdpg import plan
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


def test_plan_says_unmeasured(capsys, tmp_path):
    assert plan.main("mmm2", results=str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert re.search(r"smac\s+omdpg\s+5\s+50,000,000\s+unmeasured\s+unknown", out)
    unknown = "unknown for smac/omdpg, smac/happo, smac/mappo (throughput unmeasured)"
    assert f"estimated CPU hours: {unknown}" in out


def test_plan_through_the_cli(cli):
    ok = cli("plan", "ci")
    assert ok.returncode == 0 and "study ci: 4 jobs" in ok.stdout
    bad = cli("plan", "no_such_study")
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown study 'no_such_study'")
