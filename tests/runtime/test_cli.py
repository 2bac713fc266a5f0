"""Bad input: one line on stderr naming the fix, exit status 2, nothing that looks like a result."""

import pytest

GOOD = ["--algo", "mappo", "--env", "smax", "--map", "3m", "--steps", "100"]


def replace(args, flag, value):
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


@pytest.mark.parametrize(
    "args,needle",
    [
        (replace(GOOD, "--env", "atari"), "unknown env"),
        (replace(GOOD, "--map", "4m"), "unknown map"),
        (replace(GOOD, "--algo", "dqn"), "unknown algorithm"),
        (replace(GOOD, "--steps", "-5"), "--steps"),
        (GOOD + ["--set", "nope=1"], "no such key"),
        (GOOD + ["--set", "eval.episodes"], "key=value"),
        (GOOD + ["--set", "eval.episodes=0"], "minimum"),
        (GOOD + ["--lambda-pu", "0.1"], "gqc.lambda_pu"),
    ],
)
def test_bad_input(cli, tmp_path, args, needle):
    out = tmp_path / "run"
    r = cli("train", *args, "--out", out)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
    assert not out.exists()


def test_unwritable_out(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = cli("train", *GOOD, "--out", blocker)
    assert r.returncode == 2 and "cannot write" in r.stderr
    assert blocker.read_text() == "not a folder"


def test_envs_lists_every_backend_and_why(cli, tmp_path):
    r = cli("envs", env={"SC2PATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0
    for text in (
        "smax: runs here",
        "mamujoco: runs here",
        "smac: cannot run here",
        "6m2m_15m",
        "INTERPRETATION",
        "mm2_no_medivac",
        "HalfCheetah-6x1",
        "Walker2d-6x1",
        "MMM2",
        "protoss_5_vs_5",
        "groups (type)",
    ):
        assert text in r.stdout, text


def test_algos_lists_defaults(cli):
    r = cli("algos")
    assert r.returncode == 0 and "mappo:" in r.stdout and "clip = 0.2" in r.stdout
