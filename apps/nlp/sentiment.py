"""Sentiment of signals, routed per signal: comments through a Twitter-trained RoBERTa, posts through VADER.

Why two models: comments are tweet-like replies, the domain the cardiffnlp model was trained on; post titles
are headline-like and VADER's rules (capitals, punctuation, emoji, boosters, "but") read them well and cost
microseconds. VADER gets the raw text, because those very features are its signal.

The transformer (SIGNALFLOW_SENTIMENT_MODEL: a hub id or a local directory) is loaded once per process on
first use and kept; if it cannot be loaded, comments fall back to VADER, each result says "vader-fallback",
a metric counts them and the failure is logged once; the load is retried after
SIGNALFLOW_SENTIMENT_RETRY_SECONDS so a fixed model directory heals without a restart.

Languages: VADER and the English RoBERTa read English only. Text in another language gets a null sentiment
(not a misleading 0) with its language set, unless SIGNALFLOW_SENTIMENT_LANGUAGES says the configured
transformer reads it (a multilingual model), in which case the transformer scores it, post or comment.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.nlp import metrics_models as metrics
from apps.nlp.language import ENGLISH, language_resolve_batch

logger = logging.getLogger(__name__)

MODEL_AUTO = "auto"
MODEL_VADER = "vader"
MODEL_ROBERTA = "roberta"
MODEL_VADER_FALLBACK = "vader-fallback"
MODELS = (MODEL_AUTO, MODEL_VADER, MODEL_ROBERTA)

POSITIVE = "positive"
NEUTRAL = "neutral"
NEGATIVE = "negative"

# VADER's authors' thresholds for calling a compound score positive or negative.
VADER_NEUTRAL_BAND = 0.05
# VADER is linear in the text but slow in pure Python; beyond this it reads the head of the text only.
VADER_MAX_CHARS = 20_000
# Characters handed to the tokenizer per token allowed: enough for any text to fill max_tokens.
_CHARS_PER_TOKEN = 10

# The cardiffnlp models were trained with user mentions and links masked this way.
_MENTION = re.compile(r"(?<![\w@])@[\w.\-]+")
_LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class SentimentInput:
    id: str
    text: str
    is_comment: bool
    lang: str | None = None  # language given by the platform (e.g. Bluesky langs[0]); None = detect


@dataclass(frozen=True)
class SentimentResult:
    id: str
    compound: float | None  # in [-1, 1]; None where the pipeline would not score the text
    label: str | None  # "positive" | "neutral" | "negative" | None
    model: str | None  # "roberta", "vader", "vader-fallback"; None when not scored
    language: str  # ISO 639-1 code or "" when unknown


def sentiment_input_from_signal(signal: dict[str, Any]) -> SentimentInput:
    """What the pipeline scores for a normalised signal: a comment's body; a post's title, else its body."""
    extra = signal.get("extra") or {}
    is_comment = bool(extra.get("is_comment"))
    title = signal.get("title") or ""
    body = signal.get("body") or ""
    text = body if is_comment else (title if title.strip() else body)
    lang = None
    langs = extra.get("langs")
    if isinstance(langs, list) and langs and isinstance(langs[0], str):
        lang = langs[0]
    elif isinstance(extra.get("lang"), str):
        lang = extra["lang"]
    return SentimentInput(id=str(signal.get("id", "")), text=text, is_comment=is_comment, lang=lang)


def _label_from_compound(compound: float) -> str:
    if compound >= VADER_NEUTRAL_BAND:
        return POSITIVE
    if compound <= -VADER_NEUTRAL_BAND:
        return NEGATIVE
    return NEUTRAL


@functools.cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_compound(text: str) -> float:
    """VADER's compound score of the raw text (no lower-casing, no stripping: its rules read those)."""
    return float(_vader().polarity_scores(text[:VADER_MAX_CHARS])["compound"])


# --- The transformer, one per process -------------------------------------------------------------------


@dataclass
class _Transformer:
    source: str
    tokenizer: Any
    model: Any
    device: Any
    negative: int
    positive: int
    labels: dict[int, str]  # class index -> positive | neutral | negative
    max_tokens: int


_lock = threading.Lock()
_loaded: _Transformer | None = None
_failed: dict[str, float] = {}  # source -> monotonic time of the last failed load


