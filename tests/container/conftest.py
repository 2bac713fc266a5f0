"""What the container tests need from this machine: a BuildKit-capable Docker client, a Debian base
made from the configured apt mirror, the machine's pip settings as build secrets, and the image.
Where the machine cannot provide one, the tests using it skip and say why."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "omdpg:container-test"
BASE_IMAGE = "local/debian:bookworm"
TORCH_WHEEL = "torch-2.13.0*.whl"


def _run(*cmd: str, env: dict | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        return subprocess.CompletedProcess(cmd, 127, "", str(err))


def buildkit_client() -> tuple[str, dict] | str:
    """(client, env) able to build envs/Dockerfile, or why none is.

    The Dockerfile needs BuildKit. Docker >= 23 clients reach it only through the buildx plugin;
    older clients (Debian's docker.io) have it built in behind DOCKER_BUILDKIT=1.
    """
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    candidates = [
        c
        for c in dict.fromkeys([shutil.which("docker"), "/usr/bin/docker"])
        if c and os.access(c, os.X_OK)
    ]
    if not candidates:
        return "no docker client: apt-get install docker.io (.ci/run does)"
    if _run(candidates[0], "info", env=env, timeout=20).returncode != 0:
        return "no Docker daemon reachable: start dockerd (.ci/run shows how)"
    for client in candidates:
        if _run(client, "buildx", "version", env=env).returncode == 0:
            return client, env
        version = _run(client, "version", "--format", "{{.Client.Version}}", env=env).stdout
        if re.match(r"(1\d|2[0-2])\.", version.strip()):
            return client, env
    return f"no BuildKit-capable docker client among {candidates}: install docker-buildx"


def debian_mirror() -> str | None:
    """The Debian mirror apt is configured with (deb822 first, then one-line sources)."""
    for path, pattern in (
        ("/etc/apt/sources.list.d/debian.sources", r"^URIs:\s*(\S+)"),
        ("/etc/apt/sources.list", r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)"),
    ):
        try:
            found = re.search(pattern, Path(path).read_text(), re.MULTILINE)
        except OSError:
            continue
        if found:
            return found.group(1)
    return None


def ensure_base_image(docker: tuple[str, dict]) -> str | None:
    """Import BASE_IMAGE from a debootstrap of the apt mirror once; None when it is there."""
    client, env = docker
    if _run(client, "image", "inspect", BASE_IMAGE, env=env).returncode == 0:
        return None
    mirror = debian_mirror()
    if not mirror:
        return "no Debian mirror in /etc/apt/sources.list*: cannot debootstrap a base image"
    if not shutil.which("debootstrap") or os.geteuid() != 0:
        return "building the base image needs root and debootstrap (apt-get install debootstrap)"
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = Path(tmp) / "rootfs"
        boot = _run(
            "debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror, timeout=900
        )
        if boot.returncode != 0:
            return f"debootstrap from {mirror} failed: {boot.stdout[-300:]} {boot.stderr[-300:]}"
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            [client, "import", "-", BASE_IMAGE],
            stdin=tar.stdout,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        tar.wait()
    return None if imported.returncode == 0 else f"docker import failed: {imported.stderr}"


def _pip_config() -> dict[str, list[str]]:
    """{key: values} of pip's effective configuration (files and PIP_* variables)."""
    out = _run(sys.executable, "-m", "pip", "config", "list").stdout
    config: dict[str, list[str]] = {}
    for key, value in re.findall(r"^[^.\s]*\.([\w-]+)='(.*)'$", out, re.MULTILINE):
        values = config.setdefault(key, [])
        values += [v for v in value.split() if v not in values]  # files and PIP_* may repeat
    return config


def local_torch_wheels() -> Path | None:
    """A temporary folder with the torch wheels of pip's local find-links folders, if any."""
    wheels = [
        w
        for d in _pip_config().get("find-links", [])
        if Path(d).is_dir()
        for w in Path(d).glob(TORCH_WHEEL)
    ]
    if not wheels:
        return None
    folder = Path(tempfile.mkdtemp(prefix="omdpg-wheels-"))
    for wheel in wheels:
        (folder / wheel.name).symlink_to(wheel)
    return folder


def build_secrets(folder: Path, find_links: str | None) -> list[str]:
    """`docker build` arguments passing this machine's CA bundle and network pip settings as
    secrets: they reach the install steps without entering any image layer."""
    config = _pip_config()
    ca = Path((config.get("cert") or ["/etc/ssl/certs/ca-certificates.crt"])[0])
    lines = ["[global]"] + (["cert = /run/secrets/ca.crt"] if ca.is_file() else [])
    for key in ("index-url", "extra-index-url", "trusted-host"):  # file:// indexes stay outside
        values = [v for v in config.get(key, []) if not v.startswith("file:")]
        if values:
            lines.append(f"{key} = {' '.join(values)}")
    if find_links:
        lines.append(f"find-links = {find_links}")
    (folder / "pip.conf").write_text("\n".join(lines) + "\n")
    args = ["--secret", f"id=pip.conf,src={folder / 'pip.conf'}"]
    if ca.is_file():
        args += ["--secret", f"id=ca.crt,src={ca}"]
    return args


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _build(docker: tuple[str, dict], secrets: Path) -> None:
    """Build as a user behind this machine's proxy would, with StarCraft II and SMAC off."""
    wheels = local_torch_wheels()
    server = None
    if wheels:  # the CPU wheel, served on loopback: the build shares the host's network
        handler = functools.partial(_Quiet, directory=str(wheels))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        find_links = f"http://127.0.0.1:{server.server_address[1]}/" if server else None
        client, env = docker
        commit = _run("git", "-C", str(ROOT), "rev-parse", "HEAD").stdout.strip() or "unknown"
        result = subprocess.run(
            [
                client,
                "build",
                "--network",
                "host",
                "-f",
                "envs/Dockerfile",
                "-t",
                IMAGE,
                "--build-arg",
                f"BASE_IMAGE={BASE_IMAGE}",
                "--build-arg",
                "SC2=0",
                "--build-arg",
                "SMAC=0",
                "--build-arg",
                f"GIT_COMMIT={commit}",  # as `make image`
                *build_secrets(secrets, find_links),
                ".",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1500,
        )
        assert result.returncode == 0, result.stderr[-4000:]
    finally:
        if server:
            server.shutdown()
        if wheels:
            shutil.rmtree(wheels)


@pytest.fixture(scope="session")
def docker_cli() -> tuple[str, dict]:
    found = buildkit_client()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def image(docker_cli) -> str:
    """The image, built once per session; Docker's layer cache makes a rebuild cost a minute."""
    missing = ensure_base_image(docker_cli)
    if missing:
        pytest.skip(missing)
    with tempfile.TemporaryDirectory() as secrets:
        _build(docker_cli, Path(secrets))
    # Images this build replaced: the vfs storage driver keeps every layer whole.
    client, env = docker_cli
    _run(client, "image", "prune", "--force", env=env, timeout=300)
    return IMAGE
