"""Every cell of every study is a command the trainer accepts (algorithm, env, grouping, --set
keys, values), so a typo in a study file stops when the study is loaded (omdpg.studies.check_cells,
called by load_study: the Snakefile's first step and `omdpg plan`'s), not hours into a sweep."""

import pytest

from omdpg.studies import cells, check_cells, load_study, names


@pytest.mark.parametrize("name", names())
def test_every_cell_of_the_study_builds(name):
    study = load_study(name)
    check_cells(study)
    assert len(cells(study)) > 0