def _labels_from_config(id2label: dict[Any, Any]) -> tuple[int, int, dict[int, str]]:
    """(negative index, positive index, index -> canonical label) from the model config's id2label."""
    names = {int(index): str(label).strip().lower() for index, label in id2label.items()}
    if set(names.values()) == {"label_0", "label_1", "label_2"}:
        # cardiffnlp/twitter-roberta-base-sentiment (the older release) ships unnamed labels in this order.
        names = {0: NEGATIVE, 1: NEUTRAL, 2: POSITIVE}
    labels: dict[int, str] = {}
    for index, name in names.items():
        for canonical in (NEGATIVE, NEUTRAL, POSITIVE):
            if name.startswith(canonical[:3]):
                labels[index] = canonical
    negatives = [index for index, label in labels.items() if label == NEGATIVE]
    positives = [index for index, label in labels.items() if label == POSITIVE]
    if len(negatives) != 1 or len(positives) != 1 or len(labels) != len(names):
        raise ValueError(f"the model's id2label {id2label!r} does not name one negative and one positive class")
    return negatives[0], positives[0], labels


def _device(torch: Any) -> Any:
    wanted = settings.SIGNALFLOW_SENTIMENT_DEVICE.strip().lower() or "auto"
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(wanted)


def _torch_threads() -> int:
    configured = settings.SIGNALFLOW_TORCH_THREADS
    if configured > 0:
        return configured
    return max(1, len(os.sched_getaffinity(0)))


def _transformer_load(source: str) -> _Transformer:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a worker's log is not a terminal
    local = Path(source).expanduser()
    is_path = source.startswith(("/", ".", "~")) or local.is_dir()
    if is_path and not local.is_dir():
        # Fail here with the path, instead of letting the hub client treat it as a repository id.
        raise FileNotFoundError(f"SIGNALFLOW_SENTIMENT_MODEL={source!r} is not a directory")
    where = str(local) if is_path else source
    device = _device(torch)
    if device.type == "cpu":
        torch.set_num_threads(_torch_threads())
    tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=is_path)
    model = AutoModelForSequenceClassification.from_pretrained(where, local_files_only=is_path)
    model.eval()
    model.to(device)
    negative, positive, labels = _labels_from_config(model.config.id2label)
    # RoBERTa's position ids start after the padding index, so the usable length is 2 short of the table.
    positions = getattr(model.config, "max_position_embeddings", 514) - 2
    max_tokens = max(8, min(settings.SIGNALFLOW_SENTIMENT_MAX_TOKENS, positions))
    return _Transformer(source, tokenizer, model, device, negative, positive, labels, max_tokens)


def _transformer_get() -> _Transformer | None:
    """The process's transformer, loading it on first use; None while it cannot be loaded."""
    global _loaded
    source = settings.SIGNALFLOW_SENTIMENT_MODEL
    with _lock:
        if _loaded is not None and _loaded.source == source:
            return _loaded
        failed_at = _failed.get(source)
        if failed_at is not None and time.monotonic() - failed_at < settings.SIGNALFLOW_SENTIMENT_RETRY_SECONDS:
            return None
        started = time.monotonic()
        try:
            transformer = _transformer_load(source)
        except Exception as exc:  # any failure (missing files, bad config, OOM) must leave VADER running
            metrics.TRANSFORMER_LOADS.labels("error").inc()
            if failed_at is None:  # logged once per model source, not on every retry
                logger.warning(
                    "sentiment transformer %r could not be loaded (%s: %s); comments fall back to VADER",
                    source,
                    type(exc).__name__,
                    exc,
                )
            _failed[source] = time.monotonic()
            return None
        metrics.TRANSFORMER_LOADS.labels("ok").inc()
        _failed.pop(source, None)
        _loaded = transformer
        logger.info(
            "sentiment transformer %r loaded on %s in %.1f s", source, transformer.device, time.monotonic() - started
        )
        return transformer


def sentiment_transformer_ready() -> bool:
    """Load the transformer now (e.g. at worker start) instead of on the first comment; True if it is usable."""
    return _transformer_get() is not None


def _transformer_text(text: str, max_tokens: int) -> str:
    text = text[: max_tokens * _CHARS_PER_TOKEN]
    return _LINK.sub("http", _MENTION.sub("@user", text))


