"""The seed plans are loaded once per test database, as `make run` loads them."""

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from healthplans.models import User
from healthplans.seeding import seed_all


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        seed_all()
    yield


@pytest.fixture
def api_as(db: None) -> Any:
    """api_as("laocai.planner") → an APIClient authenticated as that demo user."""

    def client_for(username: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(User.objects.get(username=username))
        return client

    return client_for
