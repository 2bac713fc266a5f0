"""envs/install_sc2.sh against zips built here and served on 127.0.0.1: licence gate, password,
damaged downloads, and where the maps land. Nothing leaves the machine."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "envs" / "install_sc2.sh"
PASSWORD = "iagreetotheeula"

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("bash", "curl", "unzip", "zip")),
    reason="needs bash, curl, unzip and zip (apt-get install curl unzip zip)",
)


def _game_zip(tmp: Path, password: str) -> bytes:
    """A stand-in for SC2.4.10.zip: the same top folder and build, encrypted like Blizzard's."""
    game = tmp / f"game-{password}"
    binary = game / "StarCraftII" / "Versions" / "Base75689" / "SC2_x64"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(os.urandom(4096))  # incompressible, so a cut is a real cut
    subprocess.run(
        ["zip", "-q", "-r", "-P", password, "../sc2.zip", "StarCraftII"], cwd=game, check=True
    )
    data = (tmp / "sc2.zip").read_bytes()
    (tmp / "sc2.zip").unlink()
    return data


def _maps_zip(tmp: Path, folder: str, names=("MMM2", "3s5z", "10gen_terran")) -> bytes:
    """A map pack: flat like SMACv2's release, or nested under SMAC_Maps/ like SMAC's v0.1."""
    path = tmp / "maps.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name in names:
            z.writestr(f"{folder}{name}.SC2Map", name)
    data = path.read_bytes()
    path.unlink()
    return data


class _Server:
    """Serves bytes by path; paths under /cut/ promise the whole body but send half of it."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.hits = files, 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                body = server.files.get(self.path.removeprefix("/cut"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path.startswith("/cut/") else body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zips")
    good = _game_zip(tmp, PASSWORD)
    files = {
        "/sc2.zip": good,
        "/other.zip": _game_zip(tmp, "another-password"),
        "/half.zip": good[: len(good) // 2],
        "/maps.zip": _maps_zip(tmp, ""),
        "/nested.zip": _maps_zip(tmp, "SMAC_Maps/"),
    }
    srv = _Server(files)
    yield srv
    srv.httpd.shutdown()


def install(server, tmp_path, game="/sc2.zip", maps="/maps.zip", **env):
    full = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "SC2PATH": str(tmp_path / "StarCraftII"),
        "SC2_EULA": PASSWORD,
        "SC2_URL": server.url + game,
        "MAPS_URL": server.url + maps,
        "DOWNLOAD_RETRIES": "0",
    }
    full.update(env)
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={k: v for k, v in full.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_error(result, code: int, *words: str) -> None:
    """A failure is one stderr line with the exit status of its kind, naming cause and fix."""
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("install_sc2: error: "), result.stderr
    for word in words:
        assert word in lines[0]


def test_refuses_without_the_licence_and_downloads_nothing(server, tmp_path):
    before = server.hits
    one_error(install(server, tmp_path, SC2_EULA=None), 2, f"SC2_EULA={PASSWORD}", "SC2=0")
    assert server.hits == before and not (tmp_path / "StarCraftII").exists()


def test_wrong_licence_password_is_bad_input(server, tmp_path):
    one_error(install(server, tmp_path, SC2_EULA="yes"), 2, "not the licence password", PASSWORD)


def test_zip_that_the_licence_password_does_not_open(server, tmp_path):
    one_error(install(server, tmp_path, game="/other.zip"), 1, "does not open", "unset SC2_URL")
    assert not (tmp_path / "StarCraftII").exists()


def test_connection_closed_early(server, tmp_path):
    one_error(install(server, tmp_path, game="/cut/sc2.zip"), 1, "truncated", "run again")


def test_download_that_is_not_a_whole_zip(server, tmp_path):
    one_error(install(server, tmp_path, game="/half.zip"), 1, "not a complete zip", "run again")


def test_checksum_mismatch(server, tmp_path):
    one_error(install(server, tmp_path, SC2_SHA256="0" * 64), 1, "checksum", "expected " + "0" * 64)


@pytest.mark.parametrize("maps", ["/maps.zip", "/nested.zip"])
def test_game_and_maps_land_where_pysc2_looks(server, tmp_path, maps):
    sha = hashlib.sha256(server.files["/sc2.zip"]).hexdigest()
    result = install(server, tmp_path, maps=maps, SC2_SHA256=sha)
    assert result.returncode == 0, result.stderr
    sc2 = tmp_path / "StarCraftII"
    assert (sc2 / "Versions" / "Base75689" / "SC2_x64").is_file()
    assert sorted(p.name for p in (sc2 / "Maps" / "SMAC_Maps").iterdir()) == [
        "10gen_terran.SC2Map",
        "3s5z.SC2Map",
        "MMM2.SC2Map",
    ]
    assert "3 maps" in result.stdout
    assert not list(tmp_path.glob("install_sc2.*")), "temporary download left behind"


def test_second_run_keeps_the_game_and_refreshes_maps(server, tmp_path):
    assert install(server, tmp_path).returncode == 0
    before = server.hits
    result = install(server, tmp_path, game="/missing.zip")
    assert result.returncode == 0, result.stderr
    assert "already in" in result.stdout and server.hits == before + 1  # the map pack only


def test_map_pack_without_mmm2(server, tmp_path):
    server.files["/no-mmm2.zip"] = _maps_zip(tmp_path, "", names=("3m",))
    one_error(install(server, tmp_path, maps="/no-mmm2.zip"), 1, "MMM2.SC2Map", "unset MAPS_URL")
