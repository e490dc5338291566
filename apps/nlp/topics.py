"""Topics of signals: named entities from spaCy, made canonical, filtered, at most 8 per signal.

Pipeline per process (built once): the configured spaCy model (SIGNALFLOW_SPACY_MODEL) with only the
components NER needs (tok2vec + ner; tagger, parser, lemmatizer are excluded: they would triple the cost
and nothing reads them), plus an EntityRuler before `ner` holding the vocabulary in data/entity_ruler.jsonl
(terms the small model misses or mislabels, each with its canonical id). Without the model the fallback is
spacy.blank("en") + the same EntityRuler, so topics degrade to the vocabulary instead of disappearing.

Every entity becomes a canonical lower-case string: the ruler's id if it has one, else the text without
possessives, leading articles and punctuation, then data/topic_canonical.json merges variants
("Iranian", "Iran's" -> iran; "Donald Trump" -> trump) and data/topic_noise.txt drops verdict shorthand,
time words and the platforms' own names. Entities are whole tokens, so "ai" is never found inside "said".
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.nlp import metrics_models as metrics
from apps.nlp.language import ENGLISH, language_detect_batch

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
RULER_PATTERNS = DATA / "entity_ruler.jsonl"
CANONICAL_MAP = DATA / "topic_canonical.json"
NOISE_LIST = DATA / "topic_noise.txt"

KEPT_LABELS = frozenset({"ORG", "PERSON", "PRODUCT", "GPE", "NORP", "EVENT", "WORK_OF_ART", "LAW"})
MAX_TOPICS = 8
MAX_TOPIC_LENGTH = 100  # signal_topics.topic column
MIN_TOPIC_LENGTH = 2

_NOT_NEEDED_FOR_NER = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer"]
_POSSESSIVE = re.compile(r"(?:['’]s|s['’]|['’])$", re.IGNORECASE)
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[^\w.+#)]+$|(?<!\.\w)\.$")
_SPACES = re.compile(r"\s+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_LINKISH = re.compile(r"https?:|www\.|\.com\b|^[@#]|^[ru]/", re.IGNORECASE)

_lock = threading.Lock()


@functools.cache
def _canonical_map() -> dict[str, str]:
    with CANONICAL_MAP.open(encoding="utf-8") as handle:
        mapping = json.load(handle)
    return {str(key).lower(): str(value).lower() for key, value in mapping.items()}


@functools.cache
def _noise() -> frozenset[str]:
    lines = NOISE_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _nlp() -> Any:
    """The process's spaCy pipeline, built on first use."""
    return _nlp_build(settings.SIGNALFLOW_SPACY_MODEL)


@functools.cache
def _nlp_build(name: str) -> Any:
    import spacy

    try:
        nlp = spacy.load(name, exclude=_NOT_NEEDED_FOR_NER)
    except OSError as exc:
        logger.warning(
            "spaCy model %r is not installed (%s); topics come from the EntityRuler vocabulary only", name, exc
        )
        nlp = spacy.blank("en")
    # Phrase patterns match case-insensitively on whole tokens; case-sensitive terms ("WHO") are token patterns.
    config = {"phrase_matcher_attr": "LOWER", "validate": True}
    if "ner" in nlp.pipe_names:
        ruler = nlp.add_pipe("entity_ruler", before="ner", config=config)
    else:
        ruler = nlp.add_pipe("entity_ruler", config=config)
    ruler.from_disk(RULER_PATTERNS)
    return nlp


def topics_pipeline_ready() -> bool:
    """Build the spaCy pipeline now (e.g. at worker start); True when the statistical NER is present."""
    return "ner" in _nlp().pipe_names


def topic_canonical(text: str) -> str:
    """The canonical lower-case form of an entity's surface text, or "" when nothing usable is left."""
    topic = _SPACES.sub(" ", text).strip()
    for _ in range(3):  # peel "the", "'s" and stray punctuation in whichever order they nest
        before = topic
        topic = _EDGE_PUNCTUATION.sub("", topic)
        topic = _POSSESSIVE.sub("", topic)
        topic = _LEADING_ARTICLE.sub("", topic)
        if topic == before:
            break
    topic = topic.lower().strip()
    return _canonical_map().get(topic, topic)


def _topic_keep(topic: str) -> bool:
    return (
        MIN_TOPIC_LENGTH <= len(topic) <= MAX_TOPIC_LENGTH
        and _HAS_LETTER.search(topic) is not None
        and topic not in _noise()
        and _LINKISH.search(topic) is None
    )


def topics_from_doc(doc: Any) -> list[str]:
    """Canonical topics of one parsed doc: most mentioned first, then first mentioned; at most MAX_TOPICS."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    canonical = _canonical_map()
    for entity in doc.ents:
        if entity.label_ not in KEPT_LABELS:
            continue
        topic = canonical.get(entity.ent_id_, entity.ent_id_) if entity.ent_id_ else topic_canonical(entity.text)
        if not _topic_keep(topic):
            continue
        counts[topic] += 1
        first_seen.setdefault(topic, entity.start)
    ranked = sorted(counts, key=lambda topic: (-counts[topic], first_seen[topic]))
    return ranked[:MAX_TOPICS]


def topics_text_from_signal(signal: dict[str, Any]) -> str:
    """What NER reads: a comment's body; a post's title and body (its head, for speed)."""
    extra = signal.get("extra") or {}
    title = (signal.get("title") or "").strip()
    body = (signal.get("body") or "").strip()
    if extra.get("is_comment"):
        return body[: settings.SIGNALFLOW_TOPICS_MAX_CHARS]
    # A full stop keeps the title from fusing with the body's first words into one entity.
    text = f"{title}.\n{body}" if title and body else title or body
    return text[: settings.SIGNALFLOW_TOPICS_MAX_CHARS]


def topics_extract_batch(texts: Sequence[str], *, languages: Sequence[str] | None = None) -> list[list[str]]:
    """Topics per text, in input order. `languages` (ISO 639-1, "" = unknown) skips detection; non-English -> []."""
    if languages is not None and len(languages) != len(texts):
        raise ValueError(f"got {len(languages)} languages for {len(texts)} texts")
    if languages is None:
        languages = language_detect_batch(texts)
    results: list[list[str]] = [[] for _ in texts]
    # Unknown language ("") only happens for empty or unreadable text; English is the only language NER reads.
    wanted = [
        index
        for index, (text, language) in enumerate(zip(texts, languages, strict=True))
        if text and text.strip() and (language or ENGLISH) == ENGLISH
    ]
    if not wanted:
        return results
    limit = settings.SIGNALFLOW_TOPICS_MAX_CHARS
    nlp = _nlp()
    started = time.monotonic()
    with _lock:  # one spaCy pipeline per process; nlp.pipe is not meant to be entered by two threads at once
        docs = nlp.pipe((texts[index][:limit] for index in wanted), batch_size=settings.SIGNALFLOW_TOPICS_BATCH_SIZE)
        for index, doc in zip(wanted, docs, strict=True):
            results[index] = topics_from_doc(doc)
    metrics.INFERENCE_SECONDS.labels("spacy").observe(time.monotonic() - started)
    return results
