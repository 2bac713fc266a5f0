"""The headline section's arithmetic and configs, with the timed measurement replaced (nothing is
timed here)."""

import pytest

from benchmarks import headline


def measure(cfg, *window):
    if cfg.algo == "mappo":
        return {"steps_s": 1000.0}
    if cfg.learner.gqc.first_layer == "matmul":
        return {"steps_s": 8.0 if cfg.n_envs == 8 else 10.0}
    if cfg.learner.train.autocast == "bfloat16":
        return {"steps_s": 40.0}
    if cfg.learner.train.capture == "compile":
        return {"steps_s": 50.0 if cfg.torch_threads == 2 else 35.0}
    return {"steps_s": 30.0 if cfg.torch_threads == 2 else 25.0}


@pytest.fixture
def measured(monkeypatch):
    monkeypatch.setattr(headline, "measure_training", measure)
    monkeypatch.setattr(headline, "native_bf16", lambda: True)
    monkeypatch.setattr(headline.shutil, "which", lambda name: f"/usr/bin/{name}")
    return monkeypatch


def test_headline_divides_omdpg_by_mappo_and_names_the_plain_path(measured, capsys):
    section = headline.run(quick=True)
    assert [(r["algo"], r["config"], r["ratio_to_mappo"]) for r in section.rows] == [
        ("omdpg", "before", 0.008),
        ("omdpg", "plain", 0.01),
        ("omdpg", "default", 0.025),
        ("omdpg", "2 threads", 0.03),
        ("omdpg", "bf16", 0.04),
        ("omdpg", "compiled", 0.035),
        ("omdpg", "2 threads, compiled", 0.05),
        ("mappo", "default", 1.0),
    ]
    line = (
        "2s3z: OMDPG / MAPPO = 25.0 / 1,000 = 0.0250 (goal >= 0.05); the default is 2.50x the "
        "plain path (10.0 env steps/s) and 3.12x it at the cadence before (8.0); against the "
        "default: 2 threads 30.0 (1.20x); bf16 40.0 (1.60x); compiled 35.0 (1.40x); 2 threads, "
        "compiled 50.0 (2.00x)"
    )
    assert section.notes[-1] == line
    assert section.skipped == []
    assert f"headline: {line}" in capsys.readouterr().out


def test_cases_this_machine_cannot_run_natively_are_skipped_with_their_reason(measured):
    measured.setattr(headline, "native_bf16", lambda: False)
    measured.setattr(headline.shutil, "which", lambda name: None)
    section = headline.run(quick=True)
    assert [r["config"] for r in section.rows] == [
        "before",
        "plain",
        "default",
        "2 threads",
        "default",
    ]
    assert section.skipped == [
        "bf16: this CPU has neither AVX512-BF16 nor AMX-BF16 (oneDNN would emulate it)",
        "compiled: no C++ compiler (g++, c++, clang++) on PATH",
    ]
    assert section.notes[-1].endswith("against the default: 2 threads 30.0 (1.20x)")
