"""`omdpg plan STUDY`: jobs, total env steps and estimated hours, before anything runs.

Hours come from config/throughput.yaml: env steps per CPU-second of one run, measured per
(env, algorithm) by the command its `source` names; a pair nobody measured is printed as
unmeasured, never guessed. StarCraft II cannot run where that file is measured. A StarCraft II run
steps its 8 games, then its learner, so its wall-clock hours are steps x (1 / games' rate +
1 / learner's rate) / 3600: the learner's rate is its rate on SMAX (a cheap env, one CPU), the
games' rate the one `make test-sc2` measured on this machine (throughput.local.yaml, beside
throughput.yaml and git-ignored), else the published range, labelled as published.
"""

from __future__ import annotations

import datetime
import os
import socket
from pathlib import Path

import yaml

from omdpg.envs.registry import backend
from omdpg.errors import UserError

UNMEASURED = "unmeasured"
SC2_KEY = "sc2_env_steps_per_second"


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


def local_throughput(path: Path) -> Path:
    """This machine's measurements, beside ``path``; `make test-sc2` writes them."""
    return path.with_name("throughput.local.yaml")


def _read(local: Path) -> dict:
    return (yaml.safe_load(local.read_text()) or {}) if local.exists() else {}


def sc2_games_rate(throughput: dict, local: Path, env: str) -> tuple[float, float, str]:
    """Env steps per second of one run's 8 StarCraft II games: (low, high, where from)."""
    mine = _read(local).get(SC2_KEY, {}).get(env)
    if mine:
        r = mine.get("rate")
        if not (isinstance(r, (int, float)) and r > 0):
            raise UserError(
                f"{local}: {SC2_KEY}.{env}.rate={r!r}: give a rate > 0, or delete the file and "
                f"run make test-sc2 again"
            )
        return r, r, f"measured by make test-sc2, {mine.get('measured', 'when unknown')}"
    published = throughput[SC2_KEY]["published"]
    return *published["rate"], f"published, not measured here: {published['source']}"


def record_sc2_rate(path: Path, env: str, steps_per_second: float, **facts) -> None:
    """Write one StarCraft II rate into the local throughput file beside ``path``, atomically."""
    local = local_throughput(path)
    data = _read(local)
    when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    data.setdefault(SC2_KEY, {})[env] = {
        "rate": round(steps_per_second, 1),
        "measured": f"{when} on {socket.gethostname()}",
        **facts,
    }
    tmp = local.with_name(local.name + ".tmp")
    tmp.write_text(
        "# Written by `make test-sc2` (tests/sc2): this machine's StarCraft II env steps per\n"
        "# second, which `omdpg plan` uses instead of the published rates of throughput.yaml.\n"
        + yaml.safe_dump(data, sort_keys=True)
    )
    os.replace(tmp, local)


def estimate(throughput: dict, local: Path, env: str, algo: str, steps: int):
    """(rate shown, (low, high) hours or None if unmeasured, unit of the hours)."""
    if not backend(env).needs_sc2:
        r = rate(throughput, env, algo)
        return str(r), None if r == UNMEASURED else (steps / r / 3600,) * 2, "CPU hours"
    low, high, _ = sc2_games_rate(throughput, local, env)
    learner = rate(throughput, "smax", algo)
    unit = f"{env} run-hours"
    if learner == UNMEASURED:
        return UNMEASURED, None, unit
    slow, fast = (1 / (1 / games + 1 / learner) for games in (low, high))
    shown = "-".join(dict.fromkeys(f"{r:.3g}" for r in (slow, fast)))
    return shown, (steps / fast / 3600, steps / slow / 3600), unit


def _hours(low: float, high: float) -> str:
    if low != high:
        return f"{low:,.0f}-{high:,.0f}"
    return "<0.1" if low < 0.1 else f"{low:,.1f}"


def main(study: str, results: str = "results") -> int:
    from omdpg.layout import THROUGHPUT, Layout
    from omdpg.studies import load_study, run_table

    spec = load_study(study)
    runs = run_table(spec, Layout(Path(results), Path("paper_figures"), spec.name))
    runs["done"] = [(Path(d) / "DONE").exists() for d in runs["run_dir"]]
    throughput, local = load_throughput(THROUGHPUT), local_throughput(THROUGHPUT)
    steps = spec.spec["steps"]
    print(
        f"study {spec.name}: {len(runs)} jobs ({int(runs['done'].sum())} done under {results}/), "
        f"{len(runs) * steps:,} env steps ({steps:,} per run)"
    )
    head = ("env", 9, "algorithm", 9, "jobs", -5, "env steps", -14, "steps/s", -12, "hours", -12)
    print(
        "  " + " ".join(f"{n:<{w}s}" if w > 0 else f"{n:>{-w}s}" for n, w in zip(*[iter(head)] * 2))
    )
    totals: dict[str, list] = {}  # unit -> [low, high, unmeasured pairs]
    for (env, algo), group in runs.groupby(["env", "algorithm"], sort=False):
        todo = len(group) * steps
        shown, hours, unit = estimate(throughput, local, env, algo, todo)
        total = totals.setdefault(unit, [0.0, 0.0, []])
        if hours is None:
            total[2].append(f"{env}/{algo}")
        else:
            total[0], total[1] = total[0] + hours[0], total[1] + hours[1]
        cell = "unknown" if hours is None else _hours(*hours)
        print(f"  {env:9s} {algo:9s} {len(group):5d} {todo:14,d} {shown:>12s} {cell:>12s}")
    for unit, (low, high, unknown) in totals.items():
        known = _hours(low, high) if low or high else ""
        if unknown:
            missing = f"unknown for {', '.join(unknown)} (throughput unmeasured)"
            known = f"at least {known}; {missing}" if known else missing
        print(f"estimated {unit}: {known}")
    for env in dict.fromkeys(runs["env"]):
        if backend(env).needs_sc2:
            print(
                f"{env}: wall-clock hours of one run and its 8 StarCraft II games (about 9 busy "
                f"cores); games' rate {sc2_games_rate(throughput, local, env)[2]}\n"
                f"  learner's rate: its steps/CPU-s on smax, a CPU learner: omdpg is then "
                f"update-bound; on a GPU it is not (README, 'Expected wall time per job')"
            )
    overrides = sorted(
        {key for a in spec.spec["algorithms"] for key in a.get("set", {})}
        | set(spec.spec.get("set", {}))
    )
    if overrides:
        print(f"note: rates are for default settings; this study also sets {', '.join(overrides)}")
    print(f"throughput: measured at default settings as its `source` says ({THROUGHPUT})")
    return 0
