"""HATD3 (Zhong et al., JMLR 2024, arXiv:2304.09870): TD3's critic with HA sequential deterministic
actor updates (docs/omdpg-algorithm.md 2.5 [background]).

Every ``train_interval`` batched env steps, ``train_interval × update_per_train`` gradient steps,
as HARL's harl/runners/off_policy_base_runner.py ``run``; each one (off_policy_ha_runner.py
``train``, hatd3.py, twin_continuous_q_critic.py):
1. critic: ã'^i = clip(μ'^i(o'^i) + clip(ε, −c, c), −1, 1), ε ~ N(0, σ²);
   y = r + γ^m (1 − terminated) min_j Q'_j(s', ã'); MSE on both heads, one Adam step;
2. every ``policy_freq`` critic steps: a^j = μ^j(o^j) for every agent, without noise or gradient;
   in a random order agent i_m minimises −mean Q_1(s, a^1, …, μ^{i_m}_θ(o^{i_m}), …, a^n) with one
   Adam step on its network, then **overwrites a^{i_m} with its updated output**, so that later
   agents see it; then Polyak updates of target actors and critics (τ).
Before ``warmup_steps`` env steps, actions are uniform random and nothing is trained; afterwards
exploration adds N(0, expl_noise²).

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
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from baselines.member_adam import MemberAdam
from omdpg.ccga import DeterministicActors
from omdpg.config import option
from omdpg.learner import Learner, Transition
from omdpg.networks import StackedMLP, soft_update
from omdpg.replay import ReplayBuffer


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
    buffer_size: int = option(1_000_000, "replay capacity in transitions", min=1)
    batch_size: int = option(1000, "transitions per gradient step", min=1)
    polyak: float = option(0.005, "Polyak coefficient τ of the target updates", min=0.0, max=1.0)
    expl_noise: float = option(0.1, "std of the exploration noise", min=0.0)
    policy_noise: float = option(0.2, "std σ of the target-policy smoothing noise", min=0.0)
    noise_clip: float = option(0.5, "clip c of the smoothing noise", min=0.0)
    policy_freq: int = option(2, "critic steps per actor step (policy delay)", min=1)
    n_step: int = option(1, "n-step return length (HARL tunes 10-20 per task)", min=1)
    warmup_steps: int = option(10_000, "env steps of uniform random actions before training", min=0)
    train_interval: int = option(50, "batched env steps between training bursts", min=1)
    update_per_train: float = option(1.0, "gradient steps per batched env step in a burst", min=0.0)
    fixed_order: bool = option(False, "update agents in index order instead of a random order")


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


class HATD3(Learner):
    """HATD3: twin critics, target smoothing, delayed sequential deterministic actor updates."""

    Config = HATD3Config
    sharing = "NoPS by default (--grouping none, as HARL); type = ParPS; single = FuPS"
    default_grouping = "none"
    metrics = ("critic_loss", "actor_loss", "q_mean")
    policy_modules = ("actors",)
    discrete = False

    def __init__(self, spec, groups, cfg, protocol, n_envs, device):
        super().__init__(spec, groups, cfg, protocol, n_envs, device)
        self.actors = DeterministicActors(spec, groups, cfg.hidden, cfg.agent_id).to(device)
        self.critic = TwinQ(spec.state_dim, spec.n_agents * spec.n_actions, cfg.hidden).to(device)
        self.target_actors = copy.deepcopy(self.actors)
        self.target_critic = copy.deepcopy(self.critic)
        self.actor_opt = MemberAdam(self.actors.parameters(), lr=cfg.lr)  # one Adam per network
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.buffer = ReplayBuffer(spec, n_envs, cfg.buffer_size)
        self.env_steps = self.total_it = 0

    def _mask(self, a: torch.Tensor) -> torch.Tensor:
        return a.clamp(-1, 1) * self.actors.dim_mask

    @torch.no_grad()
    def act(self, obs, state, avail, explore):
        obs_t = torch.as_tensor(obs, device=self.device)
        if explore and self.env_steps < self.cfg.warmup_steps:
            shape = obs_t.shape[:-1] + (self.spec.n_actions,)
            return self._mask(torch.rand(shape, device=self.device) * 2 - 1).cpu().numpy()
        a = self.actors(obs_t, None)
        if explore:
            a = self._mask(a + self.cfg.expl_noise * torch.randn_like(a))
        return a.cpu().numpy()

    def observe(self, t: Transition):
        self.buffer.add(t)
        self.env_steps += self.n_envs
        cfg = self.cfg
        if (
            self.env_steps <= cfg.warmup_steps
            or self.buffer.t % cfg.train_interval
            or not self.buffer.can_sample(cfg.n_step)
        ):
            return None
        steps = [self.train_step() for _ in range(int(cfg.update_per_train * cfg.train_interval))]
        out = {
            "critic_loss": sum(s["critic_loss"] for s in steps) / len(steps),
            "q_mean": sum(s["q_mean"] for s in steps) / len(steps),
        }
        actor = [s["actor_loss"] for s in steps if "actor_loss" in s]
        if actor:
            out["actor_loss"] = sum(actor) / len(actor)
        return out

    def train_step(self) -> dict:
        cfg = self.cfg
        b = self.buffer.sample(cfg.batch_size, cfg.n_step, self.protocol.gamma, self.device)
        with torch.no_grad():
            a_next = self.target_actors(b.next_obs, None)
            noise = (cfg.policy_noise * torch.randn_like(a_next)).clamp(
                -cfg.noise_clip, cfg.noise_clip
            )
            y = b.reward + b.discount * self.target_critic(
                b.next_state, self._mask(a_next + noise)
            ).amin(0)
        q = self.critic(b.state, b.actions)
        critic_loss = F.mse_loss(q[0], y) + F.mse_loss(q[1], y)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        self.total_it += 1
        metrics = {"critic_loss": critic_loss.item(), "q_mean": q[0].mean().item()}
        if self.total_it % cfg.policy_freq == 0:
            metrics["actor_loss"] = self.sequential_actor_update(b.obs, b.state)
            soft_update(self.target_actors, self.actors, cfg.polyak)
            soft_update(self.target_critic, self.critic, cfg.polyak)
        return metrics

    def agent_action(self, obs_i: torch.Tensor, i: int) -> torch.Tensor:
        """μ^i(o^i) through agent i's group network alone, [B, A]."""
        return torch.tanh(self.actors.net.agent_forward(obs_i, i)) * self.actors.dim_mask[i]

    def sequential_actor_update(self, obs: torch.Tensor, state: torch.Tensor) -> float:
        """HARL's HA actor step: each agent in turn against the others' latest actions."""
        n = self.spec.n_agents
        with torch.no_grad():
            actions = self.actors(obs, None)  # [B, n, A]
        order = range(n) if self.cfg.fixed_order else torch.randperm(n).tolist()
        losses = []
        self.critic.requires_grad_(False)  # HARL's critic.turn_off_grad()
        for i in order:
            joint = torch.cat(
                [actions[:, :i], self.agent_action(obs[:, i], i)[:, None], actions[:, i + 1 :]],
                dim=1,
            )
            loss = -self.critic(state, joint)[0].mean()
            self.actor_opt.zero_grad()
            loss.backward()
            self.actor_opt.step([self.groups.of_agent[i]])
            with torch.no_grad():
                actions[:, i] = self.agent_action(obs[:, i], i)
            losses.append(loss.item())
        self.critic.requires_grad_(True)
        return sum(losses) / n

    def state_dict(self):
        return {
            "actors": self.actors.state_dict(),
            "critic": self.critic.state_dict(),
            "target_actors": self.target_actors.state_dict(),
            "target_critic": self.target_critic.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "buffer": self.buffer.state_dict(),
            "env_steps": self.env_steps,
            "total_it": self.total_it,
        }

    def load_state_dict(self, s):
        for name in (
            "actors",
            "critic",
            "target_actors",
            "target_critic",
            "actor_opt",
            "critic_opt",
            "buffer",
        ):
            getattr(self, name).load_state_dict(s[name])
        self.env_steps, self.total_it = s["env_steps"], s["total_it"]
