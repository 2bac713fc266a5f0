"""workflow/profiles/slurm against a real one-node Slurm cluster (Debian's slurm-wlm and munge):
munged, slurmctld and slurmd start on localhost for this module and stop after it. The ci study,
with its budgets shrunk, runs through sbatch and srun end to end.

The node advertises more CPUs and memory than the machine has (SlurmdParameters=config_overrides)
so that the profile's real MMM2-sized requests schedule unchanged; the jobs themselves use one
thread each. No accounting database runs, so job states come from squeue.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
import yaml
from profile_cli import ROOT, snakemake

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "srun")
pytestmark = [
    pytest.mark.skipif(
        any(shutil.which(d) is None for d in DAEMONS),
        reason="needs slurm-wlm and munge (apt-get install slurm-wlm munge; .ci/run does)",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="starts munged, slurmctld and slurmd as root"),
]
SLURM_CONF = """\
ClusterName=omdpgtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.socket
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
NodeName={host} NodeAddr=127.0.0.1 CPUs=24 RealMemory=160000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """SLURM_CONF of a running one-node cluster; every daemon is stopped by its PID afterwards."""
    d = tmp_path_factory.mktemp("slurm")
    d.chmod(0o755)  # munged refuses group- or world-writable folders
    for sub in ("state", "spool"):
        (d / sub).mkdir()
    (d / "munge.key").write_bytes(os.urandom(1024))
    (d / "munge.key").chmod(0o600)
    conf = d / "slurm.conf"
    conf.write_text(
        SLURM_CONF.format(
            host=socket.gethostname().split(".")[0],
            dir=d,
            ctld_port=_free_port(),
            d_port=_free_port(),
        )
    )
    # The jobstep plugin strips SLURM_* variables before its nested srun, so SLURM_CONF would not
    # reach it; clusters keep their config where srun finds it unaided. This srun brings it back.
    (d / "bin").mkdir()
    (d / "bin" / "srun").write_text(
        f'#!/bin/sh\nSLURM_CONF={conf} exec {shutil.which("srun")} "$@"\n'
    )
    (d / "bin" / "srun").chmod(0o755)
    env = {
        **os.environ,
        "SLURM_CONF": str(conf),
        "PATH": f"{d / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    pids = []
    try:
        subprocess.run(
            [
                "munged",
                "--force",
                f"--socket={d}/munge.socket",
                f"--key-file={d}/munge.key",
                f"--pid-file={d}/munged.pid",
                f"--log-file={d}/munged.log",
                f"--seed-file={d}/munged.seed",
            ],
            check=True,
            timeout=30,
        )
        pids.append(d / "munged.pid")
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([daemon, "-f", str(conf)], env=env, check=True, timeout=30)
            pids.append(d / f"{daemon}.pid")
        for _ in range(60):  # the node registers within seconds
            state = subprocess.run(
                ["sinfo", "--noheader", "--format=%t"], env=env, capture_output=True, text=True
            ).stdout.strip()
            if state == "idle":
                break
            time.sleep(1)
        else:
            pytest.fail(f"Slurm node never became idle (state {state!r}); see {d}/slurmd.log")
        yield env
    finally:
        for pid_file in reversed(pids):
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text()), signal.SIGTERM)
                except ProcessLookupError:
                    pass


def test_ci_study_through_sbatch(cluster, tmp_path):
    study = yaml.safe_load((ROOT / "config" / "studies" / "ci.yaml").read_text())
    study.update(
        steps=512,
        eval={"interval": 256, "episodes": 2},
        set={"n_envs": 2, "log_interval": 256, "checkpoint_interval": 256},
    )
    (tmp_path / "ci.yaml").write_text(yaml.safe_dump(study))
    result = snakemake(
        "slurm",
        "--config",
        f"study={tmp_path / 'ci.yaml'}",
        # a test cluster: no accounting database, no accounts, short jobs
        "--slurm-status-command",
        "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks",
        "5",
        "--slurm-keep-successful-logs",
        cwd=tmp_path,
        env=cluster,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = list((tmp_path / "results").glob("*/runs/**/DONE"))
    assert len(runs) == 4  # 2 algorithms x 2 seeds, each trained by its own batch job
    assert (tmp_path / "results" / "ci" / "summary.csv").is_file()
    logs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert any("rule_train" in str(log) for log in logs), logs
