"""The image from envs/Dockerfile, built and run for real (conftest.py builds it on a Debian
bookworm base made here with debootstrap, StarCraft II and SMAC off): `omdpg train` on SMAX and
MaMuJoCo inside containers, writing to mounted folders: MaMuJoCo as the image's non-root user,
SMAX through workflow/profiles/docker/omdpg as the calling user, as the docker profile runs jobs;
then the `ci` study through the docker profile itself, Snakemake and the analysis here.

Skipped, with the reason, where no Docker daemon is reachable (.ci/run starts one).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "workflow" / "profiles" / "docker" / "omdpg"
RUN_FILES = {"config.json", "progress.csv", "eval.csv", "eval_episodes.csv", "checkpoint", "DONE"}
STEPS = 512
# Tiny budgets: a few updates, checkpoints and evaluations, enough to write the whole run folder.
TINY = [
    "--seed",
    "0",
    "--steps",
    str(STEPS),
    "--set",
    "n_envs=2",
    "--set",
    "rollout_length=64",
    "--set",
    "log_interval=256",
    "--set",
    "checkpoint_interval=256",
]
RUNS = {
    "smax": [
        "--algo",
        "mappo",
        "--env",
        "smax",
        "--map",
        "3m",
        "--set",
        "eval.interval=256",
        "--set",
        "eval.episodes=2",
    ],
    "mamujoco": [
        "--algo",
        "mappo",
        "--env",
        "mamujoco",
        "--map",
        "HalfCheetah-6x1",
        "--set",
        "eval.interval=512",
        "--set",
        "eval.episodes=1",
    ],
}


def docker(docker_cli, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    client, env = docker_cli
    return subprocess.run([client, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def runs(docker_cli, image, tmp_path_factory):
    """Both trainings at once (one core each); {name: (exit status, log, run folder, owner)}."""
    out = tmp_path_factory.mktemp("runs")
    out.chmod(0o777)  # the image's user (uid 1000) writes here
    client, env = docker_cli
    commands = {
        "mamujoco": (
            [
                client,
                "run",
                "--rm",
                "--network",
                "none",
                "-v",
                f"{out}:/runs",
                image,
                "train",
                *RUNS["mamujoco"],
                *TINY,
                "--out",
                "/runs/mamujoco",
            ],
            1000,
        ),
        "smax": ([str(SHIM), "train", *RUNS["smax"], *TINY, "--out", "smax"], os.getuid()),
    }
    shim_env = {**env, "OMDPG_IMAGE": image, "DOCKER": client}
    procs = {
        name: subprocess.Popen(
            cmd, cwd=out, env=shim_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for name, (cmd, _) in commands.items()
    }
    logs = {name: proc.communicate(timeout=480)[0] for name, proc in procs.items()}
    return {
        name: (procs[name].returncode, logs[name], out / name, commands[name][1]) for name in RUNS
    }


def test_default_command_reports_backends(docker_cli, image):
    result = docker(docker_cli, "run", "--rm", "--network", "none", image)
    assert result.returncode == 0, result.stderr
    assert "smax: runs here" in result.stdout and "mamujoco: runs here" in result.stdout
    assert "smac: cannot run here: the 'smac' package is not installed" in result.stdout


def test_image_keeps_none_of_the_build_secrets(docker_cli, image):
    result = docker(
        docker_cli,
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        image,
        "-c",
        "id -u; pip config list; find /run/secrets /etc/pip.conf /etc/xdg/pip "
        "-type f 2>/dev/null; true",
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "1000"  # non-root by default
    assert not any(key in line for line in lines for key in ("find-links", "cert", "index"))
    assert not any(line.startswith("/") for line in lines)  # no secret or pip.conf file left
    history = docker(docker_cli, "history", "--no-trunc", image).stdout
    assert "127.0.0.1" not in history and "BEGIN CERTIFICATE" not in history


@pytest.mark.parametrize("name", sorted(RUNS))
def test_train_writes_the_run_folder(runs, name):
    code, log, folder, owner = runs[name]
    assert code == 0, log[-3000:]
    assert RUN_FILES <= {p.name for p in folder.iterdir()}, log[-3000:]
    assert any((folder / "checkpoint").iterdir())
    assert json.loads((folder / "DONE").read_text())["env_steps"] >= STEPS
    config = json.loads((folder / "config.json").read_text())
    assert (config["env"], config["steps"]) == (name, STEPS)
    assert len((folder / "eval_episodes.csv").read_text().splitlines()) >= 2  # header + episodes
    assert {p.stat().st_uid for p in folder.rglob("*")} == {owner}


@pytest.fixture(scope="module")
def ci_study(docker_cli, image, tmp_path_factory):
    """The `ci` study as a user runs it with the docker profile (tests/workflow runs it locally):
    (snakemake's result, its working directory, the commit the image says it was built from)."""
    work = tmp_path_factory.mktemp("ci")
    client, env = docker_cli
    cmd = [
        str(Path(sys.executable).parent / "snakemake"),
        "--snakefile",
        str(ROOT / "workflow" / "Snakefile"),
        "--profile",
        str(ROOT / "workflow" / "profiles" / "docker"),
        "--cores",
        "2",
        "--config",
        "study=ci",
        f"results={work / 'results'}",
        f"figures={work / 'figures'}",
    ]
    shim_env = {**env, "OMDPG_IMAGE": image, "DOCKER": client, "OMDPG_GPUS": "none"}
    result = subprocess.run(
        cmd, cwd=work, env=shim_env, capture_output=True, text=True, timeout=1800
    )
    image_env = docker(
        docker_cli,
        "image",
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}",
        image,
    ).stdout.splitlines()
    built_from = dict(v.split("=", 1) for v in image_env if "=" in v).get("OMDPG_GIT_COMMIT")
    return result, work, built_from


