"""Peak resident memory of one process, free of what it inherits from its parent.

Linux folds the parent's high-water mark into a child's ``ru_maxrss`` across fork + exec, so a
job started from a benchmark process that holds 2 GB reports at least 2 GB (measured: every
scaling worker read 1,875 MB). Two ways around it:
- inside a process, ``VmHWM`` of /proc/self/status is the peak of its own address space;
- for a command, a small launcher forks and execs it: the command then inherits only the
  launcher's few MB, and ``os.wait4`` gives the kernel's exact peak of the command.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

# Prints "<ru_maxrss KiB> <exit status>"; the command's stdout goes to /dev/null, stderr is kept.
_LAUNCHER = """import os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def own_peak_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # Linux: KiB


def run_measured(cmd: list[str], stderr_log: Path) -> tuple[int, float]:
    """Run ``cmd`` (first item an absolute executable path); (exit status, peak RSS in MB)."""
    with open(stderr_log, "w") as err:
        out = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, *cmd],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            check=True,
        )
    kib, status = out.stdout.split()
    return int(status), int(kib) * 1024 / 1e6
