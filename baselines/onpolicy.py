"""What every on-policy learner shares (MAPPO, HAPPO): the stochastic grouped policy, the rollout
storage, GAE, value normalisation, the centralised value critic and minibatching. One home each."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from omdpg.actors import GroupedActor
from omdpg.config import option
from omdpg.envs.base import EnvSpec
from omdpg.grouping import Groups
from omdpg.learner import Learner, Transition
from omdpg.networks import StackedMLP, masked_logits


@dataclass
class OnPolicyConfig:
    # Defaults: HARL harl/configs/algos_cfgs/mappo.yaml and happo.yaml unless noted.
    rollout_length: int = option(
        128, "env steps per env between updates (HARL 200; JaxMARL 128)", min=1
    )
    epochs: int = option(5, "PPO epochs per update (HARL ppo_epoch)", min=1)
    minibatches: int = option(1, "minibatches per epoch (HARL actor_num_mini_batch)", min=1)
    lr: float = option(5e-4, "actor learning rate", min=0.0)
    critic_lr: float = option(5e-4, "critic learning rate", min=0.0)
    gae_lambda: float = option(0.95, "GAE lambda", min=0.0, max=1.0)
    clip: float = option(0.2, "PPO clip epsilon", min=0.0)
    entropy_coef: float = option(0.01, "entropy bonus", min=0.0)
    max_grad_norm: float = option(10.0, "gradient clipping norm", min=0.0)
    huber_delta: float = option(10.0, "Huber delta of the value loss", min=0.0)
    value_norm: bool = option(True, "normalise value targets (HARL ValueNorm)")
    hidden: tuple[int, ...] = option(
        (128, 128), "hidden sizes of actor and critic (HARL default)", min=1
    )
    agent_id: str = option(
        "within_group",
        "one-hot id appended to observations",
        choices=("within_group", "global", "none"),
    )
    init_log_std: float = option(-0.5, "continuous: initial log std of the Gaussian policy")


class ValueNorm(nn.Module):
    """Running mean/variance of value targets with a debiased EMA (HARL
    harl/common/valuenorm.py)."""

    def __init__(self, beta: float = 0.99999, eps: float = 1e-5):
        super().__init__()
        self.beta, self.eps = beta, eps
        for name in ("mean", "mean_sq", "debias"):
            self.register_buffer(name, torch.zeros(()))

    def _stats(self):
        d = self.debias.clamp(min=self.eps)
        mean, mean_sq = self.mean / d, self.mean_sq / d
        return mean, (mean_sq - mean**2).clamp(min=1e-2)

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        self.mean.mul_(self.beta).add_((1 - self.beta) * x.mean())
        self.mean_sq.mul_(self.beta).add_((1 - self.beta) * (x**2).mean())
        self.debias.mul_(self.beta).add_(1 - self.beta)

    def normalize(self, x):
        mean, var = self._stats()
        return (x - mean) / var.sqrt()

    def denormalize(self, x):
        mean, var = self._stats()
        return x * var.sqrt() + mean


def gae(rewards, values, next_values, dones, gamma: float, lam: float):
    """Generalised advantage estimation over [T, B]; ``dones`` cut the recursion (truncated
    episodes were already bootstrapped into their last reward)."""
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_values[t] * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv, adv + values


def active_agents(avail: torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor:
    """[N, n] float: 1 where the agent acts. A dead SMAC/SMAX agent has exactly one available
    action (no-op/stop); continuous envs have no dead agents."""
    return torch.ones(shape) if avail is None else (avail.sum(-1) > 1).float()


def minibatch_indices(n: int, minibatches: int) -> list[torch.Tensor]:
    return list(torch.randperm(n).chunk(minibatches))


class StochasticPolicy(nn.Module):
    """Grouped actor with a categorical (masked) or diagonal Gaussian head."""

    def __init__(self, spec: EnvSpec, groups: Groups, cfg: OnPolicyConfig):
        super().__init__()
        self.discrete = spec.discrete
        self.actor = GroupedActor(spec.obs_dim, spec.n_actions, groups, cfg.hidden, cfg.agent_id)
        if not spec.discrete:
            self.log_std = nn.Parameter(
                torch.full((groups.n_groups, spec.n_actions), cfg.init_log_std)
            )

    def dist(self, obs, avail):
        """Every agent's distribution, obs [..., n, obs_dim]."""
        return self._head(self.actor(obs), avail, self.actor.group_of)

    def agent_dist(self, obs_i, avail_i, agent: int):
        """One agent's distribution alone, obs_i [N, obs_dim] (HAPPO's sequential updates)."""
        return self._head(
            self.actor.agent_forward(obs_i, agent), avail_i, self.actor.group_of[agent]
        )

    def _head(self, out, avail, group):
        if self.discrete:
            return torch.distributions.Categorical(logits=masked_logits(out, avail))
        return torch.distributions.Normal(out, self.log_std[group].exp())

    def log_prob(self, d, actions):
        return d.log_prob(actions) if self.discrete else d.log_prob(actions).sum(-1)

    def entropy(self, d):
        return d.entropy() if self.discrete else d.entropy().sum(-1)

    def greedy(self, d):
        return d.probs.argmax(-1) if self.discrete else d.mean.clamp(-1, 1)


