"""2b. The headline ratio (issue 14): OMDPG's env steps/s over MAPPO's, each at its defaults,
measured one after the other in one run, on SMAX 2s3z (a tuning map) and mm2_no_medivac (a
reporting map).

OMDPG is measured six times per map: at its defaults; on the plain path its default replaces,
``gqc.first_layer=matmul`` (one-hot joint actions through the first layer's matmul; the updates are
equal, tests/omdpg/test_update_paths.py); on that path at the cadence it had before the schedule
screen (8 envs, batches of 256), the issue's "today"; with two torch threads; with its products in
bf16 (``train.autocast=bfloat16``); and with its update compiled by inductor
(``train.capture=compile``, equal to float rounding; its compiling falls in the excluded warm-up),
so each lever's gain and the ratio come from the same run and the same load. A case the machine
cannot run as meant is skipped with its reason on the page: bf16 on a CPU without native bf16
products (emulated, it ran at 0.06x of float32 on an AMD EPYC), compiling without a C++ compiler.
Each case is ``benchmarks.training``'s measurement: a real Runner over whole update cycles, warm-up
excluded.
"""

from __future__ import annotations

import shutil

from benchmarks.report import Section, native_bf16
from benchmarks.training import WINDOW, measure_training, run_config
from omdpg.offpolicy import CXX

TITLE = "Headline ratio: OMDPG / MAPPO env steps/s at their defaults (issue 14)"
GOAL = {"2s3z": 0.05, "mm2_no_medivac": 0.03}  # issue 14's goals for the ratio
QUICK_MAPS = ("2s3z",)
BEFORE = ("gqc.first_layer=matmul", "n_envs=8", "train.batch_size=256")
CASES = (  # algo, label, --set
    ("omdpg", "before", BEFORE),  # the plain path at the cadence before the schedule screen
    ("omdpg", "plain", BEFORE[:1]),
    ("omdpg", "default", ()),
    ("omdpg", "2 threads", ("torch_threads=2",)),  # a job that has the machine to itself
    ("omdpg", "bf16", ("train.autocast=bfloat16",)),  # not exact: an option, off by default
    ("omdpg", "compiled", ("train.capture=compile",)),  # inductor; an option, off by default
    ("omdpg", "2 threads, compiled", ("torch_threads=2", "train.capture=compile")),  # both exact
    ("mappo", "default", ()),
)


def unmeasurable(sets: tuple[str, ...]) -> str | None:
    """Why this machine cannot measure a case as its options are meant to run, or None."""
    if "train.autocast=bfloat16" in sets and not native_bf16():
        return "bf16: this CPU has neither AVX512-BF16 nor AMX-BF16 (oneDNN would emulate it)"
    if "train.capture=compile" in sets and not any(map(shutil.which, CXX)):
        return f"compiled: no C++ compiler ({', '.join(CXX)}) on PATH"
    return None


def run(quick: bool) -> Section:
    section = Section(
        TITLE,
        notes=[
            "steps_s as in the training section; ratio_to_mappo = steps_s / MAPPO's steps_s on "
            "the same map in this run. OMDPG's configs: "
            + "; ".join(
                f"'{label}' --set {' --set '.join(sets)}" for _, label, sets in CASES if sets
            )
            + ". 'before' is the plain path at the cadence before the schedule screen; bf16 is "
            "not exact; bf16 and compiling are off by default, and torch_threads' default is the "
            "job's OMP_NUM_THREADS, else 1. Goals: "
            + ", ".join(f"{m} >= {g}" for m, g in GOAL.items())
            + "."
        ],
    )
    skipped = {label: why for _, label, sets in CASES if (why := unmeasurable(sets))}
    for why in dict.fromkeys(skipped.values()):
        section.skip(why)
    for map_name in QUICK_MAPS if quick else tuple(GOAL):
        rows = []
        for algo, label, sets in CASES:
            if label in skipped:
                continue
            print(f"  {algo} smax:{map_name} ({label})", flush=True)
            cfg = run_config(algo, "smax", map_name, sets, "cpu")
            measured = measure_training(cfg, *WINDOW[quick])
            rows.append({"algo": algo, "map": map_name, "config": label, **measured})
        rate = {(r["algo"], r["config"]): r["steps_s"] for r in rows}
        mappo, omdpg = rate["mappo", "default"], rate["omdpg", "default"]
        for r in rows:
            r["ratio_to_mappo"] = r["steps_s"] / mappo
        levers = "; ".join(
            f"{label} {rate['omdpg', label]:.1f} ({rate['omdpg', label] / omdpg:.2f}x)"
            for _, label, _ in CASES[3:-1]
            if ("omdpg", label) in rate
        )
        line = (
            f"{map_name}: OMDPG / MAPPO = {omdpg:.1f} / {mappo:,.0f} = {omdpg / mappo:.4f} "
            f"(goal >= {GOAL[map_name]}); the default is {omdpg / rate['omdpg', 'plain']:.2f}x "
            f"the plain path ({rate['omdpg', 'plain']:.1f} env steps/s) and "
            f"{omdpg / rate['omdpg', 'before']:.2f}x it at the cadence before "
            f"({rate['omdpg', 'before']:.1f}); against the default: {levers}"
        )
        print(f"  headline: {line}", flush=True)
        section.notes.append(line)
        section.rows += rows
    return section
