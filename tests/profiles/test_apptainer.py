"""workflow/profiles/apptainer for real, except Apptainer itself (no package on these machines):
a stand-in `apptainer` records each command line Snakemake generates, then runs the job's own
command on the host. The tiny study goes end to end; the recorded lines are what a cluster runs."""

import json
import os
import sys

from profile_cli import STEPS, run_folder, snakemake

FAKE_APPTAINER = f"""#!{sys.executable}
import json, os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["APPTAINER_CALLS"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args == ["--version"]:
    print("apptainer version 1.3.4")
    sys.exit(0)
i = args.index("exec") + 1
while args[i].startswith("-"):  # options, some with a value, up to the image
    i += 2 if args[i] in ("--home", "--bind", "-B", "--pwd", "--env") else 1
sys.exit(subprocess.call(args[i + 1:]))
"""


def test_every_job_runs_in_the_image_with_gpus_and_a_clean_env(tmp_path, tiny_study):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apptainer").write_text(FAKE_APPTAINER)
    (bin_dir / "apptainer").chmod(0o755)
    image = tmp_path / "omdpg.sif"
    image.touch()
    calls = tmp_path / "calls.jsonl"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "APPTAINER_CALLS": str(calls),
    }
    result = snakemake(
        "apptainer",
        "--cores",
        "2",
        "--config",
        f"study={tiny_study}",
        f"container={image}",
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    execs = [args for args in map(json.loads, calls.read_text().splitlines()) if "exec" in args]
    train = [args for args in execs if "omdpg train --algo mappo --env smax --map 3m" in args[-1]]
    assert len(train) == 1 and len(execs) >= 2  # training and the analysis jobs, all in the image
    for args in execs:
        options = args[args.index("exec") + 1 : args.index(str(image))]
        assert {"--nv", "--cleanenv"} <= set(options), args
        assert options[options.index("--home") + 1] == str(tmp_path)
        assert args[args.index(str(image)) + 1 :][:2] == ["bash", "-c"]
    done = json.loads((run_folder(tmp_path / "results") / "DONE").read_text())
    assert done["env_steps"] >= STEPS
