"""Tuning maps and reporting maps (docs/design.md): defaults are chosen on tuning maps only, results
are quoted from reporting maps, and every caption flags a tuning map."""

import pandas as pd

from analysis.captions import caption
from omdpg.envs.registry import MAPS, TUNING_MAPS
from omdpg.studies import load_study


def test_the_tuning_maps_are_the_design_docs():
    assert TUNING_MAPS == {("smax", "3m"), ("smax", "2s3z"), ("mamujoco", "HalfCheetah-6x1")}
    assert {key for key, m in MAPS.items() if m.role == "tuning"} == TUNING_MAPS
    assert MAPS[("smac", "MMM2")].role == MAPS[("smax", "mm2_no_medivac")].role == "reporting"


def test_the_learning_check_reports_on_reporting_maps_only():
    study = load_study("learning_check")
    roles = {MAPS[(t["env"], t["map"])].role for t in study.spec["tasks"]}
    assert roles == {"reporting"}


def test_a_caption_flags_a_tuning_map():
    study = load_study("demo")  # SMAX 2s3z and HalfCheetah-6x1: both tuning maps
    summary = pd.DataFrame({"status": ["complete"], "synthetic": [False]})
    text = caption(study, summary, "Curves.")
    assert "2s3z is a tuning map (defaults were chosen on it): its numbers are a screen" in text
    assert "HalfCheetah-6x1 is a tuning map" in text
    reporting = caption(load_study("smax_drift"), summary, "Curves.")
    assert "tuning map" not in reporting
