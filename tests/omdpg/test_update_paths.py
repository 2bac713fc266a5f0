"""OMDPG's faster paths leave its update unchanged: on the same fixed batches, every option that
only changes how an update is computed gives the plain path's losses and parameters to float
tolerance (the plain path stays available for ``make bench``)."""

import pytest
import torch
from torch._dynamo.utils import counters

from omdpg.errors import UserError
from tests.omdpg.small import MIXED_SPEC, fill, make_learner

PLAIN = {"gqc.first_layer": "matmul"}


def updated(sets: dict, batches, steps: int = 3):
    learner = make_learner(MIXED_SPEC, sets, seed=3, grouping="type", n_envs=8)
    fill(learner, 12)
    metrics = []
    for b in batches[:steps]:
        learner.buffer.sample = lambda *args, b=b: b
        metrics.append({k: v.item() for k, v in learner.gradient_step().items()})
    return learner, metrics


def assert_same_parameters(learner, twin, atol: float) -> None:
    for net in ("critic", "actor") + (("temperature",) if learner.temperature else ()):
        pairs = zip(getattr(learner, net).named_parameters(), getattr(twin, net).parameters())
        for (name, p), q in pairs:
            assert torch.allclose(p, q, atol=atol), f"{net}.{name}"


@pytest.fixture(scope="module")
def batches():
    learner = make_learner(MIXED_SPEC, seed=3, grouping="type", n_envs=8)
    fill(learner, 12)
    return [learner.buffer.sample(64, 3, 0.95, torch.device("cpu")) for _ in range(3)]


@pytest.mark.parametrize(
    "fast",
    [
        {"gqc.first_layer": "gather"},
        {"gqc.first_layer": "gather", "gqc.ood_agents": "one_random"},
        {"gqc.first_layer": "gather", "omq.context": "optimal"},
        {"gqc.first_layer": "gather", "omq.marginal": "expect"},
    ],
)
def test_fast_update_equals_the_plain_update(fast, batches):
    plain = {**fast, **PLAIN}
    torch.manual_seed(5)
    a, metrics_a = updated(fast, batches)
    torch.manual_seed(5)
    b, metrics_b = updated(plain, batches)
    for m_a, m_b in zip(metrics_a, metrics_b):
        assert m_a.keys() == m_b.keys()
        for k in m_a:
            assert m_a[k] == pytest.approx(m_b[k], rel=1e-4, abs=1e-6), k
    assert_same_parameters(a, b, atol=1e-5)


@pytest.mark.parametrize("sets", [{}, {"omq.marginal": "expect"}])
def test_bf16_autocast_is_close_to_float32_and_keeps_float32_parameters(sets, batches):
    """Not exact, so not a faster path in the sense above: its products run in bf16 (the losses
    differ from float32's) within bf16's precision, and what is learned and stored stays float32.
    The sequential actor step (omq.marginal=expect) reads each group's weights after the previous
    group's step, so a bf16 copy cached before that step would be stale."""
    torch.manual_seed(5)
    a, metrics_a = updated({**sets, "train.autocast": "bfloat16"}, batches)
    torch.manual_seed(5)
    _, metrics_b = updated(sets, batches)
    for m_a, m_b in zip(metrics_a, metrics_b):
        assert m_a.keys() == m_b.keys()
        for k in m_a:  # bf16 keeps 8 bits of mantissa: a relative error of 2^-8 per product
            assert m_a[k] == pytest.approx(m_b[k], rel=2e-2, abs=1e-4), k
    assert metrics_a[0]["critic_loss"] != metrics_b[0]["critic_loss"]  # bf16 products did run
    assert all(p.dtype == torch.float32 for p in [*a.critic.parameters(), *a.actor.parameters()])


def test_a_bf16_update_reads_the_weights_it_changed():
    """Autocast caches bf16 copies of weights by default; a sequential actor step (HATD3's,
    omq.marginal=expect) re-reads weights after an in-place step within the same update, so the
    update runs without that cache: a forward after a change sees it."""
    learner = make_learner(MIXED_SPEC, {"train.autocast": "bfloat16"}, seed=3, n_envs=8)
    fill(learner, 12)
    b = learner.buffer.sample(64, 3, 0.95, torch.device("cpu"))

    def update():
        before = learner.actor(b.obs, b.avail)
        with torch.no_grad():
            for p in learner.actor.parameters():
                p.add_(0.1)
        return {"changed": (learner.actor(b.obs, b.avail) != before).any()}

    learner.update = update
    assert learner.gradient_step()["changed"]


