"""Webhook subscriptions over the API, dead letters (list, replay to Kafka) and the admin."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from kafka import KafkaConsumer, TopicPartition

from apps.alerts.models import AlertDelivery, WatchedTopic
from apps.nlp.models import DeadLetter
from signalflow.kafka import SIGNALS_NORMALISED, topic_name


@pytest.fixture
def local_receivers(settings):
    settings.ALERTS_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    settings.ALERTS_WEBHOOK_REQUIRE_HTTPS = False


@pytest.mark.django_db
def test_watch_create_list_delete(api, user, local_receivers):
    created = api.post(
        "/api/v1/alerts/watch/",
        {"topic": "iran", "webhook_url": "http://127.0.0.1:8999/hook", "min_platforms": 3},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["topic"] == "iran"
    assert body["min_platforms"] == 3
    assert body["cooldown_seconds"] == 3600
    assert len(body["secret"]) >= 32  # generated, shown once
    listed = api.get("/api/v1/alerts/watch/").json()["results"]
    assert [w["id"] for w in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert api.delete(f"/api/v1/alerts/watch/?id={body['id']}").status_code == 204
    assert api.get("/api/v1/alerts/watch/").json()["results"] == []


@pytest.mark.django_db
def test_watch_delete_keeps_the_audit_and_only_touches_the_callers_watches(api, user, staff, local_receivers):
    others = WatchedTopic.objects.create(user=staff, topic="iran", webhook_url="http://127.0.0.1:1/x", secret="s")
    assert api.delete(f"/api/v1/alerts/watch/{others.pk}/").status_code == 404
    mine = WatchedTopic.objects.create(user=user, topic="iran", webhook_url="http://127.0.0.1:1/x", secret="s")
    AlertDelivery.objects.create(
        watched_topic=mine, firing_id="00000000-0000-0000-0000-000000000002", attempt=1, url="u", payload={}
    )
    assert api.delete(f"/api/v1/alerts/watch/{mine.pk}/").status_code == 204
    assert AlertDelivery.objects.filter(watched_topic_id=mine.pk).count() == 1
    assert api.delete("/api/v1/alerts/watch/").json()["parameter"] == "id"
    assert api.delete("/api/v1/alerts/watch/?id=abc").json()["parameter"] == "id"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://192.168.0.10/hook",
    ],
)
def test_watch_with_a_hostile_url_is_400(api, url, settings):
    settings.ALERTS_WEBHOOK_REQUIRE_HTTPS = False
    settings.ALERTS_WEBHOOK_ALLOWLIST = []
    response = api.post("/api/v1/alerts/watch/", {"topic": "iran", "webhook_url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["parameter"] == "webhook_url"
    assert not WatchedTopic.objects.exists()


@pytest.mark.django_db
def test_watch_needs_https_when_required(api, settings):
    settings.ALERTS_WEBHOOK_REQUIRE_HTTPS = True
    response = api.post(
        "/api/v1/alerts/watch/", {"topic": "iran", "webhook_url": "http://93.184.216.34/hook"}, format="json"
    )
    assert response.status_code == 400
    assert "https" in response.json()["detail"]


@pytest.mark.django_db
def test_watch_body_is_validated(api, local_receivers):
    url = "http://127.0.0.1:8999/hook"
    cases = [
        ({"webhook_url": url}, "topic"),
        ({"topic": "iran", "webhook_url": url, "min_platforms": 9}, "min_platforms"),
        ({"topic": "iran", "webhook_url": url, "cooldown_seconds": 1}, "cooldown_seconds"),
        ({"topic": "iran", "webhook_url": url, "secret": "short"}, "secret"),
        ({"topic": "x" * 101, "webhook_url": url}, "topic"),
    ]
    for body, field in cases:
        response = api.post("/api/v1/alerts/watch/", body, format="json")
        assert response.status_code == 400
        assert field in response.json(), response.json()
    assert api.post("/api/v1/alerts/watch/", {"topic": "iran", "webhook_url": url}, format="json").status_code == 201
    duplicate = api.post("/api/v1/alerts/watch/", {"topic": "iran", "webhook_url": url}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json()["parameter"] == "webhook_url"


@pytest.mark.django_db
def test_dead_letters_list(staff_api):
    DeadLetter.objects.create(topic=SIGNALS_NORMALISED, partition=0, offset=5, payload=b'{"id": 1}', error="bad id")
    DeadLetter.objects.create(topic="reddit.posts.refresh", partition=1, offset=9, payload=b"\xff\xfe", error="utf8")
    page = staff_api.get("/api/v1/dlq/").json()
    assert [letter["offset"] for letter in page["results"]] == [9, 5]
    assert page["results"][1]["payload_preview"] == '{"id": 1}'
    assert page["results"][1]["payload_bytes"] == 9
    only = staff_api.get("/api/v1/dlq/", {"topic": SIGNALS_NORMALISED, "replayed": "false"}).json()["results"]
    assert [letter["offset"] for letter in only] == [5]
    assert staff_api.get("/api/v1/dlq/", {"replayed": "x"}).json()["parameter"] == "replayed"
    assert staff_api.post("/api/v1/dlq/999999/replay/").status_code == 404


def _topic_values(physical: str, timeout_s: float = 15.0) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS.split(","), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(physical, p) for p in consumer.partitions_for_topic(physical) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        values, deadline = [], time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            values += [record.value for records in batch.values() for record in records]
            if values and not batch:
                break
        return values
    finally:
        consumer.close()


@pytest.mark.django_db
def test_replay_sends_the_dead_letter_back_to_its_source_topic(staff_api, kafka_topics):
    payload = b'{"replay-marker": "%d"}' % time.time_ns()
    letter = DeadLetter.objects.create(topic=SIGNALS_NORMALISED, partition=0, offset=77, payload=payload, error="x")
    response = staff_api.post(f"/api/v1/dlq/{letter.pk}/replay/")
    assert response.status_code == 200, response.content
    assert response.json()["replay_count"] == 1
    assert response.json()["replayed_at"] is not None
    assert payload in _topic_values(topic_name(SIGNALS_NORMALISED))


@pytest.mark.django_db
def test_admin_pages_and_the_replay_action(client, staff, kafka_topics):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    for url in (
        "/admin/ingest/sourceconfig/",
        "/admin/alerts/watchedtopic/",
        "/admin/alerts/alertdelivery/",
        "/admin/alerts/alertfiring/",
        "/admin/nlp/deadletter/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/alerts/alertdelivery/add/").status_code == 403
    letter = DeadLetter.objects.create(topic=SIGNALS_NORMALISED, partition=0, offset=78, payload=b"{}", error="x")
    response = client.post(
        "/admin/nlp/deadletter/",
        {"action": "replay_dead_letters", "_selected_action": [letter.pk]},
        follow=True,
    )
    assert response.status_code == 200
    letter.refresh_from_db()
    assert letter.replay_count == 1
