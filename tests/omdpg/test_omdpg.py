"""OMDPG's command-line options and their cross-checks (its runs, their run folders and resume after
SIGKILL are tests/runtime/test_registry_runs.py's, with every other algorithm's)."""

import pytest

from omdpg.cli import build_config, main, parser
from omdpg.omdpg import OMDPG


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
                "8",
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
