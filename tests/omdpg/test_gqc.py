"""GQC: the targets and the loss against hand-worked numbers, the λ_PU = 0 ablation, what the PU
term does to joint actions the data never shows, and independent heads."""

import numpy as np
import pytest
import torch

from omdpg.gqc import GQCritic, gqc_loss, off_data, pu_targets, y_pu, y_true
from omdpg.learner import Transition
from omdpg.omq import joint_actions
from tests.omdpg.small import CLIMB_SPEC, make_learner

HEADS = torch.tensor([[1.0], [3.0], [5.0]])  # Q'_c of 3 heads for one sample


def test_y_pu_is_mean_minus_beta_std():
    # mean 3, population std sqrt(((1-3)^2 + 0 + (5-3)^2) / 3) = sqrt(8/3) = 1.63299
    assert y_pu(HEADS, beta=0.5)[0].item() == pytest.approx(3 - 0.5 * 1.63299, abs=1e-5)
    assert y_pu(HEADS[:1], beta=1.0)[0].item() == 1.0  # one head: no disagreement, y_PU = Q'


@pytest.mark.parametrize(
    "how, value", [("min", 1.0), ("mean", 3.0), ("mean_minus_std", 3 - 1.63299)]
)
def test_y_true_aggregates(how, value):
    # y_true = r + γ^m (1 - terminated) agg_c Q'_c = 0.5 + 0.9 * agg
    target = y_true(torch.tensor([0.5]), torch.tensor([0.9]), HEADS, how, beta=1.0)
    assert target.item() == pytest.approx(0.5 + 0.9 * value, abs=1e-5)


def test_loss_by_hand_and_lambda_zero_is_plain_td():
    q = torch.tensor([[1.0, 2.0], [3.0, 0.0]])  # [C=2, B=2]
    y = torch.tensor([1.5, 1.0])
    q_ood = torch.tensor([[[0.0]], [[2.0]]]).expand(2, 2, 1)
    y_ood = torch.tensor([[1.0], [1.0]])
    # TD: head 0 ((-0.5)^2 + 1^2) / 2 = 0.625, head 1 (1.5^2 + 1^2) / 2 = 1.625, sum 2.25
    # PU: head 0 (1 + 1) / 2 = 1, head 1 (1 + 1) / 2 = 1, sum 2
    loss, td, pu = gqc_loss(q, y, q_ood, y_ood, lambda_pu=0.1)
    assert (td.item(), pu.item()) == pytest.approx((2.25, 2.0))
    assert loss.item() == pytest.approx(2.25 + 0.1 * 2.0)
    loss0, td0, pu0 = gqc_loss(q, y, q_ood, y_ood, lambda_pu=0.0)
    assert pu0 is None and torch.equal(loss0, td0) and torch.equal(td0, td)


def batch_of(learner, seed=0):
    """Fill a climbing-game learner's buffer with random one-step episodes and sample a batch."""
    rng = np.random.default_rng(seed)
    B = learner.n_envs
    obs, state, avail = (
        np.ones((B, 2, 1), np.float32),
        np.ones((B, 1), np.float32),
        np.ones((B, 2, 3), bool),
    )
    for _ in range(4):
        done = np.ones(B, bool)
        learner.buffer.add(
            Transition(
                obs,
                state,
                avail,
                rng.integers(0, 3, (B, 2)),
                rng.normal(size=B).astype(np.float32),
                done,
                ~done,
                obs,
                state,
                avail,
            )
        )
    return learner.buffer.sample(32, 1, 0.95, torch.device("cpu"))


