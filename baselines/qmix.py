"""QMIX (Rashid et al., ICML 2018, arXiv:1803.11485): per-agent Q networks mixed into Q_tot by a
monotonic mixing network whose weights a hypernetwork computes from the global state.

Update, as pymarl's src/learners/q_learner.py with double_q:
    a*   = masked argmax_a Q_i(o'_i, a)                                (online agents)
    y    = r + γ^m (1 − terminated) · Q_tot^target(Q_i^target(o'_i, a*_i), s')
    loss = mean (Q_tot(Q_i(o_i, a_i), s) − y)^2
RMSprop, gradient clipping, hard target copies; ε-greedy over available actions, annealed.

Defaults: pymarl src/config/algs/qmix.yaml and src/config/default.yaml unless noted.
Differences from pymarl:
- MLP agents without the last action input (pymarl: GRU of 64 with last action), 128x128 hidden
  like the on-policy baselines here; parameter sharing by --grouping (pymarl shares one network:
  ``single``, our default).
- Transitions, not episodes, are replayed (omdpg/replay.py): with memoryless MLP agents a
  transition holds everything the update needs. One gradient step on 256 transitions per batched
  env step (pymarl: one step on 32 episodes per episode); the target is copied every 200 gradient
  steps (pymarl: every 200 episodes, i.e. 200 gradient steps with its episode runner).
- Buffer of 50,000 transitions (pymarl: 5,000 episodes), sized for CPU-scale runs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from omdpg.actors import GroupedActor
from omdpg.config import option
from omdpg.networks import masked_logits
from omdpg.offpolicy import OffPolicyConfig, OffPolicyLearner


@dataclass
class QMIXConfig:
    lr: float = option(5e-4, "RMSprop learning rate", min=0.0)
    optim_alpha: float = option(0.99, "RMSprop alpha", min=0.0, max=1.0)
    optim_eps: float = option(1e-5, "RMSprop epsilon", min=0.0)
    grad_norm_clip: float = option(10.0, "gradient clipping norm", min=0.0)
    hidden: tuple[int, ...] = option((128, 128), "agent Q network hidden sizes", min=1)
    agent_id: str = option(
        "within_group",
        "one-hot id appended to observations",
        choices=("within_group", "global", "none"),
    )
    mixing_embed_dim: int = option(32, "mixing network width", min=1)
    hypernet_embed: int = option(64, "hidden width of the two-layer hypernetworks", min=1)
    double_q: bool = option(True, "pick next actions with the online agents (double Q)")
    target_update_interval: int = option(200, "gradient steps between hard target copies", min=1)
    epsilon_start: float = option(1.0, "initial exploration rate", min=0.0, max=1.0)
    epsilon_finish: float = option(0.05, "final exploration rate", min=0.0, max=1.0)
    epsilon_anneal: int = option(50_000, "env steps of linear epsilon annealing", min=1)
    # pymarl's cadence: one gradient step per batched env step once the buffer holds a batch; no
    # warm-up of its own (epsilon starts at 1).
    train: OffPolicyConfig = field(
        default_factory=lambda: OffPolicyConfig(
            buffer_size=50_000, warmup_steps=0, train_interval=1, update_per_train=1.0
        )
    )


class QMixer(nn.Module):
    """Q_tot(q [B, n], s [B, state_dim]) -> [B]: non-negative hypernetwork weights make Q_tot
    monotonic in every Q_i (pymarl src/modules/mixers/qmix.py, hypernet_layers = 2)."""

    def __init__(self, n_agents: int, state_dim: int, embed: int, hyper: int):
        super().__init__()
        self.n, self.embed = n_agents, embed

        def hypernet(out):
            return nn.Sequential(nn.Linear(state_dim, hyper), nn.ReLU(), nn.Linear(hyper, out))

        self.hyper_w1, self.hyper_w_final = hypernet(embed * n_agents), hypernet(embed)
        self.hyper_b1 = nn.Linear(state_dim, embed)
        self.v = nn.Sequential(nn.Linear(state_dim, embed), nn.ReLU(), nn.Linear(embed, 1))

    def forward(self, q: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        # SMAX's world state is unnormalised (positions up to 32; SMAC's is scaled to [-1, 1]):
        # normalise it as the runtime's StackedMLP normalises every network input.
        state = F.layer_norm(state, state.shape[-1:])
        w1 = self.hyper_w1(state).abs().view(-1, self.n, self.embed)
        hidden = F.elu(torch.bmm(q[:, None, :], w1) + self.hyper_b1(state)[:, None, :])
        w_final = self.hyper_w_final(state).abs()[:, :, None]
        return torch.bmm(hidden, w_final)[:, 0, 0] + self.v(state)[:, 0]


class QMIX(OffPolicyLearner):
    """QMIX: monotonic hypernetwork mixing of per-agent Q networks, double-Q, epsilon-greedy."""

    Config = QMIXConfig
    sharing = "FuPS by default (--grouping single, as pymarl); any grouping"
    default_grouping = "single"
    metrics = ("q_loss", "q_taken_mean", "target_mean", "epsilon", "replay_mb")
    policy_modules = ("agents",)
    continuous = False

    def __init__(self, spec, groups, cfg, protocol, n_envs, device):
        super().__init__(spec, groups, cfg, protocol, n_envs, device)
        self.agents = GroupedActor(
            spec.obs_dim, spec.n_actions, groups, cfg.hidden, cfg.agent_id, out_gain=1.0
        ).to(device)
        self.mixer = QMixer(
            spec.n_agents, spec.state_dim, cfg.mixing_embed_dim, cfg.hypernet_embed
        ).to(device)
        self.target_agents = copy.deepcopy(self.agents)
        self.target_mixer = copy.deepcopy(self.mixer)
        self.params = list(self.agents.parameters()) + list(self.mixer.parameters())
        self.opt = torch.optim.RMSprop(
            self.params,
            lr=cfg.lr,
            alpha=cfg.optim_alpha,
            eps=cfg.optim_eps,
            capturable=self.capturable,
        )

    def epsilon(self) -> float:
        frac = min(self.counters["env_steps"] / self.cfg.epsilon_anneal, 1.0)
        return self.cfg.epsilon_start + frac * (self.cfg.epsilon_finish - self.cfg.epsilon_start)

    def policy(self, obs, avail, explore):
        greedy = masked_logits(self.agents(obs), avail).argmax(-1)
        if not explore:
            return greedy
        random = torch.multinomial(avail.flatten(0, 1).float(), 1).view(greedy.shape)
        pick = torch.rand(greedy.shape, device=self.device) < self.epsilon()
        return torch.where(pick, random, greedy)

    def update(self) -> dict:
        cfg = self.cfg
        b = self.batch()
        q_taken = self.agents(b.obs).gather(-1, b.actions[..., None])[..., 0]  # [B, n]
        with torch.no_grad():
            q_next_target = self.target_agents(b.next_obs)  # [B, n, A]
            chooser = self.agents(b.next_obs) if cfg.double_q else q_next_target
            a_star = masked_logits(chooser, b.next_avail).argmax(-1, keepdim=True)
            y = b.reward + b.discount * self.target_mixer(
                q_next_target.gather(-1, a_star)[..., 0], b.next_state
            )
        loss = F.mse_loss(self.mixer(q_taken, b.state), y)
        self.opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, cfg.grad_norm_clip)
        self.opt.step()
        if self.every(cfg.target_update_interval):
            self.target_agents.load_state_dict(self.agents.state_dict())
            self.target_mixer.load_state_dict(self.mixer.state_dict())
        return {
            "q_loss": loss.detach(),
            "q_taken_mean": q_taken.detach().mean(),
            "target_mean": y.mean(),
            "epsilon": torch.tensor(self.epsilon(), device=self.device),
        }
