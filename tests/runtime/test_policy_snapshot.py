"""The best evaluation's policy: every learner's policy_modules carry its greedy policy, snapshots
are copies, and BestPolicy keeps the best score (the later one of equals)."""

import numpy as np
import pytest
import torch

from omdpg.config import ProtocolConfig
from omdpg.envs.base import EnvSpec
from omdpg.evaluation import BestPolicy
from omdpg.grouping import make_groups
from omdpg.learner import ALGORITHMS, learner_class

TYPES = ("marine", "marine", "marauder")
DISCRETE = EnvSpec("smax", "x", 3, (6, 6, 6), 10, True, 5, (1, 1, 1), agent_types=TYPES)
CONTINUOUS = EnvSpec("mamujoco", "x", 3, (6, 6, 6), 10, False, 2, (2, 2, 2), agent_types=TYPES)


def learner(algo, spec, seed):
    cls = learner_class(algo)
    torch.manual_seed(seed)
    groups = make_groups(cls.default_grouping, spec.agent_types, 0)
    return cls(spec, groups, cls.default_config(spec.env), ProtocolConfig(), 2, torch.device("cpu"))


def greedy(lrn, spec, rng):
    obs = rng.standard_normal((4, spec.n_agents, spec.obs_dim)).astype(np.float32)
    state = rng.standard_normal((4, spec.state_dim)).astype(np.float32)
    avail = np.ones((4, spec.n_agents, spec.n_actions), bool) if spec.discrete else None
    with torch.no_grad():
        return lrn.act(obs, state, avail, explore=False)


CASES = [
    (algo, spec)
    for algo in ALGORITHMS
    for spec in (DISCRETE, CONTINUOUS)
    if (learner_class(algo).discrete if spec.discrete else learner_class(algo).continuous)
]


@pytest.mark.parametrize("algo, spec", CASES, ids=[f"{a}-{s.env}" for a, s in CASES])
def test_policy_modules_carry_the_greedy_policy(algo, spec):
    a, b = learner(algo, spec, 0), learner(algo, spec, 1)
    assert not np.array_equal(
        greedy(a, spec, np.random.default_rng(0)), greedy(b, spec, np.random.default_rng(0))
    )
    snapshot = a.policy_state_dict()
    b.load_policy_state_dict(snapshot)
    for seed in range(3):
        np.testing.assert_array_equal(
            greedy(a, spec, np.random.default_rng(seed)),
            greedy(b, spec, np.random.default_rng(seed)),
        )
    for module in a.policy_modules:  # a copy: training the learner on does not change it
        for p in getattr(a, module).parameters():
            p.data.add_(1.0)
    name = a.policy_modules[0]
    key, trained = next(iter(getattr(a, name).named_parameters()))
    assert not torch.equal(snapshot[name][key], trained)


def test_best_policy_keeps_the_best_and_the_later_of_equals():
    class Fake:
        def __init__(self):
            self.calls = 0

        def policy_state_dict(self):
            self.calls += 1
            return {"n": self.calls}

    fake, best = Fake(), BestPolicy()
    for score, step in ((0.25, 1000), (0.5, 2000), (0.25, 3000), (0.5, 4000)):
        best.offer(fake, score, step)
    assert (best.score, best.env_steps, best.policy) == (0.5, 4000, {"n": 3})
    again = BestPolicy()
    again.load_state_dict(best.state_dict())
    assert (again.score, again.env_steps, again.policy) == (0.5, 4000, {"n": 3})
