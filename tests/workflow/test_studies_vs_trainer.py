"""Every cell of every study is a command the trainer accepts (algorithm, env, grouping, --set
keys),
so a typo in a study file stops at planning time, not hours into a sweep."""

import shlex

import pytest

from omdpg.cli import build_config, parser
from omdpg.errors import UserError
from omdpg.studies import cells, load_study, names, train_flags


def commands():
    seen = {}
    for name in names():
        study = load_study(name)
        for cell in cells(study).drop(columns="seed").drop_duplicates().to_dict("records"):
            argv = (
                f"train --algo {cell['algorithm']} --env {cell['env']} --map {cell['map']} "
                f"--steps {study.spec['steps']} --out unused --grouping {cell['grouping']} "
                f"{train_flags(study, cell)}"
            )
            seen.setdefault(argv, name)
    return [
        pytest.param(argv, id=f"{name}:{argv.split()[2]}:{argv.split()[6]}")
        for argv, name in seen.items()
    ]


@pytest.mark.parametrize("argv", commands())
def test_trainer_accepts_the_cell(argv):
    try:
        build_config(parser().parse_args(shlex.split(argv)))
    except UserError as err:
        if "not available in this build" in str(err):
            pytest.skip(str(err))
        raise