class ValueCritic(nn.Module):
    """Centralised V(s) on the global state (MAPPO's EP state), one value per env."""

    def __init__(self, state_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.net = StackedMLP(1, state_dim, hidden, 1, out_gain=1.0)

    def forward(self, state):
        return self.net(state.reshape(1, -1, state.shape[-1]))[0, :, 0].reshape(state.shape[:-1])


class Rollout:
    """[T, B, ...] storage filled one env step at a time."""

    FIELDS = ("obs", "state", "avail", "actions", "logp", "values", "rewards", "dones")

    def __init__(self):
        self.data = {k: [] for k in self.FIELDS}

    def add(self, **items) -> None:
        for k, v in items.items():
            self.data[k].append(v)

    def __len__(self) -> int:
        return len(self.data["rewards"])

    def stacked(self) -> dict:
        return {k: torch.stack(v) if v[0] is not None else None for k, v in self.data.items() if v}


class OnPolicyLearner(Learner):
    """Acting, storage, bootstrapping and the critic update; subclasses write the actor update."""

    Config = OnPolicyConfig
    policy_modules = ("policy",)

    def __init__(self, spec, groups, cfg, protocol, n_envs, device):
        super().__init__(spec, groups, cfg, protocol, n_envs, device)
        self.policy = StochasticPolicy(spec, groups, cfg).to(device)
        self.critic = ValueCritic(spec.state_dim, cfg.hidden).to(device)
        self.value_norm = ValueNorm().to(device)
        self.actor_opt = torch.optim.Adam(self.policy.parameters(), lr=cfg.lr, eps=1e-5)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, eps=1e-5)
        self.rollout = Rollout()
        self._pending: tuple | None = None

    def _value(self, state):
        v = self.critic(state)
        return self.value_norm.denormalize(v) if self.cfg.value_norm else v

    @torch.no_grad()
    def act(self, obs, state, avail, explore):
        obs_t, avail_t = self._t(obs), self._t(avail, torch.bool)
        d = self.policy.dist(obs_t, avail_t)
        if not explore:
            return self.policy.greedy(d).cpu().numpy()
        a = d.sample()
        self._pending = (
            obs_t,
            self._t(state),
            avail_t,
            a,
            self.policy.log_prob(d, a),
            self._value(self._t(state)),
        )
        return (a if self.spec.discrete else a.clamp(-1, 1)).cpu().numpy()

    @torch.no_grad()
    def observe(self, t: Transition):
        obs, state, avail, a, logp, value = self._pending
        reward = self._t(t.reward)
        # A time limit is not a terminal state: bootstrap from where it stopped. An episode that
        # ended by the task on its last allowed step is terminal (no value after it).
        bootstrap = self._t(t.truncated & ~t.terminated, torch.bool)
        if bootstrap.any():
            reward = reward + self.protocol.gamma * bootstrap * self._value(self._t(t.next_state))
        dones = self._t(t.terminated | t.truncated)
        self.rollout.add(
            obs=obs,
            state=state,
            avail=avail,
            actions=a,
            logp=logp,
            values=value,
            rewards=reward,
            dones=dones,
        )
        if len(self.rollout) < self.cfg.rollout_length:
            return None
        batch = self.rollout.stacked()
        batch["next_values"] = torch.cat(
            [batch["values"][1:], self._value(self._t(t.next_state))[None]]
        )
        self.rollout = Rollout()
        with torch.enable_grad():
            return self.update(batch)

    @torch.no_grad()
    def cut_episodes(self, obs, state, avail) -> None:
        """The rollout's last step becomes a truncation: its reward takes γ·V of where the
        episode stood, as observe() does for a time limit, and GAE stops there."""
        r = self.rollout.data
        if not r["rewards"]:
            return  # the last rollout bootstrapped from these states already
        running = 1.0 - r["dones"][-1]
        r["rewards"][-1] = r["rewards"][-1] + self.protocol.gamma * running * self._value(
            self._t(state)
        )
        r["dones"][-1] = torch.ones_like(r["dones"][-1])

    def advantages(self, b: dict):
        adv, returns = gae(
            b["rewards"],
            b["values"],
            b["next_values"],
            b["dones"],
            self.protocol.gamma,
            self.cfg.gae_lambda,
        )
        return adv, returns

    def critic_update(self, states, returns, old_values) -> float:
        """Clipped Huber value loss on normalised targets (HARL v_critic.py)."""
        cfg = self.cfg
        if cfg.value_norm:
            self.value_norm.update(returns)
            target = self.value_norm.normalize(returns)
            old = self.value_norm.normalize(old_values)
        else:
            target, old = returns, old_values
        total = 0.0
        for _ in range(cfg.epochs):
            for idx in minibatch_indices(states.shape[0], cfg.minibatches):
                v = self.critic(states[idx])
                v_clip = old[idx] + (v - old[idx]).clamp(-cfg.clip, cfg.clip)
                loss = torch.max(
                    F.huber_loss(v, target[idx], delta=cfg.huber_delta, reduction="none"),
                    F.huber_loss(v_clip, target[idx], delta=cfg.huber_delta, reduction="none"),
                ).mean()
                self.critic_opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.critic.parameters(), cfg.max_grad_norm)
                self.critic_opt.step()
                total += loss.item()
        return total / (cfg.epochs * cfg.minibatches)

    def ppo_surrogate(self, logp, old_logp, adv, factor=None):
        """Clipped surrogate, per sample; HAPPO multiplies by its compounded factor M."""
        ratio = torch.exp(logp - old_logp)
        weighted = adv if factor is None else factor * adv
        return torch.min(
            ratio * weighted, ratio.clamp(1 - self.cfg.clip, 1 + self.cfg.clip) * weighted
        )

    @abstractmethod
    def update(self, batch: dict) -> dict:
        """One policy iteration on a full rollout of [T, B, ...] tensors."""

    def state_dict(self):
        return {
            "policy": self.policy.state_dict(),
            "critic": self.critic.state_dict(),
            "value_norm": self.value_norm.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "rollout": self.rollout.data,
        }

    def load_state_dict(self, s):
        self.policy.load_state_dict(s["policy"])
        self.critic.load_state_dict(s["critic"])
        self.value_norm.load_state_dict(s["value_norm"])
        self.actor_opt.load_state_dict(s["actor_opt"])
        self.critic_opt.load_state_dict(s["critic_opt"])
        self.rollout.data = s["rollout"]