def test_replay_on_the_learner_with_phase_sampling_equals_the_plain_learner():
    """replay_device=learner with phase_sampling (capture off: the CPU runs the captured update's
    code eagerly) against a plain twin fed the same mini-batches one by one: equal updates."""
    fast = make_learner(
        MIXED_SPEC,
        {"train.replay_device": "learner", "train.phase_sampling": True, "train.n_step": 3},
        seed=3,
        grouping="type",
        n_envs=8,
    )
    fill(fast, 12)
    slices = fast.draw(3)  # numpy's RNG only: the torch stream stays the twin's
    fast.phase_batches = iter(slices)
    metrics_fast = [{k: v.item() for k, v in fast.gradient_step().items()} for _ in range(3)]
    assert len({s.reward.sum().item() for s in slices}) == 3  # three different mini-batches
    plain, metrics_plain = updated({}, slices)
    for m_fast, m_plain in zip(metrics_fast, metrics_plain, strict=True):
        assert m_fast == pytest.approx(m_plain, rel=1e-5)
    assert_same_parameters(fast, plain, atol=1e-6)


def test_capture_on_the_cpu_is_a_one_line_user_error():
    with pytest.raises(UserError, match=r"^train.capture=cudagraphs needs a CUDA learner, not cpu"):
        make_learner(MIXED_SPEC, {"train.capture": "cudagraphs"})


@pytest.mark.parametrize("alpha", ["fixed", "auto"])
def test_the_captured_updates_wiring_equals_the_plain_update(alpha, batches):
    """What train.capture compiles, traced by dynamo on the CPU (eager backend: no CUDA graphs
    here): batch() and every() eager between the compiled pieces, both policy-delay branches
    compiled once each; the same losses and parameters (auto: and α) as the plain update."""
    sets = {"train.policy_freq": 2, "actor.alpha": alpha}
    plain, metrics_plain = updated(sets, batches)
    learner = make_learner(MIXED_SPEC, sets, seed=3, grouping="type", n_envs=8)
    fill(learner, 12)
    learner.capture(backend="eager")
    counters.clear()
    metrics, graphs = [], []
    for b in batches:
        learner.buffer.sample = lambda *args, b=b: b
        metrics.append({k: v.item() for k, v in learner.gradient_step().items()})
        graphs.append(counters["stats"]["unique_graphs"])
    assert graphs[2] == graphs[1]  # the third update reuses the first's graphs: no recompiling
    assert [m.keys() for m in metrics] == [m.keys() for m in metrics_plain]
    assert "actor_loss" in metrics[1] and "actor_loss" not in metrics[0]
    for m, m_plain in zip(metrics, metrics_plain):
        assert m == pytest.approx(m_plain, rel=1e-5, abs=1e-7)
    assert_same_parameters(learner, plain, atol=1e-6)


def test_a_cuda_graph_learners_update_has_static_shapes_and_equals_the_plain_update(batches):
    """train.capture=cudagraphs evaluates every row of the critic (no data-dependent count of
    rows to end the graph): traced by dynamo on the CPU, no graph break is a dynamic shape, and
    the losses and parameters are the plain update's."""
    sets = {"train.policy_freq": 1}
    plain, metrics_plain = updated(sets, batches)
    learner = make_learner(MIXED_SPEC, sets, seed=3, grouping="type", n_envs=8)
    fill(learner, 12)
    learner.critic.skip_unneeded = learner.critic_target.skip_unneeded = False  # as on CUDA
    learner.capture(backend="eager")
    counters.clear()
    metrics = []
    for b in batches:
        learner.buffer.sample = lambda *args, b=b: b
        metrics.append({k: v.item() for k, v in learner.gradient_step().items()})
    breaks = [reason.split("\n")[0] for reason in counters["graph_break"]]
    assert breaks and "Dynamic shape operator" not in breaks, breaks
    for m, m_plain in zip(metrics, metrics_plain, strict=True):
        assert m == pytest.approx(m_plain, rel=1e-5, abs=1e-7)
    assert_same_parameters(learner, plain, atol=1e-6)


def test_the_compiled_update_equals_the_plain_update(batches):
    """train.capture=compile, inductor's kernels for real on the CPU (a C++ compiler is part of
    the machine's setup): the same losses and parameters as the eager update, to float rounding."""
    sets = {"train.policy_freq": 1}  # one branch to compile (the wiring test traces both)
    plain, metrics_plain = updated(sets, batches)
    compiled, metrics = updated({**sets, "train.capture": "compile"}, batches)
    assert compiled.captured_update is not None
    for m, m_plain in zip(metrics, metrics_plain, strict=True):
        assert m == pytest.approx(m_plain, rel=1e-4, abs=1e-6)
    assert_same_parameters(compiled, plain, atol=1e-5)


def test_compile_without_a_cpu_compiler_is_a_one_line_user_error(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(UserError, match=r"^train.capture=compile on a CPU needs a C\+\+ compiler"):
        make_learner(MIXED_SPEC, {"train.capture": "compile"})
