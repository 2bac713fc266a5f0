"""The bad-input table: every way found to give `omdpg train` or `omdpg plan` something that cannot
run or must not be written over (issue 18's cases, and more). A row is a command, a fragment of the
one line it must print, and the folder it starts from. Each must exit 2 with exactly that one line
on stderr and leave everything under the test's folder as it was: a listing of every path with the
checksum of every file, before and after.

The commands run through omdpg.cli.main in this process, as the console script does (the registry
and resume tests run the real subprocess); folders are copies of one tiny run, stopped by SIGTERM
part way and then finished. Damaged files that can be repaired (a torn last row) are in
test_damaged_files.py.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

from omdpg.cli import main
from omdpg.envs.registry import backend
from omdpg.layout import STUDIES
from tests.conftest import ROOT, TINY_STEPS, rows, run_cli, tiny_command

ALGO, ENV = "mappo", "mamujoco"  # the cheapest tiny run
# Cheap to validate, never trained: every row that uses it must stop before training.
GOOD = ["--algo", "mappo", "--env", "smax", "--map", "3m", "--steps", "96"]
OMDPG = ["--algo", "omdpg", "--env", "smax", "--map", "3m", "--steps", "96"]


def listing(root: Path) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The tiny run stopped by SIGTERM after a few checkpoints ("partly"), and finished."""
    base = tmp_path_factory.mktemp("runs")
    partly = base / "partly"
    proc = subprocess.Popen(
        tiny_command(ALGO, ENV, partly), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    while not (partly / "progress.csv").exists() or len(rows(partly / "progress.csv")) < 3:
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    stopped = re.search(r"stopped by SIGTERM at env step (\d+): checkpoint written", err.decode())
    assert proc.returncode == 128 + signal.SIGTERM and stopped, err.decode()[-2000:]
    assert 0 < int(stopped[1]) < TINY_STEPS
    finished = base / "finished"
    shutil.copytree(partly, finished)
    done = subprocess.run(
        tiny_command(ALGO, ENV, finished), cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0 and "resuming" in done.stderr, done.stderr[-2000:]
    return {"partly": partly, "finished": finished}


def cmd(out="OUT", *edits, base=None):
    """The tiny run's `omdpg train` arguments (or ``base``) with ``edits`` (flag, value) applied: a
    flag's value replaced, a `--set key=...` of the same key replaced, else appended. OUT is the
    row's folder."""
    args = list(base or tiny_command(ALGO, ENV, out)[3:])
    for flag, value in edits:
        same = [
            i
            for i, a in enumerate(args[:-1])
            if a == flag and (flag != "--set" or args[i + 1].split("=")[0] == value.split("=")[0])
        ]
        if same:
            args[same[0] + 1] = value
        else:
            args += [flag, value]
    return args


# --- the folder a row starts from -----------------------------------------------------------
def copy_of(name, *damage):
    def start(tmp, runs):
        out = tmp / "run"
        shutil.copytree(runs[name], out)
        for d in damage:
            d(out)
        return out

    return start


def foreign(*names):
    def start(tmp, runs):
        out = tmp / "run"
        out.mkdir()
        for name in names:
            (out / name).write_text("a user's file\n")
        return out

    return start


def below_a_file(tmp, runs):
    (tmp / "file").write_text("not a folder\n")
    return tmp / "file" / "run"


def a_file(tmp, runs):
    (tmp / "file").write_text("not a folder\n")
    return tmp / "file"


def rewrite(name, edit):
    def damage(out):
        path = out / name
        path.write_bytes(edit(path.read_bytes()))

    return damage


def remove(name):
    return lambda out: (shutil.rmtree if (out / name).is_dir() else os.remove)(out / name)


def line(n, text):
    """Line n (0: the header) replaced by ``text``, or dropped where ``text`` is None."""

    def edit(data):
        lines = data.decode().split("\n")
        lines[n : n + 1] = [] if text is None else [text]
        return "\n".join(lines).encode()

    return edit


def flip(at):
    return lambda data: data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1 :]


def edit_json(key, value):
    def edit(data):
        d = json.loads(data)
        d[key] = value
        return json.dumps(d).encode()

    return edit


def unchecked(out):
    """Killed before its first checkpoint: config.json and CSV headers only."""
    shutil.rmtree(out / "checkpoint")
    os.remove(out / "DONE")
    for name in ("progress.csv", "eval.csv", "eval_episodes.csv"):
        (out / name).write_text((out / name).read_text().split("\n")[0] + "\n")


EMPTY = None  # the row's folder does not exist
FINISHED = copy_of("finished")
PARTLY = copy_of("partly")
RESUMABLE = copy_of("finished", remove("DONE"))  # its checkpoint is the final one


# --- studies that cannot run (omdpg plan FILE) ------------------------------------------------
def study(edit):
    def start(tmp, runs):
        spec = yaml.safe_load((STUDIES / "ci.yaml").read_text())
        edit(spec)
        (tmp / "bad.yaml").write_text(yaml.safe_dump(spec))
        return tmp / "bad.yaml"

    return start


def mappo_set(**overrides):
    return study(lambda s: s["algorithms"][0].setdefault("set", {}).update(overrides))


@dataclass
class Row:
    id: str
    args: list
    needle: str
    start: object = EMPTY


TABLE = [
    # --- values: NaN, infinity, overflow, caps (the study schema's), empty lists -------------
    Row("lr-nan", ["train", *GOOD, "--set", "lr=nan"], "lr=nan is not a finite number"),
    Row("lr-inf", ["train", *GOOD, "--set", "lr=inf"], "lr=inf is not a finite number"),
    Row("lr-1e400", ["train", *GOOD, "--set", "lr=1e400"], "lr=inf is not a finite number"),
    Row("gamma-nan", ["train", *GOOD, "--set", "protocol.gamma=nan"], "not a finite number"),
    Row("tau-nan", ["train", *OMDPG, "--set", "train.tau=nan"], "train.tau=nan is not a finite"),
    Row("log-std-inf", ["train", *GOOD, "--set", "init_log_std=-inf"], "not a finite number"),
    Row("lambda-pu-nan", ["train", *OMDPG, "--lambda-pu", "nan"], "gqc.lambda_pu=nan is not a"),
    Row("lambda-pu-inf", ["train", *OMDPG, "--lambda-pu", "inf"], "gqc.lambda_pu=inf is not a"),
    Row("lambda-pu-negative", ["train", *OMDPG, "--lambda-pu", "-1"], "below its minimum 0.0"),
    Row("lambda-pu-cap", ["train", *OMDPG, "--lambda-pu", "1000"], "above its maximum 100.0"),
    Row("ensemble-cap", ["train", *OMDPG, "--set", "gqc.ensemble_size=1000"], "maximum 64"),
    Row("int-inf", ["train", *GOOD, "--set", "n_envs=inf"], "--set n_envs=inf: expected int"),
    Row("int-1e400", ["train", *GOOD, "--set", "rollout_length=1e400"], "expected int"),
    Row("int-huge", ["train", *GOOD, "--set", "epochs=99999999999999999999"], "maximum 2147483647"),
    Row("int-fraction", ["train", *GOOD, "--set", "rollout_length=2.5"], "expected int"),
    Row("seed-2^32", ["train", *GOOD, "--seed", str(2**32)], "seed=4294967296 is above its max"),
    Row("seed-negative", ["train", *GOOD, "--seed", "-1"], "seed=-1 is below its minimum"),
    Row("steps-1e23", ["train", *GOOD[:-1], str(10**23)], "steps=100000000000000000000000 is"),
    Row("steps-float", ["train", *GOOD[:-1], "1e23"], "argument --steps: invalid int value"),
    Row("steps-negative", ["train", *GOOD[:-1], "-5"], "steps=-5 is below its minimum 1"),
    Row("steps-below-n-envs", ["train", *GOOD[:-1], "3"], "less than one step of the 8"),
    Row("episodes-1e20", ["train", *GOOD, "--set", "eval.episodes=1e20"], "above its maximum"),
    Row("episodes-zero", ["train", *GOOD, "--set", "eval.episodes=0"], "below its minimum 1"),
    Row("interval-cap", ["train", *GOOD, "--set", "eval.interval=1e9"], "maximum 100000000"),
    Row("hidden-empty", ["train", *GOOD, "--set", "hidden="], "no empty item"),
    Row("hidden-hole", ["train", *GOOD, "--set", "hidden=64,,64"], "no empty item"),
    Row("hidden-zero", ["train", *GOOD, "--set", "hidden=64,0"], "below its minimum 1"),
    Row("actor-hidden-empty", ["train", *OMDPG, "--set", "actor.hidden="], "no empty item"),
    Row("bool", ["train", *GOOD, "--set", "value_norm=maybe"], "expected bool"),
    Row("choice", ["train", *GOOD, "--set", "agent_id=weird"], "not allowed: choose one of"),
    Row("gamma-above-1", ["train", *GOOD, "--set", "protocol.gamma=1.5"], "above its maximum"),
    Row("reward-scale", ["train", *GOOD, "--set", "protocol.reward_scale=-1"], "below its min"),
    # --- one source of truth: flags are not --set, nothing is given twice --------------------
    Row("set-algo", ["train", *GOOD, "--set", "algo=omdpg"], "use --algo (one source of truth)"),
    Row("set-seed", ["train", *GOOD, "--set", "seed=5"], "use --seed (one source of truth)"),
    Row("set-steps", ["train", *GOOD, "--set", "steps=8"], "use --steps"),
    Row("set-env", ["train", *GOOD, "--set", "env=mamujoco"], "use --env"),
    Row("set-map", ["train", *GOOD, "--set", "map=2s3z"], "use --map"),
    Row("set-grouping", ["train", *GOOD, "--set", "grouping=none"], "use --grouping"),
    Row("set-device", ["train", *GOOD, "--set", "device=cpu"], "use --device"),
    Row("set-twice", ["train", *GOOD, "--set", "lr=1e-3", "--set", "lr=2e-3"], "lr is given twice"),
    Row(
        "lambda-pu-twice",
        ["train", *OMDPG, "--lambda-pu", "0.1", "--set", "gqc.lambda_pu=0.2"],
        "gqc.lambda_pu is given twice",
    ),
    # --- names, flags and what an algorithm supports ------------------------------------------
    Row("env", ["train", *cmd("x", ("--env", "atari"), base=GOOD)], "unknown env"),
    Row("map", ["train", *cmd("x", ("--map", "4m"), base=GOOD)], "unknown map"),
    Row("algo", ["train", *cmd("x", ("--algo", "dqn"), base=GOOD)], "unknown algorithm"),
    Row("key", ["train", *GOOD, "--set", "nope=1"], "no such key"),
    Row("other-algo-key", ["train", *GOOD, "--set", "train.tau=0.1"], "no such key for algo"),
    Row("set-no-value", ["train", *GOOD, "--set", "eval.episodes"], "expected key=value"),
    Row("lambda-pu-mappo", ["train", *GOOD, "--lambda-pu", "0.1"], "--set gqc.lambda_pu: no such"),
    Row("hatd3-smax", ["train", *cmd("x", ("--algo", "hatd3"), base=GOOD)], "needs continuous"),
    Row(
        "qmix-mamujoco",
        [
            "train",
            *cmd("x", ("--algo", "qmix"), ("--env", ENV), ("--map", "Walker2d-6x1"), base=GOOD),
        ],
        "needs discrete actions",
    ),
    Row("grouping", ["train", *GOOD, "--grouping", "capability"], "argument --grouping: invalid"),
    Row("missing-flag", ["train", *GOOD[2:]], "the following arguments are required: --algo"),
    Row("command", ["trian"], "argument command: invalid choice: 'trian'"),
    Row("seed-text", ["train", *GOOD, "--seed", "one"], "argument --seed: invalid int value"),
    *(
        []
        if torch.cuda.is_available()
        else [Row("no-cuda", ["train", *GOOD, "--device", "cuda"], "no CUDA device visible")]
    ),
    *(
        [
            Row(
                "no-starcraft",
                ["train", *cmd("x", ("--env", "smac"), ("--map", "MMM2"), base=GOOD)],
                "cannot run smac map MMM2",
            )
        ]
        if backend("smac").unavailable()
        else []
    ),
    # --- output folders -----------------------------------------------------------------------
    Row("out-empty", ["train", *GOOD, "--out", ""], "--out is empty"),
    Row("out-below-file", ["train", *GOOD], "is a file, not a folder", below_a_file),
    Row("out-is-file", ["train", *GOOD], "is a file, not a folder", a_file),
    Row("out-foreign", cmd(), "holds files that are not a run", foreign("notes.txt")),
    Row(
        "out-own-progress",
        cmd(),
        "not a run of this harness (progress.csv)",
        foreign("progress.csv"),
    ),
    Row("out-own-config", cmd(), "config.json is not valid JSON", foreign("config.json")),
    Row("finished-other-algo", cmd("OUT", ("--algo", "happo")), "algo is 'mappo' there", FINISHED),
    Row("finished-other-seed", cmd("OUT", ("--seed", "2")), "seed is 1 there, 2 here", FINISHED),
    Row("finished-other-steps", cmd("OUT", ("--steps", "1024")), "steps is 512 there", FINISHED),
    Row("finished-other-map", cmd("OUT", ("--map", "Walker2d-6x1")), "map is", FINISHED),
    Row("finished-other-lr", cmd("OUT", ("--set", "lr=1e-3")), "lr is 0.0005 there", FINISHED),
    Row("finished-other-eval", cmd("OUT", ("--set", "eval.episodes=2")), "eval.episodes", FINISHED),
    Row("partly-other-seed", cmd("OUT", ("--seed", "2")), "holds another run (seed", PARTLY),
    Row("partly-other-algo", cmd("OUT", ("--algo", "happo")), "holds another run (algo", PARTLY),
    Row(
        "unchecked-other-seed",
        cmd("OUT", ("--seed", "2")),
        "holds another run (seed",
        copy_of("finished", unchecked),
    ),
    # --- damaged files: refused, with the fix --------------------------------------------------
    Row(
        "checkpoint-cut",
        cmd(),
        "checkpoint/state.pt does not match its checksum",
        copy_of("partly", rewrite("checkpoint/state.pt", lambda d: d[: len(d) // 2])),
    ),
    Row(
        "checkpoint-emptied",
        cmd(),
        "checkpoint/state.pt has no checksum header",
        copy_of("partly", rewrite("checkpoint/state.pt", lambda d: b"")),
    ),
    Row(
        "checkpoint-garbled",
        cmd(),
        "has no checksum header",
        copy_of("partly", rewrite("checkpoint/state.pt", lambda d: os.urandom(200) + d[200:])),
    ),
    Row(
        "checkpoint-bytes-changed",
        cmd(),
        "does not match its checksum",
        copy_of("partly", rewrite("checkpoint/state.pt", flip(5000))),
    ),
    Row(
        "checkpoint-deleted",
        cmd(),
        "checkpoint/state.pt is missing, but progress.csv goes on to env step",
        copy_of("partly", remove("checkpoint")),
    ),
    Row(
        "counted-row-garbled",
        cmd(),
        "progress.csv: its first",
        copy_of("partly", rewrite("progress.csv", line(2, "128,oops"))),
    ),
    Row(
        "counted-row-deleted",
        cmd(),
        "eval.csv: its first",
        copy_of("partly", rewrite("eval.csv", line(1, None))),
    ),
    Row(
        "header-garbled",
        cmd(),
        "progress.csv: its header is not the run's columns",
        copy_of("partly", rewrite("progress.csv", line(0, "env_steps,oops"))),
    ),
    Row(
        "csv-emptied",
        cmd(),
        "eval_episodes.csv: its header",
        copy_of("partly", rewrite("eval_episodes.csv", lambda d: b"")),
    ),
    Row(
        "csv-deleted",
        cmd(),
        "eval.csv is missing",
        copy_of("partly", remove("eval.csv")),
    ),
    Row(
        "config-invalid",
        cmd(),
        "config.json is not valid JSON, so the run it holds is unknown",
        copy_of("partly", rewrite("config.json", lambda d: d[:-40])),
    ),
    Row(
        "config-missing",
        cmd(),
        "config.json is missing, so the run it holds is unknown",
        copy_of("partly", remove("config.json")),
    ),
    Row(
        "config-changed",
        cmd(),
        "config.json does not match its checksum",
        copy_of("partly", rewrite("config.json", edit_json("host", "elsewhere"))),
    ),
    Row(
        "done-garbled",
        cmd(),
        "DONE is not valid JSON: delete DONE and run the same command again",
        copy_of("finished", rewrite("DONE", lambda d: d[:20])),
    ),
    Row(
        "done-score-changed",
        cmd(),
        "DONE does not match its checksum",
        copy_of("finished", rewrite("DONE", edit_json("final_return", 1e9))),
    ),
    Row(
        "finished-eval-garbled",
        cmd(),
        "eval.csv: its first 4 rows are not those written",
        copy_of("finished", rewrite("eval.csv", flip(80))),
    ),
    Row(
        "finished-eval-row-added",
        cmd(),
        "eval.csv has rows after the ones its run wrote",
        copy_of("finished", rewrite("eval.csv", lambda d: d + b"640,1,1,,0,0\n")),
    ),
    Row(
        "finished-config-missing",
        cmd(),
        "config.json is missing",
        copy_of("finished", remove("config.json")),
    ),
    Row(
        "resumable-eval-garbled",
        cmd(),
        "eval.csv: its first",
        copy_of("finished", remove("DONE"), rewrite("eval.csv", flip(80))),
    ),
    # --- studies that cannot run: stopped when loaded, naming the file, the cell, the field ---
    Row(
        "study-steps-float",
        ["plan", "OUT"],
        "steps: 2000.0 is not an integer",
        study(lambda s: s.update(steps=2000.0)),
    ),
    Row(
        "study-seed-float",
        ["plan", "OUT"],
        "seeds[0]: 0.0 is not an integer",
        study(lambda s: s.update(seeds=[0.0])),
    ),
    Row("study-unknown-key", ["plan", "OUT"], "seed~0: --set nope: no such key", mappo_set(nope=1)),
    Row(
        "study-bad-type",
        ["plan", "OUT"],
        "--set rollout_length=abc: expected int",
        mappo_set(rollout_length="abc"),
    ),
    Row(
        "study-empty-list", ["plan", "OUT"], "--set hidden=: expected a comma", mappo_set(hidden="")
    ),
    Row("study-nan", ["plan", "OUT"], "lr=nan is not a finite number", mappo_set(lr=float("nan"))),
    Row(
        "study-flag-key", ["plan", "OUT"], "--set seed=5: seed has its own flag", mappo_set(seed=5)
    ),
    Row(
        "study-other-algo-key",
        ["plan", "OUT"],
        "no such key for algo 'mappo'",
        study(lambda s: s.update(set={"train.batch_size": 64})),
    ),
    Row(
        "study-hatd3-smax",
        ["plan", "OUT"],
        "cell algorithm~hatd3/env~smax/map~3m/grouping~type",
        study(lambda s: s["algorithms"].append({"name": "hatd3", "grouping": ["type"]})),
    ),
    Row(
        "study-steps-n-envs",
        ["plan", "OUT"],
        "steps: 2001 is not a multiple of its n_envs (8)",
        study(lambda s: s.update(steps=2001)),
    ),
    Row(
        "study-episodes-cap",
        ["plan", "OUT"],
        "eval.episodes: 100000000000000000000 is greater",
        study(lambda s: s["eval"].update(episodes=10**20)),
    ),
]


def prepare(row: Row, tmp_path, runs) -> list[str]:
    """The row's folder made under tmp_path, and its command line with that folder in it."""
    out = row.start(tmp_path, runs) if row.start else tmp_path / "run"
    args = [str(out) if a == "OUT" else a for a in row.args]
    if "--out" not in args and args[0] == "train":
        args += ["--out", str(out)]
    return args


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in TABLE])
def test_bad_input_stops_with_one_line_and_changes_nothing(row, runs, tmp_path, capsys):
    args = prepare(row, tmp_path, runs)
    before = listing(tmp_path)
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert row.needle in lines[0], lines[0]
    assert listing(tmp_path) == before


@pytest.mark.parametrize("row_id", ["lr-nan", "checkpoint-cut", "study-hatd3-smax"])
def test_the_console_script_says_the_same(row_id, runs, tmp_path):
    """A few rows through the real command line: the exit status is main's, and nothing else (an
    import's warning, a traceback) reaches stderr."""
    row = next(r for r in TABLE if r.id == row_id)
    args = prepare(row, tmp_path, runs)
    before = listing(tmp_path)
    result = run_cli(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert row.needle in result.stderr and listing(tmp_path) == before


def test_the_table_holds_every_case():
    """Issue 18 listed 64 failures; the table holds each of them and more, once each."""
    assert len({r.id for r in TABLE}) == len(TABLE) >= 64


def test_steps_are_rounded_down_and_said_so(runs, capsys):
    """--steps 513 at n_envs 2 is the 512-step run: one note, and the finished run is left be."""
    code = main(cmd(str(runs["finished"]), ("--steps", str(TINY_STEPS + 1))))
    err = capsys.readouterr()
    assert code == 0 and "run already complete" in err.out
    assert err.err.strip() == (
        f"note: --steps {TINY_STEPS + 1} is not a multiple of n_envs (2): "
        f"training {TINY_STEPS} env steps"
    )


def test_a_second_writer_is_refused_with_the_holder_s_pid(runs, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(runs["partly"], out)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out / "lock")],
        cwd=ROOT,
        stdin=subprocess.PIPE,  # it holds the lock until its stdin closes
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        before = listing(tmp_path)
        code = main(cmd(str(out)))
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.startswith(
            f"error: {out} is being written by another run (PID {holder.pid}, since "
        ), err
        assert f"or stop it (kill {holder.pid})" in err and len(err.splitlines()) == 1
        assert listing(tmp_path) == before
    finally:
        holder.kill()
        holder.wait()


HOLD = """
import sys
from pathlib import Path
from omdpg.run_lock import RunLock
with RunLock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.mark.parametrize("given", ["two", "0", "-1"])
def test_a_bad_omp_num_threads_is_refused_before_the_run_folder(given, tmp_path):
    """torch_threads 0 (the default) reads the job's OMP_NUM_THREADS: a value that is not a positive
    number stops the run with one line, before anything is written, and before torch's OpenMP
    library loads and warns about it on a line of its own (so through the real command line)."""
    before = listing(tmp_path)
    r = run_cli(
        "train", *GOOD, "--out", tmp_path / "run", env={**os.environ, "OMP_NUM_THREADS": given}
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"OMP_NUM_THREADS='{given}': not a positive number" in r.stderr
    assert listing(tmp_path) == before


def test_a_run_resumes_under_another_thread_count(runs, tmp_path):
    """Threads change numbers at most by float rounding, like the device: not a run's identity."""
    out = tmp_path / "run"
    shutil.copytree(runs["partly"], out)
    command = tiny_command(ALGO, ENV, out) + ["--set", "torch_threads=2"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "resuming" in done.stderr, done.stderr[-2000:]
