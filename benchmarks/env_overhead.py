"""1. Env layer overhead: random-policy env steps/s through omdpg.envs against the bare simulators.

SMAX 3s5z at B in {1, 8, 32, 128}, and MMM2 (healing medivacs) beside mm2_no_medivac at B in
{8, 32}: the adapter vs ``BareSmax`` (jitted vmapped step driven from Python with host copies, the
fair baseline) and ``ScannedSmax`` (lax.scan, the upper bound).
MaMuJoCo HalfCheetah-6x1: the adapter vs ``BareMamujoco`` (the PettingZoo loop). All sides of a
batch size live in one process and are timed interleaved (``benchmarks.timing``); JIT compilation
and the reset state's recompile (environments.md 1.6) happen in warm-up steps that are not timed.
Target: adapter / bare >= 0.8 at B >= 32.
"""

from __future__ import annotations

from benchmarks.bare_envs import BareMamujoco, BareSmax, ScannedSmax
from benchmarks.random_policy import RandomDriver
from benchmarks.report import Section
from benchmarks.timing import interleaved, median_rate, paired_ratio
from omdpg.envs import make_env

TITLE = "Env layer overhead (random policy, one process, interleaved)"
TARGET = 0.8  # adapter / bare at B >= TARGET_FROM
TARGET_FROM = 32
CASES = {  # (env, map) -> batch sizes, full and --quick
    ("smax", "3s5z"): ((1, 8, 32, 128), (32,)),
    # the cost of healing: MMM2 with medivacs against the same map without them
    ("smax", "MMM2"): ((8, 32), ()),
    ("smax", "mm2_no_medivac"): ((8, 32), ()),
    ("mamujoco", "HalfCheetah-6x1"): ((1, 8, 32), (8,)),
}
TRIAL_ENV_STEPS = 2048  # per timed trial: long enough to swamp timer noise, short enough to repeat
WARMUP_STEPS = 3  # compile, then the recompile on the strongly typed state, then one more


def _batch(env: str, map_name: str, B: int, repeats: int, upper_bound: bool) -> dict:
    adapter = make_env(env, map_name, B)
    bare = (BareSmax if env == "smax" else BareMamujoco)(adapter.spec, B)
    drivers = {"adapter": RandomDriver(adapter), "bare": RandomDriver(bare)}
    k = max(TRIAL_ENV_STEPS // B, 16)
    trials = {name: (lambda d=d: d.run(k)) for name, d in drivers.items()}
    for d in drivers.values():
        d.run(WARMUP_STEPS)
    if upper_bound:
        scan = ScannedSmax(adapter.spec, B)
        scan.run(k)  # compiles for this k
        trials["scan"] = lambda: scan.run(k)
    rates = interleaved(trials, repeats)
    row = {
        "env": env,
        "map": map_name,
        "B": B,
        "batched_steps_per_trial": k,
        "repeats": repeats,
        "adapter_steps_s": median_rate(rates["adapter"]),
        "bare_steps_s": median_rate(rates["bare"]),
        "scan_steps_s": median_rate(rates["scan"]) if upper_bound else None,
        "ratio": paired_ratio(rates["adapter"], rates["bare"]),
        "ratio_cpu": paired_ratio(rates["adapter"], rates["bare"], clock=1),
    }
    row["target"] = ("met" if row["ratio"] >= TARGET else "missed") if B >= TARGET_FROM else "-"
    adapter.close()
    return row


def run(quick: bool) -> Section:
    section = Section(
        TITLE,
        notes=[
            "ratio = median over repeats of adapter/bare steps per wall second, each pair timed "
            "back to back; ratio_cpu uses process CPU seconds instead. "
            f"Target >= {TARGET} at B >= {TARGET_FROM}.",
            "bare (SMAX) = jit(vmap(HeuristicEnemySMAX.step)) from Python with host copies; scan = "
            "lax.scan rollout with random actions in JAX (upper bound, nothing copied to host); "
            "bare (MaMuJoCo) = PettingZoo parallel_env loop: step + state() + reset.",
        ],
    )
    for (env, map_name), (full, small) in CASES.items():
        for B in small if quick else full:
            section.rows.append(
                _batch(env, map_name, B, 3 if quick else 5, upper_bound=env == "smax" and not quick)
            )
    return section
