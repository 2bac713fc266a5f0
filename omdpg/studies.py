"""Study files: load, validate (JSON schema, then rules between fields) and expand into cells.

A cell is one training run: (algorithm[, variant], env, map, grouping, lambda_pu[, ensemble_size],
seed). A variant is a named setting of one algorithm (its own `set`), e.g. HAPPO's equal-step
control beside plain HAPPO.
Loading a study checks it against its schema, then the rules between fields, then every cell's
whole configuration as its job will build it (`check_cells`), so a study that cannot run stops
before any job is scheduled.
Cells are a table of canonical strings, so that `0.1` and `0.10` are one path and no numpy repr
reaches a command line (docs: environments.md section 5). This is the core's (contract 5: `omdpg
plan` reads it); the Snakefile builds its snakemake.utils.Paramspace from `cells`, and a test holds
`cell_path` to Paramspace's folder names, so the core never imports Snakemake.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jsonschema
import pandas as pd
import yaml

from omdpg.envs.registry import MAPS, backend
from omdpg.errors import UserError
from omdpg.layout import SCHEMAS, STUDIES, Layout

FACTORS = ("algorithm", "variant", "env", "map", "grouping", "lambda_pu", "ensemble_size", "seed")
OPTIONAL_FACTORS = ("variant", "ensemble_size")  # columns only where a study uses them
NA = "NA"  # Paramspace's spelling of "not a parameter of this cell"
OMDPG_ONLY = ("lambda_pu", "ensemble_size")
STUDY_OWNED = {
    "eval.interval": "eval",
    "eval.episodes": "eval",
    "gqc.lambda_pu": "lambda_pu",
    "gqc.ensemble_size": "ensemble_size",
}
FIGURE_NEEDS = {
    "lambda_pu": "an algorithm with two or more lambda_pu values",
    "ensemble_size": "an algorithm with two or more ensemble_size values",
    "grouping": "an algorithm with two or more grouping modes",
    "drift": "happo with grouping 'none' and a shared mode (type, random or single)",
    "diagnostics": "omdpg",
    "poi": "two or more variants (algorithms or grid values) to compare",
}


@dataclass(frozen=True)
class Study:
    name: str
    path: Path
    spec: dict

    @property
    def envs(self) -> list[str]:
        return sorted({task["env"] for task in self.spec["tasks"]})

    def algorithm(self, name: str, variant: str = NA) -> dict:
        return next(
            a
            for a in self.spec["algorithms"]
            if a["name"] == name and a.get("variant", NA) == variant
        )


@cache
def schema(name: str = "study") -> dict:
    return yaml.safe_load((SCHEMAS / f"{name}.schema.yaml").read_text())


def figure_names() -> list[str]:
    return schema()["properties"]["figures"]["items"]["enum"]


def names() -> list[str]:
    return sorted(p.stem for p in STUDIES.glob("*.yaml"))


def study_path(study: str) -> Path:
    """A study name from config/studies/ or a path to a study file."""
    if study.endswith((".yaml", ".yml")) or "/" in study:
        path = Path(study)
    else:
        path = STUDIES / f"{study}.yaml"
    if not path.is_file():
        raise UserError(
            f"unknown study '{study}': choose one of {', '.join(names())} "
            f"(config/studies/) or give the path of a study file"
        )
    return path


def load_study(study: str) -> Study:
    path = study_path(study)
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UserError(
            f"{path}: not valid YAML ({' '.join(str(err).split())}); fix the file"
        ) from None
    check_study(spec, where=str(path))
    study = Study(path.stem, path, spec)
    check_cells(study)
    return study


# JSON Schema's "integer" admits 2000.0; a study's integers become command-line flags, so here an
# integer is written as one.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, x: isinstance(x, int) and not isinstance(x, bool)
    ),
)


def check_study(spec, where: str = "study") -> None:
    """Raise UserError naming the first bad field: schema first, then the rules between fields."""
    error = jsonschema.exceptions.best_match(_Validator(schema()).iter_errors(spec))
    if error is not None:
        field, problem, fix = _describe(error)
        raise UserError(f"{where}: {field}: {problem}; fix: {fix}")
    problem = _rule_violation(spec)
    if problem is not None:
        field, problem, fix = problem
        raise UserError(f"{where}: {field}: {problem}; fix: {fix}")


def _field(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: jsonschema.ValidationError) -> tuple[str, str, str]:
    path = list(error.absolute_path)
    schema_hint = "see config/schemas/study.schema.yaml"
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        return _field(path + [missing]), "missing required field", schema_hint
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))[0]
        return _field(path + [extra]), "unknown field", f"use one of {', '.join(allowed)}"
    if error.validator == "type" and error.validator_value == "integer":
        return (
            _field(path),
            f"{error.instance!r} is not an integer",
            "write it without a decimal point",
        )
    if error.validator == "enum":
        return (
            _field(path),
            f"{error.instance!r} is not allowed",
            f"choose one of {', '.join(map(str, error.validator_value))}",
        )
    return _field(path), error.message, schema_hint


def _rule_violation(spec: dict) -> tuple[str, str, str] | None:
    for i, task in enumerate(spec["tasks"]):
        if (task["env"], task["map"]) not in MAPS:
            known = ", ".join(m for e, m in MAPS if e == task["env"])
            return (
                f"tasks[{i}].map",
                f"'{task['map']}' is not a {task['env']} map",
                f"choose one of {known} (omdpg envs)",
            )
    seen = set()
    for i, algo in enumerate(spec["algorithms"]):
        where = f"algorithms[{i}]"
        entry = (algo["name"], algo.get("variant"))
        if entry in seen:
            named = f"'{algo['name']}'" + (f" variant '{entry[1]}'" if entry[1] else "")
            return (
                f"{where}.name",
                f"{named} is listed twice",
                "merge the two grids into one entry, or name each setting with its own variant",
            )
        seen.add(entry)
        for key in OMDPG_ONLY:
            if key in algo and algo["name"] != "omdpg":
                return (
                    f"{where}.{key}",
                    f"only omdpg has {key}, not {algo['name']}",
                    f"remove {key}",
                )
        if algo["name"] == "omdpg" and "lambda_pu" not in algo:
            return (
                f"{where}.lambda_pu",
                "omdpg needs its lambda_pu grid",
                "add e.g. lambda_pu: [0.1] (the paper's value)",
            )
        owned = _owned_key(algo.get("set", {}))
        if owned:
            return (
                f"{where}.set.{owned}",
                "the study sets this itself",
                f"use the {STUDY_OWNED[owned]} field",
            )
    owned = _owned_key(spec.get("set", {}))
    if owned:
        return f"set.{owned}", "the study sets this itself", f"use the {STUDY_OWNED[owned]} field"
    if spec["eval"]["interval"] > spec["steps"]:
        return (
            "eval.interval",
            f"{spec['eval']['interval']} is more than steps ({spec['steps']})",
            "lower eval.interval or raise steps",
        )
    if "wallclock" in spec["figures"]:
        for i, task in enumerate(spec["tasks"]):
            if "target" not in task:
                return (
                    f"tasks[{i}].target",
                    "the wallclock figure needs each task's target score",
                    "add target: (a win rate or return fixed before the runs) or drop 'wallclock'",
                )
    for figure in spec["figures"]:
        if figure in FIGURE_NEEDS and not _figure_has_data(figure, spec["algorithms"]):
            return (
                "figures",
                f"'{figure}' needs {FIGURE_NEEDS[figure]}",
                f"add that grid or drop '{figure}'",
            )
    algorithms, maps = {a["name"] for a in spec["algorithms"]}, {t["map"] for t in spec["tasks"]}
    for i, pick in enumerate(spec.get("record", [])):
        if pick["algorithm"] not in algorithms or pick["map"] not in maps:
            return (f"record[{i}]", "not an algorithm and map of this study", "pick a cell's")
        if pick["seed"] not in spec["seeds"]:
            return (f"record[{i}].seed", f"{pick['seed']} is not a seed of this study", "pick one")
    for key in spec["paper"].get("compare", {}):
        if key not in maps:
            return (
                f"paper.compare.{key}",
                "not a map of this study",
                f"use one of {', '.join(sorted(maps))}",
            )
    return None


def _owned_key(overrides: dict) -> str | None:
    return next((key for key in overrides if key in STUDY_OWNED), None)


def _figure_has_data(figure: str, algorithms: list[dict]) -> bool:
    if figure == "poi":
        return sum(_variant_count(a) for a in algorithms) > 1
    if figure == "diagnostics":
        return any(a["name"] == "omdpg" for a in algorithms)
    if figure == "drift":
        happo = [g for a in algorithms if a["name"] == "happo" for g in a["grouping"]]
        return "none" in happo and any(g != "none" for g in happo)
    return any(len(a.get(figure, [])) > 1 for a in algorithms)


def _variant_count(algo: dict) -> int:
    count = len(algo["grouping"])
    for factor in OMDPG_ONLY:
        count *= len(algo.get(factor, [None]))
    return count


def canonical(value) -> str:
    """One spelling per value: 0.10 -> '0.1', 1 -> '1.0' for floats; booleans as YAML writes
    them."""
    if value is None:
        return NA
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def factors(study: Study) -> list[str]:
    """The cell columns; variant and ensemble_size only where the study uses them."""
    used = {f for f in OPTIONAL_FACTORS if any(f in a for a in study.spec["algorithms"])}
    return [f for f in FACTORS if f not in OPTIONAL_FACTORS or f in used]


def cells(study: Study) -> pd.DataFrame:
    """One row per training run, in the study file's order; every value a canonical string."""
    spec, columns = study.spec, factors(study)
    rows = [
        {
            "algorithm": algo["name"],
            "variant": algo.get("variant", NA),
            "env": task["env"],
            "map": task["map"],
            "grouping": grouping,
            "lambda_pu": canonical(None if lam is None else float(lam)),
            "ensemble_size": canonical(size),
            "seed": canonical(seed),
        }
        for algo in spec["algorithms"]
        for task in spec["tasks"]
        for grouping in algo["grouping"]
        for lam in algo.get("lambda_pu", [None])
        for size in algo.get("ensemble_size", [None])
        for seed in spec["seeds"]
    ]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def cell_path(cell: dict) -> str:
    """A cell's run folder under RESULTS/STUDY/runs: `algorithm~omdpg/env~smac/.../seed~0`, one
    level per factor, as snakemake.utils.Paramspace names its instances (its default
    filename_params="*": every factor a directory)."""
    return "/".join(f"{factor}~{value}" for factor, value in cell.items())


