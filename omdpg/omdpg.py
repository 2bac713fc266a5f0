"""OMDPG: optimal marginal deterministic policy gradient (Yu, Lin, Wang, Han, arXiv:2507.09989).

OMQ (``omdpg/omq.py``) gives each agent an objective whose baseline no actor's update can move, GQC
(``omdpg/gqc.py``) is the pessimistic ensemble critic that supplies it, CCGA (``omdpg/ccga.py`` +
GQC) puts grouped deterministic actors under one centralised critic. One update, in the order of
docs/omdpg-algorithm.md section 5: critic target, PU target, critic step, all groups' actor step
every ``policy_freq`` critic steps, Polyak update of every target network.

Differences from HARL's HATD3 (harl/algorithms/actors/hatd3.py), whose off-policy skeleton this
follows: the actors are updated simultaneously against OMQ instead of sequentially against Q^s
(``omq.marginal=expect`` restores the sequential scheme); the critic is a C_k-head ensemble with the
PU loss instead of twin critics; discrete actions (SMAC/SMAX) ascend the exact expectation of
φ* over their available actions plus an entropy bonus (HASAC's soft objective, fixed α); actors
are shared per group (ParPS).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from omdpg.ccga import DeterministicActors
from omdpg.config import option
from omdpg.errors import UserError
from omdpg.gqc import GQCritic, ensemble_estimate, gqc_loss, y_pu, y_true
from omdpg.learner import Learner, Transition
from omdpg.networks import soft_update
from omdpg.omq import (
    empty_prefix_value,
    every_own_action,
    extend_prefix,
    greedy_sequence,
    joint_actions,
    ood_rows,
    positions,
    prefix_masks,
    take_rows,
)
from omdpg.replay import Batch, ReplayBuffer

# Every option's label ([paper] / [background] / [reconstruction]): docs/omdpg-algorithm.md 9.3.


@dataclass
class OMQConfig:
    marginal: str = option(
        "max",
        "phi* marginalises later agents by max (OMQ) or by the current "
        "policies, updated one by one (expect: HATD3's sequential Q^s)",
        choices=("max", "expect"),
    )
    max_impl: str = option(
        "joint_critic",
        "phi* from the joint critic at the actors' greedy "
        "suffix, or a prefix critic with exact max (needs gqc.form=prefix)",
        choices=("joint_critic", "prefix_critic"),
    )
    context: str = option(
        "buffer",
        "earlier agents' actions in agent i's objective (max only)",
        choices=("buffer", "optimal"),
    )
    order: str = option(
        "index",
        "agent order: env index, or a random permutation per update",
        choices=("index", "random"),
    )


@dataclass
class GQCConfig:
    form: str = option(
        "joint",
        "critic of joint actions, or of action prefixes (prefix_critic)",
        choices=("joint", "prefix"),
    )
    next_value: str = option(
        "empty_prefix",
        "prefix form: next-state value phi'(s', empty) or "
        "phi' along the rolled-out optimal sequence",
        choices=("empty_prefix", "rollout"),
    )
    # The maxima are config/schemas/study.schema.yaml's (a test holds them equal).
    ensemble_size: int = option(5, "C_k, critic heads (paper: 5)", min=1, max=64)
    lambda_pu: float = option(
        0.1,
        "lambda_PU, weight of the pessimistic-uncertainty term (paper: 0.1; 0 removes it)",
        min=0.0,
        max=100.0,
    )
    pu_std_coef: float = option(1.0, "beta in y_PU = mean - beta*std over heads", min=0.0)
    target_aggregate: str = option(
        "min", "heads' aggregate in y_true", choices=("min", "mean_minus_std")
    )
    ood_agents: str = option(
        "all", "OOD joint actions per sample in the PU term", choices=("all", "one_random")
    )
    loss: str = option("mse", "critic regression loss", choices=("mse", "huber"))
    huber_delta: float = option(10.0, "Huber delta", min=0.0)
    hidden: tuple[int, ...] = option((256, 256), "hidden sizes of every head (HARL tuned)", min=1)
    out_gain: float = option(
        1.0,
        "orthogonal init gain of each head's output layer (SMAX/SMAC "
        "default 0.01: Q starts near 0, below the reward scale; docs 13)",
        min=0.0,
    )
    lr: float = option(1e-3, "critic learning rate (HARL HATD3)", min=0.0)


@dataclass
class ActorConfig:
    q_estimate: str = option(
        "min",
        "heads' aggregate the actors ascend (paper: min)",
        choices=("min", "mean", "mean_minus_std"),
    )
    discrete_relax: str = option(
        "expected",
        "gradient path of discrete actions: through the "
        "critic (straight-through Gumbel, softmax) or the expectation of "
        "phi* over all available actions (expected)",
        choices=("st_gumbel", "softmax", "expected"),
    )
    gumbel_tau: float = option(1.0, "temperature of the discrete relaxation", min=1e-6)
    discrete_explore: str = option(
        "gumbel",
        "discrete exploration: sample the masked logits, or epsilon-greedy over available actions",
        choices=("gumbel", "eps_greedy"),
    )
    epsilon: float = option(0.05, "epsilon of eps_greedy", min=0.0, max=1.0)
    entropy_coef: float = option(
        0.02,
        "discrete: alpha, weight of the policy's entropy in the "
        "actor objective (HASAC's soft objective, fixed alpha)",
        min=0.0,
    )
    agent_id: str = option(
        "within_group",
        "one-hot id appended to observations",
        choices=("within_group", "global", "none"),
    )
    hidden: tuple[int, ...] = option((256, 256), "actor hidden sizes (HARL tuned)", min=1)
    lr: float = option(5e-4, "actor learning rate (HARL HATD3)", min=0.0)
    expl_noise: float = option(0.1, "continuous: Gaussian exploration noise std", min=0.0)
    policy_noise: float = option(0.2, "continuous: TD3 target smoothing noise std", min=0.0)
    noise_clip: float = option(0.5, "continuous: clip of the target smoothing noise", min=0.0)


@dataclass
class TrainConfig:
    n_step: int = option(1, "n-step returns (HARL tuned: 10-20; SMAX/SMAC default 20)", min=1)
    buffer_size: int = option(
        200_000, "replay capacity in transitions (HARL 1e6; CPU default)", min=1
    )
    buffer_dtype: str = option(
        "float32", "storage of observations and states", choices=("float32", "float16")
    )
    checkpoint_buffer: bool = option(True, "save the replay buffer in checkpoints (exact resume)")
    batch_size: int = option(256, "mini-batch (HARL 1000; CPU default)", min=1)
    warmup_steps: int = option(10_000, "env steps of uniformly random available actions", min=0)
    train_interval: int = option(50, "batched env steps between training phases", min=1)
    update_per_train: float = option(
        1.0, "gradient steps per batched env step in a phase (HARL: update-to-data ratio)", min=0.0
    )
    policy_freq: int = option(2, "critic steps per actor step (TD3)", min=1)
    tau: float = option(0.005, "Polyak rate of target networks", min=0.0, max=1.0)


@dataclass
class OMDPGConfig:
    omq: OMQConfig = field(default_factory=OMQConfig)
    gqc: GQCConfig = field(default_factory=GQCConfig)
    actor: ActorConfig = field(default_factory=ActorConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def check(self) -> None:
        if (self.omq.max_impl == "prefix_critic") != (self.gqc.form == "prefix"):
            raise UserError(
                f"omq.max_impl={self.omq.max_impl} needs gqc.form="
                f"{'prefix' if self.omq.max_impl == 'prefix_critic' else 'joint'}: "
                f"set both, the prefix critic is what prefix_critic maximises"
            )
        if self.gqc.form == "prefix" and self.gqc.lambda_pu == 0:
            raise UserError(
                "gqc.form=prefix with gqc.lambda_pu=0 leaves the prefix heads "
                "untrained: use gqc.lambda_pu > 0, or gqc.form=joint for the ablation"
            )
        if self.omq.marginal == "expect" and self.omq.max_impl != "joint_critic":
            raise UserError(
                "omq.marginal=expect is the sequential scheme on the joint critic: "
                "set omq.max_impl=joint_critic"
            )


class OMDPG(Learner):
    """OMDPG: optimal marginal Q (OMQ), pessimistic ensemble critic (GQC), grouped actors (CCGA)."""

    Config = OMDPGConfig
    sharing = "ParPS by capability groups (CCGA); any grouping"
    default_grouping = "type"
    metrics = (
        "critic_loss",
        "td_loss",
        "pu_loss",
        "actor_loss",
        "q_mean",
        "q_std",
        "q_std_ood",
        "replay_mb",
    )

    @classmethod
    def default_config(cls, env: str) -> OMDPGConfig:
        """HARL's tuned values per action space; the discrete ones are docs section 13's sweep."""
        cfg = OMDPGConfig()
        if env == "mamujoco":
            return cfg
        cfg.train.n_step = 20  # HARL HASAC tuned SMAC
        cfg.gqc.out_gain = 0.01  # Q starts below the reward scale
        return cfg

    def __init__(self, spec, groups, cfg: OMDPGConfig, protocol, n_envs, device):
        super().__init__(spec, groups, cfg, protocol, n_envs, device)
        self.n, self.A = spec.n_agents, spec.n_actions
        self.actor = DeterministicActors(spec, groups, cfg.actor.hidden, cfg.actor.agent_id).to(
            device
        )
        self.critic = GQCritic(
            spec.state_dim,
            self.n,
            self.A,
            cfg.gqc.ensemble_size,
            cfg.gqc.hidden,
            prefix=cfg.gqc.form == "prefix",
            out_gain=cfg.gqc.out_gain,
        ).to(device)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        # The sequential scheme steps one group at a time, so each group needs its own Adam state;
        # an Adam that never sees a gradient on a row never moves it. OMQ steps all groups at once:
        # Adam is elementwise, so one optimiser on the stacked weights is one step per group.
        n_opts = groups.n_groups if cfg.omq.marginal == "expect" else 1
        self.actor_opts = [
            torch.optim.Adam(self.actor.parameters(), lr=cfg.actor.lr) for _ in range(n_opts)
        ]
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.gqc.lr)
        self.buffer = ReplayBuffer(spec, n_envs, cfg.train.buffer_size, cfg.train.buffer_dtype)
        self.counters = {"env_steps": 0, "batched_steps": 0, "updates": 0}

    # --- acting ---------------------------------------------------------------------------------
    def _t(self, x, dtype=torch.float32):
        return None if x is None else torch.as_tensor(x, dtype=dtype, device=self.device)

    @torch.no_grad()
    def act(self, obs, state, avail, explore):
        obs_t, avail_t = self._t(obs), self._t(avail, torch.bool)
        if explore and self.counters["env_steps"] < self.cfg.train.warmup_steps:
            return self.actor.uniform(obs_t, avail_t).cpu().numpy()
        out = self.actor(obs_t, avail_t)
        if not explore:  # evaluation: masked argmax / noise-free μ(o)
            a = out.argmax(-1) if self.spec.discrete else out
        else:
            c = self.cfg.actor
            a = self.actor.explore(out, avail_t, c.discrete_explore, c.epsilon, c.expl_noise)
        return a.cpu().numpy()

    def observe(self, t: Transition):
        self.buffer.add(t)
        c, tc = self.counters, self.cfg.train
        c["env_steps"] += self.n_envs
        c["batched_steps"] += 1
        n_updates = round(tc.train_interval * tc.update_per_train)  # HARL off-policy runner
        if (
            c["env_steps"] < tc.warmup_steps
            or c["batched_steps"] % tc.train_interval
            or n_updates == 0
            or not self.buffer.can_sample(tc.n_step)
        ):
            return None
        with torch.enable_grad():
            logs = [self.update() for _ in range(n_updates)]
        keys = {k for m in logs for k in m}  # actor_loss only every policy_freq updates
        means = torch.stack([torch.stack([m[k] for m in logs if k in m]).mean() for k in keys])
        out = dict(zip(keys, means.tolist()))
        out["replay_mb"] = len(self.buffer) * self.buffer.bytes_per_transition / 1e6
        return out

    # --- one update ---------------------------------------------------------------------------
    def update(self) -> dict:
        tc = self.cfg.train
        b = self.buffer.sample(tc.batch_size, tc.n_step, self.protocol.gamma, self.device)
        a_t = self.actor.one_hot(b.actions) if self.spec.discrete else b.actions  # critic input
        pos = positions(self.n, self.cfg.omq.order, self.device)
        self.counters["updates"] += 1
        actor_due = self.counters["updates"] % tc.policy_freq == 0
        with torch.set_grad_enabled(actor_due):  # one actor forward gives a* and the actor loss
            out = self.actor(b.obs, b.avail)
        a_star = self.actor.greedy(out.detach())  # a*_i = μ_g(i)(o_i), stop-gradient
        metrics = self.critic_step(b, a_t, a_star, pos)
        if actor_due:
            metrics["actor_loss"] = (
                self.sequential_actor_step(b, out.detach())
                if self.cfg.omq.marginal == "expect"
                else self.actor_step(b, a_t, a_star, out, pos)
            )
            soft_update(self.actor_target, self.actor, tc.tau)
            soft_update(self.critic_target, self.critic, tc.tau)
        return metrics

    def candidates(self, actor: DeterministicActors, obs, avail):
        """Each agent's candidate actions for prefix_critic's max: all available one-hots
        (discrete) or the actor's greedy output (continuous). [B, n, M, A], validity [B, n, M]."""
        if self.spec.discrete:
            return torch.eye(self.A, device=self.device).expand(*obs.shape[:2], -1, -1), avail
        return actor.greedy(actor(obs, avail))[:, :, None], None

    def target_action(self, b: Batch) -> torch.Tensor:
        """μ'(o') greedy; continuous: + clipped Gaussian smoothing (TD3, HARL hatd3.py)."""
        a = self.actor_target.greedy(self.actor_target(b.next_obs, b.next_avail))
        if self.spec.discrete:
            return a
        c = self.cfg.actor
        noise = (torch.randn_like(a) * c.policy_noise).clamp(-c.noise_clip, c.noise_clip)
        return (a + noise).clamp(-1, 1) * self.actor.dim_mask

    def critic_step(self, b: Batch, a_t, a_star, pos) -> dict:
        """GQC (4.2): y_true on the data, y_PU on OMQ's OOD joint actions, one step on all heads."""
        g = self.cfg.gqc
        beta, B, prefix = g.pu_std_coef, a_t.shape[0], g.form == "prefix"
        rows = ood_rows(B, self.n, g.ood_agents, self.device)  # [B, K]
        with torch.no_grad():
            if not prefix:  # y_true at the target actors' greedy next joint action
                q_next = self.critic_target(b.next_state, self.target_action(b))
            elif g.next_value == "empty_prefix":
                q_next = empty_prefix_value(self.critic_target, b.next_state, self.n, self.A)
            else:  # φ' along the optimal sequence at s', found with φ' itself
                cand, valid = self.candidates(self.actor_target, b.next_obs, b.next_avail)
                q_next = greedy_sequence(self.critic_target, b.next_state, cand, valid, pos)[1]
            target = y_true(b.reward, b.discount, q_next, g.target_aggregate, beta)
            if prefix:  # OOD: each data prefix a_1:i extended by the best next action
                cand, valid = self.candidates(self.actor_target, b.obs, b.avail)
                prefixes = a_t[:, None].expand(-1, rows.shape[1], -1, -1)
                q_ood_t, _ = extend_prefix(
                    self.critic_target, b.state, prefixes, rows, pos, cand, valid
                )
            else:  # OOD: the joint actions OMQ evaluates, at the greedy actors
                ctx = a_t if self.cfg.omq.context == "buffer" else a_star
                ood = take_rows(joint_actions(ctx, a_star, a_star, pos), rows)  # [B, K, n, A]
                q_ood_t = self.critic_target(b.state, ood)
            target_pu = y_pu(q_ood_t, beta)  # [B, K]
        use_pu = g.lambda_pu > 0
        if prefix:  # row 0: the full joint action (TD); rows 1..K: prefixes of length `rows`
            full = torch.ones(B, 1, self.n, dtype=torch.bool, device=self.device)
            q = self.critic(
                b.state,
                a_t[:, None].expand(-1, 1 + rows.shape[1], -1, -1),
                torch.cat([full, pos < rows[..., None]], 1),
            )
        else:
            q = self.critic(b.state, torch.cat([a_t[:, None], ood], 1) if use_pu else a_t[:, None])
        loss, td, pu = gqc_loss(
            q[..., 0],
            target,
            q[..., 1:] if use_pu else None,
            target_pu if use_pu else None,
            g.lambda_pu,
            g.loss,
            g.huber_delta,
        )
        self.critic_opt.zero_grad()
        loss.backward()
        self.critic_opt.step()
        # Tensors, not floats: one device sync per training phase (observe), not per update.
        metrics = {
            "critic_loss": loss.detach(),
            "td_loss": td.detach(),
            "q_mean": q[..., 0].detach().mean(),
            "q_std": q[..., 0].detach().std(0).mean(),
            "q_std_ood": q_ood_t.std(0).mean(),
        }
        if pu is not None:  # λ_PU = 0: no PU term, an empty pu_loss cell
            metrics["pu_loss"] = pu.detach()
        return metrics

    def actor_step(self, b: Batch, a_t, a_star, out, pos) -> torch.Tensor:
        """OMQ (4.1): every agent i ascends agg_c Q_c(s, a^ctx_1:i-1, μ_g(i)(o_i), sg(a*_i+1:n)),
        all agents in one critic call; a group's gradient sums over its members; one step."""
        o = self.cfg.omq
        if o.max_impl == "prefix_critic" and o.context == "optimal":
            with torch.no_grad():  # the exact optimal sequence; the prefix mask drops a*_i+1:n
                cand, valid = self.candidates(self.actor, b.obs, b.avail)
                a_star = greedy_sequence(self.critic, b.state, cand, valid, pos)[0]
        ctx = a_t if o.context == "buffer" else a_star
        loss = -self.agent_values(b.state, ctx, a_star, out, pos).mean(0).sum()
        self.actor_opts[0].zero_grad()
        loss.backward()
        self.actor_opts[0].step()
        return loss.detach() / self.n

    def agent_values(self, state, ctx, a_star, out, pos) -> torch.Tensor:
        """agg_c φ*(s, ctx_1:i-1, μ_g(i)(o_i), a*_i+1:n) for every agent i, [B, n], differentiable
        in the actor output ``out`` only, through the relaxed action or the exact expectation."""
        a = self.cfg.actor
        masks = prefix_masks(pos) if self.critic.prefix else None
        self.critic.requires_grad_(False)  # the actor loss must not train the critic
        if self.spec.discrete and a.discrete_relax == "expected":
            # Σ_k π_i(k) φ*(s, ctx, k, a*): every action of every agent in one critic call.
            with torch.no_grad():
                q = self.critic(
                    state,
                    every_own_action(ctx, a_star, pos),
                    None if masks is None else masks[:, None],
                )  # [C, B, n, A]
            value = (
                torch.softmax(out / a.gumbel_tau, -1)
                * ensemble_estimate(q, a.q_estimate, self.cfg.gqc.pu_std_coef)
            ).sum(-1)
        else:
            own = self.actor.relaxed(out, a.discrete_relax, a.gumbel_tau)
            q = self.critic(state, joint_actions(ctx, own, a_star, pos), masks)  # [C, B, n]
            value = ensemble_estimate(q, a.q_estimate, self.cfg.gqc.pu_std_coef)
        self.critic.requires_grad_(True)
        if self.spec.discrete and a.entropy_coef > 0:  # + α H(π_i): no collapse onto critic noise
            value = (
                value
                + a.entropy_coef
                * torch.distributions.Categorical(logits=out / a.gumbel_tau).entropy()
            )
        return value

    def sequential_actor_step(self, b: Batch, out: torch.Tensor) -> torch.Tensor:
        """The ablation omq.marginal=expect: HATD3's sequential scheme (docs 2.5). In order, agent
        i ascends Q(s, updated a_1:i-1, μ_g(i)(o_i), current a_i+1:n), its group takes one step, and
        its updated greedy action replaces a_i. With ParPS a group steps once per member."""
        current = self.actor.greedy(out)
        pos = torch.arange(self.n, device=self.device)  # `current` holds both sides of agent i
        order = torch.randperm(self.n) if self.cfg.omq.order == "random" else range(self.n)
        total = 0.0
        for i in map(int, order):
            loss = -self.agent_values(b.state, current, current, self.actor(b.obs, b.avail), pos)[
                :, i
            ].mean()
            opt = self.actor_opts[self.groups.of_agent[i]]
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.detach()
            with torch.no_grad():
                is_i = torch.arange(self.n, device=self.device)[:, None] == i
                current = torch.where(is_i, self.actor.greedy(self.actor(b.obs, b.avail)), current)
        return total / self.n

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_opts": [o.state_dict() for o in self.actor_opts],
            "critic_opt": self.critic_opt.state_dict(),
            "counters": dict(self.counters),
            "buffer": self.buffer.state_dict() if self.cfg.train.checkpoint_buffer else None,
        }

    def load_state_dict(self, s: dict) -> None:
        for name in ("actor", "critic", "actor_target", "critic_target"):
            getattr(self, name).load_state_dict(s[name])
        for opt, saved in zip(self.actor_opts, s["actor_opts"]):
            opt.load_state_dict(saved)
        self.critic_opt.load_state_dict(s["critic_opt"])
        self.counters = dict(s["counters"])
        if s["buffer"] is not None:
            self.buffer.load_state_dict(s["buffer"])
