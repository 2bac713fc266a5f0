"""The Snakemake workflow: lint, a dry run of every study, bad input, the StarCraft II stop, and a
synthetic study from run folders to tables and figures (no training)."""

import subprocess

import pytest
import yaml
from workflow_cli import LOCAL, SNAKEMAKE, job_count, snakemake

from analysis.synthetic import write_study
from omdpg.envs.starcraft import missing_reason
from omdpg.layout import STUDIES, Layout
from omdpg.studies import cells, load_study, names, run_table


def test_lint(tmp_path):
    result = snakemake("--lint", "--config", "study=ci", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dry_run_of_every_study(tmp_path):
    """All studies at once (2 cores): each plans one train job per cell and needs no StarCraft
    II."""
    procs = {}
    for name in names():
        (tmp_path / name).mkdir()
        procs[name] = subprocess.Popen(
            SNAKEMAKE + LOCAL + ["-n", "--config", f"study={name}"],
            cwd=tmp_path / name,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name}: {output[-2000:]}"
        assert job_count(output, "train") == len(cells(load_study(name))), name
        assert job_count(output, "study_tables") == 1 and "This was a dry-run" in output, name


@pytest.mark.parametrize(
    "edit, start",
    [
        (
            lambda s: s["algorithms"][1].update(lambda_pu=[-0.1]),
            "error: bad.yaml: algorithms[1].lambda_pu[0]: ",
        ),
        # a cell that cannot run: stopped when the study is loaded, before any job is scheduled
        (
            lambda s: s["algorithms"].append({"name": "hatd3", "grouping": ["type"]}),
            "error: bad.yaml: cell algorithm~hatd3/env~smax/map~3m/grouping~type/lambda_pu~NA/"
            "seed~0: hatd3 needs continuous actions",
        ),
        (
            lambda s: s["algorithms"][0].update(set={"hidden": ""}),
            "error: bad.yaml: cell algorithm~mappo/env~smax/map~3m/grouping~single/lambda_pu~NA/"
            "seed~0: --set hidden=: expected a comma-separated list of int",
        ),
    ],
)
def test_bad_study_stops_with_the_field_named(tmp_path, edit, start):
    spec = yaml.safe_load((STUDIES / "ci.yaml").read_text())
    edit(spec)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(spec))
    result = snakemake(*LOCAL, "-n", "--config", "study=bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(start), error


@pytest.mark.skipif(missing_reason("smac") is None, reason="StarCraft II is installed here")
def test_missing_starcraft_stops_before_any_job(tmp_path):
    result = snakemake(*LOCAL, "--config", "study=mmm2", cwd=tmp_path)
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: study 'mmm2' needs StarCraft II for 15 pending smac runs: ")
    assert "fix: " in error and "stand-in: smax_main" in error
    assert not (tmp_path / "results").exists()  # no job started, no run folder made


def test_synthetic_study_to_tables_and_figures(tmp_path):
    """Finished (synthetic) cells are never retrained; adding a seed plans only the new cell."""
    spec = yaml.safe_load((STUDIES / "ci.yaml").read_text())
    spec["figures"] = ["curves"]
    spec.pop("record")  # a synthetic run folder has no policy to record
    study_file = tmp_path / "mini.yaml"
    study_file.write_text(yaml.safe_dump(spec))
    study = load_study(str(study_file))
    write_study(study, Layout(tmp_path / "results", tmp_path / "paper_figures", "mini"))

    result = snakemake(*LOCAL, "--config", f"study={study_file}", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_count(result.stderr, "train") == 0
    for path in (
        "results/mini/summary.csv",
        "results/mini/tables/final.md",
        "results/mini/tables/final.tex",
        "paper_figures/mini/curves.png",
        "paper_figures/mini/curves.pdf",
    ):
        assert (tmp_path / path).is_file(), path
    assert (
        "Runs: 4 of 4 complete" in result.stdout
        and "Figure curves: paper_figures/mini/curves.png" in result.stdout
    )

    again = snakemake(*LOCAL, "-n", "--config", f"study={study_file}", cwd=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr

    spec["seeds"].append(7)
    study_file.write_text(yaml.safe_dump(spec))
    more = snakemake(*LOCAL, "-n", "--config", f"study={study_file}", cwd=tmp_path)
    assert job_count(more.stdout, "train") == 2  # seed 7 for each of the two algorithms


@pytest.mark.parametrize("name", names())
def test_core_run_folders_are_the_workflow_s(name):
    """The core names run folders itself (omdpg.studies.cell_path, so it never imports Snakemake);
    they must be exactly the folders the Snakefile's Paramspace makes from the same cell table."""
    from snakemake.utils import Paramspace

    study = load_study(name)
    layout = Layout("results", "paper_figures", study.name)
    expected = [str(layout.runs / p) for p in Paramspace(cells(study)).instance_patterns]
    assert run_table(study, layout)["run_dir"].tolist() == expected