def task_targets(study: Study) -> dict[tuple[str, str], float]:
    """(env, map) -> the task's target score, for the tasks that have one (tasks[].target)."""
    return {(t["env"], t["map"]): t["target"] for t in study.spec["tasks"] if "target" in t}


def run_table(study: Study, layout: Layout) -> pd.DataFrame:
    """The cells with their run folders: the expected runs, whether or not they exist yet."""
    table = cells(study)
    table["run_dir"] = [str(layout.runs / cell_path(c)) for c in table.to_dict("records")]
    return table


def train_args(study: Study, cell) -> list[str]:
    """The cell's `omdpg train` arguments but --out: what its job runs (workflow/rules/train.smk)
    and what `check_cells` validates. ``cell`` is a row of `cells` or a job's wildcards."""
    algo = study.algorithm(cell["algorithm"], cell.get("variant", NA))
    args = ["--algo", cell["algorithm"], "--env", cell["env"], "--map", cell["map"]]
    args += ["--seed", cell["seed"], "--steps", str(study.spec["steps"])]
    args += ["--grouping", cell["grouping"]]
    if cell["lambda_pu"] != NA:
        args += ["--lambda-pu", cell["lambda_pu"]]
    overrides = {
        "eval.interval": study.spec["eval"]["interval"],
        "eval.episodes": study.spec["eval"]["episodes"],
        **study.spec.get("set", {}),
        **algo.get("set", {}),
    }
    if cell.get("ensemble_size", NA) != NA:
        overrides["gqc.ensemble_size"] = cell["ensemble_size"]
    for key, value in overrides.items():
        args += ["--set", f"{key}={canonical(value)}"]
    return args


