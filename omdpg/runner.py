"""The runner: environment loop, evaluation, logging, checkpoints and resume, for every learner."""

from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from omdpg import checkpoint, provenance
from omdpg.config import RunConfig, cpu_threads
from omdpg.envs import make_env
from omdpg.envs.registry import backend
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
from omdpg.integrity import RETRAIN, State, inspect
from omdpg.learner import Learner, Transition, learner_class
from omdpg.live_curves import LiveCurves
from omdpg.preemption import Stopped, StopRequests
from omdpg.progress import Progress
from omdpg.run_folder import Damaged, RunFolder, harness_stamp, read_sealed_json, write_json_atomic
from omdpg.run_lock import RunLock

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


# Not part of a run's identity: where it computes and how many threads it uses change its numbers
# at most by float rounding, and where live curves go changes none.
NOT_IDENTITY = ("device", "torch_threads", "log")


def run_identity(cfg: RunConfig) -> dict:
    """The part of the config that must match for a run folder to be resumed."""
    return {k: v for k, v in asdict(cfg).items() if k not in NOT_IDENTITY}


def same_run(saved_identity: dict, cfg: RunConfig) -> bool:
    """Whether a checkpoint's identity is ``cfg``'s (one written before a key left the identity
    still holds that key)."""
    return {k: v for k, v in saved_identity.items() if k not in NOT_IDENTITY} == run_identity(cfg)


def build_learner(cfg: RunConfig, spec, device: torch.device) -> Learner:
    """The run's learner, freshly initialised from its seed (training and `omdpg eval` alike)."""
    groups = make_groups(cfg.grouping, spec.agent_types, cfg.seed)
    seed_everything(cfg.seed)
    return learner_class(cfg.algo)(spec, groups, cfg.learner, cfg.protocol, cfg.n_envs, device)


