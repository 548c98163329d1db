"""The seed plans are loaded once per test database, as `make run` loads them; the helpers every
test area uses: `login`, query counting (`count_queries`, `queries_for`), a quick PDF (`quick_pdf`)."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from healthplans.cache import OUTAGE
from healthplans.models import User
from healthplans.seeding import seed_all
from reporting.models import Report


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        seed_all()


@pytest.fixture(autouse=True)
def _rollups_forgotten() -> Iterator[None]:
    """After each test, its cached roll-ups go. They are keyed by their plans' figures generation,
    which the test's rollback winds back: the next test to write figures of the same plan would
    reach the same generation and read this test's roll-ups. Only this database's go (the key
    names it, and xdist gives each worker a database of its own): a FLUSHDB would also take the
    other worker's counters, such as its rate limits, in the middle of a test."""
    yield
    if not settings.REDIS_URL:
        cache.clear()  # the process's own memory: nobody else's
        return
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        # The key of indicators.progress._rollup_key, as Django's cache stores it (prefix:version:key).
        stale = list(client.scan_iter(match=f"*:figures:rollup:{connection.settings_dict['NAME']}:*", count=1000))
        if stale:
            client.delete(*stale)
    except OUTAGE:
        pass  # Redis is away (the fault tests stop it): no roll-up outlived the test there.
    finally:
        client.close()


@pytest.fixture
def api_as(db: None) -> Any:
    """api_as("laocai.planner") → an APIClient authenticated as that demo user."""

    def client_for(username: str) -> APIClient:
        # A token, as real clients send: the user is loaded afresh on every request.
        token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


type Login = Callable[..., Client]


@pytest.fixture
def login(db: None, client: Client) -> Login:
    """login("laocai.planner") or login(user) → the test's client with that user's session;
    login(who, client=other) logs another client in (two people at once)."""

    def logged_in(who: str | User, *, client: Client = client) -> Client:
        client.force_login(who if isinstance(who, User) else User.objects.get(username=who))
        return client

    return logged_in


@contextmanager
def _counted(expected: int | None) -> Iterator[CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as captured:
        yield captured
    if expected is not None and len(captured) != expected:
        listing = "\n".join(f"{n}. {query['sql']}" for n, query in enumerate(captured.captured_queries, 1))
        pytest.fail(f"{len(captured)} queries, expected {expected}:\n{listing}")


type CountQueries = Callable[..., AbstractContextManager[CaptureQueriesContext]]


@pytest.fixture
def count_queries(db: None) -> CountQueries:
    """`with count_queries() as queries:` … `len(queries)`; `with count_queries(7):` fails unless
    the block runs exactly 7 queries, and lists them (Zulip's assert_database_query_count)."""

    def counting(expected: int | None = None) -> AbstractContextManager[CaptureQueriesContext]:
        return _counted(expected)

    return counting


type QueriesFor = Callable[[Client, str], int]


@pytest.fixture
def queries_for(count_queries: CountQueries) -> QueriesFor:
    """queries_for(client, url) → the number of queries of a GET of url, which must answer 200."""

    def count(client: Client, url: str) -> int:
        with count_queries() as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    return count


def _quick_pdf(report: Report, *, on_progress: Callable[[int], None] | None = None) -> bytes:
    """A small real PDF naming the version and its narrative, with the progress steps of a render."""
    from weasyprint import HTML

    for percent in (10, 60, 100):
        if on_progress is not None:
            on_progress(percent)
    narrative = " ".join(report.narrative.values())
    return bytes(HTML(string=f"<p>Báo cáo {report.pk} v{report.version} {narrative}</p>").write_pdf())


@pytest.fixture
def quick_pdf(monkeypatch: pytest.MonkeyPatch) -> Callable[..., bytes]:
    """Reports render as a small real PDF instead of their layout (which the rendering tests check
    on real renders) for the test; the quick renderer is returned for tests that install it elsewhere."""
    from reporting import rendering

    monkeypatch.setattr(rendering, "render_report_pdf", _quick_pdf)
    return _quick_pdf
