"""Synthetic studies: a study file in tmp_path and SYNTHETIC run folders for its cells."""

import pytest
import yaml

from analysis.synthetic import write_run, write_study
from omdpg.layout import Layout
from omdpg.studies import load_study

BASE = {
    "description": "synthetic test study",
    "paper": {"counterpart": "none", "stand_in": "none"},
    "steps": 4000,
    "eval": {"interval": 1000, "episodes": 4},
}

# MMM2 with the paper's numbers beside; happo seed 3 crashed (no DONE), seed 4 never ran, and
# omdpg seed 4 finished with a smaller budget than the study now asks.
TABLE_STUDY = {
    **BASE,
    "tasks": [{"env": "smac", "map": "MMM2"}],
    "paper": {"counterpart": "headline", "stand_in": "none", "compare": {"MMM2": "MMM2"}},
    "algorithms": [
        {"name": "omdpg", "grouping": ["type"], "lambda_pu": [0.1]},
        {"name": "happo", "grouping": ["none"]},
    ],
    "seeds": [0, 1, 2, 3, 4],
    "figures": ["curves"],
}

# Every figure kind at once, on SMAX.
FIGURE_STUDY = {
    **BASE,
    "steps": 3200,
    "tasks": [{"env": "smax", "map": "2s3z", "target": 0.5}],
    "algorithms": [
        {
            "name": "omdpg",
            "grouping": ["type", "random"],
            "lambda_pu": [0.0, 0.1],
            "ensemble_size": [2, 5],
        },
        {"name": "happo", "grouping": ["none", "type"]},
        {
            "name": "happo",
            "variant": "equal_steps",
            "grouping": ["type"],
            "set": {"equal_steps": True},
        },
    ],
    "seeds": [0, 1, 2],
    "figures": [
        "curves",
        "lambda_pu",
        "ensemble_size",
        "grouping",
        "drift",
        "diagnostics",
        "wallclock",
        "poi",
    ],
}


def make_study(tmp_path, spec, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    study = load_study(str(path))
    return study, Layout(tmp_path / "results", tmp_path / "figures", study.name)


@pytest.fixture
def table_study(tmp_path):
    study, layout = make_study(tmp_path, TABLE_STUDY, "table_study")
    runs = write_study(study, layout, incomplete={8}, missing={9})
    short = runs.iloc[4].to_dict()
    write_run(short.pop("run_dir"), short, steps=2000, interval=1000, episodes=4)
    return study, layout, runs


@pytest.fixture
def figure_study(tmp_path):
    study, layout = make_study(tmp_path, FIGURE_STUDY, "figure_study")
    return study, layout, write_study(study, layout)
