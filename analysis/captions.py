"""Captions: every table and figure states the protocol, the seeds, the steps and the backend."""

from __future__ import annotations

import pandas as pd

from omdpg.envs.registry import MAPS, backend
from omdpg.studies import Study

SYNTHETIC = "SYNTHETIC DATA from analysis.synthetic, not training results."


def _map_notes(study: Study) -> list[str]:
    """Maps this project defines itself, and tuning maps, flagged wherever used; SMAX maps with
    medivacs carry SMAC names, so they say they are stand-ins (docs/smax-medivac.md)."""
    notes = []
    for task in study.spec["tasks"]:
        info = MAPS[(task["env"], task["map"])]
        if info.role == "tuning":
            notes.append(
                f"{info.name} is a tuning map (defaults were chosen on it): its numbers are a "
                "screen, not a result."
            )
        if "Registered by this project" in info.notes:
            versus = f" vs {info.enemies}" if info.enemies not in ("-", "same") else ""
            reading = (
                "our interpretation of the paper's map"
                if "INTERPRETATION" in info.notes
                else "defined by this project"
            )
            name = (
                f"SMAX {info.name} (stand-in, with healing medivacs)"
                if info.env == "smax" and "medivac" in info.agent_types
                else info.name
            )
            notes.append(f"{name} = {info.allies}{versus} ({reading}).")
    return notes


def caption(study: Study, summary: pd.DataFrame, what: str) -> str:
    spec = study.spec
    complete = int((summary["status"] == "complete").sum())
    excluded = summary[summary["status"] != "complete"]
    parts = [SYNTHETIC] if summary["synthetic"].any() else []
    parts += [
        f"{what} Study '{study.name}'.",
        f"Protocol: greedy evaluation every {spec['eval']['interval']:,} env steps and at the end, "
        f"{spec['eval']['episodes']} episodes each in separate environments; final score = mean of "
        f"the last 3 evaluations (win rate on SMAC/SMAX, episode return on MaMuJoCo).",
        f"Seeds {', '.join(map(str, spec['seeds']))}; {spec['steps']:,} env steps per run; "
        f"{complete} of {len(summary)} runs complete"
        + (
            f", {len(excluded)} left out ({', '.join(sorted(set(excluded['status'])))})."
            if len(excluded)
            else "."
        ),
        "Backend: " + "; ".join(backend(env).caption for env in study.envs) + ".",
        _protocol_note(study),
    ]
    return " ".join(parts + _map_notes(study))


def _protocol_note(study: Study) -> str:
    """The discount and reward scale every algorithm saw, and any study-set deviation by name."""
    protocols = {env: backend(env).protocol for env in study.envs}
    envs = "; ".join(
        f"{env} gamma {p.gamma}, rewards x {p.reward_scale:g}" for env, p in protocols.items()
    )
    note = f"Every algorithm trains with the env's protocol ({envs})"
    deviations = [
        f"{algo['name']} {key}={value}"
        for algo in study.spec["algorithms"]
        for key, value in {**study.spec.get("set", {}), **algo.get("set", {})}.items()
        if key.startswith("protocol.")
    ]
    return note + (f", except as this study sets: {', '.join(deviations)}." if deviations else ".")
