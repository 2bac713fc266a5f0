"""HATD3 (Zhong et al., JMLR 2024, arXiv:2304.09870): TD3's critic with HA sequential deterministic
actor updates (docs/omdpg-algorithm.md 2.5 [background]).

Every ``train.train_interval`` batched env steps, ``train_interval × update_per_train`` gradient
steps (the off-policy schedule of ``omdpg/offpolicy.py``, HARL's
harl/runners/off_policy_base_runner.py ``run``); each one (off_policy_ha_runner.py ``train``,
hatd3.py, twin_continuous_q_critic.py):
1. critic: ã'^i = clip(μ'^i(o'^i) + clip(ε, −c, c), −1, 1), ε ~ N(0, σ²);
   y = r + γ^m (1 − terminated) min_j Q'_j(s', ã'); MSE on both heads, one Adam step;
2. every ``policy_freq`` critic steps: a^j = μ^j(o^j) for every agent, without noise or gradient;
   in a random order agent i_m minimises −mean Q_1(s, a^1, …, μ^{i_m}_θ(o^{i_m}), …, a^n) with one
   Adam step on its network, then **overwrites a^{i_m} with its updated output**, so that later
   agents see it (``omdpg.actors.sequential_ascent``); then Polyak updates of target actors and
   critics (τ).
Before ``train.warmup_steps`` env steps, actions are uniform random and nothing is trained;
afterwards exploration adds N(0, expl_noise²).

Defaults: HARL harl/configs/algos_cfgs/hatd3.yaml; hidden sizes [256, 256] from every HATD3 tuned
MaMuJoCo config (tuned_configs/mamujoco/*/hatd3/config.json), the OMDPG actors' size. HARL tunes
n_step per task (20 for Walker2d-v2-6x1, 10 for HalfCheetah-v2-2x3); the default is hatd3.yaml's 1.

Differences from HARL: actions live in [-1, 1] and the env rescales them (HARL scales noise by the
action range: identical for [-1, 1]); MaMuJoCo agents with fewer joints have padded action
dimensions that are always 0; parameter sharing by --grouping (HARL: none or all), and agents of a
group update their shared network in turn, which is the HADDPG-style ParPS drift of
docs/omdpg-algorithm.md 3; the replay buffer is omdpg/replay.py (rows of batched env steps).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from omdpg.actors import DeterministicActors, sequential_ascent
from omdpg.config import option
from omdpg.member_adam import MemberAdam
from omdpg.networks import StackedMLP, soft_update
from omdpg.offpolicy import OffPolicyLearner, TD3Config


@dataclass
class HATD3Config:
    lr: float = option(5e-4, "actor learning rate", min=0.0)
    critic_lr: float = option(1e-3, "critic learning rate", min=0.0)
    hidden: tuple[int, ...] = option(
        (256, 256), "actor and critic hidden sizes (HARL tuned MaMuJoCo)", min=1
    )
    agent_id: str = option(
        "within_group",
        "one-hot id appended to observations",
        choices=("within_group", "global", "none"),
    )
    fixed_order: bool = option(False, "update agents in index order instead of a random order")
    train: TD3Config = field(
        default_factory=lambda: TD3Config(buffer_size=1_000_000, batch_size=1000)
    )


class TwinQ(torch.nn.Module):
    """Q_1, Q_2 (s, a^1..a^n) as two members of one stacked MLP -> [2, B]."""

    def __init__(self, state_dim: int, joint_action_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        # HARL's ContinuousQNet is a plain MLP: no feature normalisation, which would mix the
        # state's scale with the actions'.
        self.net = StackedMLP(
            2, state_dim + joint_action_dim, hidden, 1, out_gain=1.0, input_norm=False
        )

    def forward(self, state: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        x = torch.cat([state, actions.flatten(1)], dim=-1)
        return self.net(x[None].expand(2, -1, -1))[..., 0]


class HATD3(OffPolicyLearner):
    """HATD3: twin critics, target smoothing, delayed sequential deterministic actor updates."""

    Config = HATD3Config
    sharing = "NoPS by default (--grouping none, as HARL); type = ParPS; single = FuPS"
    default_grouping = "none"
    metrics = ("critic_loss", "actor_loss", "q_mean", "replay_mb")
    policy_modules = ("actors",)
    discrete = False

    def __init__(self, spec, groups, cfg, protocol, n_envs, device):
        super().__init__(spec, groups, cfg, protocol, n_envs, device)
        self.actors = DeterministicActors(spec, groups, cfg.hidden, cfg.agent_id).to(device)
        self.critic = TwinQ(spec.state_dim, spec.n_agents * spec.n_actions, cfg.hidden).to(device)
        self.target_actors = copy.deepcopy(self.actors)
        self.target_critic = copy.deepcopy(self.critic)
        self.actor_opt = MemberAdam(self.actors.parameters(), lr=cfg.lr)  # one Adam per network
        self.critic_opt = torch.optim.Adam(
            self.critic.parameters(), lr=cfg.critic_lr, capturable=self.capturable
        )

    def policy(self, obs, avail, explore):
        a = self.actors(obs, avail)
        return self.actors.explore(a, avail, self.cfg.train.expl_noise) if explore else a

    def update(self) -> dict:
        tc = self.cfg.train
        b = self.batch()
        with torch.no_grad():
            a_next = self.target_actors.smoothed(
                self.target_actors(b.next_obs, None), tc.policy_noise, tc.noise_clip
            )
            y = b.reward + b.discount * self.target_critic(b.next_state, a_next).amin(0)
        q = self.critic(b.state, b.actions)
        critic_loss = F.mse_loss(q[0], y) + F.mse_loss(q[1], y)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        metrics = {"critic_loss": critic_loss.detach(), "q_mean": q[0].detach().mean()}
        if self.every(tc.policy_freq):
            metrics["actor_loss"] = self.sequential_actor_update(b.obs, b.state)
            soft_update(self.target_actors, self.actors, tc.tau)
            soft_update(self.target_critic, self.critic, tc.tau)
        return metrics

    def agent_action(self, obs_i: torch.Tensor, i: int) -> torch.Tensor:
        """μ^i(o^i) through agent i's group network alone, [B, A]."""
        return torch.tanh(self.actors.net.agent_forward(obs_i, i)) * self.actors.dim_mask[i]

    def sequential_actor_update(self, obs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """HARL's HA actor step: each agent in turn against the others' latest actions."""
        n = self.spec.n_agents
        with torch.no_grad():
            actions = self.actors(obs, None)  # [B, n, A]
        order = range(n) if self.cfg.fixed_order else torch.randperm(n).tolist()

        def objective(current, i):  # Q_1 at agent i's own action among the others' current ones
            own = self.agent_action(obs[:, i], i)[:, None]
            joint = torch.cat([current[:, :i], own, current[:, i + 1 :]], 1)
            return self.critic(state, joint)[0].mean()

        self.critic.requires_grad_(False)  # HARL's critic.turn_off_grad()
        loss = sequential_ascent(
            order,
            actions,
            objective,
            lambda i: self.agent_action(obs[:, i], i),
            self.actor_opt,
            self.groups.of_agent,
        )
        self.critic.requires_grad_(True)
        return loss
