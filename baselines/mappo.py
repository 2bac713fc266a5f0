"""MAPPO (Yu et al., 2022): PPO with a centralised value on the global state.

Differences from HARL's mappo (harl/algorithms/actors/mappo.py): MLP actors only (no RNN), one
value per env (HARL's EP state), and parameter sharing by --grouping (HARL shares one actor or
none; FuPS = `single` is our default, as in HARL's share_param).
"""

from __future__ import annotations

from torch import nn

from baselines.onpolicy import OnPolicyLearner, minibatch_indices


class MAPPO(OnPolicyLearner):
    """MAPPO: clipped PPO, GAE, centralised V(s), value normalisation, masked actions."""

    sharing = "FuPS by default (--grouping single); any grouping"
    default_grouping = "single"
    metrics = ("actor_loss", "critic_loss", "entropy", "approx_kl")

    def update(self, b: dict) -> dict:
        cfg = self.cfg
        adv, returns = self.advantages(b)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        obs, avail, actions = b["obs"].flatten(0, 1), b["avail"], b["actions"].flatten(0, 1)
        avail = None if avail is None else avail.flatten(0, 1)
        old_logp, adv = b["logp"].flatten(0, 1), adv.flatten(0, 1)[:, None]  # same for all agents
        sums = {"actor_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0}
        for _ in range(cfg.epochs):
            for idx in minibatch_indices(obs.shape[0], cfg.minibatches):
                d = self.policy.dist(obs[idx], None if avail is None else avail[idx])
                logp = self.policy.log_prob(d, actions[idx])
                entropy = self.policy.entropy(d).mean()
                loss = (
                    -self.ppo_surrogate(logp, old_logp[idx], adv[idx]).mean()
                    - cfg.entropy_coef * entropy
                )
                self.actor_opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
                self.actor_opt.step()
                sums["actor_loss"] += loss.item()
                sums["entropy"] += entropy.item()
                sums["approx_kl"] += (old_logp[idx] - logp).mean().item()
        n = cfg.epochs * cfg.minibatches
        metrics = {k: v / n for k, v in sums.items()}
        metrics["critic_loss"] = self.critic_update(
            b["state"].flatten(0, 1), returns.flatten(), b["values"].flatten()
        )
        return metrics