@pytest.mark.parametrize("pu_target", ["shared", "per_head"])
@pytest.mark.parametrize("context", ["buffer", "optimal"])
def test_critic_step_pu_term_on_a_fixed_batch(context, pu_target, monkeypatch):
    """The PU term the learner minimises is Σ_c mean_{(b,i) off data} (Q_c(s, ã(i)) − y_PU)^2 with
    ã(i) = (context_1:i-1, a*_i:n), the joint actions OMQ scores, y_PU = mean − β std of the target
    heads there (shared) or Q'_c − β std for head c (per_head), and the rows where ã(i) is the
    data's own joint action left out; recomputed here from the networks before the step."""
    sets = {"gqc.pu_std_coef": 0.7, "omq.context": context, "gqc.pu_target": pu_target}
    learner = make_learner(CLIMB_SPEC, sets)
    b = batch_of(learner)
    monkeypatch.setattr(learner.buffer, "sample", lambda *args: b)
    a_t = learner.actor.one_hot(b.actions)
    with torch.no_grad():
        a_star = learner.actor.one_hot(learner.actor.greedy(learner.actor(b.obs, b.avail)))
        ctx = a_t if context == "buffer" else a_star
        ood = joint_actions(ctx, a_star, a_star, torch.arange(2))  # [B, 2, n, A]
        q_t = learner.critic_target(b.state, ood)  # [C, B, 2]
        std = q_t.std(0, correction=0)
        expected_y = q_t.mean(0) - 0.7 * std if pu_target == "shared" else q_t - 0.7 * std
        off = ~(ood == a_t[:, None]).all(-1).all(-1)  # [B, 2]: not the data's joint action
        assert 0 < off.sum() < off.numel()  # both kinds of row occur: the check is not vacuous
        sq = (learner.critic(b.state, ood) - expected_y) ** 2  # [C, B, 2]
        expected = (sq * off).sum((1, 2)).sum() / off.sum()
    metrics = learner.gradient_step()
    assert metrics["pu_loss"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_per_head_targets_keep_each_heads_own_value():
    """per_head: y_PU,c = Q'_c − β std'; shared: one value for all heads. Heads (1, 3, 5), β = 1:
    std = 1.63299, per head (−0.633, 1.367, 3.367), shared 3 − 1.633 = 1.367 for every head."""
    q_t = HEADS[:, :, None]  # [C=3, B=1, K=1]
    per_head = pu_targets(q_t, 1.0, "per_head")[:, 0, 0].tolist()
    assert per_head == pytest.approx([1 - 1.63299, 3 - 1.63299, 5 - 1.63299], abs=1e-5)
    assert pu_targets(q_t, 1.0, "shared").shape == (1, 1)
    assert pu_targets(q_t, 1.0, "shared").item() == pytest.approx(3 - 1.63299, abs=1e-5)


def test_no_pu_row_is_the_datas_joint_action():
    """off_data marks exactly the rows ã(i) equal to the data's joint action (n = 2, A = 2)."""
    eye = torch.eye(2)
    data = torch.stack([eye[[0, 1]], eye[[1, 1]]])  # [B=2, n=2, A=2]: joint actions (0,1), (1,1)
    ood = torch.stack(
        [torch.stack([eye[[0, 1]], eye[[0, 0]]]), torch.stack([eye[[0, 1]], eye[[1, 1]]])]
    )
    assert off_data(ood, data).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    # ...and such rows carry no weight in the PU mean: changing their error changes nothing.
    q, y = torch.zeros(1, 2, 2), torch.zeros(2, 2)
    w = off_data(ood, data)
    base = gqc_loss(q[..., 0], y[:, 0], q, y, 1.0, pu_weight=w)[2]
    q_on = q.clone()
    q_on[0, 0, 0] = q_on[0, 1, 1] = 100.0  # the two data rows
    assert gqc_loss(q[..., 0], y[:, 0], q_on, y, 1.0, pu_weight=w)[2] == base


def test_lambda_zero_step_is_the_plain_ensemble_td_step(monkeypatch):
    """λ_PU = 0: one critic step equals one Adam step on Σ_c mean (Q_c(s, a) - y_true)^2 alone,
    with y_true = r + γ^m min_c Q'_c at the target actors' greedy joint action."""
    learner = make_learner(CLIMB_SPEC, {"gqc.lambda_pu": 0.0})
    b = batch_of(learner)
    monkeypatch.setattr(learner.buffer, "sample", lambda *args: b)
    a_t = learner.actor.one_hot(b.actions)
    twin = GQCritic(1, 2, 3, 5, (32, 32))
    twin.load_state_dict(learner.critic.state_dict())
    opt = torch.optim.Adam(twin.parameters(), lr=learner.cfg.gqc.lr)
    with torch.no_grad():
        a_next = learner.actor_target.one_hot(
            learner.actor_target(b.next_obs, b.next_avail).argmax(-1)
        )
        target = b.reward + b.discount * learner.critic_target(b.next_state, a_next).min(0).values
    loss = ((twin(b.state, a_t) - target) ** 2).mean(1).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    metrics = learner.gradient_step()
    critic_loss, td_loss = metrics["critic_loss"].item(), metrics["td_loss"].item()
    assert critic_loss == td_loss == pytest.approx(loss.item(), rel=1e-6)
    assert "pu_loss" not in metrics
    for p, q in zip(learner.critic.parameters(), twin.parameters()):
        assert torch.allclose(p, q, atol=1e-7)


def unseen_estimates(lambda_pu: float):
    """Train the critic only (actors frozen) on data showing the diagonal joint actions of a 3x3
    game, all paying 1. The actors' greedy actions are fixed at a* = (1, 2), so the OOD joint
    actions are (1, 2) and (a_0, 2): (0, 2) and (1, 2) never occur in the data."""
    learner = make_learner(
        CLIMB_SPEC, {"gqc.lambda_pu": lambda_pu, "train.policy_freq": 10**9, "train.n_step": 1}
    )
    with torch.no_grad():
        bias = learner.actor.net.net.out.bias  # [groups, 1, A]; grouping none: agent = group
        bias[0, 0, 1] = bias[1, 0, 2] = 10.0
    B = learner.n_envs
    obs, state, avail = (
        np.ones((B, 2, 1), np.float32),
        np.ones((B, 1), np.float32),
        np.ones((B, 2, 3), bool),
    )
    done = np.ones(B, bool)
    diagonal = np.repeat(np.arange(B)[:, None] % 3, 2, axis=1)
    for _ in range(20):
        learner.buffer.add(
            Transition(
                obs, state, avail, diagonal, np.ones(B, np.float32), done, ~done, obs, state, avail
            )
        )
    for _ in range(300):
        learner.gradient_step()
    eye = torch.eye(3)
    unseen = torch.stack([torch.stack([eye[0], eye[2]]), torch.stack([eye[1], eye[2]])])[None]
    with torch.no_grad():
        q = learner.critic(torch.ones(1, 1), unseen)[:, 0]  # [C, 2]
    return q.mean(0), q.std(0)


def test_pu_term_lowers_estimates_of_unseen_joint_actions():
    """Without the PU term the heads extrapolate to unseen joint actions freely and disagree; with
    it each head is pulled towards mean - β std of the target heads, so the estimates fall."""
    mean0, std0 = unseen_estimates(0.0)
    mean1, _ = unseen_estimates(1.0)
    assert (std0 > 0.05).all(), std0  # the heads disagree where the data is silent
    assert (mean1 < mean0 - 0.1).all(), (mean0, mean1)


def test_heads_differ_at_init():
    critic = GQCritic(4, 3, 2, 5, (16, 16))
    q = critic(torch.rand(8, 4), torch.rand(8, 3, 2))  # [C, B]
    assert q.shape == (5, 8)
    assert all(not torch.allclose(q[c], q[d]) for c in range(5) for d in range(c))
    w = critic.heads.hidden[0].weight
    assert all(not torch.equal(w[c], w[d]) for c in range(5) for d in range(c))


def test_output_gain_sets_the_scale_of_initial_estimates():
    """gqc.out_gain = 0.01 starts every head near 0, below SMAX's rewards; the default gain 1 starts
    heads at about ±1, with their minimum near −1 (docs/omdpg-algorithm.md section 13)."""
    torch.manual_seed(0)
    state, actions = torch.randn(256, 40), torch.rand(256, 5, 11)
    small = GQCritic(40, 5, 11, 5, (256, 256), out_gain=0.01)(state, actions)
    large = GQCritic(40, 5, 11, 5, (256, 256))(state, actions)
    assert small.abs().max() < 0.05, small.abs().max()
    assert large.min(0).values.mean() < -0.3, large.min(0).values.mean()


def test_input_layer_norm_statistics_do_not_depend_on_the_one_hots():
    """The claim the gathered first layer rests on: [s, one-hot(a_1), ..., one-hot(a_n)] has the
    same mean and variance for every joint action of a state (n ones, n(A − 1) zeros)."""
    state = torch.randn(1, 7)
    joints = torch.eye(4)[torch.randint(4, (50, 3))]  # 50 random joint actions, n = 3, A = 4
    x = torch.cat([state.expand(50, -1), joints.flatten(1)], 1)
    assert torch.allclose(x.mean(1), x.mean(1)[:1].expand(50))
    assert torch.allclose(x.var(1), x.var(1)[:1].expand(50))


@pytest.mark.parametrize("hidden", [(32, 16), (8,)])
def test_gathered_first_layer_equals_the_one_hot_matmul(hidden):
    """Q and every parameter's gradient from action indices (gather) equal those from their
    one-hot vectors (the plain matmul) on fixed inputs; with ``needed`` the used rows are the
    same and the others 0, or, without ``skip_unneeded``, every row as without ``needed``."""
    torch.manual_seed(0)
    B, n, A, S = 6, 4, 5, 9
    critic = GQCritic(S, n, A, 3, hidden, out_gain=1.0)
    state = torch.randn(B, S) * 2 + 0.5  # a mean away from 0 exercises the centring
    joint = torch.randint(A, (B, 2, 3, n))
    grads = []
    for actions in (joint, torch.eye(A)[joint]):
        critic.zero_grad()
        q = critic(state, actions)
        q.square().sum().backward()
        grads.append((q.detach(), [p.grad.clone() for p in critic.parameters()]))
    (q_gather, g_gather), (q_plain, g_plain) = grads
    assert q_gather.shape == (3, B, 2, 3)
    assert torch.allclose(q_gather, q_plain, atol=1e-5)
    for a, b in zip(g_gather, g_plain):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
    needed = torch.rand(B, 2, 3) < 0.5
    with torch.no_grad():
        q_some = critic(state, joint, needed=needed)
    assert torch.allclose(q_some, q_plain * needed, atol=1e-5)
    assert (q_some[:, ~needed] == 0).all()
    critic.skip_unneeded = False  # a CUDA-graph learner's critic: every row, static shapes
    with torch.no_grad():
        assert torch.allclose(critic(state, joint, needed=needed), q_plain, atol=1e-5)
