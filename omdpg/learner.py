"""The learner contract (docs/design.md, contract 4) and the registry of algorithms.

A learner acts (explore or greedy), takes experience, updates when due and returns its metrics, and
saves and restores its whole state. The runner owns everything else, so algorithms differ only
where the maths differs.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from omdpg.config import ProtocolConfig, RunConfig
from omdpg.envs.base import EnvSpec
from omdpg.envs.registry import backend
from omdpg.errors import UserError
from omdpg.grouping import Groups

# name -> (module, class). One line per algorithm: adding one to the harness starts here.
ALGORITHMS = {
    "mappo": ("baselines.mappo", "MAPPO"),
    "happo": ("baselines.happo", "HAPPO"),
    "omdpg": ("omdpg.omdpg", "OMDPG"),
    "hatd3": ("baselines.hatd3", "HATD3"),
    "qmix": ("baselines.qmix", "QMIX"),
}


@dataclass
class Transition:
    """One batched env step, as the learner sees it. next_* hold the observation each episode ended
    on where it ended (before the auto-reset), so truncated episodes can bootstrap."""

    obs: np.ndarray
    state: np.ndarray
    avail: np.ndarray | None
    actions: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_obs: np.ndarray
    next_state: np.ndarray
    next_avail: np.ndarray | None


class Learner(ABC):
    Config: type  # the algorithm's typed config dataclass
    sharing = "any grouping"  # what `omdpg algos` prints
    default_grouping = "type"
    metrics: tuple[str, ...] = ()  # progress.csv columns this learner adds, in order
    discrete_only_metrics: tuple[str, ...] = ()  # of ``metrics``: empty cells on continuous envs
    # The attributes (torch modules) that greedy act() reads, and nothing else: what the runner
    # keeps of the best evaluation for the absolute metric, without optimisers or replay.
    policy_modules: tuple[str, ...] = ()
    discrete = True  # action spaces it supports
    continuous = True

    def __init__(
        self,
        spec: EnvSpec,
        groups: Groups,
        cfg,
        protocol: ProtocolConfig,
        n_envs: int,
        device: torch.device,
    ):
        # protocol.gamma is every learner's discount; rewards reach observe() already multiplied
        # by protocol.reward_scale (the runner does it, so every algorithm sees the same numbers).
        self.spec, self.groups, self.cfg, self.protocol = spec, groups, cfg, protocol
        self.n_envs, self.device = n_envs, device

    def _t(self, x, dtype=torch.float32):
        """An env array as a tensor on the learner's device (None stays None)."""
        return None if x is None else torch.as_tensor(x, dtype=dtype, device=self.device)

    @classmethod
    def default_config(cls, env: str):
        """Defaults, with the per-env values the algorithm's reference uses."""
        return cls.Config()

    @classmethod
    def default_n_envs(cls, env: str) -> int:
        """Parallel training envs: a sampling choice of the algorithm (HARL's n_rollout_threads),
        not part of the env's protocol, so an algorithm may take its own; RunConfig's otherwise."""
        return RunConfig().n_envs

    @classmethod
    def check_env(cls, cfg, env: str) -> None:
        """Refuse options the env cannot take (its action space); the config's own ``check``
        cannot see the env. Called by cli.build_config, before any run folder exists. None by
        default."""
        return None

    @abstractmethod
    def act(
        self, obs: np.ndarray, state: np.ndarray, avail: np.ndarray | None, explore: bool
    ) -> np.ndarray:
        """Actions [B, n] (int, discrete) or [B, n, n_actions] (float in [-1, 1], continuous)."""

    @abstractmethod
    def observe(self, t: Transition) -> dict | None:
        """Take one env step of experience; update when due; return metrics if it updated."""

    @abstractmethod
    def cut_episodes(self, obs: np.ndarray, state: np.ndarray, avail: np.ndarray | None) -> None:
        """The episodes in flight end here, where they stood (``obs``, ``state``, ``avail``), as
        truncations: a resume that cannot restore its games goes on with new episodes, and no
        return or advantage may run from the old ones into them."""

    @abstractmethod
    def state_dict(self) -> dict: ...

    @abstractmethod
    def load_state_dict(self, state: dict) -> None: ...

    def policy_state_dict(self) -> dict:
        """Copies of the parameters greedy act() uses (``policy_modules``), apart from training."""
        if not self.policy_modules:
            raise NotImplementedError(f"{type(self).__name__} declares no policy_modules")
        return {
            name: {k: v.detach().clone() for k, v in getattr(self, name).state_dict().items()}
            for name in self.policy_modules
        }

    def load_policy_state_dict(self, state: dict) -> None:
        for name in self.policy_modules:
            getattr(self, name).load_state_dict(state[name])


def learner_class(name: str) -> type[Learner]:
    if name not in ALGORITHMS:
        raise UserError(
            f"unknown algorithm '{name}': choose one of {', '.join(ALGORITHMS)} (see `omdpg algos`)"
        )
    module, cls = ALGORITHMS[name]
    try:
        return getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as err:
        raise UserError(f"algorithm '{name}' is not available in this build ({err})") from None


def check_supports(cls: type[Learner], name: str, env: str) -> None:
    discrete = backend(env).discrete
    if discrete and not cls.discrete:
        raise UserError(
            f"{name} needs continuous actions and {env} is discrete: use --env mamujoco"
        )
    if not discrete and not cls.continuous:
        raise UserError(f"{name} needs discrete actions and {env} is continuous: use --env smax")
