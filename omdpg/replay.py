"""Off-policy replay buffer, sized for a laptop as well as for the paper's 1e6 transitions.

Memory (docs/omdpg-algorithm.md section 10):
- Rows are batched env steps ([rows, B, ...]), so the next observation of a transition is the next
  row's observation and is not stored twice. The one exception is an episode that ended: the next
  row then holds the reset observation. A truncated episode must bootstrap from the observation it
  ended on (HARL's ``bad_transition``), so that one is kept in a small side store; a terminated one
  never bootstraps, so it needs none.
- Observations and states are float32 or float16 (``train.buffer_dtype``), availability masks are
  bit-packed, discrete actions int16.
- ``terminated`` and ``truncated`` are stored apart; the bootstrap weight is ``1 - terminated``.

Sampling returns n-step targets' ingredients (``train.n_step``, HARL tuned configs use 10-20):
the discounted reward sum up to the first episode end and the discount γ^m (1 - terminated) of
the state it bootstraps from.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from omdpg.envs.base import EnvSpec
from omdpg.learner import Transition


class Batch(NamedTuple):
    """A sampled mini-batch; shapes with B = batch size, n agents, A actions."""

    obs: torch.Tensor  # [B, n, obs_dim] float32
    state: torch.Tensor  # [B, state_dim]
    avail: torch.Tensor | None  # [B, n, A] bool, None for continuous actions
    actions: torch.Tensor  # [B, n] int64 (discrete) or [B, n, A] float32
    reward: torch.Tensor  # [B] sum_{k<m} γ^k r_{t+k}
    discount: torch.Tensor  # [B] γ^m (1 - terminated): weight of the bootstrap value
    next_obs: torch.Tensor  # [B, n, obs_dim] observation at t+m
    next_state: torch.Tensor  # [B, state_dim]
    next_avail: torch.Tensor | None  # [B, n, A] bool


class ReplayBuffer:
    def __init__(self, spec: EnvSpec, n_envs: int, capacity: int, dtype: str = "float32"):
        self.spec, self.B = spec, n_envs
        self.rows = max(capacity // n_envs, 2)
        self.dtype = np.dtype(dtype)
        R, B, n = self.rows, n_envs, spec.n_agents
        self.data = {
            "obs": np.zeros((R, B, n, spec.obs_dim), self.dtype),
            "state": np.zeros((R, B, spec.state_dim), self.dtype),
            "reward": np.zeros((R, B), np.float32),
            "terminated": np.zeros((R, B), bool),
            "truncated": np.zeros((R, B), bool),
            "final_slot": np.full((R, B), -1, np.int32),
        }
        if spec.discrete:
            self.data["avail"] = np.zeros((R, B, n, math.ceil(spec.n_actions / 8)), np.uint8)
            self.data["actions"] = np.zeros((R, B, n), np.int16)
        else:
            self.data["actions"] = np.zeros((R, B, n, spec.n_actions), np.float32)
        # Side store of truncated episodes' last observations. A time limit ends an episode at most
        # once per episode_limit steps per env, which sizes it; it grows if an env truncates sooner.
        limit = spec.episode_limit if spec.episode_limit > 0 else R
        self.final = self._final_arrays(B * (math.ceil(R / limit) + 1))
        self.t = 0  # batched env steps written so far (global row counter)
        self.f_next = 0  # next side-store slot

    def _final_arrays(self, size: int) -> dict:
        spec = self.spec
        out = {
            "obs": np.zeros((size, spec.n_agents, spec.obs_dim), self.dtype),
            "state": np.zeros((size, spec.state_dim), self.dtype),
            "row": np.full(size, -(2**62), np.int64),
        }  # global row that owns the slot
        if spec.discrete:
            out["avail"] = np.zeros((size, spec.n_agents, self.data["avail"].shape[-1]), np.uint8)
        return out

    # --- memory -----------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return self.rows * self.B

    def __len__(self) -> int:
        return min(self.t, self.rows) * self.B

    @property
    def nbytes(self) -> int:
        arrays = list(self.data.values()) + list(self.final.values())
        return sum(a.nbytes for a in arrays)

    @property
    def bytes_per_transition(self) -> float:
        return self.nbytes / self.capacity

    # --- writing ------------------------------------------------------------------------------
    def add(self, tr: Transition) -> None:
        r, d = self.t % self.rows, self.data
        d["obs"][r], d["state"][r] = tr.obs, tr.state
        d["actions"][r] = tr.actions
        d["reward"][r], d["terminated"][r] = tr.reward, tr.terminated
        d["truncated"][r] = tr.truncated
        if self.spec.discrete:
            d["avail"][r] = np.packbits(tr.avail, axis=-1)
        d["final_slot"][r] = -1
        for b in np.flatnonzero(tr.truncated & ~tr.terminated):
            d["final_slot"][r, b] = slot = self._free_slot()
            self.final["obs"][slot], self.final["state"][slot] = tr.next_obs[b], tr.next_state[b]
            self.final["row"][slot] = self.t
            if self.spec.discrete:
                self.final["avail"][slot] = np.packbits(tr.next_avail[b], axis=-1)
        self.t += 1

    def _free_slot(self) -> int:
        size = len(self.final["row"])
        slot = self.f_next % size
        if self.final["row"][slot] > self.t - self.rows:  # still referenced by a live row: grow
            more = self._final_arrays(size)
            self.final = {k: np.concatenate([v, more[k]]) for k, v in self.final.items()}
            slot = size
        self.f_next = slot + 1
        return slot

    # --- sampling -----------------------------------------------------------------------------
    def can_sample(self, n_step: int) -> bool:
        return self.t - max(0, self.t - self.rows) > n_step

    def sample(self, batch_size: int, n_step: int, gamma: float, device: torch.device) -> Batch:
        """Uniform over (row, env) pairs whose n following rows are written."""
        first = max(0, self.t - self.rows)
        g = np.random.randint(first, self.t - n_step, size=batch_size)  # global rows
        env = np.random.randint(0, self.B, size=batch_size)
        d, R = self.data, self.rows
        # The n rows after each sample at once ([batch, n]); the return stops at the first end.
        rows, cols = (g[:, None] + np.arange(n_step)) % R, env[:, None]
        term, trunc = d["terminated"][rows, cols], d["truncated"][rows, cols]
        ended = (term | trunc).any(1)
        first = (term | trunc).argmax(1)  # the first end's offset (0 where none: masked by ended)
        m = np.where(ended, first + 1, n_step)  # rewards summed, and the bootstrap's power of γ
        weights = np.where(np.arange(n_step) < m[:, None], gamma ** np.arange(n_step), 0.0)
        reward = (weights * d["reward"][rows, cols]).sum(1).astype(np.float32)
        at = np.arange(batch_size), first
        terminated = ended & term[at]
        truncated = ended & trunc[at] & ~term[at]  # bootstraps from the observation it ended on
        slot = np.where(truncated, d["final_slot"][rows[at], env], -1)
        end_row = np.where(ended, (rows[at] + 1) % R, (g + n_step) % R)
        next_obs, next_state = d["obs"][end_row, env], d["state"][end_row, env]
        has_final = slot >= 0
        next_obs[has_final] = self.final["obs"][slot[has_final]]
        next_state[has_final] = self.final["state"][slot[has_final]]
        row = g % R
        floats = {
            "obs": d["obs"][row, env],
            "state": d["state"][row, env],
            "reward": reward,
            "discount": gamma**m * ~terminated,
            "next_obs": next_obs,
            "next_state": next_state,
        }
        out = {k: torch.as_tensor(v, dtype=torch.float32, device=device) for k, v in floats.items()}
        out["actions"] = torch.as_tensor(
            d["actions"][row, env],
            device=device,
            dtype=torch.int64 if self.spec.discrete else torch.float32,
        )
        out["avail"] = out["next_avail"] = None
        if self.spec.discrete:
            next_bits = d["avail"][end_row, env]
            next_bits[has_final] = self.final["avail"][slot[has_final]]
            for key, bits in (("avail", d["avail"][row, env]), ("next_avail", next_bits)):
                out[key] = torch.as_tensor(
                    np.unpackbits(bits, axis=-1, count=self.spec.n_actions),
                    dtype=torch.bool,
                    device=device,
                )
        return Batch(**out)

    # --- checkpoints: only the filled part is saved ---------------------------------------------
    def state_dict(self) -> dict:
        """Tensors that share the buffer's memory, as nn.Module.state_dict does: torch.save
        writes them without the transient copy a pickled array would need (3 GB at 1e6 on 2s3z)."""
        live = min(self.t, self.rows)
        return {
            "t": self.t,
            "f_next": self.f_next,
            "rows": self.rows,
            "data": {k: torch.from_numpy(v[:live]) for k, v in self.data.items()},
            "final": {k: torch.from_numpy(v) for k, v in self.final.items()},
        }

    def load_state_dict(self, s: dict) -> None:
        assert s["rows"] == self.rows, "replay capacity differs from the checkpoint's"
        for k, v in s["data"].items():
            self.data[k][: len(v)] = v.numpy()
        self.final = {k: v.numpy().copy() for k, v in s["final"].items()}
        self.t, self.f_next = s["t"], s["f_next"]
