"""Typed configuration: dataclasses with defaults, ``--set key=value`` overrides, validation.

Every field has a one-line ``help`` in its metadata; ``omdpg algos`` prints them. Unknown keys,
wrong types, empty lists, NaN or infinite numbers and out-of-range values raise one UserError naming
the key and the fix.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field

from omdpg.envs.registry import ENVS
from omdpg.errors import UserError

# Run keys that have their own flag (--algo, --seed, ...): the flag is their one source, so `--set`
# refuses them, and `omdpg algos` does not list them.
FLAG_KEYS = ("algo", "env", "map", "seed", "steps", "grouping", "device")
# The largest integer any option takes where it names no maximum of its own: torch, numpy and JAX
# index and seed with 32-bit integers, and a bigger value only overflows somewhere deep inside them.
INT_MAX = 2**31 - 1


def option(
    default,
    help: str,
    choices: tuple | None = None,
    min: float | None = None,
    max: float | None = None,
):
    """A config field: default, one-line help, and the bounds ``validate`` enforces."""
    meta = {"help": help, "choices": choices, "min": min, "max": max}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def omp_threads() -> int | None:
    """The OMP_NUM_THREADS this process was given (Snakemake sets it from a job's threads; the outer
    level of OpenMP's nested form), or None. Torch-free, so `omdpg train` refuses a bad value before
    torch's OpenMP library loads and prints its own warning."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    given = value.split(",")[0].strip()
    if not given:
        return None
    if not given.isdigit() or int(given) < 1:
        raise UserError(
            f"OMP_NUM_THREADS={value!r}: not a positive number of threads; "
            "unset it or pass --set torch_threads=N"
        )
    return int(given)


def cpu_threads(requested: int) -> int:
    """torch's CPU threads for ``torch_threads``: the number asked for, or for 0 the job's
    OMP_NUM_THREADS, else 1."""
    return requested or omp_threads() or 1


@dataclass
class EvalConfig:
    # The maxima are config/schemas/study.schema.yaml's (a test holds them equal).
    interval: int = option(10_000, "env steps between greedy evaluations", min=1, max=100_000_000)
    episodes: int = option(
        32, "greedy episodes per evaluation, in separate envs", min=1, max=10_000
    )
    absolute_multiple: int = option(
        10,
        "at the end, the learner of the best evaluation plays this many times eval.episodes "
        "episodes (the absolute metric of Gorsane et al. 2022; 0: off)",
        min=0,
        max=1_000,
    )


@dataclass
class LogConfig:
    """Live curves beside the CSVs, which stay the source of truth (omdpg/live_curves.py)."""

    tensorboard: bool = option(
        False, "also write the progress.csv and eval.csv rows to RUN_DIR/tensorboard"
    )
    wandb: str = option(
        "",
        "W&B project to sync those TensorBoard scalars to (offline with WANDB_MODE=offline); "
        "empty: off",
    )


@dataclass
class ProtocolConfig:
    """What every algorithm on an env sees alike (docs/design.md, fair comparisons): the env's
    discount and reward scale, from its ``Backend`` record in ``omdpg.envs.registry``. A study
    deviates from them only by setting ``protocol.*`` explicitly, and its captions then say so."""

    gamma: float = option(
        0.99, "discount of every learner (default: the env's, omdpg envs)", min=0.0, max=1.0
    )
    reward_scale: float = option(
        1.0,
        "factor on the rewards every learner sees; logged returns stay raw (default: the "
        "env's, omdpg envs)",
        min=0.0,
    )


@dataclass
class RunConfig:
    """What the runner needs; the learner's own options live in ``learner``."""

    algo: str = option("mappo", "algorithm (omdpg algos)")
    env: str = option("smax", "env backend", choices=ENVS)
    map: str = option("3s5z", "map or Scenario-partition (omdpg envs)")
    seed: int = option(0, "seed of everything: torch, numpy, python, jax, envs", min=0, max=INT_MAX)
    steps: int = option(
        200_000,
        "total training env steps (one env step = one step of one env); rounded down to a "
        "multiple of n_envs",
        min=1,
        max=1_000_000_000,
    )
    grouping: str = option(
        "type", "parameter sharing groups", choices=("type", "random", "single", "none")
    )
    device: str = option("auto", "torch device", choices=("auto", "cpu", "cuda"))
    n_envs: int = option(8, "parallel training envs", min=1)
    torch_threads: int = option(
        0,
        "torch CPU threads; 0: the OMP_NUM_THREADS the job was given (a workflow job's "
        "train_threads), else 1, which avoids oversubscribing cores that jobs share",
        min=0,
    )
    log_interval: int = option(2_000, "env steps between progress.csv rows", min=1)
    checkpoint_interval: int = option(10_000, "env steps between checkpoints", min=1)
    eval: EvalConfig = field(default_factory=EvalConfig)
    log: LogConfig = field(default_factory=LogConfig)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    learner: typing.Any = None


def _coerce(raw: str, typ, key: str):
    origin = typing.get_origin(typ)
    try:
        if typ is bool:
            if raw.lower() in ("1", "true", "yes"):
                return True
            if raw.lower() in ("0", "false", "no"):
                return False
            raise ValueError
        if origin is tuple:
            inner = typing.get_args(typ)[0]
            items = [x.strip() for x in raw.split(",")]
            if not all(items):
                raise UserError(
                    f"--set {key}={raw}: expected a comma-separated list of {inner.__name__} "
                    f"with no empty item, e.g. {key}=64,64"
                )
            return tuple(_coerce(x, inner, key) for x in items)
        if typ is int:
            try:
                return int(raw)
            except ValueError:  # 1e5, 2000.0: whole numbers written as floats
                value = float(raw)
                if value != int(value):
                    raise ValueError from None
                return int(value)
        return typ(raw)
    except (ValueError, OverflowError):  # int(float("1e400")) overflows
        name = getattr(typ, "__name__", str(typ))
        raise UserError(f"--set {key}={raw}: expected {name}; fix the value") from None


def _fields(obj) -> dict:
    hints = typing.get_type_hints(type(obj))
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(obj)}


