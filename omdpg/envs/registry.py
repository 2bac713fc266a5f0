"""Every per-env fact in one place: a ``Backend`` record per env, and maps as data.

A backend answers every question the harness asks about an env (BenchMARL's ``TaskClass`` is the
model): which adapter builds it and what it needs to run here, its action space, whether it has a
win, the score its tables and figures report and the caption text that says what it is, how many
evaluation envs it affords, and the protocol (discount, reward scale) every algorithm sees on it.
Maps are (env, map) -> composition, agent types, episode limit and notes; agent types feed
``--grouping type``, and the order of ``agent_types`` is the backend's agent order.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from omdpg.envs import starcraft
from omdpg.errors import UserError


@dataclass(frozen=True)
class Protocol:
    """The discount and reward scale every algorithm sees on an env, and where they come from."""

    gamma: float
    reward_scale: float
    source: str


@dataclass(frozen=True)
class Backend:
    name: str  # the --env value
    adapter: str  # "module:Class" of its BatchedEnv, imported only when an env is built
    package: str  # the import its adapter needs (for StarCraft II backends, also the game)
    versions: tuple[str, ...]  # distributions whose versions decide its numbers (config.json)
    needs_sc2: bool
    discrete: bool  # discrete actions with availability masks, else continuous
    has_win: bool  # episodes end won or lost; else win_rate is empty and won is NaN
    score: str  # the eval.csv column a run's final score is (tables, figures)
    caption: str  # what the backend is, in every table and figure caption
    # One eval env per episode, so an evaluation is one batched pass, up to this cap: a SMAX or
    # MaMuJoCo env is cheap (one vectorised JAX env; one MuJoCo model), a StarCraft II process is
    # 1-2 GB kept alive between evaluations, so SC2 stops at the default number of training envs.
    max_eval_envs: int
    protocol: Protocol
    # `omdpg eval --record`: the file types an episode is recorded as (the first is the default)
    # and the omdpg.recording class that writes them.
    recordings: tuple[str, ...] = ()
    recorder: str = ""

    @property
    def score_name(self) -> str:
        return {"win_rate": "win rate", "return_mean": "episode return"}[self.score]

    def unavailable(self) -> str | None:
        """Why this backend cannot run here (with the fix), or None."""
        if self.needs_sc2:
            reason = starcraft.missing_reason(self.package)
            return f"{reason}; fix: {starcraft.FIX}" if reason else None
        if importlib.util.find_spec(self.package) is None:
            return f"{self.package} is not installed: make setup"
        return None


def _starcraft(name: str, caption: str) -> Backend:
    """SMAC v1 and SMACv2: one adapter, each its own package (they must never share a process),
    both on StarCraft II with SMAC's protocol."""
    return Backend(
        name,
        "omdpg.envs.smac:SmacEnv",
        name,
        (name, "pysc2"),
        needs_sc2=True,
        discrete=True,
        has_win=True,
        score="win_rate",
        caption=caption,
        max_eval_envs=8,
        protocol=Protocol(
            0.95,
            1.0,
            "gamma: HARL's tuned SMAC MMM2 configs, 0.95 for HAPPO and HASAC alike (the headline "
            "map); rewards as smac scales them (reward_scale_rate: a perfect episode returns 20)",
        ),
        recordings=(".SC2Replay",),
        recorder="Sc2Replay",
    )


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend(
            "smax",
            "omdpg.envs.smax:SmaxEnv",
            "jaxmarl",
            ("jax", "jaxmarl"),
            needs_sc2=False,
            discrete=True,
            has_win=True,
            score="win_rate",
            caption="SMAX stand-in (JaxMARL, no StarCraft II; win rates are not comparable with "
            "SMAC)",
            max_eval_envs=32,
            protocol=Protocol(
                0.95,
                10.0,
                "SMAX stands in for SMAC: SMAC's gamma; SMAX returns are at most 2 (damage dealt, "
                "normalised to 1, plus a win bonus of 1), so x10 puts them on SMAC's scale of 20",
            ),
            recordings=(".gif",),
            recorder="SmaxGif",
        ),
        Backend(
            "mamujoco",
            "omdpg.envs.mamujoco:MamujocoEnv",
            "gymnasium_robotics",
            ("mujoco", "gymnasium-robotics", "gymnasium"),
            needs_sc2=False,
            discrete=False,
            has_win=False,
            score="return_mean",
            caption="MaMuJoCo (Gymnasium-Robotics v5; returns are not comparable with mujoco-py "
            "v2)",
            max_eval_envs=32,
            protocol=Protocol(
                0.99,
                1.0,
                "gamma: HARL's tuned MaMuJoCo configs (HAPPO, HATD3, HASAC: 0.99); raw rewards, "
                "as HARL",
            ),
            recordings=(".gif", ".mp4"),
            recorder="MujocoVideo",
        ),
        _starcraft("smac", "SMAC v1 on StarCraft II"),
        _starcraft("smacv2", "SMACv2 on StarCraft II"),
    )
}
ENVS = tuple(BACKENDS)


