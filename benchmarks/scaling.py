"""3. Scaling: time per update and peak memory of OMDPG and HAPPO vs agents n, and OMDPG vs C_k.

Problems are ``synthetic.smax_like(n)`` (SMAX sizes of an n-vs-n map: observation, state and
actions all grow with n), learners at their defaults and default grouping, 8 envs, torch threads
as the runner sets them. Each point runs in its own subprocess (``--worker``) so that its peak RSS
is its own. "One update" is what the learner does when it updates: OMDPG one gradient step
(``train.train_interval=1`` makes every observe one update; the default interval 50 runs 50 of
them), HAPPO one policy iteration over its rollout (every agent in turn). The first is warm-up.

The agent sweep fixes the batch at a size that lets 100 agents finish in minutes on two cores:
OMDPG ``train.batch_size=32`` (default 256), HAPPO ``rollout_length=16`` x 8 envs (default 128 x
8); the time of an update is close to proportional to its batch, so default-batch updates cost
about 8x more. The ensemble sweep runs OMDPG at its default batch on 10 agents.

Reported: median seconds per update, peak RSS of the process and its growth during the updates,
and the log-log slope of time vs n (least squares). A size whose time or memory, extrapolated from
the sizes before it, exceeds ``MAX_UPDATE_S`` or half the free memory is skipped, with the figure.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.peak_rss import own_peak_mb
from benchmarks.report import Section
from benchmarks.synthetic import SyntheticEnv, smax_like
from benchmarks.timing import Stopwatch
from omdpg.errors import UserError
from omdpg.learner import learner_class

TITLE = "Scaling in agents and ensemble size (time per update, peak memory)"
ROOT = Path(__file__).resolve().parent.parent  # where `python -m benchmarks.scaling` resolves
# OMDPG: every observe is one update, and a small replay (the update's cost does not depend on its
# capacity; the default 2e5 transitions of a 100-agent problem would reserve ~200 GB).
OMDPG_EVERY_STEP = ("train.warmup_steps=0", "train.train_interval=1", "train.buffer_size=512")
AGENT_SWEEP = {
    "omdpg": OMDPG_EVERY_STEP + ("train.batch_size=32",),
    "happo": ("rollout_length=16",),
}
AGENTS = ((5, 10, 20, 50, 100), (5, 10))  # full, --quick
ENSEMBLE = ((1, 2, 5, 10), (1, 5))
ENSEMBLE_AGENTS = 10
UPDATES = (5, 2)  # timed updates per point, full / --quick ...
UPDATE_BUDGET_S = 20.0  # ... or fewer (at least one) once they took this long
MAX_UPDATE_S = 30.0
MIN_MEMORY_SLOPE = 2.0  # inputs grow as n x (state + n x actions): never extrapolate flatter
N_ENVS = 8


# --- the worker: one (algorithm, n, settings) point in a fresh process --------------------------
def build_learner(algo: str, n: int, sets, device: str):
    """The learner at its defaults + ``sets`` on ``smax_like(n)``, threads as the runner sets them,
    and the synthetic env that feeds it."""
    import torch

    from omdpg.config import RunConfig, cpu_threads, set_key, validate
    from omdpg.grouping import make_groups

    cls, spec = learner_class(algo), smax_like(n)
    cfg = RunConfig(algo=algo, learner=cls.default_config("smax"))
    for item in sets:
        set_key(cfg, *item.split("=", 1))
    validate(cfg)
    torch.set_num_threads(cpu_threads(cfg.torch_threads))  # as the runner does for a training job
    learner = cls(
        spec,
        make_groups(cls.default_grouping, spec.agent_types, 0),
        cfg.learner,
        cfg.protocol,
        N_ENVS,
        torch.device(device),
    )
    return learner, SyntheticEnv(spec, N_ENVS)


def env_step(learner, env, cur):
    """Act, step, observe as the runner's _env_step does; returns (next arrays, seconds in
    observe, whether it updated)."""
    from omdpg.learner import Transition

    actions = learner.act(cur.obs, cur.state, cur.avail, explore=True)
    step = env.step(actions)
    with Stopwatch() as w:
        metrics = learner.observe(
            Transition(
                obs=cur.obs,
                state=cur.state,
                avail=cur.avail,
                actions=actions,
                reward=step.reward,
                terminated=step.terminated,
                truncated=step.truncated,
                next_obs=step.final_obs,
                next_state=step.final_state,
                next_avail=step.final_avail,
            )
        )
    return step, w.wall, metrics is not None


def worker(algo: str, n: int, sets: list[str], updates: int, budget_s: float, device: str) -> dict:
    import psutil
    import torch

    learner, env = build_learner(algo, n, sets, device)
    cur = env.reset(0)
    rss_before = psutil.Process().memory_info().rss
    times = []
    while len(times) < 2 or (len(times) < updates + 1 and sum(times[1:]) < budget_s):
        cur, seconds, updated = env_step(learner, env, cur)
        if updated:
            times.append(seconds)
    peak = own_peak_mb()
    gpu = {"peak_gpu_mb": torch.cuda.max_memory_allocated() / 1e6} if device == "cuda" else {}
    return {
        **gpu,
        "update_s": float(np.median(times[1:])),
        "warmup_update_s": times[0],
        "peak_rss_mb": peak,
        "update_growth_mb": max(peak - rss_before / 1e6, 0.0),
        "params": sum(
            p.numel()
            for m in vars(learner).values()
            if isinstance(m, torch.nn.Module)
            for p in m.parameters()
        ),
    }


# --- the driver -------------------------------------------------------------------------------
def measure_point(algo: str, n: int, sets: tuple[str, ...], updates: int, device: str) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.scaling",
        "--worker",
        algo,
        str(n),
        "--device",
        device,
        "--updates",
        str(updates),
        "--budget",
        str(UPDATE_BUDGET_S),
    ] + [f"--set={s}" for s in sets]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def loglog_slope(xs, ys) -> float:
    """Least-squares slope of log y on log x: time ~ n^slope."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0]) if len(xs) >= 2 else math.nan


