"""`omdpg probe RUN`: what sets a discrete OMDPG policy's entropy, read from the run's checkpoint.

With ``actor.discrete_relax=expected`` agent i's actor ascends Σ_k π_i(k) φ_i(k) + α H(π_i), where
φ_i(k) = agg_c φ*_c(s, context_1:i-1, k, a*_i+1:n) (omq.omq_values). Its maximiser is
π*_i = softmax(φ_i / α) (the Gibbs distribution), so how peaked a policy can become is set by the
critic's gaps between an agent's own actions measured in units of α. On transitions drawn from
the checkpoint's replay buffer the probe prints, over the (sample, agent) pairs with more than one
available action: the policy's entropy beside the uniform one (log of the available actions) and
π*'s; φ's range and best-second gap over the available actions beside α and the heads' spread
at those actions; and how often the actor's greedy action is φ's best. Under another relaxation
(``st_gumbel``, ``softmax``) π* is not that objective's maximiser, and the report says so. Nothing
is written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.distributions import Categorical

from omdpg.envs import make_env
from omdpg.envs.registry import backend
from omdpg.errors import UserError
from omdpg.eval_run import load_run
from omdpg.omdpg import OMDPG
from omdpg.omq import own_action_values, positions
from omdpg.runner import build_learner, resolve_device


def action_probe(
    out: torch.Tensor,
    phi: torch.Tensor,
    spread: torch.Tensor,
    avail: torch.Tensor,
    alpha: float | torch.Tensor,
    tau: float,
) -> dict:
    """out: masked actor logits, phi: φ_i(k), spread: the heads' std at (i, k), avail: bool, all
    [B, n, A]; alpha: one number, or one per agent [n] (``actor.alpha=auto``). Means over the
    (sample, agent) pairs with a choice."""
    choice = avail.sum(-1) > 1
    low = torch.finfo(phi.dtype).min
    best = phi.masked_fill(~avail, low)
    top = best.topk(2, -1).values
    alpha = torch.as_tensor(alpha, dtype=phi.dtype).expand(phi.shape[1])
    soft = Categorical(logits=best / alpha[:, None]) if (alpha > 0).all() else None
    columns = {
        "policy_entropy": Categorical(logits=out / tau).entropy(),
        "uniform_entropy": avail.sum(-1).to(phi.dtype).log(),
        "soft_optimal_entropy": None if soft is None else soft.entropy(),
        "phi_range": top[..., 0] - phi.masked_fill(~avail, -low).min(-1).values,
        "phi_top_gap": top[..., 0] - top[..., 1],
        "head_std": (spread * avail).sum(-1) / avail.sum(-1),
        "greedy_is_best": (out.argmax(-1) == best.argmax(-1)).to(phi.dtype),
    }
    row = {k: None if v is None else v[choice].mean().item() for k, v in columns.items()}
    return {"pairs_with_choice": int(choice.sum()), "alpha": alpha.mean().item(), **row}


def probe_run(run: Path, samples: int, seed: int, device: str = "auto") -> tuple[int, dict]:
    """(the checkpoint's env steps, ``action_probe`` on ``samples`` replay transitions)."""
    if samples < 1:
        raise UserError(f"--samples {samples}: must be at least 1")
    if not 0 <= seed < 2**32:
        raise UserError(f"--seed {seed}: must be in [0, 2**32 - 1] (numpy's seed range)")
    torch_device = resolve_device(device)
    cfg, saved = load_run(run, torch_device)
    if cfg.algo != "omdpg":
        raise UserError(f"{run}: a {cfg.algo} run; omdpg probe reads OMDPG's actors and critic")
    if saved["learner"].get("buffer") is None:
        raise UserError(
            f"{run}: its checkpoint holds no replay buffer (train.checkpoint_buffer=false), "
            "so there are no transitions to probe; train with the default to keep it"
        )
    if not backend(cfg.env).discrete:  # before the env is built: its warnings would bury the line
        raise UserError(f"{run}: {cfg.env} has continuous actions; the probe is for discrete ones")
    env = make_env(cfg.env, cfg.map, 1)
    try:
        learner = build_learner(cfg, env.spec, torch_device)
    finally:
        env.close()
    assert isinstance(learner, OMDPG)
    learner.load_state_dict(saved["learner"])
    t, a = cfg.learner.train, cfg.learner.actor
    if not learner.buffer.can_sample(t.n_step):
        raise UserError(f"{run}: its replay buffer holds too few transitions to probe")
    if samples > len(learner.buffer):  # draws are with replacement: more only cost memory
        raise UserError(
            f"--samples {samples}: the run's replay buffer holds {len(learner.buffer):,} "
            "transitions; ask for at most that many"
        )
    np.random.seed(seed)  # the buffer draws its indices from numpy's global RNG
    with torch.no_grad():
        b = learner.buffer.sample(samples, t.n_step, learner.protocol.gamma, torch_device)
        out = learner.actor(b.obs, b.avail)
        a_star = learner.actor.greedy(out)
        pos = positions(learner.n, cfg.learner.omq.order, torch_device)
        ctx = learner.context(b, learner.joint(b.actions), learner.joint(a_star), pos)

        def values(aggregate):
            return own_action_values(
                learner.critic, b.state, ctx, learner.joint(a_star), pos, learner.A, aggregate
            )

        phi, spread = values(learner.actor_estimate), values(lambda q: q.std(0, correction=0))
        row = action_probe(out, phi, spread, b.avail.bool(), learner.alpha(), a.gumbel_tau)
    return saved["counters"]["env_steps"], {**row, "discrete_relax": a.discrete_relax}


def report(run: Path, env_steps: int, row: dict) -> str:
    def f(key):
        return "n/a" if row[key] is None else f"{row[key]:.4f}"

    caveat = []
    if row["discrete_relax"] != "expected":  # only that objective is maximised by softmax(φ/α)
        caveat = [
            f"  note: actor.discrete_relax={row['discrete_relax']}: softmax(phi/alpha) is the "
            "optimum of the expected objective, not of this run's"
        ]
    return "\n".join(
        [
            f"{run}: checkpoint at {env_steps:,} env steps, {row['pairs_with_choice']:,} "
            "(sample, agent) pairs with a choice of action",
            f"  entropy (nats): policy {f('policy_entropy')}, uniform over the available actions "
            f"{f('uniform_entropy')}, soft optimum softmax(phi/alpha) {f('soft_optimal_entropy')}",
            f"  phi over an agent's own available actions: range {f('phi_range')}, best-second gap "
            f"{f('phi_top_gap')}; alpha {row['alpha']:.4g} (mean over agents); heads' std there "
            f"{f('head_std')}",
            f"  the actor's greedy action is phi's best in {f('greedy_is_best')} of them",
            *caveat,
        ]
    )


def main(args) -> int:
    run = Path(args.run)
    env_steps, row = probe_run(run, args.samples, args.seed, args.device)
    print(report(run, env_steps, row))
    return 0
