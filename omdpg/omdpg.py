"""OMDPG: optimal marginal deterministic policy gradient (Yu, Lin, Wang, Han, arXiv:2507.09989).

OMQ (``omdpg/omq.py``) gives each agent an objective whose baseline no actor's update can move, GQC
(``omdpg/gqc.py``) is the pessimistic ensemble critic that supplies it, CCGA (the grouped
``DeterministicActors`` of ``omdpg/actors.py`` + GQC) puts grouped deterministic actors under one
centralised critic. ``OMDPG.update`` is one update in the order of docs/omdpg-algorithm.md 9.2:
sample, y_true, y_PU, critic step, every ``policy_freq`` critic steps the OMQ actor step of all
groups, Polyak update of every target network. The replay, warm-up and schedule are
``omdpg/offpolicy.py``'s, shared with every off-policy learner.

The options choose two variants, subclasses in ``omdpg/variants.py`` that override only what
differs: the prefix critic (``gqc.form=prefix``, ``omq.max_impl=prefix_critic``) and HATD3's
sequential scheme (``omq.marginal=expect``), the OMQ-vs-Q^s ablation.

Differences from HARL's HATD3 (harl/algorithms/actors/hatd3.py), whose off-policy skeleton this
follows: the actors are updated simultaneously against OMQ instead of sequentially against Q^s;
the critic is a C_k-head ensemble with the PU loss instead of twin critics; discrete actions
(SMAC/SMAX) ascend the exact expectation of φ* over their available actions plus an entropy bonus
(HASAC's soft objective; α fixed, or tuned per group: ``actor.alpha``); actors are shared per
group (ParPS).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from omdpg.actors import DeterministicActors, mean_over_choices
from omdpg.config import option
from omdpg.envs.registry import backend
from omdpg.errors import UserError
from omdpg.gqc import (
    OOD,
    GQCritic,
    ensemble_estimate,
    gqc_loss,
    off_data,
    ood_joint_actions,
    ood_rows,
    pu_targets,
    y_true,
)
from omdpg.networks import soft_update
from omdpg.offpolicy import OffPolicyLearner, TD3Config
from omdpg.omq import omq_values, positions
from omdpg.replay import Batch
from omdpg.temperature import Temperature

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
    pu_target: str = option(
        "shared",
        "y_PU: one target mean - beta*std for every head (shared), or each head's own "
        "Q'_c - beta*std (per_head, PBRL); docs 9.3",
        choices=("shared", "per_head"),
    )
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
    first_layer: str = option(
        "gather",
        "how discrete joint actions enter each head's first layer: gather (a state product per "
        "sample plus a sum of per-agent weight rows, and the expected actor step skips actions "
        "with pi_i = 0; exact, docs 9.3) or matmul (one-hot vectors through the full product: "
        "the plain path, kept for make bench)",
        choices=("gather", "matmul"),
    )


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
        "discrete: alpha, weight of the policy's entropy in the actor objective (HASAC's soft "
        "objective): its value (actor.alpha=fixed) or its start (auto)",
        min=0.0,
    )
    alpha: str = option(
        "fixed",
        "discrete: alpha fixed at actor.entropy_coef, or auto: one alpha per group stepped "
        "towards actor.target_entropy (SAC's temperature loss, HARL HASAC's auto_alpha; "
        "omdpg/temperature.py)",
        choices=("fixed", "auto"),
    )
    target_entropy: float = option(
        0.0,
        "auto alpha: the target entropy as a fraction of log(available actions); 0 is HARL HASAC's "
        "discrete target as it computes it, under which alpha only falls",
        min=0.0,
        max=1.0,
    )
    alpha_lr: float = option(3e-4, "auto alpha: Adam learning rate of log alpha (HARL)", min=0.0)
    agent_id: str = option(
        "within_group",
        "one-hot id appended to observations",
        choices=("within_group", "global", "none"),
    )
    hidden: tuple[int, ...] = option((256, 256), "actor hidden sizes (HARL tuned)", min=1)
    lr: float = option(5e-4, "actor learning rate (HARL HATD3)", min=0.0)


@dataclass
class OMDPGConfig:
    omq: OMQConfig = field(default_factory=OMQConfig)
    gqc: GQCConfig = field(default_factory=GQCConfig)
    actor: ActorConfig = field(default_factory=ActorConfig)
    train: TD3Config = field(default_factory=TD3Config)

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
        if self.actor.alpha == "auto" and self.actor.entropy_coef <= 0:
            raise UserError(
                "actor.alpha=auto starts log alpha at log(actor.entropy_coef), so it needs "
                "actor.entropy_coef > 0 (e.g. 0.02), or actor.alpha=fixed for no entropy term"
            )
        if self.omq.marginal == "expect" and self.omq.max_impl != "joint_critic":
            raise UserError(
                "omq.marginal=expect is the sequential scheme on the joint critic: "
                "set omq.max_impl=joint_critic"
            )


class OMDPG(OffPolicyLearner):
    """OMDPG: optimal marginal Q (OMQ), pessimistic ensemble critic (GQC), grouped actors (CCGA)."""

    Config = OMDPGConfig
    sharing = "ParPS by capability groups (CCGA); any grouping"
    default_grouping = "type"
    policy_modules = ("actor",)
    metrics = (
        "critic_loss",
        "td_loss",
        "pu_loss",
        "actor_loss",
        "q_mean",
        "q_std",
        "q_std_ood",
        "policy_entropy",
        "alpha",
        "replay_mb",
    )
    discrete_only_metrics = ("policy_entropy", "alpha")  # a deterministic policy has no entropy
    prefix = False  # GQC of joint actions; variants.PrefixOMDPG's is of prefixes

    def __new__(cls, spec, groups, cfg: OMDPGConfig, *args, **kwargs):
        """The options choose the variant, so ``--algo omdpg`` keeps every option (docs 9.3)."""
        if cls is OMDPG:
            from omdpg.variants import PrefixOMDPG, SequentialOMDPG  # they subclass OMDPG

            if cfg.gqc.form == "prefix":
                cls = PrefixOMDPG
            elif cfg.omq.marginal == "expect":
                cls = SequentialOMDPG
        return super().__new__(cls)

    @classmethod
    def default_config(cls, env: str) -> OMDPGConfig:
        """HARL's tuned values per action space; the discrete ones are docs section 13's sweep."""
        cfg = OMDPGConfig()
        if not backend(env).discrete:
            return cfg
        cfg.train.n_step = 20  # HARL HASAC tuned SMAC
        cfg.gqc.out_gain = 0.01  # Q starts below the reward scale
        cfg.train.batch_size = 512  # with default_n_envs: the schedule screen's winner
        return cfg

    @classmethod
    def default_n_envs(cls, env: str) -> int:
        """16 envs with batches of 512 (0.0625 gradient steps per env step) on discrete envs: the
        schedule screen on SMAX 3m (evidence/schedule, docs/performance.md) found it reaches its
        target sooner in wall-clock time than 8 x 256 or HASAC's 20 x 1,000."""
        return 16 if backend(env).discrete else super().default_n_envs(env)

    @classmethod
    def check_env(cls, cfg: OMDPGConfig, env: str) -> None:
        if cfg.actor.alpha == "auto" and not backend(env).discrete:
            raise UserError(
                f"actor.alpha=auto tunes the entropy weight of discrete policies, and {env}'s "
                "actions are continuous (deterministic actors, no entropy): drop it"
            )

    def __init__(self, spec, groups, cfg: OMDPGConfig, protocol, n_envs, device):
        super().__init__(spec, groups, cfg, protocol, n_envs, device)
        self.n, self.A = spec.n_agents, spec.n_actions
        a, g = cfg.actor, cfg.gqc
        self.actor = DeterministicActors(spec, groups, a.hidden, a.agent_id).to(device)
        self.critic = GQCritic(
            spec.state_dim,
            self.n,
            self.A,
            g.ensemble_size,
            g.hidden,
            prefix=self.prefix,
            out_gain=g.out_gain,
            gather=g.first_layer == "gather",
            skip_unneeded=not self.capturable,
        ).to(device)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_opt = self.actor_optimizer(a.lr)
        self.critic_opt = torch.optim.Adam(
            self.critic.parameters(), lr=g.lr, capturable=self.capturable
        )
        self.temperature = None  # actor.alpha=fixed: α is a number; auto adds it to checkpoints
        if a.alpha == "auto" and spec.discrete:  # continuous envs refuse it (check_env)
            self.temperature = Temperature(a.entropy_coef, groups.of_agent).to(device)
            self.temperature_opt = torch.optim.Adam(
                self.temperature.parameters(), lr=a.alpha_lr, capturable=self.capturable
            )

    def actor_optimizer(self, lr: float) -> torch.optim.Optimizer:
        """OMQ steps all groups at once: Adam is elementwise, so one Adam on the stacked weights is
        one step per group (variants.SequentialOMDPG steps one group at a time: MemberAdam)."""
        return torch.optim.Adam(self.actor.parameters(), lr=lr, capturable=self.capturable)

    def policy(self, obs, avail, explore):
        out = self.actor(obs, avail)
        if not explore:
            return self.actor.greedy(out)
        a = self.cfg.actor
        return self.actor.explore(
            out, avail, self.cfg.train.expl_noise, a.discrete_explore, a.epsilon
        )

    # --- one update -----------------------------------------------------------------------------
    def update(self) -> dict:
        tc, g = self.cfg.train, self.cfg.gqc
        b = self.batch()
        a_t = self.joint(b.actions)  # discrete: action indices, which GQCritic gathers
        pos = positions(self.n, self.cfg.omq.order, self.device)
        actor_due = self.every(tc.policy_freq)
        with torch.set_grad_enabled(actor_due):  # one actor forward gives a* and the actor loss
            out = self.actor(b.obs, b.avail)
        a_star = self.joint(self.actor.greedy(out.detach()))  # a*_i = μ_g(i)(o_i), stop-gradient
        rows = ood_rows(len(b.reward), self.n, g.ood_agents, self.device)  # [B, K]
        with torch.no_grad():
            q_next = self.next_value(b, pos)
            target = y_true(b.reward, b.discount, q_next, g.target_aggregate, g.pu_std_coef)
            ood = self.ood(b, a_t, a_star, rows, pos)
            target_pu = pu_targets(ood.q_target, g.pu_std_coef, g.pu_target)  # [(C,) B, K]
        metrics = self.critic_step(b, a_t, target, ood, target_pu)
        if actor_due:
            metrics["actor_loss"] = self.actor_step(b, a_t, a_star, out, pos)
            if self.actor.discrete:  # the policy before this step, from the forward that made a*
                entropy = self.actor.entropy(out.detach(), self.cfg.actor.gumbel_tau)
                metrics["policy_entropy"] = mean_over_choices(entropy, b.avail)
                metrics["alpha"] = torch.as_tensor(self.alpha(), device=self.device).mean()
                if self.temperature is not None:
                    self.temperature_step(entropy, b.avail)
            soft_update(self.actor_target, self.actor, tc.tau)
            soft_update(self.critic_target, self.critic, tc.tau)
        return metrics

    def alpha(self) -> float | torch.Tensor:
        """The entropy weight of each agent's objective: ``actor.entropy_coef``, or [n] (auto)."""
        if self.temperature is None:
            return self.cfg.actor.entropy_coef
        return self.temperature().detach()

    def temperature_step(self, entropy: torch.Tensor, avail: torch.Tensor) -> None:
        """One Adam step of log α towards the target entropy (omdpg/temperature.py)."""
        loss = self.temperature.loss(entropy, avail, self.cfg.actor.target_entropy)
        self.temperature_opt.zero_grad()
        loss.backward()
        self.temperature_opt.step()

    def joint(self, actions: torch.Tensor) -> torch.Tensor:
        """Joint actions as this learner's code builds them: discrete indices [B, n] (GQCritic
        takes them as they are), continuous [B, n, A]."""
        return actions

    def next_value(self, b: Batch, pos: torch.Tensor) -> torch.Tensor:
        """Q'_c(s', μ'(o')) [C, B] at the target actors' greedy joint action, TD3-smoothed."""
        tc = self.cfg.train
        a_next = self.actor_target.smoothed(
            self.actor_target(b.next_obs, b.next_avail), tc.policy_noise, tc.noise_clip
        )
        return self.critic_target(b.next_state, a_next)

    def context(self, b: Batch, a_t, a_star, pos) -> torch.Tensor:
        """a^ctx, the earlier agents' actions in each objective (``omq.context``), as ``joint``."""
        return a_t if self.cfg.omq.context == "buffer" else a_star

    def ood(self, b: Batch, a_t, a_star, rows, pos) -> OOD:
        """ã^(i) for the agents in ``rows`` and the target heads there."""
        actions = ood_joint_actions(self.context(b, a_t, a_star, pos), a_star, pos, rows)
        return OOD(actions, None, self.critic_target(b.state, actions), off_data(actions, a_t))

    def critic_values(self, b: Batch, a_t, ood: OOD) -> torch.Tensor:
        """Q_c [C, B, 1 + K] at the data's joint action (row 0) and, with the PU term, at ã."""
        use_pu = self.cfg.gqc.lambda_pu > 0
        return self.critic(
            b.state, torch.cat([a_t[:, None], ood.actions], 1) if use_pu else a_t[:, None]
        )

    def critic_step(self, b: Batch, a_t, target, ood: OOD, target_pu) -> dict:
        """GQC (4.2): TD to y_true at the data and λ_PU·PU to y_PU at ã, one step on all heads."""
        g = self.cfg.gqc
        q = self.critic_values(b, a_t, ood)
        loss, td, pu = gqc_loss(
            q[..., 0],
            target,
            q[..., 1:],
            target_pu,
            g.lambda_pu,
            g.loss,
            g.huber_delta,
            ood.weight,
        )
        self.critic_opt.zero_grad()
        loss.backward()
        self.critic_opt.step()
        q_data = q[..., 0].detach()
        metrics = {
            "critic_loss": loss.detach(),
            "td_loss": td.detach(),
            "q_mean": q_data.mean(),
            "q_std": q_data.std(0).mean(),
            "q_std_ood": ood.q_target.std(0).mean(),
        }
        if pu is not None:  # λ_PU = 0: no PU term, an empty pu_loss cell
            metrics["pu_loss"] = pu.detach()
        return metrics

    def actor_step(self, b: Batch, a_t, a_star, out, pos) -> torch.Tensor:
        """OMQ (4.1): every agent ascends its objective at (a^ctx_1:i-1, μ_g(i)(o_i), sg(a*_i+1:n)),
        all agents in one critic call; a group's gradient sums over its members; one step."""
        ctx = self.context(b, a_t, a_star, pos)
        loss = -self.agent_values(b.state, ctx, a_star, out, pos).mean(0).sum()
        self.actor_opt.zero_grad()
        loss.backward()
        self.actor_opt.step()
        return loss.detach() / self.n

    def agent_values(self, state, ctx, a_star, out, pos) -> torch.Tensor:
        """Every agent's OMQ objective (``omq_values``) at the actor options, [B, n]."""
        a = self.cfg.actor
        return omq_values(
            self.critic,
            self.actor,
            state,
            ctx,
            a_star,
            out,
            pos,
            a.discrete_relax,
            a.gumbel_tau,
            self.alpha(),
            self.actor_estimate,
        )

    def actor_estimate(self, q: torch.Tensor) -> torch.Tensor:
        """agg_c over the heads (dim 0) in the actors' objective (``actor.q_estimate``)."""
        return ensemble_estimate(q, self.cfg.actor.q_estimate, self.cfg.gqc.pu_std_coef)
