"""`omdpg probe`: the policy's entropy against the soft optimum softmax(φ/α) its objective has, on
a hand-built case with a known answer and through the real command line on a tiny run."""

import math
import subprocess
from pathlib import Path

import pytest
import torch

from omdpg.probe import action_probe, probe_run, report
from tests.conftest import ROOT, run_cli, tiny_command

ALPHA = 0.02


def test_action_probe_on_a_known_case_counts_only_agents_with_a_choice():
    """Agent 0 chooses among 3 actions with φ = (0, 0, α ln 2), so softmax(φ/α) = (1, 1, 2)/4 and
    its entropy is 1.5 ln 2; its logits (0, 0, ln 2) are that optimum. Agent 1 is dead (one
    available action): its extreme values must not move any mean."""
    phi = torch.tensor([[[0.0, 0.0, ALPHA * math.log(2)], [50.0, -50.0, 9.0]]])
    out = torch.tensor([[[0.0, 0.0, math.log(2)], [0.0, -1e9, -1e9]]])
    spread = torch.tensor([[[0.1, 0.2, 0.3], [7.0, 7.0, 7.0]]])
    avail = torch.tensor([[[True, True, True], [True, False, False]]])
    row = action_probe(out, phi, spread, avail, ALPHA, tau=1.0)
    assert row["pairs_with_choice"] == 1
    assert row["uniform_entropy"] == pytest.approx(math.log(3))
    assert row["soft_optimal_entropy"] == pytest.approx(1.5 * math.log(2))
    assert row["policy_entropy"] == pytest.approx(1.5 * math.log(2))
    assert row["phi_range"] == pytest.approx(ALPHA * math.log(2))
    assert row["phi_top_gap"] == pytest.approx(ALPHA * math.log(2))
    assert row["head_std"] == pytest.approx(0.2)
    assert row["greedy_is_best"] == 1.0


def test_action_probe_reads_each_agents_own_alpha():
    """actor.alpha=auto: agents 0 and 1 have α 0.02 and 0.5 and φ_i = (0, 0, α_i ln 2), so each
    soft optimum is (1, 1, 2)/4 with entropy 1.5 ln 2; the row's alpha is their mean."""
    alpha = torch.tensor([0.02, 0.5])
    phi = alpha[:, None] * torch.tensor([0.0, 0.0, math.log(2)])
    row = action_probe(
        phi[None], phi[None], torch.zeros(1, 2, 3), torch.ones(1, 2, 3, dtype=bool), alpha, 1.0
    )
    assert row["soft_optimal_entropy"] == pytest.approx(1.5 * math.log(2))
    assert row["alpha"] == pytest.approx(0.26)


def test_the_report_says_when_the_soft_optimum_is_not_the_runs_objective():
    phi = torch.tensor([[[0.0, 1.0]]])
    row = action_probe(phi, phi, torch.zeros(1, 1, 2), torch.ones(1, 1, 2, dtype=bool), 0.5, 1.0)
    assert "note:" not in report(Path("run"), 10, {**row, "discrete_relax": "expected"})
    text = report(Path("run"), 10, {**row, "discrete_relax": "st_gumbel"})
    assert text.splitlines()[-1].startswith("  note: actor.discrete_relax=st_gumbel")


def test_without_an_entropy_bonus_there_is_no_soft_optimum():
    phi = torch.tensor([[[0.0, 1.0]]])
    row = action_probe(phi, phi, torch.zeros(1, 1, 2), torch.ones(1, 1, 2, dtype=bool), 0.0, 1.0)
    assert row["soft_optimal_entropy"] is None and row["greedy_is_best"] == 1.0


@pytest.fixture(scope="module")
def omdpg_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("probe") / "run"
    r = subprocess.run(
        tiny_command("omdpg", "smax", out), cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def test_omdpg_probe_reads_a_runs_checkpoint_and_replay(omdpg_run):
    env_steps, row = probe_run(omdpg_run, samples=64, seed=0, device="cpu")
    assert env_steps == 512 and row["pairs_with_choice"] > 0
    assert 0 < row["policy_entropy"] <= row["uniform_entropy"] + 1e-6
    assert 0 < row["soft_optimal_entropy"] <= row["uniform_entropy"] + 1e-6
    assert row["phi_range"] >= row["phi_top_gap"] >= 0 and 0 <= row["greedy_is_best"] <= 1
    r = run_cli("probe", omdpg_run, "--samples", 64)
    assert r.returncode == 0, r.stderr
    assert "checkpoint at 512 env steps" in r.stdout
    assert f"policy {row['policy_entropy']:.4f}" in r.stdout  # the same draw: seed 0


def test_omdpg_probe_refuses_what_it_cannot_read(omdpg_run, tmp_path):
    r = run_cli("probe", tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not a run folder" in r.stderr
    r = run_cli("probe", omdpg_run, "--samples", 0)
    assert r.returncode == 2 and "--samples 0: must be at least 1" in r.stderr
    r = run_cli("probe", omdpg_run, "--samples", 10**9)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "--samples 1000000000: the run's replay buffer holds" in r.stderr
    r = run_cli("probe", omdpg_run, "--seed", -1)
    assert r.returncode == 2 and "--seed -1: must be in [0, 2**32 - 1]" in r.stderr
    no_buffer = tmp_path / "no_buffer"
    command = tiny_command("omdpg", "smax", no_buffer) + ["--set", "train.checkpoint_buffer=false"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    r = run_cli("probe", no_buffer)
    assert (
        r.returncode == 2 and "holds no replay buffer (train.checkpoint_buffer=false)" in r.stderr
    )
    continuous = tmp_path / "continuous"
    done = subprocess.run(
        tiny_command("omdpg", "mamujoco", continuous),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    r = run_cli("probe", continuous)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "mamujoco has continuous actions; the probe is for discrete ones" in r.stderr
    mappo = tmp_path / "mappo"
    done = subprocess.run(
        tiny_command("mappo", "smax", mappo), cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    r = run_cli("probe", mappo)
    assert r.returncode == 2 and "a mappo run; omdpg probe reads OMDPG's" in r.stderr
