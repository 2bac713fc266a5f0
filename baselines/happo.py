"""HAPPO (Kuba et al., ICLR 2022, arXiv:2109.11251): sequential per-agent PPO with the compounded
factor M (docs/omdpg-algorithm.md 2.4 [background]), and the drift statistic of section 7.

One iteration, as HARL's harl/runners/on_policy_ha_runner.py ``train``:
1. GAE advantages from the centralised V(s) (shared with MAPPO, baselines/onpolicy.py);
2. draw a random order of the agents (``fixed_order`` keeps index order); M = 1 for every sample;
3. for each agent i_m in that order: PPO epochs on
   ``-mean(M * min(r A, clip(r, 1±ε) A)) - c_H H`` with r = π_θ/π_rollout of agent i_m only, one
   Adam per network; then M *= exp(log π_new − log π_old) of the agent just updated, both log-probs
   recomputed on the whole batch right before and right after its update;
4. the critic update.

Parameter sharing comes from --grouping: ``none`` (NoPS, HAPPO's own setting and the default),
``type`` (ParPS: agents of a group update one shared network in turn, the setting in which the
paper reports "policy updating baseline drift") and ``single`` (FuPS, HARL's share_param).
``block=group`` treats each group as one block agent whose action is the members' joint action
(ratio = product over members, HARL's action_aggregation "prod"): group-level HAPPO, for which
MAAD still holds under ParPS (docs/omdpg-algorithm.md 7 [reconstruction]).

Drift (docs/baselines.md): after the iteration, the factor each block was given is compared with
the factor certified by the final parameters, log M_final − log M_used, per sample.

Differences from HARL: MLP actors only (no RNN); EP state only (one V(s) per env); the factor is
accumulated in log space and exponentiated where used (HARL multiplies exponentials: same value up
to rounding); an agent is active (HARL's active mask) when more than one action is available to it,
which is how SMAC and SMAX mark dead agents (their only action is the no-op/stop); the actor loss
is a mean over the active samples of the block as HARL's use_policy_active_masks, and advantages
are normalised per block over those samples as HARL's EP branch (happo.py ``train``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from baselines.onpolicy import OnPolicyConfig, OnPolicyLearner, active_agents, minibatch_indices
from omdpg.config import option
from omdpg.member_adam import MemberAdam


@dataclass
class HAPPOConfig(OnPolicyConfig):
    fixed_order: bool = option(
        False,
        "update in agent index order instead of a new random order "
        "every iteration (HARL fixed_order)",
    )
    block: str = option(
        "agent",
        "unit of the sequential scheme: each agent (HAPPO) or each "
        "--grouping group as one block agent (group-level HAPPO)",
        choices=("agent", "group"),
    )
    equal_steps: bool = option(
        False,
        "the equal-step control of ParPS: a network shared by k member blocks steps with lr / k, "
        "so drift and 'more Adam steps' are told apart (docs/baselines.md)",
    )


def certified_factors(
    used: list[tuple[list[int], torch.Tensor]], logp_start: torch.Tensor, logp_final: torch.Tensor
) -> torch.Tensor:
    """log M_final of every block after the first, [m-1, N]: the ratio of the final policies of the
    blocks before it to the rollout policy, Σ_{j<m} Σ_{i∈b_j} (log π_final − log π_start)."""
    certified = torch.zeros_like(logp_start[:, 0])
    out = []
    for agents, _ in used:
        out.append(certified)
        certified = certified + (logp_final - logp_start)[:, agents].sum(-1)
    return torch.stack(out[1:]) if len(out) > 1 else torch.zeros(1, len(certified))


def improvement_gap(
    believed: list[torch.Tensor],
    logp_start: torch.Tensor,
    logp_final: torch.Tensor,
    adv: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ_m believed_m, realised) surrogate improvements of one iteration, docs/baselines.md.

    believed_m = E[M_used(m) (ρ_m^after − ρ_m^before) Â]: what block m's update raised its own
    objective by, with the factor it was given (ρ_m = π_m / π_start(m) of the block's members).
    realised = E[(Π_i ρ_i^final − 1) Â]: the joint surrogate improvement of the final policies.
    Under NoPS ρ_m^before = 1 and M_used(m+1) = M_used(m) ρ_m^after, so the sum telescopes to the
    realised value: the gap is 0 up to rounding. Â is any fixed weighting of the samples.
    """
    realised = ((logp_final - logp_start).sum(-1).exp() - 1) * adv
    return torch.stack(believed).sum(0), realised.mean()


def drift(
    used: list[tuple[list[int], torch.Tensor]], logp_start: torch.Tensor, logp_final: torch.Tensor
) -> torch.Tensor:
    """|log M_final − log M_used| for every sample and every block after the first, [m-1, N].

    ``used``: (agents, log M used) per block, in update order. The certified factor of block m is
    the ratio of the *final* policies of the blocks before it to the rollout policy,
    log M_final = Σ_{j<m} Σ_{i∈block j} (log π_final(a^i|o^i) − log π_start(a^i|o^i)). Under NoPS
    no later update touches an earlier agent, so both sides are the same floating-point sums.
    """
    if len(used) < 2:
        return torch.zeros(1, logp_start.shape[0])
    log_m_used = torch.stack([log_m for _, log_m in used[1:]])
    return (certified_factors(used, logp_start, logp_final) - log_m_used).abs()


