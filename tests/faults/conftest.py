"""Fault tests: the app as real processes (gunicorn, a Celery worker with beat) on throwaway
PostgreSQL and Redis servers of their own, in a temporary directory and on free ports, so that
stopping or restarting them never touches the machine's shared services.

PostgreSQL refuses to run as root, so when the tests run as root (CI) its programs run as the
`postgres` OS user, which owns the temporary cluster.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
PG_BIN = Path(os.environ.get("PG_BINDIR") or sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
BIN = Path(sys.executable).parent
TEMPLATE_DB = "faults_template"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.2)


class ThrowawayPostgres:
    """A PostgreSQL cluster in `root`, listening on 127.0.0.1:`port` only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = free_port()
        root.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def _run(self, program: str, *args: str) -> None:
        command = [str(PG_BIN / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=self.root)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def restart(self) -> None:
        """A fast restart: open sessions are cut, committed data stays."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def sql(self, database: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self) -> str:
        """A fresh copy of the migrated and seeded template."""
        name = f"faults_{uuid.uuid4().hex[:8]}"
        self.sql("postgres", f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
        return name


class ThrowawayRedis:
    """redis-server on a free port, without persistence; stop() and start() it at will."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.exceptions.ConnectionError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=10, what="redis-server to start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


class Services:
    def __init__(self, root: Path, postgres: ThrowawayPostgres, redis_server: ThrowawayRedis) -> None:
        self.root = root
        self.postgres = postgres
        self.redis = redis_server


@pytest.fixture(scope="session")
def services(django_db_setup: None) -> Iterator[Services]:
    root = Path(tempfile.mkdtemp(prefix="healthplans-faults-"))
    os.chmod(root, 0o755)  # noqa: S103  # the throwaway servers run as another user and must enter it
    postgres = ThrowawayPostgres(root / "pg")
    redis_server = ThrowawayRedis(root)
    try:
        # The template is a copy of pytest-django's test database, migrated and seeded already
        # (tests/conftest.py), which is much quicker than migrating and seeding another one.
        postgres.sql("postgres", f'CREATE DATABASE "{TEMPLATE_DB}"')
        test_db = connection.settings_dict
        dump = root / "seeded.dump"
        subprocess.run(
            [str(PG_BIN / "pg_dump"), "--format=custom", "--no-owner", f"--file={dump}", str(test_db["NAME"])],
            env={
                **os.environ,
                "PGHOST": str(test_db["HOST"] or "127.0.0.1"),
                "PGPORT": str(test_db["PORT"] or 5432),
                "PGUSER": str(test_db["USER"] or "postgres"),
                "PGPASSWORD": str(test_db["PASSWORD"] or ""),
            },
            check=True,
        )
        subprocess.run(
            [str(PG_BIN / "pg_restore"), "--no-owner", f"--dbname={postgres.url(TEMPLATE_DB)}", str(dump)],
            check=True,
        )
        # The test settings hash passwords with MD5, which the served settings do not accept.
        password = PBKDF2PasswordHasher().encode(settings.DEMO_PASSWORD, "faults", iterations=1000)
        postgres.sql(TEMPLATE_DB, "UPDATE healthplans_user SET password = %s", password)
        yield Services(root, postgres, redis_server)
    finally:
        redis_server.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


def app_env(var_dir: Path, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "healthplans.settings.local",
        "DEBUG": "false",
        "HEALTHPLANS_VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "MAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        # A file of more than five rows is a large import, for a worker.
        "IMPORT_ASYNC_ROWS": "5",
        **extra,
    }


class Site:
    """gunicorn serving healthplans on its own database of the throwaway cluster."""

    def __init__(self, services: Services, database: str, var_dir: Path) -> None:
        self.services = services
        self.database = database
        self.var_dir = var_dir
        self.env = app_env(var_dir, services.postgres.url(database), services.redis.url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = var_dir / "gunicorn.log"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.web = self._spawn(
            [
                str(BIN / "gunicorn"),
                "healthplans.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
            self.log,
        )
        wait_until(self._serves, timeout=60, what="gunicorn to serve", log=self.log)

    def _spawn(self, command: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env={**self.env, **env},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def _serves(self) -> bool:
        try:
            return requests.get(f"{self.url}/login/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def start_worker(self, **env: str) -> Path:
        """A Celery worker of both queues with beat inside it; its log's path."""
        log = self.var_dir / "worker.log"
        self._spawn(
            [
                str(BIN / "celery"),
                "-A",
                "healthplans",
                "worker",
                "-B",
                "-s",
                str(self.var_dir / "beat-schedule"),
                "-Q",
                "celery,reports",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            log,
            **env,
        )
        wait_until(lambda: " ready." in log.read_text(errors="replace"), timeout=60, what="the worker", log=log)
        return log

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.services.postgres.sql(self.database, query, *params)

    wait_until = staticmethod(wait_until)

    def token(self, username: str) -> dict[str, str]:
        response = requests.post(
            f"{self.url}/api/auth/token/",
            json={"username": username, "password": settings.DEMO_PASSWORD},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Token {response.json()['token']}", "Accept-Language": "vi"}

    def browser(self, username: str) -> requests.Session:
        """A logged-in session through the login page, as a browser would (CSRF cookie and field)."""
        session = requests.Session()
        session.headers["Accept-Language"] = "vi"
        session.get(f"{self.url}/login/", timeout=10)
        response = session.post(
            f"{self.url}/login/",
            data={
                "username": username,
                "password": settings.DEMO_PASSWORD,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[-2000:]
        assert "/login/" not in response.headers["Location"], response.text[-2000:]
        return session

    def stop(self) -> None:
        # Throwaway processes: killed outright, their database is dropped next.
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def site(services: Services, tmp_path: Path) -> Iterator[Site]:
    if not services.redis.answers():
        services.redis.start()
    database = services.postgres.create_database()
    served = Site(services, database, tmp_path)
    try:
        yield served
    finally:
        served.stop()
        services.postgres.sql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
