"""Production serves its own static files: collectstatic as the image's build runs it, then a real
gunicorn with the production settings answers the pages' stylesheet and the grid's script under
their hashed names, compressed on request, with headers that let a browser keep them for good."""

import gzip
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
# The files the pages name: every page's stylesheet (templates/base.html) and the grid's script
# (templates/grid/grid.html).
STYLESHEET = "css/healthplans.css"
GRID_SCRIPT = "js/grid.js"
# Long enough that a browser never asks again: WhiteNoise's "forever" is ten years.
A_YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Served:
    url: str
    static_root: Path
    manifest: dict[str, str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env(static_root: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "DEBUG"}
    env.update(
        DJANGO_SETTINGS_MODULE="healthplans.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        REPORT_SIGNING_PASSPHRASE=secrets.token_urlsafe(16),
        # The test database's server; serving static files reads no table.
        DATABASE_URL=os.environ["DATABASE_URL"],
        ALLOWED_HOSTS="127.0.0.1,localhost",
        STATIC_ROOT=str(static_root),
    )
    return env


def wait_for(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn stopped with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"gunicorn did not listen on port {port} within {seconds} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    static_root = tmp_path_factory.mktemp("static")
    env = production_env(static_root)
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collect.returncode == 0, collect.stdout + collect.stderr
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "healthplans.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen([*command, "--workers", "1"], cwd=BASE_DIR, env=env)
    try:
        wait_for(port, process)
        yield Served(url=f"http://127.0.0.1:{port}", static_root=static_root, manifest=manifest)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def fetch(served: Served, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    # As the TLS-terminating proxy in front of gunicorn sends it; without it, production redirects.
    request = urllib.request.Request(served.url + path, headers={"X-Forwarded-Proto": "https", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def max_age(headers: dict[str, str]) -> int:
    directives = [part.strip() for part in headers.get("Cache-Control", "").split(",")]
    ages = [int(part.removeprefix("max-age=")) for part in directives if part.startswith("max-age=")]
    return ages[0] if ages else 0


@pytest.mark.parametrize(
    ("name", "content_type"), [(STYLESHEET, "text/css"), (GRID_SCRIPT, "text/javascript")], ids=["css", "js"]
)
def test_production_serves_hashed_static_files_cached_for_good(served: Served, name: str, content_type: str) -> None:
    hashed = served.manifest[name]
    assert hashed != name  # the name carries a hash of the content
    status, headers, body = fetch(served, f"/static/{hashed}")
    assert status == 200, body[:300]
    assert headers["Content-Type"].startswith(content_type)
    assert body == (served.static_root / hashed).read_bytes()
    # The file itself (collectstatic may rewrite a stylesheet's url() references, never its rules).
    assert (BASE_DIR / "static" / name).read_bytes().splitlines()[0] in body
    cache_control = {part.strip() for part in headers["Cache-Control"].split(",")}
    assert {"public", "immutable"} <= cache_control
    assert max_age(headers) >= A_YEAR


def test_production_serves_static_files_compressed_to_a_browser_that_asks(served: Served) -> None:
    status, headers, body = fetch(served, f"/static/{served.manifest[GRID_SCRIPT]}", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == (BASE_DIR / "static" / GRID_SCRIPT).read_bytes()


def test_an_unhashed_name_is_served_but_not_kept_long(served: Served) -> None:
    # Only a hashed name may be kept for good: the unhashed one changes with each release.
    status, headers, body = fetch(served, f"/static/{STYLESHEET}")
    assert status == 200
    assert "immutable" not in headers["Cache-Control"]
    assert max_age(headers) < A_YEAR
    assert body == (BASE_DIR / "static" / STYLESHEET).read_bytes()
