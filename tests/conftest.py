"""The seed plans are loaded once per test database, as `make run` loads them."""

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
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
        # A token, as real clients send: the user is loaded afresh on every request.
        token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for
