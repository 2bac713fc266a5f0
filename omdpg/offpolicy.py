"""What every off-policy learner shares (OMDPG, HATD3, QMIX): the replay buffer, the counters, the
warm-up, the schedule of training phases, the averaging of metrics and the checkpoint. The twin of
``baselines/onpolicy.py``'s ``OnPolicyLearner``: a subclass writes its networks, ``policy`` (its
actions after the warm-up) and ``update`` (one gradient step), and nothing else.

The schedule, written once (HARL harl/runners/off_policy_base_runner.py ``run`` and ``warmup``):

    warm-up   while env_steps < train.warmup_steps: uniformly random available actions
    phase     after a batched env step with batched_steps % train.train_interval == 0, once
              env_steps >= train.warmup_steps and the buffer holds a batch and an n-step return
    updates   int(train.update_per_train · train.train_interval) calls of ``update`` per phase
              (HARL's update_num)

so the first phase can come right after the last random step. QMIX's cadence (one update per
batched env step once the buffer holds a batch) is ``warmup_steps=0, train_interval=1``. Delays
counted in updates (TD3's ``policy_freq``, QMIX's target copies) ask ``every(n)``. The keys are one
``train`` section under one spelling for every off-policy learner, as BenchMARL spells its shared
``off_policy_*`` keys once; TD3's live in ``TD3Config``.
"""

from __future__ import annotations

import shutil
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from omdpg.actors import action_mask
from omdpg.config import option
from omdpg.errors import UserError
from omdpg.learner import Learner, Transition
from omdpg.replay import Batch, ReplayBuffer

CXX = ("g++", "c++", "clang++")  # what inductor's C++ builder looks for on a CPU


@dataclass
class OffPolicyConfig:
    """The ``train`` section of every off-policy learner. Defaults: OMDPG's (HARL's cadence, a
    CPU-sized buffer and batch); HATD3 and QMIX set their own in their configs."""

    buffer_size: int = option(200_000, "replay capacity in transitions", min=1)
    buffer_dtype: str = option(
        "float32", "storage of observations and states", choices=("float32", "float16")
    )
    checkpoint_buffer: bool = option(True, "save the replay buffer in checkpoints (exact resume)")
    batch_size: int = option(256, "transitions per gradient step", min=1)
    n_step: int = option(1, "n-step return length", min=1)
    warmup_steps: int = option(
        10_000, "env steps of uniformly random available actions before training", min=0
    )
    train_interval: int = option(50, "batched env steps between training phases", min=1)
    update_per_train: float = option(
        1.0, "gradient steps per batched env step in a phase (HARL: update-to-data ratio)", min=0.0
    )
    replay_device: str = option(
        "cpu",
        "where the replay's tensors live and its batches are gathered: cpu, or the learner's "
        "device (learner: on a GPU no batch crosses the bus); the same indices and batches",
        choices=("cpu", "learner"),
    )
    phase_sampling: bool = option(
        False,
        "draw a training phase's batches in one sampling call and give each update its slice "
        "(one gather per phase, not per update); a different random stream, so off by default",
    )
    capture: str = option(
        "off",
        "compile: each update run by torch.compile (inductor: elementwise work fused into the "
        "products' loops; any device, a C++ compiler on a CPU; the first updates wait for the "
        "compiling). cudagraphs: on a CUDA learner, also its optimisers capturable (step "
        "counts on the device) and mode='reduce-overhead', CUDA graphs replayed instead of one "
        "launch per kernel; CUDA only. Sampling and the schedule stay eager in both",
        choices=("off", "compile", "cudagraphs"),
    )
    autocast: str = option(
        "off",
        "bfloat16: an update's matrix products in bf16 under torch.autocast (parameters, optimiser "
        "and layer norms stay float32; AMX/AVX512-BF16 CPUs, GPUs); not exact, so off by default",
        choices=("off", "bfloat16"),
    )


