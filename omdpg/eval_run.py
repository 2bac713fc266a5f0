"""`omdpg eval RUN`: a trained run folder's policy under the fixed greedy protocol, and a recording.

Loads the run's checkpoint (its latest learner, or with ``--learner best`` the policy of its best
evaluation, the one the absolute metric scores), plays N greedy episodes from held-out start states
(by default the ones the absolute metric uses, so ``--learner best --episodes`` 10 x eval.episodes
repeats DONE's absolute metric), prints the scores and appends them to RUN/posthoc_eval.csv. The
training logs are never touched. ``--record PATH`` records episode 0 (omdpg/recording.py).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import torch

from omdpg import checkpoint
from omdpg.config import RunConfig, cpu_threads, from_dict
from omdpg.envs import make_env
from omdpg.errors import UserError
from omdpg.evaluation import HELD_OUT_SEED_OFFSET, eval_env_count, evaluate, summarise
from omdpg.learner import learner_class
from omdpg.recording import recorder_for
from omdpg.run_folder import Damaged, RunFolder, check_harness, read_json, read_sealed_json
from omdpg.runner import build_learner, resolve_device, same_run


def run_config(config: dict) -> RunConfig:
    """The RunConfig that config.json records (its extra keys, such as provenance, dropped)."""
    cfg = from_dict(RunConfig, config)
    cfg.learner = from_dict(learner_class(cfg.algo).Config, config["learner"])
    return cfg


def load_run(run: Path, device: torch.device) -> tuple[RunConfig, dict]:
    """The run's config and checkpoint, or one UserError saying why they cannot be used."""
    folder = RunFolder(run, ())
    config = read_json(folder.config)
    if config is None:
        raise UserError(f"{run}: no readable config.json, so not a run folder (omdpg train --out)")
    if not folder.checkpoint.is_file():
        raise UserError(
            f"{run}: no checkpoint ({folder.checkpoint}) to evaluate: train the run first, "
            "or choose a folder whose training has written one"
        )
    check_harness(config, run)
    try:
        config = read_sealed_json(folder.config)
        saved = checkpoint.load(folder.checkpoint, device)
    except Damaged as err:
        raise UserError(f"{run}: {err}: restore it from a backup, or train the run again") from None
    cfg = run_config(config)
    if not same_run(saved["identity"], cfg):
        raise UserError(f"{run}: config.json does not describe its checkpoint; train it again")
    return cfg, saved


def evaluate_run(
    run: Path,
    episodes: int,
    record: Path | None = None,
    learner: str = "last",
    seed: int | None = None,
    device: str = "auto",
) -> dict:
    """Evaluate the run folder's policy; returns the posthoc_eval.csv row it appends."""
    if episodes < 1:
        raise UserError(f"--episodes {episodes}: must be at least 1")
    torch_device = resolve_device(device)
    cfg, saved = load_run(run, torch_device)
    torch.set_num_threads(cpu_threads(cfg.torch_threads))
    if learner == "best" and saved["best"]["policy"] is None:
        raise UserError(f"{run}: no evaluation yet, so no best learner; use --learner last")
    recorder = None if record is None else recorder_for(cfg.env, record)
    options = {} if recorder is None else recorder.env_options
    env = make_env(cfg.env, cfg.map, eval_env_count(cfg.env, episodes), **options)
    try:
        policy = build_learner(cfg, env.spec, torch_device)
        if learner == "best":
            policy.load_policy_state_dict(saved["best"]["policy"])
            env_steps = saved["best"]["env_steps"]
        else:
            policy.load_state_dict(saved["learner"])
            env_steps = saved["counters"]["env_steps"]
        seed = cfg.seed + HELD_OUT_SEED_OFFSET if seed is None else seed
        played = evaluate(env, policy, episodes, seed, recorder).episodes
    finally:
        env.close()
    row = {
        "evaluated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "learner": learner,
        "env_steps": env_steps,
        "seed": seed,
        **summarise(played, env.spec.has_win),
        "recording": "" if record is None else str(record),
    }
    folder = RunFolder(run, ())
    if not folder.posthoc.path.exists():
        folder.posthoc.create()
    folder.posthoc.append([row])
    return row


def report(run: Path, row: dict) -> str:
    win = "" if row["win_rate"] is None else f"win rate {row['win_rate']:.3f}, "
    lines = [
        f"{run}: {row['learner']} learner at {row['env_steps']:,} env steps, "
        f"{row['n_episodes']} greedy episodes (eval seed {row['seed']}): {win}"
        f"return {row['return_mean']:.3f} ± {row['return_std']:.3f} "
        f"-> {run / 'posthoc_eval.csv'}"
    ]
    if row["recording"]:
        lines.append(f"recorded episode 0 -> {row['recording']}")
    return "\n".join(lines)


def main(args) -> int:
    run = Path(args.run)
    record = None if args.record is None else Path(args.record)
    row = evaluate_run(run, args.episodes, record, args.learner, args.seed, args.device)
    print(report(run, row))
    return 0
