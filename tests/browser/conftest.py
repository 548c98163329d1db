"""Browser tests: Debian's Chromium, driven by Playwright, against a real server process.

The site runs as `manage.py runserver` on its own PostgreSQL database, migrated and seeded as
`make run` does, so the browser and the server share nothing with pytest-django's test
database and its per-test rollbacks. Screenshots go to artefacts/screenshots/.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import psycopg
import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = Path(settings.BASE_DIR) / "artefacts" / "screenshots"
ADMIN_DSN = os.environ.get("BROWSER_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Run by `manage.py shell` in the served site's environment: approved figures through the figure
# services (tests.factories.figures_entered), entered by a planner and approved by a reviewer.
ENTER_APPROVED = """
import json, os
from decimal import Decimal
from healthplans.models import OrgUnit, User
from healthplans.workflow import ReviewStatus
from indicators.entries import NewFigure
from indicators.models import Indicator
from tests.factories import figures_entered

asked = json.loads(os.environ["FIGURES"])
by, reviewer = User.objects.get(username=asked["by"]), User.objects.get(username=asked["reviewer"])
number = lambda text: None if text is None else Decimal(text)
indicators = Indicator.objects.filter(plan__slug=asked["plan"])
for (unit, period), rows in asked["figures"]:
    values = [
        NewFigure(indicators.get(number=indicator), *map(number, figure), note=asked["note"])
        for indicator, figure in rows
    ]
    org_unit = OrgUnit.objects.get(code=unit)
    approved = ReviewStatus.APPROVED
    figures_entered(org_unit=org_unit, period=period, values=values, by=by, status=approved, reviewer=reviewer)
"""

# An approved figure to enter: (indicator number, unit code, period, value, numerator, denominator).
Figure = tuple[str, str, str, Decimal | None, Decimal | None, Decimal | None]


class LiveSite:
    """A served healthplans with a database of its own; `sql` reads that database."""

    def __init__(self, url: str, dsn: str, env: dict[str, str]) -> None:
        self.url = url
        self.dsn = dsn
        self.env = env

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn) as connection:
            return connection.execute(query, params).fetchall()

    def figures_approved(self, *, plan: str, figures: list[Figure], by: str, reviewer: str, note: str) -> None:
        """Approved figures entered in the served site as its users enter them, through its figure
        services, which renew its cached roll-ups (`note`: a value far from earlier ones asks for one)."""
        by_unit_and_period: dict[tuple[str, str], list[Any]] = {}
        for indicator, unit, period, *numbers in figures:
            entered = [None if n is None else str(n) for n in numbers]
            by_unit_and_period.setdefault((unit, period), []).append((indicator, entered))
        asked = {
            "plan": plan,
            "by": by,
            "reviewer": reviewer,
            "note": note,
            "figures": list(by_unit_and_period.items()),
        }
        self.shell(ENTER_APPROVED, FIGURES=json.dumps(asked))

    def shell(self, code: str, **env: str) -> None:
        """Runs `code` by `manage.py shell` in the served site's environment (its database)."""
        subprocess.run(
            [*MANAGE, "shell", "-c", code],
            env={**self.env, **env},
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=settings.BASE_DIR,
        )


def site_env(dsn: str, **extra: str) -> dict[str, str]:
    """The environment of a served site on the database `dsn`."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "healthplans.settings.local",
        # Its own var/: report files and a demo PKI made afresh, never the local run's.
        "HEALTHPLANS_VAR_DIR": tempfile.mkdtemp(prefix="healthplans-browser-"),
        "DATABASE_URL": dsn,
        "REDIS_URL": "",
        "DEBUG": "true",
        "MAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        # Every browser verifies from 127.0.0.1: the per-address limit would count the whole session.
        "VERIFY_RATE_LIMIT": "1000",
        **extra,
    }


MANAGE = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]


@contextmanager
def served(env: dict[str, str]) -> Iterator[str]:
    """`manage.py runserver` with this environment on a free port, until the block ends: its URL."""
    port = free_port()
    server = subprocess.Popen(
        [*MANAGE, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(100):
            try:
                urlopen(f"{url}/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def live_site() -> Iterator[LiveSite]:
    name = f"healthplans_browser_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    env = site_env(dsn)
    try:
        subprocess.run([*MANAGE, "migrate", "--noinput", "-v0"], env=env, check=True)
        # Without demo figures: the tests enter their own, in periods nobody else has touched.
        subprocess.run([*MANAGE, "load_seed", "--without-demo-figures"], env=env, check=True, stdout=subprocess.DEVNULL)
        with served(env) as url:
            yield LiveSite(url, dsn, env)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module, not per session: Playwright's sync API runs an event loop while it lives, and
    # Django refuses database access from the other tests of the same worker while one runs.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page_as(browser: Browser, live_site: LiveSite) -> Iterator[Any]:
    """page_as("muongkhuong.station") → a Page logged in as that demo user (Vietnamese locale)."""
    contexts = []

    def login(username: str) -> Page:
        context = browser.new_context(locale="vi-VN", viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_site.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", settings.DEMO_PASSWORD)
        page.click("form.login button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield login
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Any:
    """screenshot(page, "name") writes a full-page PNG to artefacts/screenshots/ as a test artefact."""

    def take(page: Page, name: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
