"""Fixtures of the API tests: users, JWT-authenticated clients, a clean response cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.support.services import redis_require


@pytest.fixture(autouse=True)
def api_cache():
    """Throttle counters and cached answers live in Redis DB 1: each test starts without any."""
    redis_require()
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("reader", password="pw-reader-1")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("operator", password="pw-operator-1", is_staff=True)


def client_for(username: str, password: str) -> APIClient:
    """A client holding a bearer token obtained the way a real client does (POST /api/token/)."""
    client = APIClient()
    response = client.post("/api/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


@pytest.fixture
def api(user):
    return client_for("reader", "pw-reader-1")


@pytest.fixture
def staff_api(staff):
    return client_for("operator", "pw-operator-1")
