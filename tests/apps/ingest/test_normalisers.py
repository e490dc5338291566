"""Every recorded payload normalises, with counts, ids and fields checked; malformed input fails cleanly."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.ingest.normalisers import NormaliseError, normalise_payload
from apps.ingest.normalisers.base import MAX_PAYLOAD_BYTES
from signalflow.signal import MAX_BODY_LENGTH, signal_from_bytes
from tests.support.services import FIXTURES, PYTHON, ROOT, subprocess_env

FRAMES = FIXTURES / "bluesky" / "firehose_frames"
POST_FRAMES = {"001": False, "025": True, "045": False, "085": True, "107": False, "128": True, "138": True}

# file → (signals, of which comments)
EXPECTED = {
    "reddit/comments_3hahrw_funny_2016.json": (471, 470),
    "reddit/comments_jlbw48_small_2022.json": (7, 6),
    "reddit/listing_r_askreddit_hot_2016.json": (102, 0),
    "reddit/listing_r_popular_hot_2026.json": (100, 0),
    "hackernews/items_17.json": (3, 3),
    "hackernews/search_by_date_tags=comment.json": (20, 20),
    "hackernews/search_by_date_tags=story.json": (20, 0),
    "hackernews/search_query=apple_tags=comment.json": (20, 20),
    "hackernews/search_query=apple_tags=story.json": (20, 0),
    "hackernews/search_tags=poll.json": (20, 0),
    "hackernews/search_tags=story.json": (20, 0),
    "youtube/comment_threads__comment_threads_by_video_paged_1.json": (5, 5),
    "youtube/comment_threads__comment_threads_by_video_paged_2.json": (5, 5),
    "youtube/comments__comments_by_parent_paged_1.json": (2, 2),
    "youtube/comments__comments_by_parent_paged_2.json": (1, 1),
    "youtube/channel_info_single.json": (0, 0),
    "youtube/channels__info.json": (0, 0),
    "youtube/playlist_items__playlist_items_paged_1.json": (0, 0),
    "youtube/playlist_items__playlist_items_paged_2.json": (0, 0),
    "youtube/search__search_videos_by_channel.json": (0, 0),
    "youtube/videos__videos_info_multi.json": (0, 0),
    "bluesky/jetstream_v1_golden_2026-05-25.jsonl": (1, 1),
    "bluesky/posts_from_bnewbold_repo_car_2025.json": (23, 2),
    "bluesky/posts_from_paul_staging_repo_car_2023.json": (101, 19),
}
for _frame in sorted(FRAMES.glob("*.cbor")):
    _post = _frame.name[:3] in POST_FRAMES
    EXPECTED[f"bluesky/firehose_frames/{_frame.name}"] = (1, int(POST_FRAMES[_frame.name[:3]])) if _post else (0, 0)


def _normalise(relative: str):
    path = FIXTURES / relative
    return normalise_payload(relative.split("/")[0], path.read_bytes(), filename=path.name)


def test_every_fixture_file_is_covered():
    on_disk = {
        str(p.relative_to(FIXTURES))
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.suffix in {".json", ".jsonl", ".cbor"} and p.name != "INDEX.json"
    }
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_fixture_normalises(relative: str):
    signals = _normalise(relative)
    total, comments = EXPECTED[relative]
    assert len(signals) == total
    assert sum(s.is_comment for s in signals) == comments
    platform = relative.split("/")[0]
    assert len({s.id for s in signals}) == len(signals)
    for signal in signals:
        assert signal.platform == platform
        assert signal.id == f"{platform}:{signal.source_id}"
        assert "CID(" not in signal.id
        assert "b'" not in signal.id
        assert signal.published_at.tzinfo is not None
        assert signal_from_bytes(signal.to_bytes()) == signal  # survives the bus round trip
        if signal.is_comment:
            assert signal.extra.get("parent_id", "").startswith(f"{platform}:")
            assert "parent_title" in signal.extra


def _reddit_expected(path: Path) -> tuple[int, int]:
    """An independent count: every t3, every t1 whose body is not deleted or removed, recursively."""
    gone = {"[deleted]", "[removed]"}
    posts = comments = 0

    def walk(thing: dict) -> None:
        nonlocal posts, comments
        if thing.get("kind") == "Listing":
            for child in thing["data"]["children"]:
                walk(child)
        elif thing.get("kind") == "t3" and thing["data"].get("selftext") not in gone:
            posts += 1
        elif thing.get("kind") == "t1":
            comments += thing["data"]["body"] not in gone
            if isinstance(thing["data"].get("replies"), dict):
                walk(thing["data"]["replies"])

    data = json.loads(path.read_text())
    for part in data if isinstance(data, list) else [data]:
        walk(part)
    return posts + comments, comments


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "reddit").glob("*.json")))
def test_reddit_counts_match_an_independent_walk(name: str):
    assert EXPECTED[f"reddit/{name}"] == _reddit_expected(FIXTURES / "reddit" / name)


def test_reddit_comment_fields():
    signals = _normalise("reddit/comments_jlbw48_small_2022.json")
    post, comments = signals[0], signals[1:]
    assert post.id == "reddit:jlbw48"
    assert not post.is_comment
    assert post.url.startswith("https://www.reddit.com/r/")
    for comment in comments:
        assert comment.extra["parent_title"] == post.title
        assert comment.extra["post_id"] == "reddit:jlbw48"
        assert comment.title == ""
    top = [c for c in comments if c.extra["parent_id"] == "reddit:jlbw48"]
    nested = [c for c in comments if c.extra["parent_id"] != "reddit:jlbw48"]
    assert top
    assert nested, "the reply tree is walked below the top level"
    assert {c.extra["parent_id"] for c in nested} <= {c.id for c in comments}


def test_reddit_listing_keeps_flags():
    signals = _normalise("reddit/listing_r_popular_hot_2026.json")
    raw = json.loads((FIXTURES / "reddit/listing_r_popular_hot_2026.json").read_text())["data"]["children"]
    first = raw[0]["data"]
    assert signals[0].id == f"reddit:{first['id']}"
    assert signals[0].raw_score == first["score"]
    assert signals[0].comment_count == first["num_comments"]
    assert signals[0].community == first["subreddit"]
    assert signals[0].extra["nsfw"] == first["over_18"]
    assert sum(s.extra["nsfw"] for s in signals) == sum(c["data"]["over_18"] for c in raw)


def test_bluesky_frame_post_fields():
    (post,) = _normalise("bluesky/firehose_frames/001_seq31527015323_commit.cbor")
    assert post.id == "bluesky:did:plc:dclwtltrt2ggsryagfzk7dp4/3mptbyoeyc22k"
    assert post.body == "www.youtube.com/watch?v=V5lD..."
    assert post.extra["langs"] == ["en"]
    assert post.extra["links"] == ["https://www.youtube.com/watch?v=V5lDo-jw8mA"]
    assert post.published_at == datetime(2026, 7, 4, 14, 38, 6, 240000, tzinfo=UTC)
    (reply,) = _normalise("bluesky/firehose_frames/025_seq31527015347_commit.cbor")
    assert reply.is_comment
    assert reply.extra["parent_id"] == "bluesky:did:plc:i5y2f3gtpjxs3qg6fwgb6jb4/3mpt7u2vlgs2c"
    (tagged,) = _normalise("bluesky/firehose_frames/045_seq31527015367_commit.cbor")
    assert tagged.extra["tags"] == ["HowToTellAiToShutUp", "IndieRebellion"]


def test_bluesky_ignores_non_posts():
    kinds = json.loads((FRAMES / "INDEX.json").read_text())
    ignored = [e for e in kinds if not any(op.startswith("create app.bsky.feed.post") for op in e.get("ops", []))]
    assert any(e["t"] == "#identity" for e in ignored)
    assert any(op.startswith("delete app.bsky.feed.post") for e in ignored for op in e.get("ops", []))
    for entry in ignored:
        assert normalise_payload("bluesky", (FRAMES / entry["file"]).read_bytes(), filename=entry["file"]) == []


def test_hackernews_comment_and_story_fields():
    comments = _normalise("hackernews/search_by_date_tags=comment.json")
    assert comments[0].id == "hackernews:7850069"
    assert comments[0].extra["parent_title"].startswith("U.S. Marshals Seize")
    assert comments[0].body.startswith('"Recently, the Tallahassee')  # entities decoded
    assert "<p>" not in comments[0].body
    assert "&#x27;" not in comments[0].body
    stories = _normalise("hackernews/search_tags=story.json")
    assert stories[0].title == "Steve Jobs has passed away."
    assert stories[0].raw_score == 4271
    assert stories[0].comment_count == 376
    assert stories[0].url == "http://www.apple.com/stevejobs/"
    tree = _normalise("hackernews/items_17.json")
    assert [s.id for s in tree] == ["hackernews:17", "hackernews:1079", "hackernews:454426"]
    assert tree[1].extra["parent_id"] == "hackernews:17"


def test_youtube_titles_from_context():
    path = FIXTURES / "youtube/comment_threads__comment_threads_by_video_paged_1.json"
    bare = normalise_payload("youtube", path.read_bytes())
    assert all(s.title == "" for s in bare)
    titled = normalise_payload("youtube", path.read_bytes(), video_titles={"F1UP7wRCPH8": "A video"})
    assert titled[0].title == "A video"
    assert titled[0].extra["parent_title"] == "A video"
    assert titled[0].id == "youtube:UgyZ1jqkHKYvi1-ruOZ4AaABAg"
    assert titled[0].body == "Google.com"
    replies = normalise_payload(
        "youtube", (FIXTURES / "youtube/comments__comments_by_parent_paged_1.json").read_bytes()
    )
    assert replies[0].extra["parent_id"] == "youtube:Ugw5zYU6n9pmIgAZWvN4AaABAg"


LISTING = (FIXTURES / "reddit/comments_jlbw48_small_2022.json").read_bytes()


@pytest.mark.parametrize(
    ("platform", "payload", "message"),
    [
        ("reddit", LISTING[: len(LISTING) // 2], "not valid JSON"),
        ("reddit", b'{"kind": "Listing", "data": {"children": "nope"}}', "must be a list"),
        (
            "reddit",
            b'{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {"id": "x"}}]}}',
            "missing field 'title'",
        ),
        (
            "reddit",
            b'{"kind":"Listing","data":{"children":[{"kind":"t3","data":{"id":1,"title":"t"}}]}}',
            "'id' must be a string",
        ),
        ("reddit", b'"just a string"', "neither a Listing"),
        (
            "hackernews",
            b'{"hits": [{"objectID": "1", "_tags": ["story"], "created_at_i": "yesterday"}]}',
            "must be a number",
        ),
        (
            "youtube",
            b'{"kind": "youtube#commentThreadListResponse", "items": [{"id": "x"}]}',
            "missing field 'snippet'",
        ),
        ("youtube", b'{"items": []}', "no 'kind'"),
        ("youtube", b'{"error": {"code": 403, "message": "The request cannot be completed"}}', "API error 403"),
        ("reddit", b'{"message": "Forbidden", "error": 403}', "API error 403: Forbidden"),
        ("youtube", b"\xff\xfe{}", "not valid UTF-8"),
        ("bluesky", b"\x00\x01\x02garbage", "not DAG-CBOR"),
        ("bluesky", (FRAMES / "001_seq31527015323_commit.cbor").read_bytes()[:200], "not DAG-CBOR"),
        ("bluesky", b"", "empty"),
        ("twitter", b"{}", "unknown platform"),
    ],
)
def test_malformed_payloads_raise_one_line(platform: str, payload: bytes, message: str):
    with pytest.raises(NormaliseError) as caught:
        normalise_payload(platform, payload)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_huge_payload_is_refused_before_parsing():
    with pytest.raises(NormaliseError, match="over the"):
        normalise_payload("hackernews", b" " * (MAX_PAYLOAD_BYTES + 1))


def test_huge_text_is_clipped():
    data = json.loads(LISTING)
    data[0]["data"]["children"][0]["data"]["selftext"] = "x" * (MAX_BODY_LENGTH * 3)
    (post, *_) = normalise_payload("reddit", json.dumps(data).encode())
    assert len(post.body) == MAX_BODY_LENGTH
    assert post.body.endswith("…")


def test_lenient_mode_skips_bad_items_and_keeps_good_ones():
    data = json.loads((FIXTURES / "hackernews/search_tags=story.json").read_text())
    data["hits"][3]["created_at_i"] = "not a time"
    data["hits"][4] = "not an object"
    del data["hits"][5]["objectID"]
    errors: list[str] = []
    signals = normalise_payload("hackernews", json.dumps(data).encode(), strict=False, on_error=errors.append)
    assert len(signals) == 17
    assert len(errors) == 3
    assert "hits[5]" in errors[2]
    assert "objectID" in errors[2]


def test_deleted_comments_are_skipped():
    data = json.loads(LISTING)
    first = data[1]["data"]["children"][0]["data"]
    first["body"] = "[removed]"
    signals = normalise_payload("reddit", json.dumps(data).encode())
    assert f"reddit:{first['id']}" not in {s.id for s in signals}
    assert len(signals) == 6


def test_normalise_command_prints_json_lines(capsys: pytest.CaptureFixture[str]):
    call_command("normalise", "hackernews", str(FIXTURES / "hackernews/items_17.json"))
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["hackernews:17", "hackernews:1079", "hackernews:454426"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reddit", "/nonexistent/file.json"], "cannot read"),
        (["myspace", "x"], "unknown platform"),
        (["youtube", str(FIXTURES / "bluesky/firehose_frames/001_seq31527015323_commit.cbor")], "not valid UTF-8"),
    ],
)
def test_normalise_command_bad_input_exits_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as caught:
        call_command("normalise", *args)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_normalise_command_process_truncated_stdin_no_traceback():
    result = subprocess.run(
        [PYTHON, "manage.py", "normalise", "reddit", "-"],
        input=LISTING[:300],
        capture_output=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"Traceback" not in result.stderr
    assert result.stderr.count(b"\n") == 1
    assert b"not valid JSON" in result.stderr


def test_things_that_are_not_conversation_give_no_signals():
    listing = {"kind": "Listing", "data": {"children": [{"kind": "t5", "data": {"display_name": "python"}}]}}
    assert normalise_payload("reddit", json.dumps(listing).encode()) == []
    captions = {"kind": "youtube#captionListResponse", "items": [{"id": "x"}]}
    assert normalise_payload("youtube", json.dumps(captions).encode()) == []
