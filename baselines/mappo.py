"""MAPPO (Yu et al., 2022): PPO with a centralised value on the global state.

Active masks as HARL's use_policy_active_masks (harl/algorithms/actors/mappo.py ``update``): a
dead agent (one available action: SMAC's and SMAX's no-op) adds nothing to the policy loss, the
entropy or the approximate KL, which are means over the active (sample, agent) pairs, and the
advantages are normalised over those pairs only (HARL's nanmean / nanstd of the active entries).

Differences from HARL's mappo: MLP actors only (no RNN), one value per env (HARL's EP state, so
there is no per-agent value mask), and parameter sharing by --grouping (HARL shares one actor or
none; FuPS = `single` is our default, as in HARL's share_param).
"""

from __future__ import annotations

from torch import nn

from baselines.onpolicy import OnPolicyLearner, active_agents, minibatch_indices


class MAPPO(OnPolicyLearner):
    """MAPPO: clipped PPO, GAE, centralised V(s), value normalisation, masked actions."""

    sharing = "FuPS by default (--grouping single); any grouping"
    default_grouping = "single"
    metrics = ("actor_loss", "critic_loss", "entropy", "approx_kl")

    def update(self, b: dict) -> dict:
        cfg = self.cfg
        adv, returns = self.advantages(b)
        obs, avail, actions = b["obs"].flatten(0, 1), b["avail"], b["actions"].flatten(0, 1)
        avail = None if avail is None else avail.flatten(0, 1)
        old_logp = b["logp"].flatten(0, 1)
        active = active_agents(avail, old_logp.shape).to(adv.device)  # [N, n]
        adv = adv.flatten(0, 1)[:, None].expand_as(old_logp)  # one team advantage per agent
        live = adv[active > 0]
        adv = (adv - live.mean()) / (live.std(unbiased=False) + 1e-5)  # HARL nanmean / nanstd
        sums = {"actor_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0}
        for _ in range(cfg.epochs):
            for idx in minibatch_indices(obs.shape[0], cfg.minibatches):
                d = self.policy.dist(obs[idx], None if avail is None else avail[idx])
                logp = self.policy.log_prob(d, actions[idx])
                m = active[idx]
                n_live = m.sum().clamp(min=1)

                def active_mean(x, m=m, n_live=n_live):
                    return (x * m).sum() / n_live

                entropy = active_mean(self.policy.entropy(d))
                loss = (
                    -active_mean(self.ppo_surrogate(logp, old_logp[idx], adv[idx]))
                    - cfg.entropy_coef * entropy
                )
                self.actor_opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
                self.actor_opt.step()
                sums["actor_loss"] += loss.item()
                sums["entropy"] += entropy.item()
                sums["approx_kl"] += active_mean(old_logp[idx] - logp).item()
        n = cfg.epochs * cfg.minibatches
        metrics = {k: v / n for k, v in sums.items()}
        metrics["critic_loss"] = self.critic_update(
            b["state"].flatten(0, 1), returns.flatten(), b["values"].flatten()
        )
        return metrics
