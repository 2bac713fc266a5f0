"""One factory for every backend, used by training and evaluation alike."""

from __future__ import annotations

import importlib

from omdpg.envs.base import BatchedEnv, EnvSpec, Reset, Step
from omdpg.envs.registry import ENVS, MAPS, MapInfo, lookup

_ADAPTERS = {
    "smax": ("omdpg.envs.smax", "SmaxEnv"),
    "mamujoco": ("omdpg.envs.mamujoco", "MamujocoEnv"),
    "smac": ("omdpg.envs.smac", "SmacEnv"),
    "smacv2": ("omdpg.envs.smac", "SmacEnv"),
}


def make_env(env: str, map_name: str, n_envs: int, **options) -> BatchedEnv:
    """``options`` go to the adapter (MaMuJoCo's ``render`` for recordings)."""
    info = lookup(env, map_name)
    module, cls = _ADAPTERS[env]
    # Backends import lazily: smac and smacv2 must never share a process, and jax is slow to load.
    return getattr(importlib.import_module(module), cls)(info, n_envs, **options)


__all__ = [
    "ENVS",
    "MAPS",
    "BatchedEnv",
    "EnvSpec",
    "MapInfo",
    "Reset",
    "Step",
    "lookup",
    "make_env",
]
