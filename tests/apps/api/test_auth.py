"""Authentication: bearer JWT (obtain, refresh, expiry), session auth, staff-only routes, public health."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

PROTECTED = [
    ("get", "/api/v1/trending/"),
    ("get", "/api/v1/pulse/?topic=iran"),
    ("get", "/api/v1/divergence/leaderboard/"),
    ("get", "/api/v1/compare/"),
    ("get", "/api/v1/alerts/watch/"),
    ("post", "/api/v1/alerts/watch/"),
    ("delete", "/api/v1/alerts/watch/?id=1"),
    ("get", "/api/v1/signals/"),
    ("get", "/api/v1/stats/totals/"),
    ("get", "/api/v1/dlq/"),
    ("post", "/api/v1/dlq/1/replay/"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_every_endpoint_needs_a_token(method, url):
    response = getattr(APIClient(), method)(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_health_needs_no_auth_and_no_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = APIClient().get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_token_pair_then_refresh(user):
    client = APIClient()
    pair = client.post("/api/token/", {"username": "reader", "password": "pw-reader-1"}, format="json").json()
    assert set(pair) == {"access", "refresh"}
    access = AccessToken(pair["access"])
    assert access["exp"] - access["iat"] == 60 * 60  # access lives 60 minutes
    refreshed = client.post("/api/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert client.get("/api/v1/stats/totals/").status_code == 200


@pytest.mark.django_db
def test_wrong_password_and_bad_refresh_are_401(user):
    client = APIClient()
    assert client.post("/api/token/", {"username": "reader", "password": "nope"}, format="json").status_code == 401
    assert client.post("/api/token/refresh/", {"refresh": "garbage"}, format="json").status_code == 401


@pytest.mark.django_db
def test_an_expired_access_token_is_401(user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/stats/totals/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_an_expired_refresh_token_cannot_refresh(user):
    refresh = RefreshToken.for_user(user)
    refresh.set_exp(lifetime=-timedelta(seconds=1))
    assert APIClient().post("/api/token/refresh/", {"refresh": str(refresh)}, format="json").status_code == 401


@pytest.mark.django_db
def test_a_logged_in_session_is_accepted(client, user):
    client.force_login(user)
    assert client.get("/api/v1/stats/totals/").status_code == 200


@pytest.mark.django_db
def test_dead_letters_are_staff_only(api, staff_api):
    assert api.get("/api/v1/dlq/").status_code == 403
    assert api.post("/api/v1/dlq/1/replay/").status_code == 403
    assert staff_api.get("/api/v1/dlq/").status_code == 200


@pytest.mark.django_db
def test_schema_and_docs_pages():
    client = APIClient()
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/trending/", "/api/v1/pulse/", "/api/v1/signals/", "/api/v1/alerts/watch/", "/api/token/"):
        assert path in paths
    for page in ("/api/docs/", "/api/redoc/"):
        response = client.get(page)
        assert response.status_code == 200
        assert b"/api/schema/" in response.content
