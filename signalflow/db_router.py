"""Reads go to the streaming replica when DATABASE_REPLICA_URL is set; every write to the primary.

Installed by signalflow/settings/database.py only when a replica is configured. A replica lags
the primary by a little, so a read goes to the primary instead whenever a stale answer could be
wrong:

- inside a transaction on the primary (`transaction.atomic()`): the read belongs to that unit
  of work and must see its writes and locks;
- after a write in the same unit of work (one HTTP request, one Celery task): read-your-writes.
  The pin lives in a context variable, which ASGI gives each request task afresh; it is also
  cleared when a request starts and before every Celery task, for thread- and process-reusing
  servers;
- inside `primary_reads()`, for code that needs the latest committed state (watermarks, claims);
- when DATABASE_REPLICA_READS is false for this process (workers that should not read stale rows).

Migrations run on the primary only; the replica receives them through WAL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.signals import request_started
from django.db import connections

PRIMARY = "default"
REPLICA = "replica"

# True once this unit of work wrote (or asked for a read-for-write): later reads stay on the primary.
_pinned: ContextVar[bool] = ContextVar("signalflow_db_pinned", default=False)
# Depth of primary_reads() blocks in this context.
_forced: ContextVar[int] = ContextVar("signalflow_db_primary_reads", default=0)


def primary_pin_reset(**_: Any) -> None:
    """Start of a unit of work (request, task): reads may go to the replica again."""
    _pinned.set(False)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Every read inside the block goes to the primary."""
    token = _forced.set(_forced.get() + 1)
    try:
        yield
    finally:
        _forced.reset(token)


def replica_reads_enabled() -> bool:
    return REPLICA in settings.DATABASES and bool(getattr(settings, "DATABASE_REPLICA_READS", True))


class PrimaryReplicaRouter:
    def __init__(self) -> None:
        request_started.connect(primary_pin_reset, dispatch_uid="signalflow.db_router.request_started")
        try:
            from celery import signals as celery_signals
        except ImportError:  # pragma: no cover - celery is a dependency; the web could run without it
            return
        celery_signals.task_prerun.connect(primary_pin_reset, weak=False, dispatch_uid="signalflow.db_router.task")

    def db_for_read(self, model: type, **hints: Any) -> str:
        if not replica_reads_enabled() or _pinned.get() or _forced.get():
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        instance = hints.get("instance")
        if instance is not None and getattr(instance._state, "db", None) == PRIMARY:
            # Related objects of a row loaded from the primary (e.g. in a write path) stay there too.
            return PRIMARY
        return REPLICA

    def db_for_write(self, model: type, **hints: Any) -> str:
        _pinned.set(True)
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # Both aliases are the same database, one of them behind by a little.
        return {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA, None}

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == PRIMARY
