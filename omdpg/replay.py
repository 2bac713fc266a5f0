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

Where the arrays live (``train.replay_device``): torch tensors on the CPU, or on the learner's
device, so that a GPU learner's batches never cross the bus. Either way the sampled indices come
from numpy's global RNG (checkpointed with the run, so a resume stays exact) and the gathers and
the n-step arithmetic are the same torch code, which runs where the arrays are.
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

    def slices(self, size: int) -> list[Batch]:
        """Consecutive mini-batches of ``size`` rows (views, no copy)."""
        return [
            Batch(*(None if x is None else x[i : i + size] for x in self))
            for i in range(0, len(self.reward), size)
        ]


def unpack_bits(bits: torch.Tensor, count: int) -> torch.Tensor:
    """np.unpackbits(bits, axis=-1, count=count) as bool, in torch: most significant bit first."""
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=bits.device)
    return ((bits[..., None] >> shifts) & 1).flatten(-2)[..., :count].bool()


class ReplayBuffer:
    def __init__(
        self,
        spec: EnvSpec,
        n_envs: int,
        capacity: int,
        dtype: str = "float32",
        device: torch.device | str = "cpu",
    ):
        self.spec, self.B, self.device = spec, n_envs, torch.device(device)
        self.rows = max(capacity // n_envs, 2)
        self.dtype = getattr(torch, dtype)
        R, B, n = self.rows, n_envs, spec.n_agents
        self.data = {
            "obs": self._zeros((R, B, n, spec.obs_dim), self.dtype),
            "state": self._zeros((R, B, spec.state_dim), self.dtype),
            "reward": self._zeros((R, B), torch.float32),
            "terminated": self._zeros((R, B), torch.bool),
            "truncated": self._zeros((R, B), torch.bool),
            "final_slot": self._zeros((R, B), torch.int32),
        }
        if spec.discrete:
            self.data["avail"] = self._zeros((R, B, n, math.ceil(spec.n_actions / 8)), torch.uint8)
            self.data["actions"] = self._zeros((R, B, n), torch.int16)
        else:
            self.data["actions"] = self._zeros((R, B, n, spec.n_actions), torch.float32)
        # Side store of truncated episodes' last observations. A time limit ends an episode at most
        # once per episode_limit steps per env, which sizes it; it grows if an env truncates sooner.
        limit = spec.episode_limit if spec.episode_limit > 0 else R
        size = B * (math.ceil(R / limit) + 1)
        self.final = self._final_arrays(size)
        # The global row that owns each slot: host bookkeeping of add, which sampling never reads.
        self.final_row = np.full(size, -(2**62), np.int64)
        self.t = 0  # batched env steps written so far (global row counter)
        self.f_next = 0  # next side-store slot

    def _zeros(self, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
        """Zeros on the buffer's device; on the CPU numpy's, whose untouched pages take no memory
        until rows are written (torch.zeros would touch the whole capacity at once)."""
        if self.device.type != "cpu":
            return torch.zeros(shape, dtype=dtype, device=self.device)
        return torch.from_numpy(np.zeros(shape, torch.empty(0, dtype=dtype).numpy().dtype))

    def _final_arrays(self, size: int) -> dict:
        spec = self.spec
        out = {
            "obs": self._zeros((size, spec.n_agents, spec.obs_dim), self.dtype),
            "state": self._zeros((size, spec.state_dim), self.dtype),
        }
        if spec.discrete:
            out["avail"] = self._zeros((size, *self.data["avail"].shape[2:]), torch.uint8)
        return out

    # --- memory -----------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return self.rows * self.B

    def __len__(self) -> int:
        return min(self.t, self.rows) * self.B

    @property
    def nbytes(self) -> int:
        tensors = list(self.data.values()) + list(self.final.values())
        return sum(a.nelement() * a.element_size() for a in tensors) + self.final_row.nbytes

    @property
    def bytes_per_transition(self) -> float:
        return self.nbytes / self.capacity

    # --- writing ------------------------------------------------------------------------------
    def add(self, tr: Transition) -> None:
        r, d = self.t % self.rows, self.data
        row = {
            "obs": tr.obs,
            "state": tr.state,
            "actions": tr.actions,
            "reward": tr.reward,
            "terminated": tr.terminated,
            "truncated": tr.truncated,
        }
        if self.spec.discrete:
            row["avail"] = np.packbits(tr.avail, axis=-1)
        slots = np.full(self.B, -1, np.int32)
        for b in np.flatnonzero(tr.truncated & ~tr.terminated):
            slots[b] = self._store_final(b, self.t, tr.next_obs, tr.next_state, tr.next_avail)
        row["final_slot"] = slots
        for k, v in row.items():  # copy_ casts to the stored dtype and crosses to the device
            d[k][r] = torch.as_tensor(v)
        self.t += 1

    def cut(self, next_obs: np.ndarray, next_state: np.ndarray, next_avail: np.ndarray | None):
        """End every episode in flight at the last written row as a truncation that bootstraps
        from ``next_*`` (where it stood): the rows that follow belong to new episodes (a resume
        that cannot restore its games), and no n-step return may run on into them."""
        if self.t == 0:
            return
        r, d = (self.t - 1) % self.rows, self.data
        for b in np.flatnonzero(~(d["terminated"][r] | d["truncated"][r]).cpu().numpy()):
            d["final_slot"][r, b] = self._store_final(
                b, self.t - 1, next_obs, next_state, next_avail
            )
            d["truncated"][r, b] = True

    def _store_final(self, b: int, row: int, obs, state, avail) -> int:
        """Env b's last observation in a side-store slot owned by global row ``row``; the slot."""
        slot = self._free_slot()
        self.final["obs"][slot] = torch.as_tensor(obs[b])
        self.final["state"][slot] = torch.as_tensor(state[b])
        self.final_row[slot] = row
        if self.spec.discrete:
            self.final["avail"][slot] = torch.from_numpy(np.packbits(avail[b], axis=-1))
        return slot

    def _free_slot(self) -> int:
        size = len(self.final_row)
        slot = self.f_next % size
        if self.final_row[slot] > self.t - self.rows:  # still referenced by a live row: grow
            more = self._final_arrays(size)
            self.final = {k: torch.cat([v, more[k]]) for k, v in self.final.items()}
            self.final_row = np.concatenate([self.final_row, np.full(size, -(2**62), np.int64)])
            slot = size
        self.f_next = slot + 1
        return slot

    # --- sampling -----------------------------------------------------------------------------
    def can_sample(self, n_step: int) -> bool:
        return self.t - max(0, self.t - self.rows) > n_step

    def sample(self, batch_size: int, n_step: int, gamma: float, device: torch.device) -> Batch:
        """Uniform over (row, env) pairs whose n following rows are written: the indices from
        numpy's global RNG (rows, then envs), everything else in torch where the arrays are."""
        first = max(0, self.t - self.rows)
        g = np.random.randint(first, self.t - n_step, size=batch_size)  # global rows
        env = np.random.randint(0, self.B, size=batch_size)
        batch = self.gather(torch.from_numpy(g), torch.from_numpy(env), n_step, gamma)
        return Batch(*(None if x is None else x.to(device) for x in batch))

    def gather(self, g: torch.Tensor, env: torch.Tensor, n_step: int, gamma: float) -> Batch:
        """The transitions at global rows ``g`` of envs ``env`` with their n-step returns, on the
        buffer's device. No step depends on a value read back to the host (a GPU never waits)."""
        d, R, on = self.data, self.rows, self.device
        g, env = g.to(on), env.to(on)
        # The n rows after each sample at once ([batch, n]); the return stops at the first end.
        k = torch.arange(n_step, device=on)
        rows, cols = (g[:, None] + k) % R, env[:, None]
        term, trunc = d["terminated"][rows, cols], d["truncated"][rows, cols]
        ends = term | trunc
        ended = ends.any(1)
        first = ends.byte().argmax(1, keepdim=True)  # the first end (0 where none: masked by ended)
        m = torch.where(ended, first[:, 0] + 1, n_step)  # rewards summed; the bootstrap's γ^m
        # float64 as numpy's arithmetic was: the sums round to float32 once, at the end
        weights = torch.where(k < m[:, None], gamma ** k.double(), 0.0)
        reward = (weights * d["reward"][rows, cols]).sum(1)
        term_at, trunc_at, row_at = (x.gather(1, first)[:, 0] for x in (term, trunc, rows))
        terminated = ended & term_at
        truncated = ended & trunc_at & ~term_at  # bootstraps from the observation it ended on
        slot = torch.where(truncated, d["final_slot"][row_at, env], -1)
        end_row = torch.where(ended, (row_at + 1) % R, (g + n_step) % R)
        has_final, slot = slot >= 0, slot.clamp(min=0).long()  # slot 0 stands in where none

        def next_of(key: str) -> torch.Tensor:  # the next row's, or the side store's after a cut
            side, nxt = self.final[key][slot], d[key][end_row, env]
            return torch.where(has_final.view(-1, *[1] * (nxt.dim() - 1)), side, nxt)

        row = g % R
        floats = {
            "obs": d["obs"][row, env],
            "state": d["state"][row, env],
            "reward": reward,
            "discount": gamma ** m.double() * ~terminated,
            "next_obs": next_of("obs"),
            "next_state": next_of("state"),
        }
        out = {k: v.float() for k, v in floats.items()}
        actions = d["actions"][row, env]
        out["actions"] = actions.long() if self.spec.discrete else actions
        out["avail"] = out["next_avail"] = None
        if self.spec.discrete:
            A = self.spec.n_actions
            out["avail"] = unpack_bits(d["avail"][row, env], A)
            out["next_avail"] = unpack_bits(next_of("avail"), A)
        return Batch(**out)

    # --- checkpoints: only the filled part is saved ---------------------------------------------
    def state_dict(self) -> dict:
        """Tensors that share the buffer's memory, as nn.Module.state_dict does: torch.save
        writes them without the transient copy a pickled array would need (3 GB at 1e6 on 2s3z).
        On the CPU the live rows are their own tensor: torch.save writes a slice's whole storage."""
        live = min(self.t, self.rows)

        def filled(v: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(v[:live].numpy()) if v.device.type == "cpu" else v[:live].cpu()

        return {
            "t": self.t,
            "f_next": self.f_next,
            "rows": self.rows,
            "data": {k: filled(v) for k, v in self.data.items()},
            "final": {**self.final, "row": torch.from_numpy(self.final_row)},
        }

    def load_state_dict(self, s: dict) -> None:
        """From a buffer saved on any device (and by the numpy buffer before it, same layout)."""
        assert s["rows"] == self.rows, "replay capacity differs from the checkpoint's"
        for k, v in s["data"].items():
            self.data[k][: len(v)] = v
        final = dict(s["final"])
        self.final_row = final.pop("row").cpu().numpy().copy()
        self.final = {k: v.to(self.device, copy=True) for k, v in final.items()}
        self.t, self.f_next = s["t"], s["f_next"]