def _extrapolate(done: list[tuple[int, float]], n: int, floor: float = 0.0) -> tuple[float, float]:
    """(value at n, slope) from the points so far; cubic until two points give a slope."""
    slope = max(loglog_slope(*zip(*done)), floor) if len(done) >= 2 else 3.0
    return done[-1][1] * (n / done[-1][0]) ** slope, slope


def _too_big(times, growth, n: int) -> str | None:
    import psutil

    if not times:
        return None
    t, t_slope = _extrapolate(times, n)
    if t > MAX_UPDATE_S:
        return f"predicted {t:.0f} s per update (> {MAX_UPDATE_S:.0f} s) from n^{t_slope:.2f}"
    m, m_slope = _extrapolate(growth, n, MIN_MEMORY_SLOPE)
    free = psutil.virtual_memory().available / 1e6
    if m > free / 2:
        return (
            f"predicted {m:,.0f} MB for the update (> half of the {free:,.0f} MB available) "
            f"from n^{m_slope:.2f}"
        )
    return None


def _sweep(section: Section, algo: str, sizes, updates: int, device: str) -> None:
    times: list[tuple[int, float]] = []
    growth: list[tuple[int, float]] = []
    for n in sizes:
        reason = _too_big(times, growth, n)
        if reason:
            section.skip(f"{algo} n={n}: {reason}")
            continue
        print(f"  {algo} n={n}", flush=True)
        try:
            r = measure_point(algo, n, AGENT_SWEEP[algo], updates, device)
        except RuntimeError as err:
            section.skip(f"{algo} n={n}: {err}")
            continue
        times.append((n, r["update_s"]))
        growth.append((n, max(r["update_growth_mb"], 1.0)))
        spec = smax_like(n)
        section.rows.append(
            {
                "sweep": "agents",
                "algo": algo,
                "n": n,
                "C_k": None,
                "samples": 128,
                "obs": spec.obs_dim,
                "state": spec.state_dim,
                "actions": spec.n_actions,
                **r,
            }
        )
    if len(times) >= 2:
        section.notes.append(
            f"{algo}: time per update ~ n^{loglog_slope(*zip(*times)):.2f} over "
            f"n = {', '.join(str(n) for n, _ in times)} (log-log least squares)"
        )


def run(quick: bool, device: str = "cpu") -> Section:
    section = Section(
        TITLE,
        notes=[
            "synthetic n-vs-n problems with SMAX sizes (obs 13(2n-1)+10, state 24n, actions n+5). "
            "Agent sweep at 128 samples per update: OMDPG one gradient step on batch 32 (actor "
            "every 2nd), HAPPO one policy iteration on 16 x 8 steps; ensemble sweep: OMDPG at its "
            "default batch 256 on 10 agents. update_s = median after one warm-up update; "
            "peak_rss_mb = the worker process's peak; update_growth_mb = peak minus RSS before the "
            "first update; params counts every network the learner holds, target networks included."
        ],
    )
    updates = UPDATES[quick]
    for algo in AGENT_SWEEP:
        try:
            learner_class(algo)
        except UserError as err:
            section.skip(f"{algo}: {err}")
            continue
        _sweep(section, algo, AGENTS[quick], updates, device)
    if "omdpg" in {r["algo"] for r in section.rows}:
        for c in ENSEMBLE[quick]:
            print(f"  omdpg C_k={c}", flush=True)
            try:
                r = measure_point(
                    "omdpg",
                    ENSEMBLE_AGENTS,
                    OMDPG_EVERY_STEP + (f"gqc.ensemble_size={c}",),
                    updates,
                    device,
                )
            except RuntimeError as err:
                section.skip(f"omdpg C_k={c}: {err}")
                continue
            section.rows.append(
                {
                    "sweep": "ensemble",
                    "algo": "omdpg",
                    "n": ENSEMBLE_AGENTS,
                    "C_k": c,
                    "samples": 256,
                    **r,
                }
            )
        xs = [(r["C_k"], r["update_s"]) for r in section.rows if r["sweep"] == "ensemble"]
        if len(xs) >= 2:
            section.notes.append(
                f"omdpg: time per update ~ C_k^{loglog_slope(*zip(*xs)):.2f} at "
                f"n = {ENSEMBLE_AGENTS}"
            )
    return section


def main() -> None:
    p = argparse.ArgumentParser(description="one scaling point, printed as a JSON line")
    p.add_argument("--worker", nargs=2, metavar=("ALGO", "N"), required=True)
    p.add_argument("--updates", type=int, default=UPDATES[0])
    p.add_argument("--budget", type=float, default=UPDATE_BUDGET_S)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    print(
        json.dumps(
            worker(
                args.worker[0],
                int(args.worker[1]),
                args.set,
                args.updates,
                args.budget,
                args.device,
            )
        )
    )


if __name__ == "__main__":
    main()
