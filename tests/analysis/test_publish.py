"""Committed evidence (docs/design.md, contract 6): publish writes the layout, leaves checkpoints
and unfinished runs out, and analysis.report rebuilds identical tables from the evidence alone."""

import shutil

from analysis import publish, report
from omdpg.layout import Layout


def test_publish_writes_the_layout_and_report_rebuilds_identical_tables(table_study, tmp_path):
    study, layout, runs = table_study  # MMM2: seed 3 of happo crashed (no DONE), seed 4 never ran
    root = tmp_path / "evidence"
    argv = [str(study.path), "--results", str(layout.results), "--evidence", str(root)]
    assert publish.main(argv) == 0
    evidence = Layout.evidence(study.name, root)

    finished = [r for r in runs["run_dir"] if (layout.runs / r).joinpath("DONE").exists()]
    published = sorted(p.parent for p in evidence.runs.rglob("DONE"))
    assert len(published) == len(finished) < len(runs)
    for run in published:
        assert sorted(p.name for p in run.iterdir()) == sorted(publish.RUN_FILES)
    assert not list(root.rglob("checkpoint"))
    tables = evidence.table_files()
    figures = [p for f in study.spec["figures"] for p in evidence.figure_files(f)]
    assert all(p.is_file() for p in tables + figures + [evidence.summary, evidence.evals])
    assert "| 3/5 " in tables[1].read_text()  # the partial cells are counted, not averaged
    before = {p: p.read_bytes() for p in tables}

    # A fresh clone: the tables and figures gone, only runs/ left; rebuilt from evidence alone.
    shutil.rmtree(evidence.tables)
    shutil.rmtree(evidence.figure_dir)
    for path in (evidence.summary, evidence.evals):
        path.unlink()
    assert report.main([str(study.path), "--evidence", str(root), "--rebuild"]) == 0
    assert {p: p.read_bytes() for p in tables} == before
    assert all(p.is_file() for p in figures)


def test_publish_drops_evidence_of_cells_the_study_no_longer_has(table_study, tmp_path):
    study, layout, _ = table_study
    root = tmp_path / "evidence"
    stale = Layout.evidence(study.name, root).runs / "algorithm~qmix" / "seed~0"
    stale.mkdir(parents=True)
    (stale / "DONE").write_text("{}")
    publish.main([str(study.path), "--results", str(layout.results), "--evidence", str(root)])
    assert not stale.exists()
