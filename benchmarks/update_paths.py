"""3b. Milliseconds per OMDPG update on the plain path and with the device options side by side:
the replay on the learner's device (``train.replay_device=learner``), a phase's batches in one
draw (``train.phase_sampling=true``) and, on CUDA only, the update captured in CUDA graphs
(``train.capture=cudagraphs``, with capturable optimisers).

Each case is one ``benchmarks.scaling`` worker (its own process, the learner at OMDPG's SMAX
defaults on ``synthetic.smax_like(N_AGENTS)``) that trains ``PHASE`` updates after every batched env
step (``train.train_interval=1``, ``train.update_per_train=PHASE``), so phase sampling has a phase
to draw for; ms_per_update is the median phase's time over ``PHASE``, the first phase (warm-up,
compilation) left out. On an H200 the plain update is ~30 ms of kernel launches whatever its size
(docs/performance.md); the issue's goal is >= 5x fewer ms per update with every option on.
"""

from __future__ import annotations

from benchmarks.report import Section
from benchmarks.scaling import OMDPG_EVERY_STEP, UPDATES, measure_point

TITLE = "OMDPG update paths: ms per update, plain vs replay on the device, phase draw, capture"
N_AGENTS = (10, 5)  # full, --quick
BATCH = (256, 32)  # OMDPG's default batch; --quick: the agent sweep's
PHASE = 10  # updates per phase
GOAL = 5.0  # plain / all options on, on CUDA
ON_DEVICE = ("train.replay_device=learner",)
PHASE_DRAW = ON_DEVICE + ("train.phase_sampling=true",)
CASES = (  # label, --set, CUDA only
    ("plain", (), False),
    ("replay on device", ON_DEVICE, False),
    ("+ phase draw", PHASE_DRAW, False),
    ("+ capture", PHASE_DRAW + ("train.capture=cudagraphs",), True),
)


def run(quick: bool, device: str = "cpu") -> Section:
    n, batch = N_AGENTS[quick], BATCH[quick]
    base = OMDPG_EVERY_STEP + (f"train.update_per_train={PHASE}", f"train.batch_size={batch}")
    section = Section(
        TITLE,
        notes=[
            f"OMDPG on smax_like({n}), batch {batch}, {PHASE} updates per phase (one phase per "
            "batched env step); ms_per_update = median phase seconds / updates per phase, after "
            "one warm-up phase; speedup = plain's ms over the case's. 'replay on device': --set "
            f"{ON_DEVICE[0]}; '+ phase draw': also train.phase_sampling=true (a different random "
            "stream); '+ capture': also train.capture=cudagraphs (CUDA only)."
        ],
    )
    for label, sets, cuda_only in CASES:
        if cuda_only and device != "cuda":
            section.skip(f"{label}: CUDA only (--device cuda)")
            continue
        print(f"  omdpg n={n} ({label})", flush=True)
        try:
            r = measure_point("omdpg", n, base + sets, UPDATES[quick], device)
        except RuntimeError as err:
            section.skip(f"{label}: {err}")
            continue
        section.rows.append(
            {
                "config": label,
                "n": n,
                "batch": batch,
                "updates_per_phase": PHASE,
                "ms_per_update": 1e3 * r["update_s"] / PHASE,
                "warmup_phase_s": r["warmup_update_s"],
            }
        )
    plain = next((r["ms_per_update"] for r in section.rows if r["config"] == "plain"), None)
    for r in section.rows:
        r["speedup"] = plain / r["ms_per_update"] if plain else None
    best = section.rows[-1] if section.rows else None
    if plain and best is not None and best["config"] != "plain":
        goal = f" (goal on CUDA >= {GOAL:g}x)" if device == "cuda" else ""
        section.notes.append(
            f"{device}: plain {plain:.2f} ms per update, '{best['config']}' "
            f"{best['ms_per_update']:.2f} ms: {best['speedup']:.2f}x{goal}"
        )
    return section
