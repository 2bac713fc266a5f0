"""The runner: environment loop, evaluation, logging, checkpoints and resume, for every learner."""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from omdpg import provenance
from omdpg.config import RunConfig
from omdpg.envs import make_env
from omdpg.errors import UserError
from omdpg.evaluation import (
    HELD_OUT_SEED_OFFSET,
    PROTOCOL_SEED_OFFSET,
    BestPolicy,
    eval_env_count,
    evaluate,
    score_key,
    summarise,
)
from omdpg.grouping import make_groups
from omdpg.learner import Learner, Transition, learner_class
from omdpg.live_curves import LiveCurves
from omdpg.progress import Progress
from omdpg.run_folder import (
    RunFolder,
    check_harness,
    harness_stamp,
    read_json,
    write_json_atomic,
)

FINAL_SCORE_EVALS = 3  # a run's final score is the mean of its last 3 evaluations (design.md)


def resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device visible to torch; use --device cpu or auto")
    return torch.device(
        "cuda"
        if name == "auto" and torch.cuda.is_available()
        else ("cpu" if name == "auto" else name)
    )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_states() -> dict:
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def set_rng_states(s: dict) -> None:
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    torch.set_rng_state(s["torch"])
    if s["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def run_identity(cfg: RunConfig) -> dict:
    """The part of the config that must match for a run folder to be resumed: not the device, nor
    where live curves go (they change no result)."""
    d = asdict(cfg)
    d.pop("device", None)
    d.pop("log", None)
    return d


def build_learner(cfg: RunConfig, spec, device: torch.device) -> Learner:
    """The run's learner, freshly initialised from its seed (training and `omdpg eval` alike)."""
    groups = make_groups(cfg.grouping, spec.agent_types, cfg.seed)
    seed_everything(cfg.seed)
    return learner_class(cfg.algo)(spec, groups, cfg.learner, cfg.protocol, cfg.n_envs, device)


class Runner:
    def __init__(self, cfg: RunConfig, out: Path):
        self.cfg, self.out = cfg, out
        self.device = resolve_device(cfg.device)
        torch.set_num_threads(cfg.torch_threads)
        self.env = make_env(cfg.env, cfg.map, cfg.n_envs)
        self.spec = self.env.spec
        self.eval_env = make_env(cfg.env, cfg.map, eval_env_count(cfg.env, cfg.eval.episodes))
        self.learner = build_learner(cfg, self.spec, self.device)
        self.groups = self.learner.groups
        self.folder = RunFolder(out, type(self.learner).metrics)
        self.best = BestPolicy()
        self._where = (cfg.env, cfg.map)
        self.live: LiveCurves | None = None
        self.c = {
            "env_steps": 0,
            "episodes": 0,
            "wall_seconds": 0.0,
            "restarts": 0,
            "next_log": cfg.log_interval,
            "next_eval": cfg.eval.interval,
            "next_ckpt": cfg.checkpoint_interval,
        }
        self._window: dict[str, list] = {"returns": [], "wins": [], "metrics": []}
        self._ep_return = np.zeros(cfg.n_envs)

    # --- start or resume --------------------------------------------------------------------
    def start(self) -> None:
        f = self.folder
        if f.checkpoint.exists():
            check_harness(read_json(f.config) or {}, self.out)
            saved = torch.load(f.checkpoint, map_location=self.device, weights_only=False)
            if saved["identity"] != run_identity(self.cfg):
                raise UserError(
                    f"{self.out} holds a different run (its config.json differs); "
                    f"use another --out or delete that folder"
                )
            self.learner.load_state_dict(saved["learner"])
            self.c, self._window = saved["counters"], saved["window"]
            self._ep_return, self.current = saved["ep_return"], saved["current"]
            set_rng_states(saved["rng"])
            self.best.load_state_dict(saved["best"])
            f.cut_logs(saved["rows"])
            self.resumed = True
            self.dropped = saved["env"] is None  # the backend cannot save its episodes
            if self.dropped:
                self._start_new_episodes()
            else:
                self.env.set_state(saved["env"])
            self._open_live(self.c["env_steps"])
            return
        f.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            f.config,
            {
                **asdict(self.cfg),
                "harness": harness_stamp(),
                "out": str(self.out),
                "provenance": provenance.collect(str(self.device), self.cfg.env),
                "spec": asdict(self.spec),
                "groups": {"mode": self.groups.mode, "of_agent": self.groups.of_agent},
            },
        )
        f.create_logs()
        first = self.env.reset(self.cfg.seed)
        self.current = (first.obs, first.state, first.avail)
        self.resumed = self.dropped = False
        self._open_live(None)

    def _open_live(self, resumed_at: int | None) -> None:
        name = f"{self.cfg.algo} {self.cfg.env}:{self.cfg.map} seed {self.cfg.seed}"
        self.live = LiveCurves(self.cfg.log, self.out, resumed_at, name)

    def _start_new_episodes(self) -> None:
        """Resume on a backend whose get_state() is None (StarCraft II): the saved observations
        belong to games that are gone, so new episodes start from new games, seeded from the run
        seed and the step, and config.json records that the episodes in flight were dropped."""
        seed = int(
            np.random.SeedSequence([self.cfg.seed, self.c["env_steps"]]).generate_state(1)[0]
        )
        first = self.env.reset(seed)
        self.current = (first.obs, first.state, first.avail)
        self._ep_return = np.zeros(self.cfg.n_envs)
        config = json.loads(self.folder.config.read_text())
        config.setdefault("episodes_dropped_at_resume", []).append(
            {"env_steps": self.c["env_steps"], "episodes": self.cfg.n_envs, "reset_seed": seed}
        )
        write_json_atomic(self.folder.config, config)

    def _checkpoint(self) -> None:
        f = self.folder
        self.live.flush()  # every point up to here is on disk before the checkpoint says so
        tmp = f.checkpoint.with_name("state.pt.tmp")
        torch.save(
            {
                "identity": run_identity(self.cfg),
                "learner": self.learner.state_dict(),
                "env": self.env.get_state(),
                "counters": self.c,
                "window": self._window,
                "ep_return": self._ep_return,
                "current": self.current,
                "rng": rng_states(),
                "best": self.best.state_dict(),
                "rows": f.row_counts(),
            },
            tmp,
        )
        os.replace(tmp, f.checkpoint)

    # --- the loop -----------------------------------------------------------------------------
    def run(self) -> dict:
        cfg, c = self.cfg, self.c
        bar = Progress(cfg.steps, c["env_steps"], f"{cfg.algo} {cfg.env}:{cfg.map} seed {cfg.seed}")
        if self.resumed:
            dropped = (
                f"; its {cfg.n_envs} episodes in flight were dropped ({cfg.env} games cannot be "
                f"saved) and new ones start"
                if self.dropped
                else ""
            )
            bar.note(f"resuming {self.out} from env step {c['env_steps']}{dropped}")
        t_start = time.perf_counter() - c["wall_seconds"]
        while c["env_steps"] < cfg.steps:
            self._env_step()
            c["wall_seconds"] = time.perf_counter() - t_start
            if c["env_steps"] >= c["next_log"]:
                self._log_progress(bar)
                c["next_log"] += cfg.log_interval
            if c["env_steps"] >= c["next_eval"]:
                self._evaluate()
                c["next_eval"] += cfg.eval.interval
            if c["env_steps"] >= c["next_ckpt"]:
                self._checkpoint()
                c["next_ckpt"] += cfg.checkpoint_interval
        if (
            not self.folder.eval.rows()
            or int(self.folder.eval.read()[-1]["env_steps"]) != c["env_steps"]
        ):
            self._evaluate()  # once more at the end of training (design.md protocol)
        self._checkpoint()
        bar.close()
        absolute = self._absolute_metric()
        return self._finish(absolute)

    def _env_step(self) -> None:
        obs, state, avail = self.current
        actions = self.learner.act(obs, state, avail, explore=True)
        step = self.env.step(actions)
        metrics = self.learner.observe(
            Transition(
                obs=obs,
                state=state,
                avail=avail,
                actions=actions,
                reward=step.reward * self.cfg.protocol.reward_scale,  # logged returns stay raw
                terminated=step.terminated,
                truncated=step.truncated,
                next_obs=step.final_obs,
                next_state=step.final_state,
                next_avail=step.final_avail,
            )
        )
        if metrics:
            self._window["metrics"].append(metrics)
        self._ep_return += step.reward
        for k in np.flatnonzero(step.done):
            self._window["returns"].append(float(self._ep_return[k]))
            if not np.isnan(step.won[k]):
                self._window["wins"].append(float(step.won[k]))
            self._ep_return[k] = 0.0
        self.c["episodes"] += int(step.done.sum())
        self.c["restarts"] += step.restarts
        self.c["env_steps"] += self.env.n_envs
        self.current = (step.obs, step.state, step.avail)

    def _log_progress(self, bar: Progress) -> None:
        c, w = self.c, self._window
        row = {
            "env_steps": c["env_steps"],
            "wall_seconds": round(c["wall_seconds"], 3),
            "episodes": c["episodes"],
            "train_return_mean": float(np.mean(w["returns"])) if w["returns"] else None,
            "train_win_rate": float(np.mean(w["wins"])) if w["wins"] else None,
            "steps_per_second": c["env_steps"] / max(c["wall_seconds"], 1e-9),
            "restarts": c["restarts"],
        }
        for name in self.learner.metrics:
            values = [m[name] for m in w["metrics"] if name in m]
            row[name] = float(np.mean(values)) if values else None
        self.folder.progress.append([row])
        self.live.add("train", row)
        bar.update(c["env_steps"], row["train_win_rate"], row["train_return_mean"])
        self._window = {"returns": [], "wins": [], "metrics": []}

    def _evaluate(self) -> None:
        c = self.c
        seed = self.cfg.seed + PROTOCOL_SEED_OFFSET
        episodes = evaluate(self.eval_env, self.learner, self.cfg.eval.episodes, seed)
        for e in episodes:
            e["env_steps"] = c["env_steps"]
        self.folder.episodes.append(episodes)
        row = {
            "env_steps": c["env_steps"],
            "wall_seconds": round(c["wall_seconds"], 3),
            **summarise(episodes, self.spec.has_win),
        }
        self.folder.eval.append([row])
        self.live.add("eval", row)
        self.best.offer(self.learner, row[score_key(self.spec.has_win)], c["env_steps"])

    def _absolute_metric(self) -> dict:
        """The best evaluation's policy on absolute_multiple x eval.episodes held-out episodes,
        into absolute_episodes.csv (evaluation.py). Runs after the last checkpoint, so loading that
        policy into the learner changes nothing a resume would see."""
        n = self.cfg.eval.absolute_multiple * self.cfg.eval.episodes
        if n == 0:
            return {}
        self.learner.load_policy_state_dict(self.best.policy)
        count = eval_env_count(self.cfg.env, n)
        # The periodic evaluation's envs where they fit (no new StarCraft II processes).
        env = self.eval_env if self.eval_env.n_envs == count else make_env(*self._where, count)
        try:
            episodes = evaluate(env, self.learner, n, self.cfg.seed + HELD_OUT_SEED_OFFSET)
        finally:
            if env is not self.eval_env:
                env.close()
        self.folder.absolute.write([{**e, "env_steps": self.best.env_steps} for e in episodes])
        s = summarise(episodes, self.spec.has_win)
        return {
            "absolute_win_rate": s["win_rate"],
            "absolute_return": s["return_mean"],
            "absolute_episodes": n,
            "absolute_env_steps": self.best.env_steps,
        }

    def _finish(self, absolute: dict) -> dict:
        rows = self.folder.eval.read()[-FINAL_SCORE_EVALS:]

        def score(key):
            return float(np.mean([float(r[key]) for r in rows])) if rows and rows[0][key] else None

        summary = {
            "algo": self.cfg.algo,
            "env": self.cfg.env,
            "map": self.cfg.map,
            "seed": self.cfg.seed,
            "env_steps": self.c["env_steps"],
            "wall_seconds": round(self.c["wall_seconds"], 1),
            "final_win_rate": score("win_rate"),
            "final_return": score("return_mean"),
            "final_evals": len(rows),
            **absolute,
        }
        write_json_atomic(self.folder.done, summary)
        return summary

    def close(self) -> None:
        self.env.close()
        self.eval_env.close()
        if self.live is not None:
            self.live.close()


def train(cfg: RunConfig, out: Path) -> int:
    done = out / "DONE"
    if done.exists():
        print(f"{out}: run already complete ({done}); nothing to do")
        return 0
    _check_writable(out)
    runner = Runner(cfg, out)
    try:
        runner.start()
        summary = runner.run()
    finally:
        runner.close()
    shown = {k: v for k, v in summary.items() if v is not None}
    print(f"done: {out} {shown}")
    return 0


def _check_writable(out: Path) -> None:
    probe = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if (out.exists() and not out.is_dir()) or not os.access(probe, os.W_OK):
        raise UserError(f"cannot write the run folder {out}: choose a writable --out")
