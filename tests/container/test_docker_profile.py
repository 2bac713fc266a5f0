"""workflow/profiles/docker/omdpg, the command the docker profile's training jobs run: the
`docker run` line it builds (a stand-in docker records it; no daemon needed) and its errors, and
that the profile makes training jobs run it (a dry run).
test_image.py runs it for real against the built image."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "workflow" / "profiles" / "docker" / "omdpg"
FAKE_DOCKER = f"""#!{sys.executable}
import os, sys
if sys.argv[1:3] == ["image", "inspect"]:
    sys.exit(0 if sys.argv[3] == "omdpg:latest" else 1)
print("\\n".join(sys.argv[1:]))
"""
TRAIN = [
    "train",
    "--algo",
    "mappo",
    "--env",
    "smac",
    "--map",
    "MMM2",
    "--seed",
    "3",
    "--steps",
    "100",
    "--out",
    "results/mmm2/runs/cell",
]


def shim(tmp_path, *args, **env):
    """Run the shim from tmp_path with a stand-in docker and no nvidia-smi; argv docker received."""
    fake = tmp_path / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    full = {"PATH": "/usr/bin:/bin", "DOCKER": str(fake), **env}
    return subprocess.run(
        ["bash", str(SHIM), *args],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_runs_omdpg_in_the_image_with_only_the_run_folder_mounted(tmp_path):
    result = shim(tmp_path, *TRAIN)
    assert result.returncode == 0, result.stderr
    argv = result.stdout.splitlines()
    run_dir = tmp_path / "results" / "mmm2" / "runs" / "cell"
    assert run_dir.is_dir()  # made by the caller, so it is the caller's
    assert argv[:5] == ["run", "--rm", "--init", "--network", "none"]
    assert argv[argv.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert argv[argv.index("-w") + 1] == str(tmp_path)
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-v"] == [f"{run_dir}:{run_dir}"]
    assert argv[argv.index("omdpg:latest") + 1 :] == TRAIN  # the job's own command, unchanged
    assert "--gpus" not in argv


def test_gpus_and_a_host_starcraft_folder(tmp_path):
    result = shim(tmp_path, *TRAIN, OMDPG_GPUS="all", OMDPG_SC2PATH="/shared/StarCraftII")
    argv = result.stdout.splitlines()
    assert argv[argv.index("--gpus") + 1] == "all"
    assert "/shared/StarCraftII:/opt/StarCraftII:ro" in argv


def test_missing_image_is_one_line_naming_the_fix(tmp_path):
    result = shim(tmp_path, *TRAIN, OMDPG_IMAGE="omdpg:nope")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "make image" in result.stderr


def test_the_profile_points_training_jobs_at_this_command(tmp_path):
    """The profile's workflow.yaml (config omdpg) reaches the jobs, from any working directory."""
    snakemake = [
        str(Path(sys.executable).parent / "snakemake"),
        "--snakefile",
        str(ROOT / "workflow" / "Snakefile"),
        "-n",
        "-p",
        "--config",
        "study=ci",
    ]
    commands = {}
    for profile in ("docker", "local"):
        result = subprocess.run(
            [*snakemake, "--profile", ROOT / "workflow" / "profiles" / profile],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        shells = [
            line.partition("MKL_NUM_THREADS=1 ")[2]
            for line in (result.stdout + result.stderr).splitlines()
            if " train --algo " in line
        ]
        commands[profile] = [c for c in shells if c]
    assert len(commands["docker"]) == len(commands["local"]) == 4  # the ci study's cells
    assert all(c.startswith(f"{SHIM} train ") for c in commands["docker"]), commands["docker"][0]
    assert all(c.startswith("omdpg train ") for c in commands["local"]), commands["local"][0]
