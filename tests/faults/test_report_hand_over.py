"""The hand-over of report versions to the broker, in-process against the test Redis: a version
whose request never reached the broker is marked delayed (API and page), and beat's hand-over
sends exactly those versions, once, and records when."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings

from healthplans.celery import app
from healthplans.models import User
from plans.models import Plan
from reporting.models import Report
from reporting.services import report_request, reports_hand_over_delayed

pytestmark = pytest.mark.django_db

PLAN = "laocai-city-de-an-07-2024"
DELAYED = "Việc tạo báo cáo đang bị hoãn"


@pytest.fixture
def queue() -> Iterator[str]:
    """report_generate goes through the broker to a queue of this test's own, which no worker reads."""
    name = f"reports-test-{uuid.uuid4().hex[:8]}"
    saved = {"task_always_eager": app.conf.task_always_eager, "task_routes": app.conf.task_routes}
    app.conf.update(task_always_eager=False, task_routes={"reporting.tasks.report_generate": {"queue": name}})
    yield name
    app.conf.update(**saved)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(name)


def requested(period: str, django_capture_on_commit_callbacks: Any, *, handed_over: bool = False) -> Report:
    """A version whose request handed it to the broker, or ended before (the callback never ran)."""
    with django_capture_on_commit_callbacks(execute=handed_over):
        return report_request(
            plan=Plan.objects.get(slug=PLAN), period=period, by=User.objects.get(username="laocai.planner")
        )


def test_a_version_the_broker_never_took_says_it_is_delayed(
    django_capture_on_commit_callbacks: Any, api_as: Any, login: Any
) -> None:
    report = requested("2024H1", django_capture_on_commit_callbacks)
    body = api_as("laocai.planner").get(f"/api/reports/{report.pk}/").json()
    assert (body["status"], body["delayed"]) == ("queued", True)
    assert body["notice"].startswith(DELAYED)
    assert DELAYED in login("laocai.planner").get(f"/reports/{report.pk}/").content.decode()


def test_beat_hands_over_only_the_versions_never_handed_over(
    django_capture_on_commit_callbacks: Any, queue: str
) -> None:
    first = requested("2024H1", django_capture_on_commit_callbacks)
    second = requested("2024", django_capture_on_commit_callbacks)
    handed_at_request = requested("2024H2", django_capture_on_commit_callbacks, handed_over=True)
    handed_at_request.refresh_from_db()
    assert handed_at_request.enqueued_at is not None
    assert not handed_at_request.delayed
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    assert broker.llen(queue) == 1

    assert reports_hand_over_delayed() == [first.pk, second.pk]
    assert broker.llen(queue) == 3
    assert not Report.objects.filter(enqueued_at__isnull=True).exists()
    assert reports_hand_over_delayed() == []
    assert broker.llen(queue) == 3
