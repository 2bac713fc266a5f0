"""Where an update's time goes: torch.profiler over OMDPG (or any learner) updates.

    python -m benchmarks.profile_update [--algo omdpg] [--n 5] [--updates 10] [--set KEY=VALUE]

A synthetic SMAX-sized n-vs-n problem (n = 5 is 2s3z's size), the learner at its defaults with
every observe an update (as the scaling sweep), one torch thread as a training job. Prints the
seconds per update, the FLOPs the profiler counts per update and the rate they run at, and the
operators by self CPU time.
"""

from __future__ import annotations

import argparse

from benchmarks.scaling import OMDPG_EVERY_STEP, build_learner, env_step


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algo", default="omdpg")
    p.add_argument("--n", type=int, default=5, help="agents per side")
    p.add_argument("--updates", type=int, default=10)
    p.add_argument("--set", action="append", default=[])
    args = p.parse_args(argv)
    from torch.profiler import ProfilerActivity, profile

    sets = (list(OMDPG_EVERY_STEP) if args.algo == "omdpg" else []) + args.set
    learner, env = build_learner(args.algo, args.n, sets, "cpu")
    cur, done = env.reset(0), 0
    while done < 3:  # warm-up updates
        cur, _, updated = env_step(learner, env, cur)
        done += updated
    seconds, done = 0.0, 0
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        while done < args.updates:
            cur, wall, updated = env_step(learner, env, cur)
            seconds, done = seconds + wall * updated, done + updated
    events = prof.key_averages()
    flops = sum(e.flops for e in events)
    matmul = [e for e in events if e.flops]
    matmul_s = sum(e.self_cpu_time_total for e in matmul) / 1e6
    total_s = sum(e.self_cpu_time_total for e in events) / 1e6
    print(
        f"{args.algo}, n={args.n}: {seconds / done:.3f} s per update (profiled), "
        f"{flops / done / 1e9:.2f} GFLOP per update; operators with FLOPs "
        f"({', '.join(e.key for e in matmul)}) take {matmul_s / total_s:.0%} of the CPU time "
        f"at {flops / matmul_s / 1e9:.0f} GFLOP/s"
    )
    print(events.table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
