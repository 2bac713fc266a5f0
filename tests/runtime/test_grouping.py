from collections import Counter

import numpy as np
import pytest

from omdpg.errors import UserError
from omdpg.grouping import make_groups

MMM2 = ("marauder",) * 2 + ("marine",) * 7 + ("medivac",)


def test_type_groups_by_unit_type_in_agent_order():
    g = make_groups("type", MMM2, 0)
    assert g.of_agent == (0, 0, 1, 1, 1, 1, 1, 1, 1, 2)
    assert g.sizes == [2, 7, 1]
    assert g.index_in_group == (0, 1, 0, 1, 2, 3, 4, 5, 6, 0)


def test_single_and_none():
    assert make_groups("single", MMM2, 0).sizes == [10]
    assert make_groups("none", MMM2, 0).sizes == [1] * 10


def test_random_keeps_sizes_and_depends_on_seed():
    typed = sorted(make_groups("type", MMM2, 0).sizes)
    draws = {make_groups("random", MMM2, s).of_agent for s in range(6)}
    for of_agent in draws:
        assert sorted(Counter(of_agent).values()) == typed
    assert len(draws) > 1
    assert make_groups("random", MMM2, 3) == make_groups("random", MMM2, 3)


def test_id_features():
    g = make_groups("type", MMM2, 0)
    within = g.id_features("within_group")
    assert within.shape == (10, 7) and np.all(within.sum(1) == 1)
    assert g.id_features("global").shape == (10, 10)
    assert g.id_features("none").shape == (10, 0)


def test_unknown_mode():
    with pytest.raises(UserError, match="unknown grouping"):
        make_groups("clever", MMM2, 0)