def backend(env: str) -> Backend:
    try:
        return BACKENDS[env]
    except KeyError:
        raise UserError(f"unknown env '{env}': choose one of {', '.join(ENVS)}") from None


# Defaults (of OMDPG and of every baseline) are chosen on these maps only; results are reported on
# every other map (docs/design.md, "Tuning maps and reporting maps"). A number from a tuning map is
# a screen, never a result, and captions say so.
TUNING_MAPS = frozenset({("smax", "3m"), ("smax", "2s3z"), ("mamujoco", "HalfCheetah-6x1")})


@dataclass(frozen=True)
class MapInfo:
    env: str
    name: str
    allies: str  # composition or partition, for people
    enemies: str
    agent_types: tuple[str, ...]
    episode_limit: int
    heterogeneous: bool
    notes: str = ""

    @property
    def role(self) -> str:
        """``tuning`` (defaults may be chosen here) or ``reporting`` (results are quoted here)."""
        return "tuning" if (self.env, self.name) in TUNING_MAPS else "reporting"


def _units(*pairs: tuple[int, str]) -> tuple[str, ...]:
    return tuple(unit for count, unit in pairs for _ in range(count))


_SMAX_NOTE = "SMAX stand-in (JaxMARL): no StarCraft II; win rates are not comparable with SMAC."
_SMAX = [
    MapInfo("smax", "3m", "3 marines", "3 marines", _units((3, "marine")), 100, False, _SMAX_NOTE),
    MapInfo("smax", "8m", "8 marines", "8 marines", _units((8, "marine")), 100, False, _SMAX_NOTE),
    MapInfo(
        "smax",
        "2s3z",
        "2 stalkers + 3 zealots",
        "same",
        _units((2, "stalker"), (3, "zealot")),
        100,
        True,
        _SMAX_NOTE,
    ),
    MapInfo(
        "smax",
        "3s5z",
        "3 stalkers + 5 zealots",
        "same",
        _units((3, "stalker"), (5, "zealot")),
        100,
        True,
        _SMAX_NOTE,
    ),
    MapInfo(
        "smax",
        "3s5z_vs_3s6z",
        "3 stalkers + 5 zealots",
        "3 stalkers + 6 zealots",
        _units((3, "stalker"), (5, "zealot")),
        100,
        True,
        _SMAX_NOTE,
    ),
    MapInfo(
        "smax",
        "smacv2_5_units",
        "5 random units (redrawn every reset)",
        "mirror of allies",
        ("random",) * 5,
        100,
        True,
        _SMAX_NOTE + " Unit types are drawn per episode, so --grouping type puts all agents "
        "in one group.",
    ),
    MapInfo(
        "smax",
        "smacv2_10_units",
        "10 random units (redrawn every reset)",
        "mirror of allies",
        ("random",) * 10,
        100,
        True,
        _SMAX_NOTE + " Unit types are redrawn per episode.",
    ),
    MapInfo(
        "smax",
        "6m2m_15m",
        "6 marines + 2 marauders",
        "15 marines",
        _units((6, "marine"), (2, "marauder")),
        100,
        True,
        _SMAX_NOTE + " Registered by this project. OUR INTERPRETATION of the paper's map name "
        "'6m2m_15m' (the paper does not define it).",
    ),
    MapInfo(
        "smax",
        "mm2_no_medivac",
        "2 marauders + 7 marines",
        "3 marauders + 8 marines",
        _units((2, "marauder"), (7, "marine")),
        100,
        True,
        _SMAX_NOTE + " Registered by this project: MMM2 without its medivacs (no healing), "
        "not MMM2; the control beside SMAX MMM2.",
    ),
    MapInfo(
        "smax",
        "MMM2",
        "1 medivac + 2 marauders + 7 marines",
        "1 medivac + 3 marauders + 8 marines",
        _units((2, "marauder"), (7, "marine"), (1, "medivac")),
        100,
        True,
        _SMAX_NOTE + " Registered by this project: SMAC MMM2's composition with healing "
        "medivacs added to SMAX (omdpg.envs.medivac); SMAX unit statistics, step and time limit, "
        "not SMAC's (docs/smax-medivac.md).",
    ),
    MapInfo(
        "smax",
        "MMM",
        "1 medivac + 2 marauders + 7 marines",
        "same",
        _units((2, "marauder"), (7, "marine"), (1, "medivac")),
        100,
        True,
        _SMAX_NOTE + " Registered by this project: SMAC MMM's composition with healing medivacs "
        "added to SMAX (omdpg.envs.medivac); SMAX unit statistics, step and time limit, not "
        "SMAC's (docs/smax-medivac.md).",
    ),
]

