"""Replay of a recorded directory onto the bus: layout, rebase, pacing, summary, bad files."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.ingest.replay import ReplayError, replay_files, replay_run
from apps.ingest.services import NoSeenStore, Publisher
from signalflow.signal import signal_from_bytes
from tests.support.services import FIXTURES


def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "reddit").mkdir(parents=True)
    shutil.copy(FIXTURES / "reddit/comments_jlbw48_small_2022.json", root / "reddit")
    shutil.copytree(FIXTURES / "bluesky/firehose_frames", root / "bluesky/frames")  # INDEX.json inside is ignored
    (root / "hackernews").mkdir()
    shutil.copy(FIXTURES / "hackernews/items_17.json", root / "hackernews")
    (root / "hackernews" / "broken.json").write_bytes(b'{"hits": [')
    (root / "youtube").mkdir()
    shutil.copy(FIXTURES / "youtube/comment_threads__comment_threads_by_video_paged_1.json", root / "youtube")
    (root / "notes.md").write_text("ignored")
    return root


def test_layout_rules(tmp_path: Path):
    root = corpus(tmp_path)
    files = list(replay_files(root))
    assert {p for p, _ in files} == {"reddit", "bluesky", "hackernews", "youtube"}
    assert not any(f.name == "INDEX.json" for _, f in files)
    with pytest.raises(ReplayError, match="no payload files"):
        list(replay_files(tmp_path / "corpus" / "reddit"))


def test_replay_command_rebases_and_summarises(tmp_path: Path, bus_tail, capsys):
    root = corpus(tmp_path)
    tail = bus_tail()
    call_command("run_ingest", "--replay", str(root), "--rebase-time", "--metrics-port", "0")
    out = capsys.readouterr().out
    assert "reddit=7 bluesky=7 hackernews=3 youtube=5 total=22" in out
    assert "bad_files=1" in out
    signals = [signal_from_bytes(r.value) for r in tail.read(want=22)]
    assert len(signals) == 22
    newest = max(s.published_at for s in signals)
    assert abs(newest - datetime.now(UTC)) < timedelta(minutes=2)
    # one shift for all: the gaps between signals are the recorded ones
    by_id = {s.id: s for s in signals}
    assert by_id["hackernews:1079"].published_at - by_id["hackernews:17"].published_at == (
        datetime(2007, 2, 25, 22, 18, 23, tzinfo=UTC) - datetime(2006, 10, 9, 19, 52, 45, tzinfo=UTC)
    )


def test_replay_speed_spaces_by_original_gaps(tmp_path: Path, kafka_topics):
    root = tmp_path / "c"
    (root / "bluesky").mkdir(parents=True)
    for name in ["001_seq31527015323_commit.cbor", "025_seq31527015347_commit.cbor", "045_seq31527015367_commit.cbor"]:
        shutil.copy(FIXTURES / "bluesky/firehose_frames" / name, root / "bluesky")
    sleeps: list[float] = []
    publisher = Publisher(seen=NoSeenStore())
    try:
        summary = replay_run(root, publisher=publisher, speed=0.5, sleep=sleeps.append)
    finally:
        publisher.close()
    assert summary.produced["bluesky"] == 3
    # createdAt 14:38:06.240 → 07.112 → 07.323: gaps 0.872 s and 0.211 s, halved speed doubles them
    assert sleeps == pytest.approx([1.744, 0.422], abs=0.002)


def test_replay_bad_arguments_exit_2(tmp_path: Path, capsys):
    for args in (["--replay", str(tmp_path / "missing")], ["--replay", str(tmp_path), "--speed", "fast"]):
        with pytest.raises(SystemExit) as caught:
            call_command("run_ingest", *args, "--metrics-port", "0")
        assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "not a directory" in err
    assert "--speed must be a number" in err
