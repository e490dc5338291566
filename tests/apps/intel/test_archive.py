"""Archive to Parquet, verify, delete exactly those rows, survive crashes, replay onto the bus."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from django.utils import timezone
from kafka import TopicPartition

from apps.intel import services
from apps.intel.models import ArchiveFile
from apps.nlp.models import Signal, SignalTopic
from signalflow.kafka import SIGNALS_NORMALISED, consumer_create, topic_name
from signalflow.signal import signal_from_bytes
from tests.support.factories import signal_create


def old_signals() -> list[Signal]:
    """Seven signals over three days, 120-122 days ago, two with two topics; plus two recent ones."""
    base = (timezone.now() - timedelta(days=122)).replace(hour=10, minute=0, second=0, microsecond=0)
    created = []
    for day in range(3):
        for index in range(2 + (day == 1)):
            created.append(
                signal_create(
                    platform=("reddit", "youtube", "bluesky")[index],
                    topics=["iran", "oil"] if index == 0 else ["iran"],
                    sentiment=None if index == 2 else -0.25 * index,
                    is_comment=index == 1,
                    published_at=base + timedelta(days=day, minutes=index),
                    extra={"is_comment": index == 1, "parent_id": "t3_x", "nested": {"a": [1, 2.5, None]}}
                    if index == 1
                    else {"is_comment": False},
                    title="" if index == 1 else f"Old title {day}-{index} ünïcode",
                    raw_score=-3 if index == 2 else 40 + day,
                )
            )
    for _ in range(2):
        signal_create(topics=["fresh"], published_at=timezone.now() - timedelta(days=1))
    return created


def snapshot(ids: list[str]) -> dict[str, dict]:
    return {
        signal.id: {
            "signal": {
                field: getattr(signal, field)
                for field in (
                    "platform",
                    "source_id",
                    "title",
                    "body",
                    "url",
                    "author",
                    "community",
                    "published_at",
                    "raw_score",
                    "comment_count",
                    "extra",
                )
            },
            "topics": sorted(signal.topic_rows.values_list("topic", "platform", "sentiment", "is_comment")),
        }
        for signal in Signal.objects.filter(id__in=ids)
    }


@pytest.mark.django_db
def test_archive_exports_by_day_verifies_then_deletes_exactly_those_rows(archive_dir):
    originals = old_signals()
    ids = [signal.id for signal in originals]

    result = services.signals_archive(older_than_days=90)

    assert (result["files"], result["archived"], result["deleted"]) == (3, 7, 7)
    assert not Signal.objects.filter(id__in=ids).exists()
    assert not SignalTopic.objects.filter(signal_id__in=ids).exists()
    assert Signal.objects.filter(topics__contains=["fresh"]).count() == 2  # recent rows stay
    assert SignalTopic.objects.filter(topic="fresh").count() == 2
    days = sorted(path.name for path in archive_dir.glob("day=*"))
    assert len(days) == 3
    files = services.archive_files_list()
    assert len(files) == 3
    metadata = pq.ParquetFile(files[0]).metadata
    assert metadata.row_group(0).column(0).compression == "SNAPPY"
    assert sum(pq.ParquetFile(path).metadata.num_rows for path in files) == 7
    assert set(ArchiveFile.objects.values_list("state", flat=True)) == {"deleted"}
    assert sum(ArchiveFile.objects.values_list("deleted_count", flat=True)) == 7

    rows, meta = services.archive_file_read(files[1])
    assert meta["signalflow.checksum"] == services.rows_checksum(rows)
    comment = next(row for row in rows if row["platform"] == "youtube")
    assert json.loads(comment["extra"])["nested"] == {"a": [1, 2.5, None]}
    assert {row["topic"] for row in next(row for row in rows if row["platform"] == "reddit")["topic_rows"]} == {
        "iran",
        "oil",
    }

    again = services.signals_archive(older_than_days=90)
    assert (again["files"], again["deleted"]) == (0, 0)


@pytest.mark.django_db
def test_a_crash_between_verify_and_delete_is_finished_by_the_next_run(archive_dir, monkeypatch):
    originals = old_signals()
    real_delete = services._archive_file_delete_rows

    def crash(record, verified_rows=None):
        raise SystemExit("killed after the file was verified")

    monkeypatch.setattr(services, "_archive_file_delete_rows", crash)
    with pytest.raises(SystemExit):
        services.signals_archive(older_than_days=90)
    assert Signal.objects.filter(id__in=[s.id for s in originals]).count() == 7  # nothing lost
    assert list(ArchiveFile.objects.values_list("state", flat=True)) == ["verified"]

    monkeypatch.setattr(services, "_archive_file_delete_rows", real_delete)
    result = services.signals_archive(older_than_days=90)
    assert result["resumed"] == 1
    assert not Signal.objects.filter(id__in=[s.id for s in originals]).exists()
    assert ArchiveFile.objects.count() == 3
    assert sum(ArchiveFile.objects.values_list("deleted_count", flat=True)) == 7


@pytest.mark.django_db
def test_a_crash_while_writing_leaves_rows_and_is_rewritten(archive_dir, monkeypatch):
    old_signals()
    real_read = services.archive_file_read
    calls = {"n": 0}

    def crash_on_read_back(path):
        calls["n"] += 1
        raise SystemExit("killed after rename, before verification")

    monkeypatch.setattr(services, "archive_file_read", crash_on_read_back)
    with pytest.raises(SystemExit):
        services.signals_archive(older_than_days=90)
    (archive_dir / "day=2000-01-01").mkdir()
    (archive_dir / "day=2000-01-01" / "signals-x.parquet.tmp").write_bytes(b"half a file")
    assert not ArchiveFile.objects.exists()
    assert Signal.objects.count() == 9

    monkeypatch.setattr(services, "archive_file_read", real_read)
    result = services.signals_archive(older_than_days=90)
    assert result["archived"] == 7
    assert not list(archive_dir.glob("day=*/*.tmp"))
    assert len(services.archive_files_list()) == 3  # the half-done file was rewritten under its own name


@pytest.mark.django_db
def test_a_row_changed_after_export_is_not_deleted_with_the_stale_copy(archive_dir, monkeypatch):
    originals = old_signals()
    changed = originals[0]
    real_write = services._archive_file_write
    done = []

    def write_then_change(**kwargs):
        record = real_write(**kwargs)
        if not done and any(row["id"] == changed.id for row in kwargs["rows"]):
            done.append(True)  # the pipeline refreshes the row once, between export and delete
            Signal.objects.filter(pk=changed.pk).update(
                raw_score=999, last_updated_at=timezone.now() + timedelta(seconds=1)
            )
        return record

    monkeypatch.setattr(services, "_archive_file_write", write_then_change)
    services.signals_archive(older_than_days=90, batch=100)
    # The stale export was not allowed to delete the changed row; the loop archived the new version.
    versions = [
        row["raw_score"]
        for path in services.archive_files_list()
        for row in services.archive_file_read(path)[0]
        if row["id"] == changed.id
    ]
    assert sorted(versions) == [40, 999]
    assert not Signal.objects.filter(pk=changed.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [0, -5, "90", 1.5, True])
def test_archive_rejects_a_bad_age(bad, archive_dir):
    with pytest.raises(ValueError, match="older_than_days"):
        services.signals_archive(older_than_days=bad)


def test_replay_rejects_a_bad_day(archive_dir):
    with pytest.raises(ValueError, match="day_from"):
        services.archive_replay(day_from="last tuesday")


@pytest.mark.django_db
def test_archive_delete_replay_restores_the_same_signals_on_the_bus(archive_dir, kafka_topics):
    originals = old_signals()
    ids = [signal.id for signal in originals]
    before = snapshot(ids)
    services.signals_archive(older_than_days=90)
    assert not Signal.objects.filter(id__in=ids).exists()

    # A damaged file is reported and skipped, the others replay.
    files = services.archive_files_list()
    damaged = archive_dir / "day=1999-12-31" / "signals-damaged.parquet"
    damaged.parent.mkdir()
    table = pq.read_table(files[0])
    pq.write_table(table.slice(0, 1).replace_schema_metadata(table.schema.metadata), damaged)

    consumer = consumer_create(group=f"intel-replay-{uuid.uuid4().hex[:8]}")
    try:
        physical = topic_name(SIGNALS_NORMALISED)
        partitions = [TopicPartition(physical, p) for p in sorted(consumer.partitions_for_topic(physical))]
        consumer.assign(partitions)
        consumer.seek_to_end()
        for partition in partitions:
            consumer.position(partition)  # resolve the end offsets now, before the replay produces
        result = services.archive_replay()
        assert result["produced"] == 7
        assert result["damaged_files"] == ["day=1999-12-31/signals-damaged.parquet"]
        received = {}
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while len(received) < 7 and datetime.now(UTC) < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    signal = signal_from_bytes(record.value)
                    if signal.id in before:
                        assert record.key == signal.id.encode()
                        received[signal.id] = signal
    finally:
        consumer.close()

    assert set(received) == set(before)
    for signal_id, signal in received.items():
        expected = before[signal_id]["signal"]
        assert signal.platform.value == expected["platform"]
        for field in ("source_id", "title", "body", "url", "author", "community", "raw_score", "comment_count"):
            assert getattr(signal, field) == expected[field], field
        assert signal.published_at == expected["published_at"]
        assert signal.extra == expected["extra"]


@pytest.mark.django_db
def test_replay_of_a_day_range_reads_only_those_days(archive_dir, kafka_topics):
    originals = old_signals()
    services.signals_archive(older_than_days=90)
    first_day = min(signal.published_at for signal in originals).date().isoformat()
    result = services.archive_replay(day_from=first_day, day_to=first_day)
    assert (result["files"], result["produced"]) == (1, 2)


@pytest.mark.django_db
def test_disk_check_warns_at_the_threshold(archive_dir, settings, caplog):
    settings.SIGNALFLOW_DISK_WARN_RATIO = 0.0
    [disk] = services.disk_check()
    assert disk["warn"] is True
    assert 0 < disk["used_ratio"] < 1
    assert "full" in caplog.text
    from apps.intel.metrics import DISK_USAGE_RATIO

    assert DISK_USAGE_RATIO.labels(str(archive_dir))._value.get() == pytest.approx(disk["used_ratio"], abs=1e-3)
    settings.SIGNALFLOW_DISK_WARN_RATIO = 1.01
    assert services.disk_check()[0]["warn"] is False


@pytest.mark.django_db
def test_a_file_changed_after_verification_stops_the_resume_and_keeps_the_rows(archive_dir, monkeypatch):
    originals = old_signals()
    monkeypatch.setattr(services, "_archive_file_delete_rows", lambda record, verified_rows=None: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        services.signals_archive(older_than_days=90)
    monkeypatch.undo()
    record = ArchiveFile.objects.get()
    path = archive_dir / record.path
    table = pq.read_table(path)
    pq.write_table(table.slice(1).replace_schema_metadata(table.schema.metadata), path)  # tampered
    with pytest.raises(RuntimeError, match="no longer matches its manifest"):
        services.signals_archive(older_than_days=90)
    assert Signal.objects.filter(id__in=[s.id for s in originals]).count() == 7
    assert ArchiveFile.objects.get().state == "verified"
