"""OMDPG's command-line options and their cross-checks (its runs, their run folders and resume after
SIGKILL are tests/runtime/test_registry_runs.py's, with every other algorithm's)."""

import pytest

from omdpg.cli import build_config, main, parser
from omdpg.omdpg import OMDPG


def args(*extra, env="smax", map_name="3m"):
    argv = ["train", "--algo", "omdpg", "--env", env, "--map", map_name, "--steps", "32"]
    return parser().parse_args([*argv, "--out", "unused", *extra])


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
    "env, map_name, n_step, out_gain, n_envs, batch_size, gamma, reward_scale",
    [
        ("smax", "2s3z", 20, 0.01, 16, 512, 0.95, 10.0),
        ("smac", "MMM2", 20, 0.01, 16, 512, 0.95, 1.0),
        ("mamujoco", "HalfCheetah-6x1", 1, 1.0, 8, 256, 0.99, 1.0),
    ],
)
def test_defaults_per_env(env, map_name, n_step, out_gain, n_envs, batch_size, gamma, reward_scale):
    """Discrete envs get docs section 13's settings and the schedule screen's cadence (16 envs,
    batches of 512); the discount and reward scale are the env's protocol (SMAC's rewards are
    scaled to 20 already)."""
    cfg = build_config(args(env=env, map_name=map_name))
    assert (cfg.learner.train.n_step, cfg.learner.gqc.out_gain) == (n_step, out_gain)
    assert (cfg.n_envs, cfg.learner.train.batch_size) == (n_envs, batch_size)
    assert (cfg.protocol.gamma, cfg.protocol.reward_scale) == (gamma, reward_scale)


def test_the_cadence_is_omdpg_s_own_and_a_set_overrides_it():
    """n_envs is a sampling choice per algorithm: OMDPG's discrete default leaves every other
    learner's alone, and --set n_envs (as the schedule screen's arms do) still wins."""
    cfg = build_config(args("--set", "n_envs=8", "--set", "train.batch_size=256"))
    assert (cfg.n_envs, cfg.learner.train.batch_size) == (8, 256)
    for algo in ("mappo", "happo", "qmix"):
        argv = ["train", "--algo", algo, "--env", "smax", "--map", "3m", "--steps", "32"]
        assert build_config(parser().parse_args([*argv, "--out", "u"])).n_envs == 8, algo


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
