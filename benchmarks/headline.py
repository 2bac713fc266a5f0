"""2b. The headline ratio (issue 14): OMDPG's env steps/s over MAPPO's, each at its defaults,
measured one after the other in one run, on SMAX 2s3z (a tuning map) and mm2_no_medivac (a
reporting map).

OMDPG is measured five times per map: at its defaults; on the plain path its default replaces,
``gqc.first_layer=matmul`` (one-hot joint actions through the first layer's matmul; the updates are
equal, tests/omdpg/test_update_paths.py); with two torch threads; with its products in bf16
(``train.autocast=bfloat16``); and with its update compiled by inductor (``train.capture=compile``,
equal to float rounding; its compiling falls in the excluded warm-up), so each lever's gain and
the ratio come from the same run and the same load. Each case is ``benchmarks.training``'s
measurement: a real Runner over whole update cycles, warm-up excluded.
"""

from __future__ import annotations

from benchmarks.report import Section
from benchmarks.training import WINDOW, measure_training, run_config

TITLE = "Headline ratio: OMDPG / MAPPO env steps/s at their defaults (issue 14)"
GOAL = {"2s3z": 0.05, "mm2_no_medivac": 0.03}  # issue 14's goals for the ratio
QUICK_MAPS = ("2s3z",)
CASES = (  # algo, label, --set
    ("omdpg", "plain", ("gqc.first_layer=matmul",)),
    ("omdpg", "default", ()),
    ("omdpg", "2 threads", ("torch_threads=2",)),  # a job that has the machine to itself
    ("omdpg", "bf16", ("train.autocast=bfloat16",)),  # not exact: an option, off by default
    ("omdpg", "compiled", ("train.capture=compile",)),  # inductor; an option, off by default
    ("mappo", "default", ()),
)


def run(quick: bool) -> Section:
    section = Section(
        TITLE,
        notes=[
            "steps_s as in the training section; ratio_to_mappo = steps_s / MAPPO's steps_s on "
            "the same map in this run; config 'plain': --set gqc.first_layer=matmul, '2 threads': "
            "--set torch_threads=2 (the default is 1 per job), 'bf16': --set "
            "train.autocast=bfloat16 (not exact; off by default), 'compiled': --set "
            "train.capture=compile (off by default). Goals: "
            + ", ".join(f"{m} >= {g}" for m, g in GOAL.items())
            + "."
        ],
    )
    for map_name in QUICK_MAPS if quick else tuple(GOAL):
        rows = []
        for algo, label, sets in CASES:
            print(f"  {algo} smax:{map_name} ({label})", flush=True)
            cfg = run_config(algo, "smax", map_name, sets, "cpu")
            measured = measure_training(cfg, *WINDOW[quick])
            rows.append({"algo": algo, "map": map_name, "config": label, **measured})
        plain, omdpg, two, bf16, compiled, mappo = (r["steps_s"] for r in rows)
        for r in rows:
            r["ratio_to_mappo"] = r["steps_s"] / mappo
        line = (
            f"{map_name}: OMDPG / MAPPO = {omdpg:.1f} / {mappo:,.0f} = {omdpg / mappo:.4f} "
            f"(goal >= {GOAL[map_name]}); plain path {plain:.1f} env steps/s, so the default is "
            f"{omdpg / plain:.2f}x the plain path; with 2 torch threads {two:.1f} "
            f"({two / omdpg:.2f}x); with bf16 products {bf16:.1f} ({bf16 / omdpg:.2f}x); "
            f"compiled {compiled:.1f} ({compiled / omdpg:.2f}x)"
        )
        print(f"  headline: {line}", flush=True)
        section.notes.append(line)
        section.rows += rows
    return section
