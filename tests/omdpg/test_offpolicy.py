"""The off-policy schedule of omdpg/offpolicy.py against schedules counted by hand: the warm-up
edge, which batched steps train, how many updates a phase runs, the phase's metric means, and the
checkpoint of buffer and counters. The learner below writes only its config, ``policy`` and
``update``, as any new off-policy algorithm does."""

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from omdpg.config import ProtocolConfig, flat_keys
from omdpg.grouping import make_groups
from omdpg.learner import ALGORITHMS, Transition, learner_class
from omdpg.offpolicy import OffPolicyConfig, OffPolicyLearner
from tests.omdpg.small import CLIMB_SPEC

SPEC = CLIMB_SPEC  # two agents, three discrete actions
N_ENVS = 4


@dataclass
class CountingConfig:
    train: OffPolicyConfig = field(default_factory=OffPolicyConfig)


class Counting(OffPolicyLearner):
    """Plays action 0, which is never available, so an action 0 marks the policy and any other the
    warm-up's uniform choice. Its metrics: the update's number, and the same every third update."""

    Config = CountingConfig

    def policy(self, obs, avail, explore):
        return torch.zeros(obs.shape[:2], dtype=torch.int64)

    def update(self):
        number = torch.tensor(float(self.counters["updates"]))
        return {"number": number, **({"third": number} if self.every(3) else {})}


def make(**train) -> Counting:
    return Counting(
        SPEC,
        make_groups("none", SPEC.agent_types, 0),
        CountingConfig(OffPolicyConfig(buffer_size=1000, **train)),
        ProtocolConfig(),
        N_ENVS,
        torch.device("cpu"),
    )


def step(learner: Counting) -> tuple[bool, dict | None]:
    """One batched env step: whether the policy (not the warm-up) acted, and observe's metrics."""
    obs, state = np.zeros((N_ENVS, 2, 1), np.float32), np.zeros((N_ENVS, 1), np.float32)
    avail = np.ones((N_ENVS, 2, 3), bool)
    avail[..., 0] = False
    actions = learner.act(obs, state, avail, explore=True)
    done = np.zeros(N_ENVS, bool)
    metrics = learner.observe(
        Transition(
            obs, state, avail, actions, np.zeros(N_ENVS, np.float32), done, done, obs, state, avail
        )
    )
    return bool((actions == 0).all()), metrics


def trace(learner: Counting, steps: int):
    """[(batched step, policy acted, metrics without replay_mb)] for steps 1..steps."""
    out = []
    for k in range(1, steps + 1):
        policy, metrics = step(learner)
        if metrics is not None:
            assert metrics.pop("replay_mb") == pytest.approx(
                len(learner.buffer) * learner.buffer.bytes_per_transition / 1e6
            )
        out.append((k, policy, metrics))
    return out


def test_warmup_edge_and_one_update_per_phase():
    """4 envs, warm-up 24 env steps, a phase every 3 batched steps, int(0.5 · 3) = 1 update (round
    would give 2). Step k acts after 4(k-1) env steps: random while 4(k-1) < 24, so steps 1-6. A
    phase after step k needs k % 3 == 0 and 4k >= 24: steps 6 (the warm-up's last, the edge),
    9, 12, updates 1, 2, 3."""
    learner = make(warmup_steps=24, train_interval=3, update_per_train=0.5, batch_size=8)
    got = trace(learner, 12)
    assert [policy for _, policy, _ in got] == [False] * 6 + [True] * 6
    assert [(k, m) for k, _, m in got if m is not None] == [
        (6, {"number": 1.0}),
        (9, {"number": 2.0}),
        (12, {"number": 3.0, "third": 3.0}),
    ]
    assert learner.counters == {"env_steps": 48, "batched_steps": 12, "updates": 3}


def test_several_updates_per_phase_and_their_means():
    """Warm-up 16, a phase every 2 batched steps of int(1.75 · 2) = 3 updates (round: 4): after
    steps 4, 6, 8. Means per phase: updates 1-3 -> number 2, third 3; 4-6 -> 5, 6; 7-9 -> 8, 9."""
    learner = make(warmup_steps=16, train_interval=2, update_per_train=1.75, batch_size=8)
    got = [(k, m) for k, _, m in trace(learner, 8) if m is not None]
    assert got == [
        (4, {"number": 2.0, "third": 3.0}),
        (6, {"number": 5.0, "third": 6.0}),
        (8, {"number": 8.0, "third": 9.0}),
    ]


