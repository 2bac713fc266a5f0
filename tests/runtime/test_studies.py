"""Study files: schema and cross-field errors name the field; cells and flags are canonical."""

import copy

import pytest
import yaml

from analysis.figures import FIGURES
from omdpg import studies
from omdpg.envs import starcraft
from omdpg.errors import UserError
from omdpg.layout import Layout
from omdpg.learner import ALGORITHMS
from omdpg.studies import cells, check_study, load_study, names, sc2_blocker, train_args

GOOD = {
    "description": "a test study",
    "paper": {"counterpart": "none", "stand_in": "none needed"},
    "tasks": [{"env": "smax", "map": "3m"}],
    "algorithms": [
        {"name": "omdpg", "grouping": ["type"], "lambda_pu": [0.1]},
        {"name": "happo", "grouping": ["none", "type"]},
    ],
    "seeds": [0, 1],
    "steps": 2000,
    "eval": {"interval": 1000, "episodes": 4},
    "figures": ["curves", "drift"],
}


def broken(edit):
    spec = copy.deepcopy(GOOD)
    edit(spec)
    return spec


@pytest.mark.parametrize(
    "edit, field, words",
    [
        (
            lambda s: s["algorithms"][0].update(name="ppo"),
            "algorithms[0].name",
            "choose one of mappo",
        ),
        (
            lambda s: s["algorithms"][0].update(lambda_pu=[0.1, -0.5]),
            "algorithms[0].lambda_pu[1]",
            "less than the minimum of 0",
        ),
        (
            lambda s: s["tasks"][0].update(map="1c3s5z"),
            "tasks[0].map",
            "'1c3s5z' is not a smax map",
        ),
        (lambda s: s.pop("seeds"), "seeds", "missing required field"),
        (lambda s: s["eval"].update(episodez=3), "eval.episodez", "unknown field"),
        (lambda s: s["tasks"][0].update(env="sc2"), "tasks[0].env", "choose one of smax, mamujoco"),
        (
            lambda s: s["algorithms"][0].update(grouping=["capability"]),
            "algorithms[0].grouping[0]",
            "choose one of type, random, single, none",
        ),
        (
            lambda s: s["algorithms"][1].update(lambda_pu=[0.1]),
            "algorithms[1].lambda_pu",
            "only omdpg",
        ),
        (
            lambda s: s["algorithms"][0].pop("lambda_pu"),
            "algorithms[0].lambda_pu",
            "lambda_pu grid",
        ),
        (
            lambda s: s["algorithms"].append({"name": "happo", "grouping": ["none"]}),
            "algorithms[2].name",
            "listed twice",
        ),
        (
            lambda s: s["algorithms"].extend(
                [{"name": "happo", "variant": "x", "grouping": ["type"]}] * 2
            ),
            "algorithms[3].name",
            "'happo' variant 'x' is listed twice",
        ),
        (
            lambda s: s["algorithms"].append(
                {"name": "happo", "variant": "Bad-1", "grouping": ["type"]}
            ),
            "algorithms[2].variant",
            "does not match",
        ),
        (lambda s: s.update(steps=500), "eval.interval", "more than steps"),
        (lambda s: s.update(steps=-1), "steps", "less than the minimum of 1"),
        (lambda s: s["algorithms"].pop(1), "figures", "'drift' needs happo"),
        (
            lambda s: s.update(figures=["diagnostics"], algorithms=[s["algorithms"][1]]),
            "figures",
            "'diagnostics' needs omdpg",
        ),
        (
            lambda s: s["figures"].append("wallclock"),
            "tasks[0].target",
            "wallclock figure needs each task's target",
        ),
        (lambda s: s["tasks"][0].update(target="half"), "tasks[0].target", "not of type"),
        (lambda s: s.update(set={"eval.episodes": 8}), "set.eval.episodes", "use the eval field"),
        (
            lambda s: s["paper"].update(compare={"MMM2": "MMM2"}),
            "paper.compare.MMM2",
            "not a map of this study",
        ),
        (
            lambda s: s.update(record=[{"algorithm": "mappo", "map": "3m", "seed": 0}]),
            "record[0]",
            "not an algorithm and map of this study",
        ),
        (
            lambda s: s.update(record=[{"algorithm": "happo", "map": "3m", "seed": 7}]),
            "record[0].seed",
            "7 is not a seed",
        ),
        (
            lambda s: s.update(figures=["poi"], algorithms=[s["algorithms"][0]]),
            "figures",
            "'poi' needs two or more variants",
        ),
    ],
)
def test_bad_study_names_the_field(edit, field, words):
    with pytest.raises(UserError) as err:
        check_study(broken(edit), where="x.yaml")
    message = str(err.value)
    assert message.startswith(f"x.yaml: {field}: "), message
    assert words in message and "fix: " in message and "\n" not in message


def test_good_study_passes():
    check_study(copy.deepcopy(GOOD))