def set_key(cfg: RunConfig, key: str, raw: str) -> None:
    """Apply one ``--set key=value``: run keys first (``eval.episodes``), then the learner's."""
    if key in FLAG_KEYS:
        raise UserError(
            f"--set {key}={raw}: {key} has its own flag; use --{key} (one source of truth)"
        )
    parts = key.split(".")
    for root in (cfg, cfg.learner):
        obj = root
        for p in parts[:-1]:
            obj = getattr(obj, p, None) if p in _fields(obj) else None
            if obj is None or not dataclasses.is_dataclass(obj):
                break
        else:
            fields = _fields(obj)
            if parts[-1] in fields and not dataclasses.is_dataclass(getattr(obj, parts[-1])):
                setattr(obj, parts[-1], _coerce(raw, fields[parts[-1]][1], key))
                return
    known = ", ".join(sorted(flat_keys(cfg)))
    raise UserError(f"--set {key}: no such key for algo '{cfg.algo}'; known keys: {known}")


def flat_keys(obj, prefix: str = "") -> dict:
    """{dotted key: (value, help)} for a config tree (the learner's keys without a prefix)."""
    out = {}
    for name, (f, _) in _fields(obj).items():
        value = getattr(obj, name)
        if name == "learner":
            out.update(flat_keys(value) if value is not None else {})
        elif dataclasses.is_dataclass(value):
            out.update(flat_keys(value, f"{prefix}{name}."))
        elif name not in FLAG_KEYS or prefix:
            out[f"{prefix}{name}"] = (value, f.metadata.get("help", ""))
    return out


def validate(obj, prefix: str = "") -> None:
    """Check choices, finiteness and bounds on every field (an integer without a maximum of its own
    is at most INT_MAX), then each dataclass's own ``check`` rules."""
    for name, (f, _) in _fields(obj).items():
        value, key = getattr(obj, name), f"{prefix}{name}"
        if dataclasses.is_dataclass(value):
            validate(value, "" if name == "learner" else f"{key}.")
            continue
        m = f.metadata
        if m.get("choices") and value not in m["choices"]:
            raise UserError(
                f"{key}={value!r} is not allowed: choose one of {', '.join(map(str, m['choices']))}"
            )
        items = value if isinstance(value, tuple) else (value,)
        if isinstance(value, tuple) and not value:
            raise UserError(f"{key}=() is empty: give at least one value, e.g. {key}=64,64")
        for v in items:
            if isinstance(v, float) and not math.isfinite(v):
                raise UserError(f"{key}={value} is not a finite number; fix the value")
            top = m.get("max")
            if top is None and isinstance(v, int) and not isinstance(v, bool):
                top = INT_MAX
            if m.get("min") is not None and v < m["min"]:
                raise UserError(f"{key}={value} is below its minimum {m['min']}; fix the value")
            if top is not None and v > top:
                raise UserError(f"{key}={value} is above its maximum {top}; fix the value")
    check = getattr(obj, "check", None)
    if check:
        check()


def from_dict(cls, data: dict):
    """The ``cls`` config that dataclasses.asdict turned into ``data`` (config.json): nested
    dataclasses and tuples restored; keys ``cls`` lacks are ignored; the learner's config is left to
    the caller, which knows its class."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data or f.name == "learner":
            continue
        value, typ = data[f.name], hints[f.name]
        if dataclasses.is_dataclass(typ):
            value = from_dict(typ, value)
        elif typing.get_origin(typ) is tuple:
            value = tuple(value)
        values[f.name] = value
    return cls(**values)
