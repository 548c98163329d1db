"""`GET /healthz/`: whether the database and the cache (Redis in production) answer, for load
balancers and docker-compose health checks. No data, no login."""

import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse


def health_view(request: HttpRequest) -> JsonResponse:
    checks: dict[str, bool] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            checks["database"] = cursor.fetchone() == (1,)
    except Exception:  # any failure means "not healthy", never a crash
        checks["database"] = False
    probe = f"healthz-{uuid.uuid4().hex}"
    try:
        cache.set(probe, "ok", timeout=5)
        checks["cache"] = cache.get(probe) == "ok"
        cache.delete(probe)
    except Exception:  # likewise
        checks["cache"] = False
    return JsonResponse({"ok": all(checks.values()), **checks}, status=200 if all(checks.values()) else 503)