@pytest.mark.parametrize("n_step, first", [(1, 3), (3, 4)])
def test_qmix_cadence_trains_once_the_buffer_holds_a_batch(n_step, first):
    """No warm-up, one update per batched step: the first phase waits for 10 transitions (step 3,
    12 of them) and for an n-step return (n_step 3: four rows, step 4)."""
    learner = make(
        warmup_steps=0, train_interval=1, update_per_train=1.0, batch_size=10, n_step=n_step
    )
    got = trace(learner, 6)
    assert all(policy for _, policy, _ in got)
    assert [k for k, _, m in got if m is not None] == list(range(first, 7))


def test_fewer_than_one_update_per_phase_never_trains():
    learner = make(warmup_steps=0, train_interval=3, update_per_train=0.3, batch_size=4)
    assert all(m is None for _, _, m in trace(learner, 9))
    assert learner.counters["updates"] == 0


@pytest.mark.parametrize("keep_buffer", [True, False])
def test_checkpoint_holds_counters_and_buffer(keep_buffer):
    """Warm-up 8, batch 16, 2 updates every 2 batched steps: after 5 steps one phase (step 4) ran.
    A learner restored from the checkpoint continues that schedule; without ``checkpoint_buffer``
    its buffer starts empty and holds a batch again only after 4 more steps (batched step 9, odd),
    so its next phase comes after batched step 10."""
    sets = dict(warmup_steps=8, train_interval=2, update_per_train=1.0, batch_size=16)
    learner = make(**sets, checkpoint_buffer=keep_buffer)
    trace(learner, 5)
    saved = learner.state_dict()
    restored = make(**sets, checkpoint_buffer=keep_buffer)
    restored.load_state_dict(saved)
    assert (
        restored.counters == learner.counters == {"env_steps": 20, "batched_steps": 5, "updates": 2}
    )
    assert (saved["buffer"] is not None) == keep_buffer
    assert len(restored.buffer) == (20 if keep_buffer else 0)
    again, original = trace(restored, 5), trace(learner, 5)
    assert [k for k, _, m in original if m is not None] == [1, 3, 5]  # batched steps 6, 8, 10
    if keep_buffer:
        assert again == original
    else:
        assert [(k, m) for k, _, m in again if m is not None] == [
            (5, {"number": 3.5, "third": 3.0})
        ]


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_every_off_policy_learner_spells_the_shared_keys_once(algo):
    """The schedule and replay keys are ``train.*`` in every off-policy learner, nowhere else."""
    cls = learner_class(algo)
    shared = {f.name for f in dataclasses.fields(OffPolicyConfig)}
    keys = flat_keys(cls.Config())
    if issubclass(cls, OffPolicyLearner):
        assert {f"train.{name}" for name in shared} <= keys.keys()
    assert not {k for k in keys if k.rsplit(".", 1)[-1] in shared and not k.startswith("train.")}


class Batches(Counting):
    """Counting that takes its mini-batch as an algorithm does, and keeps it."""

    def update(self):
        self.seen.append(self.batch())
        return super().update()


@pytest.mark.parametrize("phase_sampling", [False, True])
def test_phase_sampling_slices_one_draw_for_the_phase(phase_sampling, monkeypatch):
    """3 updates per phase of batch 8: one sampling call of 24 transitions whose consecutive
    slices the updates get in turn (off: three calls of 8). The phase's slices are used up."""
    learner = make(
        warmup_steps=0,
        train_interval=3,
        update_per_train=1.0,
        batch_size=8,
        phase_sampling=phase_sampling,
    )
    learner.__class__, learner.seen = Batches, []
    calls, sample = [], learner.buffer.sample

    def recorded(batch_size, *args):
        calls.append(batch_size)
        calls_batch = sample(batch_size, *args)
        drawn.append(calls_batch)
        return calls_batch

    drawn = []
    monkeypatch.setattr(learner.buffer, "sample", recorded)
    obs, state = np.zeros((N_ENVS, 2, 1), np.float32), np.zeros((N_ENVS, 1), np.float32)
    avail, done = np.ones((N_ENVS, 2, 3), bool), np.zeros(N_ENVS, bool)
    for k in range(3):  # a reward per (row, env): every transition tells which it is
        reward = np.arange(N_ENVS, dtype=np.float32) + 10 * k
        actions = learner.act(obs, state, avail, explore=True)
        learner.observe(
            Transition(obs, state, avail, actions, reward, done, done, obs, state, avail)
        )
    assert calls == ([24] if phase_sampling else [8, 8, 8])
    assert [len(b.reward) for b in learner.seen] == [8, 8, 8]
    if phase_sampling:
        for k, b in enumerate(learner.seen):
            for got, whole in zip(b, drawn[0]):
                assert torch.equal(got, whole[8 * k : 8 * (k + 1)])
        rewards = [b.reward.tolist() for b in learner.seen]
        assert len({tuple(r) for r in rewards}) == 3  # three different slices
        assert learner.phase_batches is None