@dataclass
class TD3Config(OffPolicyConfig):
    """The ``train`` section of the deterministic-policy learners (OMDPG, HATD3): TD3's delayed
    policy updates, Polyak targets and target-policy smoothing (Fujimoto et al. 2018,
    arXiv:1802.09477), with HARL hatd3.yaml's values."""

    policy_freq: int = option(2, "critic steps per actor step (TD3's policy delay)", min=1)
    tau: float = option(0.005, "Polyak rate of the target networks", min=0.0, max=1.0)
    expl_noise: float = option(0.1, "continuous: std of the Gaussian exploration noise", min=0.0)
    policy_noise: float = option(
        0.2, "continuous: std of TD3's target-policy smoothing noise", min=0.0
    )
    noise_clip: float = option(0.5, "continuous: clip of the smoothing noise", min=0.0)


class OffPolicyLearner(Learner):
    """Replay, counters, warm-up, training phases, metrics, checkpoint; ``cfg.train`` is an
    ``OffPolicyConfig``."""

    def __init__(self, spec, groups, cfg, protocol, n_envs, device):
        super().__init__(spec, groups, cfg, protocol, n_envs, device)
        t = cfg.train
        if t.capture == "cudagraphs" and device.type != "cuda":
            raise UserError(
                f"train.capture=cudagraphs needs a CUDA learner, not {device.type}: run with "
                "--device cuda, or set train.capture=off"
            )
        if t.capture == "compile" and device.type == "cpu" and not any(map(shutil.which, CXX)):
            raise UserError(
                "train.capture=compile on a CPU needs a C++ compiler for inductor's kernels (none "
                f"of {', '.join(CXX)} on PATH): install one (e.g. apt install g++), or set "
                "train.capture=off"
            )
        self.capturable = t.capture == "cudagraphs"  # the optimisers' flag (torch.optim)
        replay_on = device if t.replay_device == "learner" else torch.device("cpu")
        self.buffer = ReplayBuffer(spec, n_envs, t.buffer_size, t.buffer_dtype, replay_on)
        self.counters = {"env_steps": 0, "batched_steps": 0, "updates": 0}
        self.phase_batches: Iterator[Batch] | None = None  # the current phase's slices
        self.captured_update = None
        if t.capture != "off":
            self.capture(**({"mode": "reduce-overhead"} if self.capturable else {}))

    def capture(self, **compile_options) -> None:
        """Run every update through ``torch.compile(**compile_options)``. Host work (numpy's RNG)
        and the schedule stay eager between the compiled pieces: the update specialises on
        every()'s plain bool, never on the counters."""
        self.batch = torch.compiler.disable(self.batch)
        self.every = torch.compiler.disable(self.every)
        self.captured_update = torch.compile(self.update, **compile_options)

    # --- acting -----------------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs, state, avail, explore):
        obs_t, avail_t = self._t(obs), self._t(avail, torch.bool)
        if explore and self.counters["env_steps"] < self.cfg.train.warmup_steps:
            return self.uniform(obs_t, avail_t).cpu().numpy()
        return self.policy(obs_t, avail_t, explore).cpu().numpy()

    def uniform(self, obs: torch.Tensor, avail: torch.Tensor | None) -> torch.Tensor:
        """Uniformly random available actions (the warm-up policy, HARL off-policy runner)."""
        if self.spec.discrete:
            return torch.distributions.Categorical(probs=avail.float()).sample()
        u = torch.rand(*obs.shape[:-1], self.spec.n_actions, device=obs.device)
        return (u * 2 - 1) * action_mask(self.spec).to(obs.device)

    @abstractmethod
    def policy(self, obs: torch.Tensor, avail: torch.Tensor | None, explore: bool) -> torch.Tensor:
        """Env actions after the warm-up, exploring or greedy: [B, n] int or [B, n, A] float."""

    # --- the schedule -----------------------------------------------------------------------------
    def observe(self, t: Transition) -> dict | None:
        self.buffer.add(t)
        self.counters["env_steps"] += self.n_envs
        self.counters["batched_steps"] += 1
        if not self.phase_due():
            return None
        if self.cfg.train.phase_sampling:
            self.phase_batches = iter(self.draw(self.updates_per_phase))
        try:
            with torch.enable_grad():
                logs = [self.gradient_step() for _ in range(self.updates_per_phase)]
        finally:
            self.phase_batches = None
        keys = list(dict.fromkeys(k for m in logs for k in m))  # some keys only every few updates
        means = torch.stack([torch.stack([m[k] for m in logs if k in m]).mean() for k in keys])
        out = dict(zip(keys, means.tolist()))  # the phase's one device sync
        out["replay_mb"] = len(self.buffer) * self.buffer.bytes_per_transition / 1e6
        return out

    def cut_episodes(self, obs, state, avail) -> None:
        self.buffer.cut(obs, state, avail)

    @property
    def updates_per_phase(self) -> int:
        t = self.cfg.train
        return int(t.update_per_train * t.train_interval)  # HARL's update_num

    def phase_due(self) -> bool:
        c, t = self.counters, self.cfg.train
        return (
            c["batched_steps"] % t.train_interval == 0
            and c["env_steps"] >= t.warmup_steps
            and len(self.buffer) >= t.batch_size
            and self.buffer.can_sample(t.n_step)
            and self.updates_per_phase > 0
        )

    def gradient_step(self) -> dict:
        """Count one update, then run it."""
        self.counters["updates"] += 1
        bf16 = self.cfg.train.autocast == "bfloat16"
        # No cast cache: a sequential actor step reads weights that an earlier step in this
        # update changed in place, and a cached bf16 copy would serve them as they were.
        with torch.autocast(self.device.type, torch.bfloat16, enabled=bf16, cache_enabled=False):
            if self.captured_update is None:
                return self.update()
            if self.capturable:
                torch.compiler.cudagraph_mark_step_begin()
            metrics = self.captured_update()
        # A CUDA graph's outputs are overwritten by its next replay; the phase means them all.
        return {k: v.clone() for k, v in metrics.items()}

    def draw(self, updates: int) -> list[Batch]:
        """Mini-batches for ``updates`` gradient steps from one sampling call: one draw of
        indices, one gather, one copy to the device."""
        t = self.cfg.train
        big = self.buffer.sample(t.batch_size * updates, t.n_step, self.protocol.gamma, self.device)
        return big.slices(t.batch_size)

    def batch(self) -> Batch:
        """This update's mini-batch: its slice of the phase's draw, or a draw of its own."""
        if self.phase_batches is not None:
            return next(self.phase_batches)
        t = self.cfg.train
        return self.buffer.sample(t.batch_size, t.n_step, self.protocol.gamma, self.device)

    def every(self, n: int) -> bool:
        """Whether the current update is the n-th, 2n-th, ... since the start."""
        return self.counters["updates"] % n == 0

    @abstractmethod
    def update(self) -> dict[str, torch.Tensor]:
        """One gradient step; its metrics as 0-dim tensors, so that the phase syncs once."""

    # --- checkpoints ------------------------------------------------------------------------------
    def _parts(self) -> dict:
        """Every network and optimiser the learner holds, by attribute name."""
        kinds = (nn.Module, torch.optim.Optimizer)
        return {k: v for k, v in vars(self).items() if isinstance(v, kinds)}

    def state_dict(self) -> dict:
        keep_buffer = self.cfg.train.checkpoint_buffer
        return {
            **{k: v.state_dict() for k, v in self._parts().items()},
            "counters": dict(self.counters),
            "buffer": self.buffer.state_dict() if keep_buffer else None,
        }

    def load_state_dict(self, s: dict) -> None:
        for k, v in self._parts().items():
            v.load_state_dict(s[k])
        self.counters = dict(s["counters"])
        if s["buffer"] is not None:
            self.buffer.load_state_dict(s["buffer"])