_SMAC_NOTE = "SMAC v1 on StarCraft II 4.10 (oxwhirl/smac)."
_SMAC = [
    MapInfo(
        "smac",
        "MMM2",
        "1 medivac + 2 marauders + 7 marines",
        "1 medivac + 3 marauders + 8 marines",
        _units((2, "marauder"), (7, "marine"), (1, "medivac")),
        180,
        True,
        _SMAC_NOTE + " The paper's headline map (OMDPG 0.89 vs HAPPO 0.45, the paper's numbers).",
    ),
    MapInfo(
        "smac",
        "MMM",
        "1 medivac + 2 marauders + 7 marines",
        "same",
        _units((2, "marauder"), (7, "marine"), (1, "medivac")),
        150,
        True,
        _SMAC_NOTE,
    ),
    MapInfo(
        "smac",
        "3s5z_vs_3s6z",
        "3 stalkers + 5 zealots",
        "3 stalkers + 6 zealots",
        _units((3, "stalker"), (5, "zealot")),
        170,
        True,
        _SMAC_NOTE,
    ),
    MapInfo(
        "smac",
        "1c3s5z",
        "1 colossus + 3 stalkers + 5 zealots",
        "same",
        _units((1, "colossus"), (3, "stalker"), (5, "zealot")),
        180,
        True,
        _SMAC_NOTE,
    ),
    MapInfo(
        "smac",
        "2s3z",
        "2 stalkers + 3 zealots",
        "same",
        _units((2, "stalker"), (3, "zealot")),
        120,
        True,
        _SMAC_NOTE,
    ),
]

_SMACV2_NOTE = (
    "SMACv2 (oxwhirl/smacv2) on StarCraft II 4.10: unit types and start positions are "
    "drawn per episode, so --grouping type reads the types at reset."
)
_SMACV2 = [
    MapInfo(
        "smacv2",
        f"{race}_{n}_vs_{n}",
        f"{n} random {race} units",
        f"{n} random {race} units",
        ("random",) * n,
        200,
        True,
        _SMACV2_NOTE,
    )
    for race in ("protoss", "terran", "zerg")
    for n in (5, 10)
]

_MUJOCO_NOTE = (
    "MaMuJoCo v5 tasks (Gymnasium-Robotics mamujoco_v1); returns are not comparable "
    "with HARL's mujoco-py v2 numbers."
)
_MAMUJOCO = [
    MapInfo(
        "mamujoco",
        "HalfCheetah-6x1",
        "bthigh, bshin, bfoot, fthigh, fshin, ffoot",
        "-",
        ("thigh", "shin", "foot", "thigh", "shin", "foot"),
        1000,
        True,
        _MUJOCO_NOTE,
    ),
    MapInfo(
        "mamujoco",
        "Ant-4x2",
        "4 legs (hip + ankle each)",
        "-",
        ("leg",) * 4,
        1000,
        False,
        _MUJOCO_NOTE,
    ),
    MapInfo(
        "mamujoco",
        "Walker2d-2x3",
        "right leg, left leg (3 joints each)",
        "-",
        ("leg", "leg"),
        1000,
        False,
        _MUJOCO_NOTE,
    ),
    MapInfo(
        "mamujoco",
        "Walker2d-6x1",
        "thigh, leg, foot, thigh_left, leg_left, foot_left",
        "-",
        ("thigh", "leg", "foot", "thigh", "leg", "foot"),
        1000,
        True,
        _MUJOCO_NOTE + " Registered by this project: a custom one-joint-per-agent factorization "
        "of Walker2d 2x3 (Gymnasium-Robotics has no 6x1). Heterogeneity = native joint roles "
        "(our reading of the paper's 'Walker 6x1').",
    ),
]

MAPS: dict[tuple[str, str], MapInfo] = {
    (m.env, m.name): m for m in _SMAX + _SMAC + _SMACV2 + _MAMUJOCO
}


def lookup(env: str, name: str) -> MapInfo:
    backend(env)
    try:
        return MAPS[(env, name)]
    except KeyError:
        known = ", ".join(m for e, m in MAPS if e == env)
        raise UserError(
            f"unknown map '{name}' for env '{env}': choose one of {known} (see `omdpg envs`)"
        ) from None
