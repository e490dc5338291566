"""The bundled demo corpus: rebuilt byte for byte by its script, read cleanly by the replay, and
carrying what the demo promises once the real models score it (topics, multi-platform topics,
planted disputes large enough for the divergence detector)."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path
from statistics import mean

import pytest
from django.conf import settings

from tests.support.services import FIXTURES, PYTHON, ROOT, SHARED

CORPUS = ROOT / "demo" / "corpus"


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_corpus_is_what_the_script_builds(tmp_path: Path) -> None:
    data = SHARED / "data" / "vader_icwsm2014"
    if not FIXTURES.is_dir() or not data.is_dir():
        pytest.fail(f"the corpus is built from {FIXTURES} and {data}: clone next to ../shared", pytrace=False)
    out = tmp_path / "corpus"
    result = subprocess.run(
        [PYTHON, str(ROOT / "scripts" / "build_demo_corpus.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    built, committed = _files(out), _files(CORPUS)
    assert sorted(built) == sorted(committed), "rerun scripts/build_demo_corpus.py and commit demo/corpus"
    changed = [name for name in built if built[name] != committed[name]]
    assert not changed, f"demo/corpus is stale ({changed[:5]}): rerun scripts/build_demo_corpus.py and commit it"
    assert sum(len(b) for b in built.values()) < 5_000_000, "keep the committed corpus small"


def test_build_rejects_missing_inputs(tmp_path: Path) -> None:
    result = subprocess.run(
        [PYTHON, str(ROOT / "scripts" / "build_demo_corpus.py"), "--fixtures", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "is not a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_corpus_replays_cleanly_and_carries_the_demo() -> None:
    """Through the replay's loader and the pipeline's own model functions (VADER, spaCy topics)."""
    from apps.ingest.replay import ReplaySummary, replay_load
    from apps.nlp.sentiment import sentiment_input_from_signal, vader_compound
    from apps.nlp.topics import topics_extract_batch, topics_text_from_signal

    summary = ReplaySummary()
    signals = [s.to_dict() for s in replay_load(CORPUS, summary)]
    assert summary.bad_files == 0
    assert summary.skipped_items == 0
    per_platform = defaultdict(int)
    for signal in signals:
        per_platform[signal["platform"]] += 1
    assert set(per_platform) == {"reddit", "hackernews", "youtube", "bluesky"}
    assert min(per_platform.values()) >= 80, per_platform
    assert any(s["extra"].get("is_comment") for s in signals if s["platform"] == "youtube")

    topics = topics_extract_batch([topics_text_from_signal(s) for s in signals])
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for signal, found in zip(signals, topics, strict=True):
        text = sentiment_input_from_signal(signal).text
        for topic in found:
            scores[topic][signal["platform"]].append(vader_compound(text) if text else 0.0)
    busy = [t for t, by in scores.items() if sum(len(v) for v in by.values()) >= 3]
    multi = [t for t, by in scores.items() if len(by) > 1 and sum(len(v) for v in by.values()) >= 5]
    assert len(busy) >= 20, busy
    assert len(multi) >= 3, multi
    min_signals = settings.SIGNALFLOW_DIVERGENCE_MIN_SIGNALS
    for topic, (a, b) in {"tesla": ("reddit", "youtube"), "boeing": ("reddit", "bluesky")}.items():
        side_a, side_b = scores[topic][a], scores[topic][b]
        assert len(side_a) >= min_signals
        assert len(side_b) >= min_signals
        assert abs(mean(side_a) - mean(side_b)) >= 2 * settings.SIGNALFLOW_DIVERGENCE_MIN_GAP, topic
