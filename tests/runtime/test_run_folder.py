"""The run folder's files: a torn or uncounted CSV tail is cut back and nothing else is; a changed
counted row, a changed JSON file or a changed checkpoint is detected; renames are fsynced on both
sides (a full disk: tests/runtime/test_full_disk.py)."""

import json
import os

import pytest
import torch

from omdpg import checkpoint
from omdpg.run_folder import (
    CsvLog,
    Damaged,
    Mark,
    RunFolder,
    read_sealed_json,
    write_json_atomic,
)


@pytest.fixture
def log(tmp_path):
    log = CsvLog(tmp_path / "eval.csv", ["env_steps", "score"])
    log.create()
    log.append([{"env_steps": 64, "score": 0.5}, {"env_steps": 128, "score": 0.25}])
    return log


def test_a_torn_last_row_and_uncounted_rows_are_cut_back(log):
    mark = log.mark()
    counted = log.path.read_bytes()
    log.append([{"env_steps": 192, "score": 1.0}])  # written after the checkpoint
    with open(log.path, "a") as f:
        f.write("256,0.")  # torn: no newline, the process died writing it
    log.restore(mark)
    assert log.path.read_bytes() == counted and mark == Mark(2, len(counted), mark.sha256)


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda text: text.replace("0.25", "0.35"), "its first 2 rows are not those written"),
        (lambda text: text.replace("128,0.25\n", ""), "its first 2 rows are not those written"),
        (lambda text: text.replace("env_steps", "steps"), "its header is not the run's columns"),
        (lambda text: "", "its header is not the run's columns"),
    ],
)
def test_a_changed_counted_row_is_refused_and_left_alone(log, damage, words):
    mark = log.mark()
    log.path.write_text(damage(log.path.read_text()))
    before = log.path.read_bytes()
    with pytest.raises(Damaged, match=words):
        log.restore(mark)
    assert log.path.read_bytes() == before


def test_a_deleted_log_is_refused(log):
    mark = log.mark()
    log.path.unlink()
    with pytest.raises(Damaged, match=r"eval\.csv is missing"):
        log.restore(mark)


def test_sealed_json_detects_any_change(tmp_path):
    path = tmp_path / "DONE"
    write_json_atomic(path, {"final": 0.5, "env_steps": 512, "nested": {"a": (1, 2)}})
    assert read_sealed_json(path) == {"final": 0.5, "env_steps": 512, "nested": {"a": [1, 2]}}
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "final": 0.9}))
    with pytest.raises(Damaged, match="DONE does not match its checksum"):
        read_sealed_json(path)
    path.write_text(json.dumps({"final": 0.9}))  # an older harness's file: no checksum
    with pytest.raises(Damaged, match="no checksum"):
        read_sealed_json(path)
    assert read_sealed_json(path, require_seal=False) == {"final": 0.9}


def test_a_rewritten_sealed_file_is_sealed_afresh(tmp_path):
    path = tmp_path / "config.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {**json.loads(path.read_text()), "b": 2})  # read, add, write back
    assert read_sealed_json(path) == {"a": 1, "b": 2}


def test_renames_are_fsynced_before_and_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(
        os, "fsync", lambda fd: events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
    )
    monkeypatch.setattr(
        os, "replace", lambda a, b: (events.append(("replace",)), real_replace(a, b))
    )
    write_json_atomic(tmp_path / "DONE", {"x": 1})
    folder = str(tmp_path)
    assert events == [
        ("fsync", f"{folder}/DONE.tmp"),
        ("fsync", folder),
        ("replace",),
        ("fsync", folder),
    ]
    monkeypatch.setattr(os, "fsync", real_fsync)


def test_checkpoint_round_trip_and_damage(tmp_path):
    path = tmp_path / "checkpoint" / "state.pt"
    path.parent.mkdir()
    state = {"weights": torch.arange(1000.0), "counters": {"env_steps": 64}}
    checkpoint.save(path, state)
    loaded = checkpoint.load(path, torch.device("cpu"))
    assert torch.equal(loaded["weights"], state["weights"]) and loaded["counters"] == {
        "env_steps": 64
    }
    assert not path.with_name("state.pt.tmp").exists()
    data = bytearray(path.read_bytes())
    data[-100] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(Damaged, match=r"checkpoint/state\.pt does not match its checksum"):
        checkpoint.load(path, torch.device("cpu"))
    path.write_bytes(torch_save_bytes(state, tmp_path))  # a plain torch.save: no header
    with pytest.raises(Damaged, match="no checksum header"):
        checkpoint.load(path, torch.device("cpu"))


def torch_save_bytes(state, tmp_path):
    torch.save(state, tmp_path / "plain.pt")
    return (tmp_path / "plain.pt").read_bytes()


def test_run_folder_marks_every_log(tmp_path):
    folder = RunFolder(tmp_path, ("loss",))
    folder.create_logs()
    marks = folder.marks()
    assert set(marks) == {"progress.csv", "eval.csv", "eval_episodes.csv"}
    folder.check_logs(marks, finished=True)