@pytest.mark.parametrize("name", names())
def test_shipped_studies_are_valid(name):
    study = load_study(name)
    assert study.spec["paper"]["counterpart"] and study.spec["paper"]["stand_in"]


def test_the_expected_studies_exist():
    assert {
        "mmm2",
        "paper_smac",
        "paper_mamujoco",
        "lambda_pu",
        "grouping",
        "drift",
        "ensemble",
        "smax_main",
        "smax_lambda_pu",
        "smax_grouping",
        "smax_drift",
        "demo",
        "ci",
    } <= set(names())


def test_schema_lists_exactly_the_harness_algorithms_and_figures():
    props = studies.schema()["properties"]
    assert props["algorithms"]["items"]["properties"]["name"]["enum"] == list(ALGORITHMS)
    assert studies.figure_names() == list(FIGURES)


def test_every_schema_field_is_described():
    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            assert "description" in sub or "$ref" in sub, f"{path}.{key}"
            walk(sub, f"{path}.{key}")
            walk(sub.get("items", {}), f"{path}.{key}[]")

    for name in ("study", "config"):
        schema = studies.schema(name)
        assert schema["additionalProperties"] is False
        walk(schema, name)


def test_unknown_study_and_bad_yaml(tmp_path):
    with pytest.raises(UserError, match=r"unknown study 'nope': choose one of .*ci"):
        load_study("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks: [\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_study(str(bad))


def test_cells_are_canonical_strings(tmp_path):
    spec = broken(lambda s: s["algorithms"][0].update(lambda_pu=[0.10, 1, 0]))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    table = cells(load_study(str(path)))
    assert list(table.columns) == ["algorithm", "env", "map", "grouping", "lambda_pu", "seed"]
    assert len(table) == (3 + 2) * 2
    assert sorted(set(table["lambda_pu"])) == ["0.0", "0.1", "1.0", "NA"]
    assert set(table.loc[table["algorithm"] == "happo", "lambda_pu"]) == {"NA"}


def test_ensemble_size_is_a_factor_only_where_swept():
    assert "ensemble_size" not in cells(load_study("mmm2")).columns
    table = cells(load_study("ensemble"))
    assert sorted(set(table["ensemble_size"]), key=int) == ["1", "2", "5", "10"]


def test_a_variant_is_a_factor_with_its_own_settings():
    """smax_drift lists HAPPO three times: plain, equal_steps and group_level."""
    study = load_study("smax_drift")
    table = cells(study)
    assert list(table.columns)[:2] == ["algorithm", "variant"]
    assert set(table["variant"]) == {"NA", "equal_steps", "group_level"}
    rows = {r["variant"]: dict(r) for _, r in table[table["seed"] == "0"].iterrows()}
    assert "equal_steps=true" in train_args(study, rows["equal_steps"])
    assert "block=group" in train_args(study, rows["group_level"])
    assert not any("equal_steps" in arg for arg in train_args(study, rows["NA"]))
    assert "variant" not in cells(load_study("mmm2")).columns


def test_train_args():
    study = load_study("ensemble")
    row = dict(cells(study).iloc[0])
    assert " ".join(train_args(study, row)).endswith(
        "--grouping type --lambda-pu 0.1 --set eval.interval=10000 --set eval.episodes=32 "
        "--set gqc.ensemble_size=1"
    )
    ci = load_study("ci")
    mappo = dict(cells(ci).iloc[0])
    assert train_args(ci, mappo) == [
        *("--algo", "mappo", "--env", "smax", "--map", "3m", "--seed", "0", "--steps", "2000"),
        *("--grouping", "single", "--set", "eval.interval=1000", "--set", "eval.episodes=4"),
    ]


def test_sc2_blocker(tmp_path, monkeypatch):
    monkeypatch.setattr(starcraft, "missing_reason", lambda package: "StarCraft II not installed")
    layout = Layout(tmp_path, tmp_path, "mmm2")
    message = sc2_blocker(load_study("mmm2"), layout)
    assert "needs StarCraft II for 15 pending smac runs" in message and "fix: " in message
    assert sc2_blocker(load_study("smax_main"), layout) is None
    monkeypatch.setattr(starcraft, "missing_reason", lambda package: None)
    assert sc2_blocker(load_study("mmm2"), layout) is None


def test_recordings_name_the_first_matching_cell(tmp_path):
    spec = broken(lambda s: s.update(record=[{"algorithm": "happo", "map": "3m", "seed": 1}]))
    path = tmp_path / "rec.yaml"
    path.write_text(yaml.safe_dump(spec))
    study = load_study(str(path))
    layout = Layout(tmp_path / "results", tmp_path / "figures", study.name)
    (recording, run_dir), *more = studies.recordings(study, layout).items()
    assert not more and recording == str(layout.recordings / "happo_smax_3m_seed1.gif")
    assert run_dir.endswith("algorithm~happo/env~smax/map~3m/grouping~none/lambda_pu~NA/seed~1")