def cell_config(study: Study, cell: dict, train=None):
    """The whole RunConfig a cell's job builds today, through `omdpg train`'s own parser and
    build_config (omdpg/cli.py); a UserError names the study file and the cell."""
    from omdpg.cli import build_config, parser

    where = f"{study.path}: cell {cell_path(cell)}"
    try:
        args = (train or parser()).parse_args(["train", *train_args(study, cell), "--out", "-"])
        cfg = build_config(args)
    except UserError as err:
        raise UserError(f"{where}: {err}") from None
    if cfg.steps != study.spec["steps"]:
        raise UserError(
            f"{where}: steps: {study.spec['steps']} is not a multiple of its n_envs "
            f"({cfg.n_envs}); fix: use {cfg.steps} or {cfg.steps + cfg.n_envs}"
        )
    return cfg


def cell_configs(study: Study) -> dict[str, object]:
    """cell path -> the cell's RunConfig, for every cell (validating each, as `cell_config`)."""
    from omdpg.cli import parser

    train = parser()
    return {
        cell_path(cell): cell_config(study, cell, train) for cell in cells(study).to_dict("records")
    }


def check_cells(study: Study) -> None:
    """Build and validate every cell's whole configuration, so a study that cannot run stops when
    it is loaded, naming the study file and the cell in the one-line error."""
    cell_configs(study)


def recordings(study: Study, layout: Layout) -> dict[str, str]:
    """RESULTS/STUDY/recordings/NAME -> the run folder it records, for the study's `record:`
    entries (the first cell of each algorithm, map and seed; the backend's recording format)."""
    runs = run_table(study, layout)
    out = {}
    for pick in study.spec.get("record", []):
        run = runs[
            (runs["algorithm"] == pick["algorithm"])
            & (runs["map"] == pick["map"])
            & (runs["seed"] == canonical(pick["seed"]))
        ].iloc[0]
        name = f"{run['algorithm']}_{run['env']}_{run['map']}_seed{run['seed']}"
        out[str(layout.recordings / (name + backend(run["env"]).recordings[0]))] = run["run_dir"]
    return out


def sc2_blocker(study: Study, layout: Layout) -> str | None:
    """Why the pending StarCraft II cells cannot run here (one line with the fix), or None."""
    runs = run_table(study, layout)
    sc2 = runs["env"].map(lambda env: backend(env).needs_sc2)
    pending = runs[sc2 & ~runs["run_dir"].map(lambda d: (Path(d) / "DONE").exists())]
    for env, count in pending["env"].value_counts(sort=False).items():
        reason = backend(env).unavailable()
        if reason:
            return (
                f"study '{study.name}' needs StarCraft II for {count} pending {env} runs: "
                f"{reason}; stand-in: {study.spec['paper']['stand_in']}"
            )
    return None
