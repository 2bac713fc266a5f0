"""A full disk stops a run with one line, not a traceback, and loses nothing: the run, rerun once
there is space again, ends with exactly the rows of an uninterrupted run. The disk is a real one
that fills: a small tmpfs in a user and mount namespace (unshare -rm), which needs no root."""

import shlex
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, assert_same_rows, tiny_command

ALGO, ENV = "mappo", "mamujoco"
CAN_MOUNT = (
    shutil.which("unshare") is not None
    and subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0
)


@pytest.mark.skipif(not CAN_MOUNT, reason="unprivileged user namespaces are off (unshare -rm)")
def test_a_full_disk_is_one_line_and_the_rerun_loses_nothing(tmp_path):
    reference = tmp_path / "reference"
    done = subprocess.run(
        tiny_command(ALGO, ENV, reference), cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # Room for one checkpoint and a half: the second checkpoint write finds the disk full.
    room = int(1.5 * (reference / "checkpoint" / "state.pt").stat().st_size) + 65536
    disk, run = tmp_path / "disk", tmp_path / "disk" / "run"
    disk.mkdir()
    train = shlex.join(tiny_command(ALGO, ENV, run))
    script = f"""
        mount -t tmpfs -o size={room + (4 << 20)} tmpfs {disk}
        head -c {4 << 20} /dev/zero > {disk}/filler
        {train} 2> {tmp_path}/full.err; echo $? > {tmp_path}/full.rc
        rm {disk}/filler
        {train} 2> {tmp_path}/rerun.err; echo $? > {tmp_path}/rerun.rc
        cp -r {run} {tmp_path}/copy
    """
    subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, check=True, timeout=900)
    full = (tmp_path / "full.err").read_text()
    assert (tmp_path / "full.rc").read_text().strip() == "2", full[-2000:]
    assert "Traceback" not in full
    assert (
        full.strip().splitlines()[-1].startswith(f"error: no space left on the device ({run}")
        and "run the same command again" in full.strip().splitlines()[-1]
    )
    rerun = (tmp_path / "rerun.err").read_text()
    assert (tmp_path / "rerun.rc").read_text().strip() == "0" and "resuming" in rerun, rerun[-2000:]
    assert_same_rows(tmp_path / "copy", reference)
    assert not list((tmp_path / "copy").rglob("*.tmp"))
