"""`omdpg plan STUDY`: jobs, total env steps and estimated CPU hours, before anything runs.

Hours come from config/throughput.yaml: env steps per CPU-second of one run, measured per
(env, algorithm) by the command its `source` names; a pair nobody measured is printed as
unmeasured, never guessed.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from omdpg.errors import UserError

UNMEASURED = "unmeasured"


def load_throughput(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    for env, rates in data["steps_per_cpu_second"].items():
        for algo, rate in rates.items() if isinstance(rates, dict) else [("*", rates)]:
            if rate != UNMEASURED and not (isinstance(rate, (int, float)) and rate > 0):
                raise UserError(
                    f"{path}: steps_per_cpu_second.{env}.{algo}={rate!r}: give a measured "
                    f"rate > 0 or '{UNMEASURED}'"
                )
    return data


def rate(throughput: dict, env: str, algo: str):
    rates = throughput["steps_per_cpu_second"].get(env, UNMEASURED)
    return rates.get(algo, UNMEASURED) if isinstance(rates, dict) else rates


def main(study: str, results: str = "results") -> int:
    from omdpg.layout import THROUGHPUT, Layout
    from omdpg.studies import load_study, run_table

    spec = load_study(study)
    runs = run_table(spec, Layout(Path(results), Path("paper_figures"), spec.name))
    runs["done"] = [(Path(d) / "DONE").exists() for d in runs["run_dir"]]
    throughput = load_throughput(THROUGHPUT)
    steps = spec.spec["steps"]
    print(
        f"study {spec.name}: {len(runs)} jobs ({int(runs['done'].sum())} done under {results}/), "
        f"{len(runs) * steps:,} env steps ({steps:,} per run)"
    )
    head = ("env", 9, "algorithm", 9, "jobs", -5, "env steps", -14, "steps/CPU-s", -12)
    print(
        "  "
        + " ".join(f"{n:<{w}s}" if w > 0 else f"{n:>{-w}s}" for n, w in zip(head[::2], head[1::2]))
        + f" {'CPU hours':>10s}"
    )
    total, unknown = 0.0, []
    for (env, algo), group in runs.groupby(["env", "algorithm"], sort=False):
        r = rate(throughput, env, algo)
        todo = len(group) * steps
        hours = todo / r / 3600 if r != UNMEASURED else None
        if hours is None:
            unknown.append(f"{env}/{algo}")
        else:
            total += hours
        shown = "unknown" if hours is None else "<0.1" if hours < 0.1 else f"{hours:,.1f}"
        print(f"  {env:9s} {algo:9s} {len(group):5d} {todo:14,d} {r!s:>12s} {shown:>10s}")
    estimate = (
        f"{total:,.1f}"
        if not unknown
        else (f"at least {total:,.1f}; " if total else "")
        + f"unknown for {', '.join(unknown)} (throughput unmeasured)"
    )
    print(f"estimated CPU hours: {estimate}")
    overrides = sorted(
        {key for a in spec.spec["algorithms"] for key in a.get("set", {})}
        | set(spec.spec.get("set", {}))
    )
    if overrides:
        print(f"note: rates are for default settings; this study also sets {', '.join(overrides)}")
    print(f"throughput: measured at default settings as its `source` says ({THROUGHPUT})")
    return 0