def _transformer_scores(transformer: _Transformer, texts: Sequence[str]) -> list[tuple[float, str]]:
    """(compound, label) per text; batches of similar length so that padding wastes little."""
    import torch

    order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
    scores: list[tuple[float, str]] = [(0.0, NEUTRAL)] * len(texts)
    batch_size = max(1, settings.SIGNALFLOW_SENTIMENT_BATCH_SIZE)
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        encoded = transformer.tokenizer(
            [_transformer_text(texts[index], transformer.max_tokens) for index in indices],
            padding=True,
            truncation=True,
            max_length=transformer.max_tokens,
            return_tensors="pt",
        ).to(transformer.device)
        with torch.inference_mode():
            logits = transformer.model(**encoded).logits
        probabilities = logits.float().softmax(dim=-1).cpu()
        for row, index in zip(probabilities.tolist(), indices, strict=True):
            compound = row[transformer.positive] - row[transformer.negative]
            best = max(range(len(row)), key=row.__getitem__)
            scores[index] = (max(-1.0, min(1.0, compound)), transformer.labels[best])
    return scores


# --- Routing --------------------------------------------------------------------------------------------


def _transformer_languages() -> set[str] | None:
    """Languages the configured transformer reads; None means all of them."""
    raw = settings.SIGNALFLOW_SENTIMENT_LANGUAGES
    codes = {code.strip().lower() for code in raw.split(",") if code.strip()}
    if "*" in codes:
        return None
    return codes or {ENGLISH}


def sentiment_score_batch(items: Sequence[SentimentInput], *, model: str = MODEL_AUTO) -> list[SentimentResult]:
    """Score a batch, results in input order. `model` auto routes as the pipeline does; vader|roberta force one."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
    started = time.monotonic()
    languages = language_resolve_batch([item.text for item in items], [item.lang for item in items])
    metrics.INFERENCE_SECONDS.labels("language").observe(time.monotonic() - started)
    readable = _transformer_languages()

    results: list[SentimentResult | None] = [None] * len(items)
    to_vader: list[int] = []
    to_transformer: list[int] = []
    for index, (item, language) in enumerate(zip(items, languages, strict=True)):
        if not item.text or not item.text.strip():
            results[index] = SentimentResult(item.id, None, None, None, "")
            metrics.SENTIMENT_SKIPPED.labels("empty").inc()
        elif model == MODEL_VADER:
            to_vader.append(index)
        elif model == MODEL_ROBERTA:
            to_transformer.append(index)
        elif language != ENGLISH:
            if readable is None or language in readable:
                to_transformer.append(index)
            else:
                results[index] = SentimentResult(item.id, None, None, None, language)
                metrics.SENTIMENT_SKIPPED.labels("language").inc()
        elif item.is_comment:
            to_transformer.append(index)
        else:
            to_vader.append(index)

    fallback: list[int] = []
    if to_transformer:
        transformer = _transformer_get()
        if transformer is None:
            fallback = to_transformer
            metrics.SENTIMENT_FALLBACKS.labels("load").inc(len(fallback))
        else:
            started = time.monotonic()
            try:
                scored = _transformer_scores(transformer, [items[index].text for index in to_transformer])
            except Exception:  # e.g. CUDA out of memory: degrade this batch rather than lose it
                logger.exception("sentiment transformer failed on a batch of %d; VADER scores it", len(to_transformer))
                fallback = to_transformer
                metrics.SENTIMENT_FALLBACKS.labels("inference").inc(len(fallback))
            else:
                metrics.INFERENCE_SECONDS.labels(MODEL_ROBERTA).observe(time.monotonic() - started)
                metrics.SENTIMENT_SCORED.labels(MODEL_ROBERTA).inc(len(to_transformer))
                for index, (compound, label) in zip(to_transformer, scored, strict=True):
                    results[index] = SentimentResult(items[index].id, compound, label, MODEL_ROBERTA, languages[index])

    for indices, name in ((to_vader, MODEL_VADER), (fallback, MODEL_VADER_FALLBACK)):
        if not indices:
            continue
        started = time.monotonic()
        scored_count = 0
        for index in indices:
            item = items[index]
            if name == MODEL_VADER_FALLBACK and languages[index] != ENGLISH and model == MODEL_AUTO:
                # Routed to a multilingual transformer that is down: VADER cannot read it either.
                results[index] = SentimentResult(item.id, None, None, None, languages[index])
                metrics.SENTIMENT_SKIPPED.labels("language").inc()
                continue
            compound = vader_compound(item.text)
            results[index] = SentimentResult(item.id, compound, _label_from_compound(compound), name, languages[index])
            scored_count += 1
        metrics.INFERENCE_SECONDS.labels(MODEL_VADER).observe(time.monotonic() - started)
        metrics.SENTIMENT_SCORED.labels(name).inc(scored_count)
    done = [result for result in results if result is not None]
    assert len(done) == len(items), "every item is routed to exactly one outcome"
    return done
