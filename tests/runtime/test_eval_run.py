"""`omdpg eval` and the absolute metric through the real command line: DONE's absolute metric is
the best evaluation's policy on held-out episodes, `omdpg eval --learner best` repeats it without
touching the training logs, refusals are one line with exit 2, and episodes are recorded."""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from PIL import Image, ImageChops

from omdpg.envs.smac import SmacEnv
from omdpg.errors import UserError
from omdpg.recording import Sc2Replay, recorder_for
from tests.conftest import OMDPG, ROOT

TRAIN = [
    "train", "--algo", "mappo", "--env", "smax", "--map", "3m", "--seed", "2", "--steps", "2048",
    "--set", "eval.interval=1024", "--set", "eval.episodes=4", "--set", "eval.absolute_multiple=2",
    "--set", "rollout_length=64",
]  # fmt: skip
LOGS = ("config.json", "progress.csv", "eval.csv", "eval_episodes.csv", "DONE")


def cli(*args, timeout=900):
    return subprocess.run(
        OMDPG + [str(a) for a in args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "run"
    r = cli(*TRAIN, "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def test_done_holds_the_absolute_metric_of_the_best_evaluation(run):
    done = json.loads((run / "DONE").read_text())
    evals = pd.read_csv(run / "eval.csv")
    best = evals[evals["win_rate"] == evals["win_rate"].max()]["env_steps"].iloc[-1]  # later ties
    absolute = pd.read_csv(run / "absolute_episodes.csv")
    assert done["absolute_episodes"] == len(absolute) == 2 * 4
    assert done["absolute_env_steps"] == best and (absolute["env_steps"] == best).all()
    assert done["absolute_win_rate"] == pytest.approx(absolute["won"].mean())
    assert done["absolute_return"] == pytest.approx(absolute["return"].mean())


def test_omdpg_eval_repeats_the_absolute_metric_and_leaves_the_training_logs(run):
    before = {name: (run / name).read_bytes() for name in LOGS}
    r = cli("eval", run, "--learner", "best", "--episodes", 8)
    assert r.returncode == 0, r.stderr
    done = json.loads((run / "DONE").read_text())
    row = pd.read_csv(run / "posthoc_eval.csv").iloc[-1]
    assert (row["learner"], row["n_episodes"], row["env_steps"]) == (
        "best",
        8,
        done["absolute_env_steps"],
    )
    assert row["win_rate"] == done["absolute_win_rate"]
    assert row["return_mean"] == done["absolute_return"]
    assert f"win rate {done['absolute_win_rate']:.3f}" in r.stdout
    assert {name: (run / name).read_bytes() for name in LOGS} == before
    r = cli("eval", run)  # the latest learner, 32 episodes
    assert r.returncode == 0 and "last learner at 2,048 env steps, 32 greedy episodes" in r.stdout


def refused(r, needle):
    lines = r.stderr.strip().splitlines()
    return r.returncode == 2 and len(lines) == 1 and needle in lines[0]


def test_refusals_are_one_line_with_exit_2(run, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(run / "config.json", bare / "config.json")
    assert refused(cli("eval", bare), "no checkpoint")
    assert refused(cli("eval", tmp_path / "nothing"), "no readable config.json")
    assert refused(cli("eval", run, "--record", tmp_path / "x.mp4"), "recorded as .gif")
    assert refused(cli("eval", run, "--episodes", 0), "--episodes 0")
    other = tmp_path / "other"
    shutil.copytree(run, other)
    config = json.loads((other / "config.json").read_text())
    config["harness"]["run_format"] -= 1
    (other / "config.json").write_text(json.dumps(config))
    assert refused(cli("eval", other), "was written by harness version")
    (other / "DONE").unlink()  # a resume of that folder is refused the same way
    assert refused(cli(*TRAIN, "--out", other), "was written by harness version")


def test_smax_episode_is_recorded_as_a_gif(run, tmp_path):
    gif = tmp_path / "episode.gif"
    r = cli("eval", run, "--learner", "best", "--episodes", 8, "--record", gif)
    assert r.returncode == 0, r.stderr
    assert f"recorded episode 0 -> {gif}" in r.stdout
    # the same 8 held-out episodes as the absolute metric: episode 0 is its row 0
    length = int(pd.read_csv(run / "absolute_episodes.csv")["length"].iloc[0])
    with Image.open(gif) as im:
        frames = im.n_frames
        im.seek(0)
        first = im.convert("RGB")
        im.seek(frames - 1)
        last = im.convert("RGB")
    assert frames > 1 and ImageChops.difference(first, last).getbbox()  # the units moved
    # 4 frames of 100 ms per step (every 2nd of its 8 world ticks)
    assert gif_ms(gif) == 4 * length * 100


def gif_ms(path) -> int:
    with Image.open(path) as im:
        total = 0
        for k in range(im.n_frames):
            im.seek(k)
            total += im.info["duration"]
    return total


def _egl_renders() -> bool:
    probe = (
        "import mujoco; m = mujoco.MjModel.from_xml_string('<mujoco/>'); "
        "mujoco.Renderer(m, 8, 8).render()"
    )
    env = {**os.environ, "MUJOCO_GL": "egl"}
    return (
        subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True).returncode == 0
    )


@pytest.mark.skipif(not _egl_renders(), reason="MuJoCo cannot render headless here (MUJOCO_GL=egl)")
def test_mamujoco_episode_is_recorded_as_a_video(tmp_path):
    out = tmp_path / "mj"
    r = cli(
        "train", "--algo", "mappo", "--env", "mamujoco", "--map", "HalfCheetah-6x1",
        "--steps", 256, "--out", out, "--set", "eval.interval=256", "--set", "eval.episodes=1",
        "--set", "eval.absolute_multiple=0", "--set", "n_envs=2", "--set", "rollout_length=64",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "absolute_return" not in json.loads((out / "DONE").read_text())  # switched off
    gif = tmp_path / "cheetah.gif"
    r = cli("eval", out, "--episodes", 1, "--record", gif)
    assert r.returncode == 0, r.stderr
    # one frame before each of the 1,000 steps, 50 ms each (Pillow merges equal frames, adding
    # their durations)
    assert gif_ms(gif) == 1000 * 50
    with Image.open(gif) as im:
        assert im.size == (320, 240)


def test_sc2_replay_is_saved_by_smac_and_moved_to_the_path(tmp_path):
    """StarCraft II cannot run here: smac's save_replay, which names the file itself, is faked."""

    class Game:
        replay_dir = replay_prefix = ""

        def save_replay(self):
            name = f"{self.replay_prefix}_2026-01-01-00-00-00.SC2Replay"
            (tmp_path / self.replay_dir / name).write_bytes(b"replay")

    env = object.__new__(SmacEnv)  # no game launched
    env._envs = [Game()]
    path = tmp_path / "mmm2.SC2Replay"
    recorder = recorder_for("smac", path)
    assert isinstance(recorder, Sc2Replay)
    recorder.finish(env)
    assert path.read_bytes() == b"replay" and list(tmp_path.iterdir()) == [path]
    with pytest.raises(UserError, match=r"recorded as \.SC2Replay"):
        recorder_for("smacv2", tmp_path / "x.gif")
