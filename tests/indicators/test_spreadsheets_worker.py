"""A large import through a real Celery worker and Redis: the upload answers "queued", the status
endpoint follows the worker (another process, reading the import from the shared cache) to the
preview, and the confirmation is written by the worker too.

Transactional, so that the worker sees committed rows; the seed is loaded again afterwards for
the tests that follow (as in tests/reporting/test_worker.py, whose worker process this reuses)."""

import io
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook  # type: ignore[import-untyped]

from healthplans.celery import app
from healthplans.seeding import seed_all
from indicators.models import Actual, ActualEvent, Indicator, UnitKind
from plans.models import Plan
from tests.reporting.test_worker import Worker
from tests.workbooks import xlsx

pytestmark = pytest.mark.django_db(transaction=True)

CITY_PLAN = "laocai-city-de-an-07-2024"


@pytest.fixture(scope="module", autouse=True)
def seed_again_after_the_module(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    yield
    with django_db_blocker.unblock():
        seed_all()


@pytest.fixture
def seeded(transactional_db: None) -> None:
    if not Plan.objects.filter(slug=CITY_PLAN).exists():
        seed_all()


@pytest.fixture
def worker(tmp_path: Path, settings: Any) -> Iterator[Worker]:
    """A worker on a queue of this test's own, which import_run is routed to (not run eagerly)."""
    settings.IMPORT_ASYNC_ROWS = 3
    queue = f"imports-test-{uuid.uuid4().hex[:8]}"
    saved = {"task_always_eager": app.conf.task_always_eager, "task_routes": app.conf.task_routes}
    app.conf.update(task_always_eager=False, task_routes={"healthplans.spreadsheets.jobs.import_run": {"queue": queue}})
    started = Worker(queue, tmp_path, tmp_path / "worker.log")
    yield started
    started.stop()
    app.conf.update(**saved)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)


def follow(client: Any, import_id: str, worker: Worker) -> tuple[dict[str, Any], list[str]]:
    """Poll the status endpoint until the import has finished; the statuses seen on the way."""
    seen: list[str] = []
    answer: dict[str, Any] = {}

    def finished() -> bool:
        nonlocal answer
        answer = client.get(f"/api/imports/{import_id}/").json()
        seen.append(answer["status"])
        return answer["status"] not in {"queued", "running"}

    worker.wait_for(finished, timeout=120, what=f"import {import_id} to finish")
    return answer, seen


def test_a_large_import_is_checked_and_written_by_the_worker(seeded: None, worker: Worker, api_as: Callable) -> None:
    client = api_as("laocai.planner")
    plan = Plan.objects.get(slug=CITY_PLAN)
    template = client.get(f"/api/plans/{plan.pk}/export/", {"kind": "actuals", "period": "2024H2"}).content
    rows = [
        ["" if v is None else v for v in row]
        for row in load_workbook(io.BytesIO(template)).active.iter_rows(values_only=True)
    ]
    counts = {i.number for i in Indicator.objects.filter(plan=plan, entry_level="station", unit_kind=UnitKind.COUNT)}
    filled = [row for row in rows[1:] if row[1] in counts][:8]
    for row in filled:
        row[8] = "1.234"

    response = client.post(
        "/api/imports/",
        {"file": SimpleUploadedFile("large.xlsx", xlsx([rows[0], *filled])), "plan": plan.pk, "kind": "actuals"},
        format="multipart",
    )
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    preview, seen = follow(client, response.json()["id"], worker)
    assert preview["status"] == "valid", preview
    assert preview["progress"] == 100
    assert len(preview["rows"]) == 8
    assert set(seen) <= {"queued", "running", "valid"}
    assert not Actual.objects.filter(indicator__plan=plan, period="2024H2", value=Decimal(1234)).exists()

    confirm = client.post(f"/api/imports/{response.json()['id']}/confirm/")
    assert confirm.status_code == 202
    done, _seen = follow(client, response.json()["id"], worker)
    assert done["status"] == "imported", done
    written = Actual.objects.filter(indicator__plan=plan, period="2024H2", value=Decimal(1234))
    assert written.count() == 8
    assert ActualEvent.objects.filter(actual__in=written, action="create", by__username="laocai.planner").count() == 8
    assert "import_run" in worker.output()