class Runner:
    def __init__(self, cfg: RunConfig, out: Path):
        self.cfg, self.out = cfg, out
        self.device = resolve_device(cfg.device)
        torch.set_num_threads(cpu_threads(cfg.torch_threads))
        self.env = make_env(cfg.env, cfg.map, cfg.n_envs)
        self.spec = self.env.spec
        self.eval_env = make_env(cfg.env, cfg.map, eval_env_count(cfg.env, cfg.eval.episodes))
        self.learner = build_learner(cfg, self.spec, self.device)
        self.groups = self.learner.groups
        self.folder = RunFolder(out, type(self.learner).metrics)
        self.stop = StopRequests()
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
    def start(self, saved: dict | None = None) -> None:
        """Resume from ``saved`` (load_checkpoint's), or start a new run."""
        f = self.folder
        if saved is not None:
            f.restore_logs(saved["logs"])  # checked again, then rows after the checkpoint cut off
            if not same_run(saved["identity"], self.cfg):
                raise UserError(
                    f"{self.out} holds a different run (its checkpoint is not its config.json's); "
                    f"use another --out or delete that folder"
                )
            self.learner.load_state_dict(saved["learner"])
            self.c, self._window = saved["counters"], saved["window"]
            self._ep_return, self.current = saved["ep_return"], saved["current"]
            set_rng_states(saved["rng"])
            self.best.load_state_dict(saved["best"])
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
        seed and the step; the learner ends the old ones as truncations where they stood, and
        config.json records that the episodes in flight were dropped."""
        self.learner.cut_episodes(*self.current)
        seed = int(
            np.random.SeedSequence([self.cfg.seed, self.c["env_steps"]]).generate_state(1)[0]
        )
        first = self.env.reset(seed)
        self.current = (first.obs, first.state, first.avail)
        self._ep_return = np.zeros(self.cfg.n_envs)
        config = read_sealed_json(self.folder.config)
        config.setdefault("episodes_dropped_at_resume", []).append(
            {"env_steps": self.c["env_steps"], "episodes": self.cfg.n_envs, "reset_seed": seed}
        )
        write_json_atomic(self.folder.config, config)

    def _checkpoint(self) -> None:
        f = self.folder
        self.live.flush()  # every point up to here is on disk before the checkpoint says so
        checkpoint.save(
            f.checkpoint,
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
                "logs": f.marks(),
            },
        )

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
        self._log_mark = (c["env_steps"], c["wall_seconds"])
        self._updating = False  # whether an interval with learner updates has been logged yet
        # What is due after a step is done at the top of the next, so a checkpoint written when a
        # stop is asked for, even in the middle of an evaluation, resumes exactly where it was.
        with self.stop:
            try:
                while True:
                    self._due(bar)
                    if c["env_steps"] >= cfg.steps:
                        break
                    if self.stop.signum is not None:
                        raise Stopped
                    self._env_step()
                    c["wall_seconds"] = time.perf_counter() - t_start
                if (
                    not self.folder.eval.rows()
                    or int(self.folder.eval.read()[-1]["env_steps"]) != c["env_steps"]
                ):
                    self._evaluate()  # once more at the end of training (design.md protocol)
            except Stopped:
                self._checkpoint()
                raise
            finally:
                bar.close()
            self._checkpoint()
            # After the last checkpoint: a stop abandons it, and the rerun plays it again.
            with self.stop.abandonable():
                absolute = self._absolute_metric()
            return self._finish(absolute)

    def _due(self, bar: Progress) -> None:
        c, cfg = self.c, self.cfg
        if c["env_steps"] >= c["next_log"]:
            self._log_progress(bar)
            c["next_log"] += cfg.log_interval
        if c["env_steps"] >= c["next_eval"]:
            self._evaluate()
            c["next_eval"] += cfg.eval.interval
        if c["env_steps"] >= c["next_ckpt"]:
            c["next_ckpt"] += cfg.checkpoint_interval  # first, so that a resume does not save again
            self._checkpoint()

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
            # since the previous row: the rate now, which the run's average hides (warm-up, resumes)
            "steps_per_second": (c["env_steps"] - self._log_mark[0])
            / max(c["wall_seconds"] - self._log_mark[1], 1e-9),
            "restarts": c["restarts"],
        }
        for name in self.learner.metrics:
            values = [m[name] for m in w["metrics"] if name in m]
            row[name] = float(np.mean(values)) if values else None
        self._log_mark = (c["env_steps"], c["wall_seconds"])
        self.folder.progress.append([row])
        self.live.add("train", row)
        # The first interval with updates ends an off-policy warm-up, which ran at many times the
        # training rate: from here the ETA's rate is the training rate alone.
        first_updates = bool(w["metrics"]) and not self._updating
        self._updating = self._updating or first_updates
        bar.update(c["env_steps"], row["train_win_rate"], row["train_return_mean"], first_updates)
        self._window = {"returns": [], "wins": [], "metrics": []}

    def _evaluate(self) -> None:
        c = self.c
        seed = self.cfg.seed + PROTOCOL_SEED_OFFSET
        with self.stop.abandonable():  # before any row is written (omdpg/preemption.py)
            episodes, restarts = evaluate(self.eval_env, self.learner, self.cfg.eval.episodes, seed)
        c["restarts"] += restarts
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
        seed = self.cfg.seed + HELD_OUT_SEED_OFFSET
        try:
            episodes, restarts = evaluate(env, self.learner, n, seed)
        finally:
            if env is not self.eval_env:
                env.close()
        self.c["restarts"] += restarts  # after the last progress row: DONE reports the total
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
            "restarts": self.c["restarts"],
            **absolute,
        }
        # Each CSV's checksum: a finished folder is trusted only while its files are these.
        write_json_atomic(self.folder.done, {**summary, "files": self.folder.marks()})
        return summary

    def close(self) -> None:
        self.env.close()
        self.eval_env.close()
        if self.live is not None:
            self.live.close()


def load_checkpoint(folder: RunFolder, device: torch.device) -> dict:
    """The checkpoint, checked, and the CSV rows it counts, checked; writes nothing."""
    try:
        saved = checkpoint.load(folder.checkpoint, device)
        folder.check_logs(saved["logs"], finished=False)
    except Damaged as err:
        raise UserError(f"{folder.root}: {err}: restore it from a backup, or {RETRAIN}") from None
    return saved


def _look(folder: RunFolder, cfg: RunConfig, device: torch.device) -> tuple[State, dict | None]:
    first_checkpoint = -(-cfg.checkpoint_interval // cfg.n_envs) * cfg.n_envs
    state = inspect(folder, run_identity(cfg), first_checkpoint)
    return state, load_checkpoint(folder, device) if state is State.RESUME else None


def train(cfg: RunConfig, out: Path, wait: bool = False, note: str | None = None) -> int:
    """Train into ``out`` (omdpg/cli.py has checked the path), holding its lock; resume it, or do
    nothing where it is finished. Returns the exit status. Whatever can refuse the run or its
    folder runs before the lock is taken and before any env is built: a refusal is one line and
    leaves the folder as it was. ``note`` (how --steps was rounded) is printed once nothing can."""
    device = resolve_device(cfg.device)
    why = backend(cfg.env).unavailable()
    if why:
        raise UserError(f"cannot run {cfg.env} map {cfg.map}: {why}")
    folder = RunFolder(out, learner_class(cfg.algo).metrics)

    def going_ahead(message: str | None = None) -> int:
        """The note, now that nothing can refuse the run, and ``message``."""
        if note:
            print(note, file=sys.stderr)
        if message:
            print(message)
        return 0

    state, saved = _look(folder, cfg, device)
    complete = f"{out}: run already complete ({folder.done}); nothing to do"
    if state is State.FINISHED:
        return going_ahead(complete)
    with RunLock(folder.lock, wait) as lock:
        if lock.waited:  # the run that held the folder has finished it, or gone on and stopped
            state, saved = _look(folder, cfg, device)
            if state is State.FINISHED:
                return going_ahead(complete)
        going_ahead()
        runner = Runner(cfg, out)
        try:
            runner.start(saved)
            summary = runner.run()
        except Stopped:
            signum = runner.stop.signum
            print(
                f"stopped by {runner.stop.name} at env step {runner.c['env_steps']}: checkpoint "
                "written; run the same command again to resume",
                file=sys.stderr,
            )
            return 128 + signum
        finally:
            runner.close()
    shown = {k: v for k, v in summary.items() if v is not None}
    print(f"done: {out} {shown}")
    return 0
