"""One factory for every backend, used by training and evaluation alike."""

from __future__ import annotations

import importlib

from omdpg.envs.base import BatchedEnv, EnvSpec, Reset, Step
from omdpg.envs.registry import BACKENDS, ENVS, MAPS, Backend, MapInfo, backend, lookup


def make_env(env: str, map_name: str, n_envs: int, **options) -> BatchedEnv:
    """``options`` go to the adapter (MaMuJoCo's ``render`` for recordings)."""
    info = lookup(env, map_name)
    module, cls = backend(env).adapter.split(":")
    # Backends import lazily: smac and smacv2 must never share a process, and jax is slow to load.
    return getattr(importlib.import_module(module), cls)(info, n_envs, **options)


__all__ = [
    "BACKENDS",
    "ENVS",
    "MAPS",
    "Backend",
    "BatchedEnv",
    "EnvSpec",
    "MapInfo",
    "Reset",
    "Step",
    "backend",
    "lookup",
    "make_env",
]
