"""4. Memory: replay bytes per transition on MMM2-sized problems, and peak RSS of training jobs.

Replay: OMDPG's ``ReplayBuffer`` built for SMAC MMM2's sizes (10 agents, obs 176, state 322, 18
actions) in both storage dtypes; its arrays are counted, not filled, at 1e5 transitions and
projected to the paper's 1e6 (the side store of truncated episodes scales with capacity too).

Training jobs: the real command line (``omdpg train``) in a subprocess per (algorithm, env), short
runs that reach their first updates; the peak RSS is the kernel's own (``ru_maxrss`` through
``peak_rss.run_measured``), not a polled estimate. An OMDPG job's replay is then far from full,
so its row also gives the peak projected to a full default replay.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.peak_rss import run_measured
from benchmarks.report import Section
from benchmarks.synthetic import mmm2_like
from omdpg.errors import UserError
from omdpg.learner import learner_class

TITLE = "Memory: replay bytes per transition, peak RSS of training jobs"
GIB = 2**30
PAPER_CAPACITY = 1_000_000
COUNTED_CAPACITY = 100_000
N_ENVS = 8
JOB_ENVS = (("smax", "3s5z"), ("mamujoco", "HalfCheetah-6x1"))
JOB_ALGOS = ("mappo", "omdpg")
OMDPG_WARMUP = 1_000  # short jobs: random actions until here, then one training phase
# Just enough steps for MAPPO's first update (128 x 8) and OMDPG's first training phase (50 x 8).
JOB_SETS = {"mappo": (), "omdpg": (f"train.warmup_steps={OMDPG_WARMUP}",)}
JOB_STEPS = {"mappo": 128 * N_ENVS, "omdpg": OMDPG_WARMUP + 50 * N_ENVS}


def _replay_rows() -> list[dict]:
    from omdpg.replay import ReplayBuffer

    spec, rows = mmm2_like(), []
    for dtype in ("float32", "float16"):
        buf = ReplayBuffer(spec, N_ENVS, COUNTED_CAPACITY, dtype)
        per = buf.bytes_per_transition
        rows.append(
            {
                "what": f"OMDPG replay, MMM2 sizes, {dtype}",
                "bytes_per_transition": per,
                "replay_1e6_gib": per * PAPER_CAPACITY / GIB,
                "fits_8_gib": "yes" if per * PAPER_CAPACITY <= 8 * GIB else "no",
                "headroom_8_gib": 8 - per * PAPER_CAPACITY / GIB,
            }
        )
    return rows


def _job_row(algo: str, env: str, map_name: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        steps = JOB_STEPS[algo]
        cmd = [
            sys.executable,
            "-m",
            "omdpg.cli",
            "train",
            "--algo",
            algo,
            "--env",
            env,
            "--map",
            map_name,
            "--steps",
            str(steps),
            "--out",
            str(Path(tmp) / "run"),
            "--set",
            "eval.episodes=4",
            "--set",
            f"eval.interval={steps}",
        ]
        for s in JOB_SETS[algo]:
            cmd += ["--set", s]
        status, peak = run_measured(cmd, Path(tmp) / "stderr.txt")
        if status != 0:
            last = (Path(tmp) / "stderr.txt").read_text().strip().splitlines()[-1:]
            raise RuntimeError(f"exit status {status}: {last[0] if last else 'no message'}")
    row = {
        "what": f"omdpg train --algo {algo} --env {env} --map {map_name} --steps {steps}",
        "peak_rss_mb": peak,
    }
    if algo == "omdpg":
        row["peak_full_replay_mb"] = peak + _unfilled_replay_mb(env, map_name, steps)
    return row


def _unfilled_replay_mb(env: str, map_name: str, steps: int) -> float:
    """Bytes a default OMDPG replay for this env still has to touch after ``steps``."""
    from omdpg.envs import make_env
    from omdpg.offpolicy import TD3Config
    from omdpg.replay import ReplayBuffer

    e = make_env(env, map_name, N_ENVS)
    capacity = TD3Config().buffer_size
    per = ReplayBuffer(e.spec, N_ENVS, capacity).bytes_per_transition
    e.close()
    return max(capacity - steps, 0) * per / 1e6


def run(quick: bool) -> Section:
    section = Section(
        TITLE,
        notes=[
            "replay: arrays of omdpg.replay.ReplayBuffer counted at "
            f"{COUNTED_CAPACITY:,} transitions ({N_ENVS} envs) and scaled to {PAPER_CAPACITY:,}; "
            "headroom_8_gib is what 8 GiB leaves for the rest of the process (a training job's "
            "own peak RSS is in the rows below).",
            "jobs: peak_rss_mb = ru_maxrss of the `omdpg train` process alone (kernel accounting); "
            "peak_full_replay_mb adds what a full default replay (train.buffer_size) would still "
            "touch.",
        ],
    )
    try:
        learner_class("omdpg")
        section.rows += _replay_rows()
    except UserError as err:
        section.skip(f"replay: {err}")
    for env, map_name in JOB_ENVS[:1] if quick else JOB_ENVS:
        for algo in JOB_ALGOS[:1] if quick else JOB_ALGOS:
            try:
                learner_class(algo)
            except UserError as err:
                section.skip(f"{algo} job: {err}")
                continue
            print(f"  {algo} {env}:{map_name}", flush=True)
            try:
                section.rows.append(_job_row(algo, env, map_name))
            except RuntimeError as err:
                section.skip(f"{algo} job on {env}:{map_name}: {err}")
    return section
