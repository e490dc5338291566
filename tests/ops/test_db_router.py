"""Routing rules of the primary/replica router, without a replica (test_replica.py runs a real one)."""

from __future__ import annotations

import pytest
from celery import signals as celery_signals
from django.core.signals import request_started
from django.db import close_old_connections, transaction

from apps.nlp.models import Signal
from signalflow import db_router
from signalflow.db_router import PrimaryReplicaRouter, primary_pin_reset, primary_reads


@pytest.fixture
def router(monkeypatch):
    monkeypatch.setattr(db_router, "replica_reads_enabled", lambda: True)
    primary_pin_reset()
    yield PrimaryReplicaRouter()
    primary_pin_reset()


def test_reads_go_to_replica_until_a_write_then_a_new_request_resets(router):
    assert router.db_for_read(Signal) == "replica"
    assert router.db_for_write(Signal) == "default"
    assert router.db_for_read(Signal) == "default"
    # Only the router's receiver: Django's close_old_connections would touch a database this test has no access to.
    request_started.disconnect(close_old_connections)
    try:
        request_started.send(sender=None)
    finally:
        request_started.connect(close_old_connections)
    assert router.db_for_read(Signal) == "replica"


def test_celery_task_start_resets_the_pin(router):
    router.db_for_write(Signal)
    celery_signals.task_prerun.send(sender=None, task_id="t", task=None)
    assert router.db_for_read(Signal) == "replica"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_primary_transaction_stay_on_the_primary(router):
    with transaction.atomic():
        assert router.db_for_read(Signal) == "default"
    assert router.db_for_read(Signal) == "replica"


def test_primary_reads_block(router):
    with primary_reads():
        with primary_reads():
            assert router.db_for_read(Signal) == "default"
        assert router.db_for_read(Signal) == "default"
    assert router.db_for_read(Signal) == "replica"


def test_without_replica_or_with_replica_reads_off_everything_reads_the_primary(settings):
    router = PrimaryReplicaRouter()
    assert "replica" not in settings.DATABASES
    assert router.db_for_read(Signal) == "default"


def test_migrations_only_on_the_primary(router):
    assert router.allow_migrate("default", "nlp") is True
    assert router.allow_migrate("replica", "nlp") is False


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_replica_reads_switch(settings):
    settings.DATABASES = {**settings.DATABASES, "replica": dict(settings.DATABASES["default"])}
    settings.DATABASE_REPLICA_READS = True
    assert db_router.replica_reads_enabled() is True
    settings.DATABASE_REPLICA_READS = False
    assert db_router.replica_reads_enabled() is False
    primary_pin_reset()
    assert PrimaryReplicaRouter().db_for_read(Signal) == "default"
