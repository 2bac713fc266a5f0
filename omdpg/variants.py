"""The OMDPG variants its options choose (``OMDPG.__new__``), each overriding only what differs.

- ``PrefixOMDPG`` (``gqc.form=prefix``, ``omq.max_impl=prefix_critic``): GQC is a critic of action
  prefixes φ_c(s, a_1:i), so φ* is read off it exactly instead of at the later actors' greedy
  actions (docs/omdpg-algorithm.md 4.1-4.2). Its y_true bootstraps from φ'(s', ∅)
  (``gqc.next_value=empty_prefix``) or from φ' along the optimal sequence at s' (``rollout``); its
  PU points are the data's prefixes a_1:i, with y_PU at each prefix extended by the best next
  action under φ'; with ``omq.context=optimal`` the context is the exact optimal sequence a*.
- ``SequentialOMDPG`` (``omq.marginal=expect``): HATD3's sequential scheme on OMDPG's critic, the
  OMQ-vs-Q^s ablation (docs 2.5): agents in order, each against the updated actions of those
  before it and the current actions of those after it, through ``sequential_ascent``, the routine
  HATD3 uses.
"""

from __future__ import annotations

import torch

from omdpg.actors import DeterministicActors, sequential_ascent
from omdpg.gqc import OOD
from omdpg.member_adam import MemberAdam
from omdpg.omdpg import OMDPG
from omdpg.omq import empty_prefix_value, extend_prefix, greedy_sequence
from omdpg.replay import Batch


class PrefixOMDPG(OMDPG):
    """OMDPG with a prefix critic and the exact maximisation of OMQ's prefix_critic."""

    prefix = True

    def joint(self, actions):
        """One-hot vectors: the prefix form masks and extends them arithmetically."""
        return self.actor.vectors(actions)

    def candidates(self, actor: DeterministicActors, obs, avail):
        """Each agent's candidate actions for the max: all available one-hots (discrete) or the
        actor's greedy output (continuous). [B, n, M, A], validity [B, n, M] or None."""
        if self.spec.discrete:
            return torch.eye(self.A, device=self.device).expand(*obs.shape[:2], -1, -1), avail
        return actor.greedy(actor(obs, avail))[:, :, None], None

    def next_value(self, b: Batch, pos) -> torch.Tensor:
        if self.cfg.gqc.next_value == "empty_prefix":
            return empty_prefix_value(self.critic_target, b.next_state, self.n, self.A)
        cand, valid = self.candidates(self.actor_target, b.next_obs, b.next_avail)
        return greedy_sequence(self.critic_target, b.next_state, cand, valid, pos)[1]

    def context(self, b: Batch, a_t, a_star, pos) -> torch.Tensor:
        if self.cfg.omq.context == "buffer":
            return a_t
        with torch.no_grad():  # the exact optimal sequence; the prefix mask drops a*_i+1:n
            cand, valid = self.candidates(self.actor, b.obs, b.avail)
            return greedy_sequence(self.critic, b.state, cand, valid, pos)[0]

    def ood(self, b: Batch, a_t, a_star, rows, pos) -> OOD:
        """Each data prefix a_1:i (i = ``rows``), and φ' at it extended by the best next action."""
        cand, valid = self.candidates(self.actor_target, b.obs, b.avail)
        prefixes = a_t[:, None].expand(-1, rows.shape[1], -1, -1)
        q, _ = extend_prefix(self.critic_target, b.state, prefixes, rows, pos, cand, valid)
        return OOD(prefixes, pos < rows[..., None], q)

    def critic_values(self, b: Batch, a_t, ood: OOD) -> torch.Tensor:
        """Row 0: φ_c at the full joint action (TD); rows 1..K: at the data prefixes (PU; the
        prefix form needs λ_PU > 0, checked)."""
        full = torch.ones_like(ood.mask[:, :1])
        rows = torch.cat([a_t[:, None], ood.actions], 1)
        return self.critic(b.state, rows, torch.cat([full, ood.mask], 1))


class SequentialOMDPG(OMDPG):
    """OMDPG's critic with HATD3's sequential actor update (omq.marginal=expect)."""

    def actor_optimizer(self, lr: float) -> MemberAdam:
        """One group steps at a time: one Adam state per group. Its step counts are device
        tensors already, so train.capture needs no flag of it."""
        return MemberAdam(self.actor.parameters(), lr=lr)

    def actor_step(self, b: Batch, a_t, a_star, out, pos) -> torch.Tensor:
        """In order, agent i ascends agg_c Q_c(s, updated a_1:i-1, μ_g(i)(o_i), current a_i+1:n)."""
        order = torch.randperm(self.n).tolist() if self.cfg.omq.order == "random" else range(self.n)
        pos = torch.arange(self.n, device=self.device)  # `current` holds both sides of agent i

        def objective(current, i):
            own = self.actor(b.obs, b.avail)
            return self.agent_values(b.state, current, current, own, pos)[:, i].mean()

        return sequential_ascent(
            order,
            self.actor.greedy(out.detach()),
            objective,
            lambda i: self.actor.greedy(self.actor(b.obs, b.avail))[:, i],
            self.actor_opt,
            self.groups.of_agent,
        )
