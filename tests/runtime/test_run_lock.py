"""One writer per run folder (omdpg/run_lock.py): a held lock refuses with the holder's PID (the
CLI's case is in test_bad_input.py), a killed holder's lock is gone with it, and --wait waits for
the holder to end."""

import os
import signal
import subprocess
import sys
import threading

import pytest

from omdpg.errors import UserError
from omdpg.run_lock import RunLock
from tests.conftest import ROOT

HOLD = """
import sys
from pathlib import Path
from omdpg.run_lock import RunLock
with RunLock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def holder(path):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,  # it holds the lock until its stdin closes
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == "held\n"
    return proc


def test_a_killed_holder_does_not_block(tmp_path):
    path = tmp_path / "run" / "lock"
    proc = holder(path)
    with pytest.raises(UserError, match=rf"being written by another run \(PID {proc.pid}, since"):
        RunLock(path).__enter__()
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: the kernel drops its lock
    proc.wait()
    with RunLock(path) as lock:
        assert not lock.waited
        assert f'"pid": {os.getpid()}' in path.read_text()


def test_wait_waits_for_the_holder_to_end(tmp_path, capfd):
    path = tmp_path / "run" / "lock"
    proc = holder(path)
    ended = threading.Timer(1.0, proc.stdin.close)  # the holder ends a second later
    ended.start()
    with RunLock(path, wait=True) as lock:
        assert lock.waited and ended.finished.is_set()
    ended.join()
    proc.wait()
    assert f"waiting for PID {proc.pid}, since " in capfd.readouterr().err
