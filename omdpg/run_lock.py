"""One writer per run folder: an exclusive ``fcntl.flock`` on RUN_DIR/lock for the life of a run.

The kernel releases a flock when its holder dies, however it dies, so a lock left by a killed run
never blocks its resume, and nothing has to be cleaned up by hand. A second process is refused with
the holder's PID and host, which the holder writes into the file once it has the lock; with
``wait`` it waits for the holder to end instead (what the workflow's jobs do, so that a job left
running by a killed workflow finishes before the rerun's job looks at its folder). On NFS, Linux
takes a flock as a lock of the whole file through the server, so it also holds between hosts.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
import sys
from pathlib import Path

from omdpg.errors import UserError


def _holder(fd: int) -> tuple[str, str]:
    """(the holder in words, the command that stops it) from what it wrote into the lock file."""
    try:
        info = json.loads(os.pread(fd, 4096, 0))
        where = "" if info["host"] == socket.gethostname() else f" on host {info['host']}"
        return (
            f"PID {info['pid']}{where}, since {info['since']}",
            f"kill {info['pid']}" + (f" on {info['host']}" if where else ""),
        )
    except (ValueError, KeyError, TypeError):  # it has not written its PID yet
        return "a process that is starting", "stop it"


class RunLock:
    """Held while the ``with`` block runs; ``path`` is the run folder's lock file."""

    def __init__(self, path: Path, wait: bool = False):
        self.path, self.root, self.wait, self.fd = path, path.parent, wait, None
        self.waited = False  # whether another process held it first

    def __enter__(self) -> RunLock:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder, stop = _holder(fd)
            if not self.wait:
                os.close(fd)
                raise UserError(
                    f"{self.root} is being written by another run ({holder}): wait for it to end, "
                    f"or stop it ({stop}) and run the same command again to resume"
                ) from None
            print(f"waiting for {holder} to end: it is writing {self.root}", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.waited = True
        since = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": since}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)  # releases the lock
