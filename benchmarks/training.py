"""2. Training throughput of every registered learner: env steps/s including updates.

Each case is a real ``Runner`` built by the command line's own config builder (so "default" means
what ``omdpg train`` uses), driven in-process through the runner's per-step body, ``_env_step``
(act, env step, observe, episode bookkeeping), without evaluations, logs or checkpoints. The env
and the learner are wrapped in ``timing.Timed`` to split the wall time into env / act / observe
(observe includes the updates).

The timed window is whole update cycles of any learner: warm up until the learner has updated once
(JIT compilation, the first torch calls and an off-policy warm-up of random actions fall there),
then time from just after an update to just after a later one, until ``cycles`` updates and then
``min_steps`` env steps or ``max_wall`` seconds are covered (slow learners stop at the wall limit).

References: JaxMARL's end-to-end MAPPO on these machines (~2,300 env steps/s on 2s3z, ~1,500 on
3s5z at 128 envs x 128 steps, 4 epochs, 4 minibatches); targets: our MAPPO at that config >= 0.5
of it, OMDPG at its default update-to-data ratio >= 0.5 of MAPPO's default rate on the same map.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.random_policy import RandomDriver
from benchmarks.report import Section
from benchmarks.timing import Stopwatch, Timed, interleaved, median_rate
from omdpg.cli import build_config
from omdpg.config import cpu_threads
from omdpg.errors import UserError
from omdpg.learner import ALGORITHMS
from omdpg.runner import Runner

TITLE = "Training throughput (env steps/s including updates; Runner in-process)"
MAPS = (("smax", "2s3z"), ("smax", "3s5z"), ("mamujoco", "HalfCheetah-6x1"))
QUICK_MAPS = (("smax", "2s3z"),)
JAXMARL_MAPPO = {"2s3z": 2300.0, "3s5z": 1500.0}
JAXMARL_CONFIG = ("n_envs=128", "rollout_length=128", "epochs=4", "minibatches=4")
TARGET = 0.5
RANDOM_TRIAL_STEPS = 2048
WINDOW = {False: (2, 8192, 20.0), True: (1, 2048, 10.0)}  # cycles, min_steps, max_wall; by --quick


def run_config(algo: str, env: str, map_name: str, sets: tuple[str, ...], device: str):
    args = argparse.Namespace(
        algo=algo,
        env=env,
        map=map_name,
        seed=0,
        steps=10**9,
        lambda_pu=None,
        grouping=None,
        device=device,
        set=list(sets),
    )
    return build_config(args)


def _walls(env: Timed, learner: Timed) -> tuple[float, float, float]:
    return (env.watches["step"].wall, learner.watches["act"].wall, learner.watches["observe"].wall)


def measure_training(cfg, cycles: int, min_steps: int, max_wall: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(cfg, Path(tmp) / "run")
        try:
            runner.start()
            bare_env = runner.env
            env = runner.env = Timed(bare_env, "step")
            learner = runner.learner = Timed(runner.learner, "act", "observe")
            while learner.hits["observe"] == 0:  # warm-up: up to and including the first update
                runner._env_step()
            start, first = _walls(env, learner), learner.hits["observe"]
            steps, t0 = 0, time.perf_counter()
            with Stopwatch() as total:
                while True:
                    before = learner.hits["observe"]
                    runner._env_step()
                    steps += cfg.n_envs
                    phases = learner.hits["observe"] - first
                    enough = steps >= min_steps or time.perf_counter() - t0 >= max_wall
                    if learner.hits["observe"] > before and phases >= cycles and enough:
                        break
            env_s, act_s, observe_s = (b - a for a, b in zip(start, _walls(env, learner)))
            driver = RandomDriver(bare_env, seed=1)
            driver.run(2)
            k = max(RANDOM_TRIAL_STEPS // cfg.n_envs, 16)
            random_rate = median_rate(interleaved({"random": lambda: driver.run(k)}, 3)["random"])
        finally:
            runner.close()
    rate = steps / total.wall
    return {
        "n_envs": cfg.n_envs,
        "torch_threads": cpu_threads(cfg.torch_threads),
        "timed_env_steps": steps,
        "update_phases": phases,
        "wall_s": total.wall,
        "steps_s": rate,
        "steps_cpu_s": steps / total.cpu,
        "env_share": env_s / total.wall,
        "act_share": act_s / total.wall,
        "observe_update_share": observe_s / total.wall,
        "random_steps_s": random_rate,
        "ratio_to_random": rate / random_rate,
    }


def run(quick: bool, device: str = "cpu") -> Section:
    section = Section(
        TITLE,
        notes=[
            "steps_s: env steps per wall second over whole update cycles (JIT and warm-up "
            "excluded); steps_cpu_s: per process-CPU second (the unit of config/throughput.yaml); "
            "shares: wall time inside env.step, learner.act, learner.observe (which runs the "
            "updates); the rest is the runner's bookkeeping. random_steps_s: the same env object "
            "under a random policy; ratio_to_random = steps_s / random_steps_s.",
            f"config 'jaxmarl': --set {' --set '.join(JAXMARL_CONFIG)} (JaxMARL MAPPO's batch); "
            f"reference: JaxMARL end-to-end MAPPO {JAXMARL_MAPPO} env steps/s on these machines; "
            "OMDPG's reference is our MAPPO at default settings on the same map. "
            f"Target >= {TARGET}.",
        ],
    )
    cases = [
        (algo, env, m, "default", ())
        for env, m in (QUICK_MAPS if quick else MAPS)
        for algo in ALGORITHMS
    ]
    if not quick:
        cases += [("mappo", "smax", m, "jaxmarl", JAXMARL_CONFIG) for m in JAXMARL_MAPPO]
    rows = []
    for algo, env, map_name, label, sets in cases:
        try:
            cfg = run_config(algo, env, map_name, sets, device)
        except UserError as err:  # not registered, not importable yet, or wrong action space
            section.skip(f"{algo} on {env}:{map_name}: {err}")
            continue
        print(f"  {algo} {env}:{map_name} ({label})", flush=True)
        rows.append(
            {
                "algo": algo,
                "env": env,
                "map": map_name,
                "config": label,
                **measure_training(cfg, *WINDOW[quick]),
            }
        )
    mappo = {
        r["map"]: r["steps_s"] for r in rows if (r["algo"], r["config"]) == ("mappo", "default")
    }
    for r in rows:
        if r["algo"] == "mappo" and r["config"] == "jaxmarl":
            ref = JAXMARL_MAPPO[r["map"]]
        else:
            ref = mappo.get(r["map"]) if r["algo"] == "omdpg" else None
        r["reference_steps_s"] = ref
        r["ratio_to_reference"] = r["steps_s"] / ref if ref else None
        r["target"] = "-" if not ref else ("met" if r["ratio_to_reference"] >= TARGET else "missed")
    section.rows = rows
    return section
