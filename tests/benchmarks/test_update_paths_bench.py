"""The update-paths section's arithmetic and configs, with the timed worker replaced (nothing is
timed here)."""

import pytest

from benchmarks import update_paths

SECONDS = {  # a phase's seconds by the options set
    (): 0.30,
    update_paths.ON_DEVICE: 0.20,
    update_paths.PHASE_DRAW: 0.15,
    update_paths.PHASE_DRAW + ("train.capture=cudagraphs",): 0.05,
}


@pytest.fixture
def points(monkeypatch):
    calls = []

    def point(algo, n, sets, updates, device):
        calls.append((algo, n, sets, device))
        options = tuple(s for s in sets if s not in update_paths.OMDPG_EVERY_STEP)
        assert options[:2] == ("train.update_per_train=10", "train.batch_size=256")
        return {"update_s": SECONDS[options[2:]], "warmup_update_s": 9.0}

    monkeypatch.setattr(update_paths, "measure_point", point)
    return calls


def test_cuda_measures_every_path_and_divides_by_the_phase(points):
    section = update_paths.run(quick=False, device="cuda")
    assert [(r["config"], r["ms_per_update"], r["speedup"]) for r in section.rows] == [
        ("plain", pytest.approx(30.0), pytest.approx(1.0)),
        ("replay on device", pytest.approx(20.0), pytest.approx(1.5)),
        ("+ phase draw", pytest.approx(15.0), pytest.approx(2.0)),
        ("+ capture", pytest.approx(5.0), pytest.approx(6.0)),
    ]
    assert {(algo, n, device) for algo, n, _, device in points} == {("omdpg", 10, "cuda")}
    assert section.notes[-1] == (
        "cuda: plain 30.00 ms per update, '+ capture' 5.00 ms: 6.00x (goal on CUDA >= 5x)"
    )


def test_cpu_skips_capture_with_the_reason(points):
    section = update_paths.run(quick=False, device="cpu")
    assert [r["config"] for r in section.rows] == ["plain", "replay on device", "+ phase draw"]
    assert section.skipped == ["+ capture: CUDA only (--device cuda)"]
    assert section.notes[-1] == "cpu: plain 30.00 ms per update, '+ phase draw' 15.00 ms: 2.00x"