def test_ci_study_through_the_docker_profile(ci_study):
    result, work, _built_from = ci_study
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    summary = pd.read_csv(work / "results/ci/summary.csv")
    assert list(summary["status"]) == ["complete"] * 4 and (summary["steps"] == 2000).all()
    for path in ("results/ci/tables/final.md", "figures/ci/curves.png", "figures/ci/curves.pdf"):
        assert (work / path).is_file(), path
    assert "Runs: 4 of 4 complete" in result.stdout
    runs = [done.parent for done in (work / "results/ci/runs").rglob("DONE")]
    assert len(runs) == 4
    assert {p.stat().st_uid for run in runs for p in run.rglob("*")} == {os.getuid()}


def test_ci_runs_record_that_they_ran_in_the_image(ci_study):
    """Each config.json shows the image's omdpg, its commit from OMDPG_GIT_COMMIT (the image has no
    .git: a commit of this checkout, with the dirty flag unknown) and a container's host name."""
    result, work, built_from = ci_study
    assert result.returncode == 0, result.stderr[-3000:]
    assert built_from, "the image sets no OMDPG_GIT_COMMIT"
    if (ROOT / ".git").exists():  # conftest.py built it from this checkout's HEAD
        known = subprocess.run(
            ["git", "-C", str(ROOT), "cat-file", "-e", f"{built_from}^{{commit}}"]
        )
        assert known.returncode == 0, f"image built from {built_from!r}, not a commit here"
    configs = list((work / "results/ci/runs").rglob("config.json"))
    assert len(configs) == 4
    for config in configs:
        provenance = json.loads(config.read_text())["provenance"]
        assert provenance["command"][:2] == ["/opt/venv/bin/omdpg", "train"], config
        assert (provenance["git_commit"], provenance["git_dirty"]) == (built_from, None), config
        assert provenance["host"] != socket.gethostname(), config


def test_make_test_sc2_runs_tests_sc2_in_the_image(docker_cli, image):
    """`make test-sc2` (README) runs this checkout's tests/sc2 with the image's pytest; this image
    has no StarCraft II, so the tests stop with the one-line reason and the target fails."""
    client, env = docker_cli
    result = subprocess.run(
        ["make", "-s", "test-sc2", f"IMAGE={image}", f"DOCKER={client}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "1 skipped" in result.stdout, result.stdout + result.stderr
    assert "needs StarCraft II: the 'smac' package is not installed" in result.stdout
    assert result.returncode != 0  # pytest's exit status 5: nothing ran
