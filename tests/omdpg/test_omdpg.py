"""OMDPG through the real command line: options and their cross-checks, short SMAX 2s3z and
HalfCheetah-6x1 runs that write the run folder, resume after SIGKILL (replay buffer included)."""

import signal
import subprocess
import time

import pytest

from omdpg.cli import build_config, main, parser
from omdpg.omdpg import OMDPG
from tests.conftest import OMDPG as CLI
from tests.conftest import ROOT
from tests.runtime.test_runner import check_contract, rows, without_wall

SMALL = [
    "--set",
    "train.batch_size=32",
    "--set",
    "train.buffer_size=2000",
    "--set",
    "actor.hidden=32,32",
    "--set",
    "gqc.hidden=32,32",
]
SMAX = [
    "--algo",
    "omdpg",
    "--env",
    "smax",
    "--map",
    "2s3z",
    "--seed",
    "1",
    "--steps",
    "480",
    "--set",
    "n_envs=4",
    "--set",
    "train.warmup_steps=120",
    "--set",
    "train.train_interval=5",
    "--set",
    "checkpoint_interval=120",
    "--set",
    "log_interval=120",
    "--set",
    "eval.interval=240",
    "--set",
    "eval.episodes=2",
    *SMALL,
]


def args(*extra):
    return parser().parse_args(
        [
            "train",
            "--algo",
            "omdpg",
            "--env",
            "smax",
            "--map",
            "3m",
            "--steps",
            "10",
            "--out",
            "unused",
            *extra,
        ]
    )


def test_paper_options_reach_the_learner():
    cfg = build_config(
        args(
            "--lambda-pu",
            "0.5",
            "--set",
            "gqc.ensemble_size=10",
            "--set",
            "omq.context=optimal",
            "--set",
            "gqc.target_aggregate=mean_minus_std",
        )
    )
    assert cfg.learner.gqc.lambda_pu == 0.5 and cfg.learner.gqc.ensemble_size == 10
    assert cfg.learner.omq.context == "optimal"
    assert cfg.grouping == OMDPG.default_grouping == "type"
    assert build_config(args()).protocol.gamma == 0.95


@pytest.mark.parametrize(
    "env, map_name, n_step, out_gain, gamma, reward_scale",
    [
        ("smax", "2s3z", 20, 0.01, 0.95, 10.0),
        ("smac", "MMM2", 20, 0.01, 0.95, 1.0),
        ("mamujoco", "HalfCheetah-6x1", 1, 1.0, 0.99, 1.0),
    ],
)
def test_defaults_per_env(env, map_name, n_step, out_gain, gamma, reward_scale):
    """Discrete envs get docs section 13's settings; the discount and reward scale are the env's
    protocol (SMAC's rewards are scaled to 20 already)."""
    cfg = build_config(
        parser().parse_args(
            [
                "train",
                "--algo",
                "omdpg",
                "--env",
                env,
                "--map",
                map_name,
                "--steps",
                "1",
                "--out",
                "u",
            ]
        )
    )
    assert (cfg.learner.train.n_step, cfg.learner.gqc.out_gain) == (n_step, out_gain)
    assert (cfg.protocol.gamma, cfg.protocol.reward_scale) == (gamma, reward_scale)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--set", "omq.max_impl=prefix_critic"], "gqc.form=prefix"),
        (
            ["--set", "gqc.form=prefix", "--set", "omq.max_impl=prefix_critic", "--lambda-pu", "0"],
            "untrained",
        ),
        (
            [
                "--set",
                "omq.marginal=expect",
                "--set",
                "omq.max_impl=prefix_critic",
                "--set",
                "gqc.form=prefix",
            ],
            "joint_critic",
        ),
        (["--set", "gqc.ensemble_size=0"], "minimum"),
    ],
)
def test_inconsistent_options_are_one_clear_error(extra, message, capsys):
    assert (
        main(
            [
                "train",
                "--algo",
                "omdpg",
                "--env",
                "smax",
                "--map",
                "3m",
                "--steps",
                "10",
                "--out",
                "unused",
                *extra,
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def smax_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("omdpg") / "run"
    r = subprocess.run(
        CLI + ["train", *SMAX, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    return out


def test_smax_2s3z_run_folder(smax_run):
    evals = check_contract(smax_run, has_win=True)
    assert [int(e["env_steps"]) for e in evals] == [240, 480]
    progress = rows(smax_run / "progress.csv")
    assert [int(p["env_steps"]) for p in progress] == [120, 240, 360, 480]
    for name in OMDPG.metrics:  # training starts at the end of the warm-up, at 120 steps
        assert all(p[name] != "" for p in progress), name


def test_kill_and_resume_equals_uninterrupted(smax_run, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        CLI + ["train", *SMAX, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 600
    while time.time() < deadline:  # kill mid-run, after checkpoints with a non-empty buffer
        if (out / "eval.csv").exists() and len(rows(out / "eval.csv")) >= 1:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "DONE").exists()
    r = subprocess.run(
        CLI + ["train", *SMAX, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr
    for name in ("eval.csv", "eval_episodes.csv"):
        assert without_wall(rows(out / name)) == without_wall(rows(smax_run / name)), name
    learner_columns = lambda table: [{k: p[k] for k in OMDPG.metrics} for p in table]  # noqa: E731
    assert learner_columns(rows(out / "progress.csv")) == learner_columns(
        rows(smax_run / "progress.csv")
    )


def test_halfcheetah_6x1_run_folder(tmp_path, cli):
    out = tmp_path / "mj"
    r = cli(
        "train",
        "--algo",
        "omdpg",
        "--env",
        "mamujoco",
        "--map",
        "HalfCheetah-6x1",
        "--steps",
        400,
        "--out",
        out,
        "--set",
        "n_envs=2",
        "--set",
        "train.warmup_steps=100",
        "--set",
        "train.batch_size=32",
        "--set",
        "train.train_interval=10",
        "--set",
        "eval.interval=400",
        "--set",
        "eval.episodes=1",
        "--set",
        "log_interval=200",
    )
    assert r.returncode == 0, r.stderr
    evals = check_contract(out, has_win=False)
    assert [int(e["env_steps"]) for e in evals] == [400]
    assert all(p["critic_loss"] != "" for p in rows(out / "progress.csv"))
