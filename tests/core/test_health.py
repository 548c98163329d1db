"""The health check answers from the real PostgreSQL and Redis of the test run."""

from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_health_reports_database_and_redis_cache(client: Any) -> None:
    assert "RedisCache" in type(caches["default"]).__name__
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": True, "cache": True}


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
)
def test_health_says_503_when_redis_is_unreachable(client: Any) -> None:
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json()["cache"] is False
    assert response.json()["database"] is True