class HAPPO(OnPolicyLearner):
    """HAPPO: sequential per-agent clipped PPO with the compounded factor, centralised V(s)."""

    Config = HAPPOConfig
    sharing = "NoPS by default (--grouping none); type = ParPS (drifts); single = FuPS"
    default_grouping = "none"
    metrics = (
        "actor_loss",
        "critic_loss",
        "entropy",
        "approx_kl",
        "happo_drift",
        "happo_drift_max",
        "happo_drift_rel",
        "happo_believed_improvement",
        "happo_realised_improvement",
        "happo_improvement_gap",
    )

    def __init__(self, spec, groups, cfg, protocol, n_envs, device):
        super().__init__(spec, groups, cfg, protocol, n_envs, device)
        # ParPS steps a shared network once per member block: equal_steps divides its lr by the
        # number of blocks that step it, so it moves as far per iteration as a NoPS network.
        steps_per_iteration = torch.tensor(
            [len(groups.members(k)) if cfg.block == "agent" else 1 for k in range(groups.n_groups)],
            dtype=torch.float32,
        )
        member_lr = cfg.lr / steps_per_iteration if cfg.equal_steps else None
        self.actor_opt = MemberAdam(
            self.policy.parameters(), lr=cfg.lr, eps=1e-5, member_lr=member_lr
        )

    def blocks(self) -> list[list[int]]:
        g = self.groups
        if self.cfg.block == "group":
            return [g.members(k) for k in range(g.n_groups)]
        return [[i] for i in range(self.spec.n_agents)]

    @torch.no_grad()
    def joint_logp(self, obs, avail, actions) -> torch.Tensor:
        """log π_θ(a^i|o^i) of every agent on the whole batch, [N, n], in one batched pass, so that
        the factor and the drift check compare identically computed numbers."""
        return self.policy.log_prob(self.policy.dist(obs, avail), actions)

    def update(self, b: dict) -> dict:
        adv, returns = self.advantages(b)
        obs, actions = b["obs"].flatten(0, 1), b["actions"].flatten(0, 1)
        avail = None if b["avail"] is None else b["avail"].flatten(0, 1)
        rollout_logp, adv = b["logp"].flatten(0, 1), adv.flatten()
        active = active_agents(avail, rollout_logp.shape).to(adv.device)
        blocks = self.blocks()
        order = range(len(blocks)) if self.cfg.fixed_order else torch.randperm(len(blocks)).tolist()
        logp_start = logp_before = self.joint_logp(obs, avail, actions)
        log_m = torch.zeros_like(adv)
        adv_unit = adv / (adv.std() + 1e-8)  # the improvement gap in units of the advantages' std
        used, stats, believed = [], [], []
        for k in order:
            agents = blocks[k]
            stats.append(
                self.update_block(
                    agents, obs, avail, actions, rollout_logp, adv, active, log_m.exp()
                )
            )
            used.append((agents, log_m))
            logp_after = self.joint_logp(obs, avail, actions)

            def ratio(logp, agents=agents):
                return (logp - logp_start)[:, agents].sum(-1).exp()

            believed.append(
                (log_m.exp() * (ratio(logp_after) - ratio(logp_before)) * adv_unit).mean()
            )
            # HARL: factor *= prod(exp(new_logp - old_logp)) of the agent just updated
            log_m = log_m + (logp_after - logp_before)[:, agents].sum(-1)
            logp_before = logp_after
        gaps = drift(used, logp_start, logp_before)
        certified = certified_factors(used, logp_start, logp_before).abs().mean()
        believed_sum, realised = improvement_gap(believed, logp_start, logp_before, adv_unit)
        metrics = {key: sum(s[key] for s in stats) / len(stats) for key in stats[0]}
        metrics["happo_drift"] = gaps.mean().item()
        metrics["happo_drift_max"] = gaps.max().item()
        metrics["happo_drift_rel"] = (gaps.mean() / certified).item() if certified > 0 else 0.0
        metrics["happo_believed_improvement"] = believed_sum.item()
        metrics["happo_realised_improvement"] = realised.item()
        metrics["happo_improvement_gap"] = (believed_sum - realised).item()
        metrics["critic_loss"] = self.critic_update(
            b["state"].flatten(0, 1), returns.flatten(), b["values"].flatten()
        )
        return metrics

    def update_block(self, agents, obs, avail, actions, rollout_logp, adv, active, factor) -> dict:
        """PPO epochs on one block (one agent, or one group) with the factor M fixed [N]."""
        cfg = self.cfg
        mask = active[:, agents].amax(-1)
        if mask.sum() == 0:  # HARL skips an agent that was dead for the whole rollout
            return {"actor_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0}
        live = adv[mask > 0]
        adv = (adv - live.mean()) / (live.std(unbiased=False) + 1e-5)  # HARL nanmean / nanstd
        old_logp = rollout_logp[:, agents].sum(-1)
        group = self.groups.of_agent[agents[0]]
        sums = {"actor_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0}
        for _ in range(cfg.epochs):
            for idx in minibatch_indices(len(adv), cfg.minibatches):
                logp, entropy = 0.0, 0.0
                for i in agents:
                    avail_i = None if avail is None else avail[idx, i]
                    d = self.policy.agent_dist(obs[idx, i], avail_i, i)
                    logp = logp + self.policy.log_prob(d, actions[idx, i])
                    entropy = entropy + self.policy.entropy(d) * active[idx, i]
                m = mask[idx]
                n_live = m.sum().clamp(min=1)
                surrogate = self.ppo_surrogate(logp, old_logp[idx], adv[idx], factor[idx])
                policy_loss = -(surrogate * m).sum() / n_live
                entropy = entropy.sum() / n_live
                self.actor_opt.zero_grad()
                (policy_loss - cfg.entropy_coef * entropy).backward()
                nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
                self.actor_opt.step([group])
                sums["actor_loss"] += policy_loss.item()
                sums["entropy"] += entropy.item()
                sums["approx_kl"] += (((old_logp[idx] - logp) * m).sum() / n_live).item()
        n = cfg.epochs * cfg.minibatches
        return {k: v / n for k, v in sums.items()}
