"""The listing commands (bad input to every command: tests/runtime/test_bad_input.py)."""


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
    # the per-env defaults below the list, where they differ from it
    assert "  on smax, smac, smacv2: n_envs = 16, gqc.out_gain = 0.01, " in r.stdout
    assert "  on mamujoco" not in r.stdout
