"""Adam with one state per member of stacked parameters: K independent Adams in one object.

Grouped actors keep the weights of all K groups in one tensor ``[K, ...]`` (omdpg/networks.py).
The sequential HA updates (HAPPO, HATD3, OMDPG's ``omq.marginal=expect``) step one group at a
time, and HARL gives every actor its own optimiser (``actor_optimizer`` in
harl/algorithms/actors/on_policy_base.py and haddpg.py). A single ``torch.optim.Adam`` over the
stacked tensor would differ: a member with a zero gradient still moves by its momentum, so updating
agent 2 would change agent 1's policy even without parameter sharing, and the bias correction would
count steps the member never took.
``step(members)`` moves only the given members; every other member, and its moments, stay exactly
as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class MemberAdam(torch.optim.Optimizer):
    def __init__(
        self,
        params,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        member_lr: torch.Tensor | None = None,
    ):
        """``member_lr`` [K]: a learning rate per member (default ``lr`` for all)."""
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})
        self.member_lr = member_lr

    @torch.no_grad()
    def step(self, members: Sequence[int]) -> None:
        """One Adam step (Kingma & Ba, Algorithm 1) on the members listed; parameters [K, ...]."""
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                idx = torch.as_tensor(members, device=p.device)
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros(p.shape[0], device=p.device)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                grad = p.grad[idx]
                m = state["exp_avg"][idx].lerp_(grad, 1 - beta1)
                v = state["exp_avg_sq"][idx].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                state["exp_avg"][idx], state["exp_avg_sq"][idx] = m, v
                state["step"][idx] += 1
                t = state["step"][idx].view(-1, *([1] * (p.dim() - 1)))
                m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
                lr = group["lr"] if self.member_lr is None else self.member_lr.to(p.device)[idx]
                if not isinstance(lr, float):
                    lr = lr.view(-1, *([1] * (p.dim() - 1)))
                p[idx] -= lr * m_hat / (v_hat.sqrt() + group["eps"])
