"""LLM summaries: Groq, OpenAI and Anthropic behind one interface, the key pool, prompt and answer parsing.

No database access here: services.py loads the signals and writes the results. The real client
libraries are used with their own retries off (max_retries=0) so that rate limits are handled
once, here: a 429 cools its key down for the provider's retry-after and the topic goes into
one retry pass.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any, Protocol

from django.conf import settings

from apps.intel import metrics

logger = logging.getLogger(__name__)

SUMMARY_FIELDS = ("summary", "dominant_narrative", "emerging_angle", "divergence_explanation", "source_platform")
MAX_FIELD_CHARS = 2_000
PLATFORMS = ("reddit", "bluesky", "hackernews", "youtube")
EXTRACTIVE = "extractive"

SYSTEM_PROMPT = (
    "You analyse public social-media conversation about one topic across platforms. "
    "Answer with ONE JSON object and nothing else, with exactly these string fields: "
    '"summary" (2-3 sentences), "dominant_narrative" (one sentence), "emerging_angle" (one sentence), '
    '"divergence_explanation" (one sentence on how and why platforms feel differently, or that they agree), '
    '"source_platform" (the platform driving the conversation: reddit, bluesky, hackernews or youtube). '
    "Base every statement on the quoted signals only."
)

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")


class LlmError(Exception):
    """A call failed in a way a retry pass will not fix (auth, bad request, server error)."""


class LlmRateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:.1f} s")
        self.retry_after = retry_after


class LlmTimeout(Exception):
    pass


class SummaryMalformed(ValueError):
    """The answer was not the JSON object asked for, even after repair."""


@dataclass(frozen=True)
class LlmAnswer:
    text: str
    provider: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int


class LlmClient(Protocol):
    provider: str
    model: str
    key_index: int

    def complete(self, *, system: str, prompt: str) -> LlmAnswer: ...


def _retry_after(response: Any) -> float:
    """Seconds from a 429's retry-after (or retry-after-ms) header, bounded; 1 s when absent or odd."""
    headers = getattr(response, "headers", None) or {}
    try:
        if headers.get("retry-after-ms"):
            seconds = float(headers["retry-after-ms"]) / 1000
        else:
            seconds = float(headers.get("retry-after", 1))
    except (TypeError, ValueError):
        seconds = 1.0
    return max(0.0, min(seconds, settings.SIGNALFLOW_LLM_RETRY_AFTER_MAX_S))


class OpenAICompatibleClient:
    """Chat completions through the `openai` or `groq` library (the same API surface and errors)."""

    def __init__(self, *, provider: str, api_key: str, model: str, base_url: str, key_index: int) -> None:
        self.provider = provider
        self.model = model
        self.key_index = key_index
        options: dict[str, Any] = {
            "api_key": api_key,
            "timeout": settings.SIGNALFLOW_LLM_TIMEOUT_S,
            "max_retries": 0,
        }
        if base_url:
            options["base_url"] = base_url
        if provider == "groq":
            import groq

            self._module: Any = groq
            self._client: Any = groq.Groq(**options)
        else:
            import openai

            self._module = openai
            self._client = openai.OpenAI(**options)

    def complete(self, *, system: str, prompt: str) -> LlmAnswer:
        module = self._module
        started = time.monotonic()
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                temperature=0.2,
                max_tokens=settings.SIGNALFLOW_LLM_MAX_TOKENS,
                response_format={"type": "json_object"},
            )
        except module.RateLimitError as exc:
            raise LlmRateLimited(_retry_after(exc.response)) from None
        except module.APITimeoutError:
            raise LlmTimeout(f"{self.provider} did not answer within {settings.SIGNALFLOW_LLM_TIMEOUT_S} s") from None
        except module.APIError as exc:
            raise LlmError(f"{self.provider}: {type(exc).__name__}: {str(exc)[:200]}") from None
        latency_ms = int((time.monotonic() - started) * 1000)
        if not response.choices:
            raise LlmError(f"{self.provider}: answer without choices")
        usage = response.usage
        return LlmAnswer(
            text=response.choices[0].message.content or "",
            provider=self.provider,
            model=response.model or self.model,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            latency_ms=latency_ms,
        )


class AnthropicClient:
    """Anthropic messages API through the `anthropic` library."""

    def __init__(self, *, api_key: str, model: str, base_url: str, key_index: int) -> None:
        import anthropic

        self.provider = "anthropic"
        self.model = model
        self.key_index = key_index
        options: dict[str, Any] = {"api_key": api_key, "timeout": settings.SIGNALFLOW_LLM_TIMEOUT_S, "max_retries": 0}
        if base_url:
            options["base_url"] = base_url
        self._module: Any = anthropic
        self._client: Any = anthropic.Anthropic(**options)

    def complete(self, *, system: str, prompt: str) -> LlmAnswer:
        module = self._module
        started = time.monotonic()
        try:
            response = self._client.messages.create(
                model=self.model,
                system=system,
                messages=[{"role": "user", "content": prompt}],
                max_tokens=settings.SIGNALFLOW_LLM_MAX_TOKENS,
            )
        except module.RateLimitError as exc:
            raise LlmRateLimited(_retry_after(exc.response)) from None
        except module.APITimeoutError:
            raise LlmTimeout(f"anthropic did not answer within {settings.SIGNALFLOW_LLM_TIMEOUT_S} s") from None
        except module.APIError as exc:
            raise LlmError(f"anthropic: {type(exc).__name__}: {str(exc)[:200]}") from None
        latency_ms = int((time.monotonic() - started) * 1000)
        text = "".join(getattr(block, "text", "") for block in response.content or [])
        usage = response.usage
        return LlmAnswer(
            text=text,
            provider=self.provider,
            model=response.model or self.model,
            prompt_tokens=getattr(usage, "input_tokens", None),
            completion_tokens=getattr(usage, "output_tokens", None),
            latency_ms=latency_ms,
        )


def llm_provider_name() -> str:
    """The provider SIGNALFLOW_LLM_PROVIDER selects: auto = the first with a key, else extractive."""
    choice = settings.SIGNALFLOW_LLM_PROVIDER.strip().lower()
    available = {
        "groq": bool(settings.GROQ_API_KEYS),
        "openai": bool(settings.OPENAI_API_KEY),
        "anthropic": bool(settings.ANTHROPIC_API_KEY),
    }
    if choice == "auto":
        return next((name for name, has_key in available.items() if has_key), EXTRACTIVE)
    if choice == EXTRACTIVE:
        return EXTRACTIVE
    if choice not in available:
        raise ValueError(f"SIGNALFLOW_LLM_PROVIDER={choice!r}: use auto, groq, openai, anthropic or extractive")
    if not available[choice]:
        logger.warning("SIGNALFLOW_LLM_PROVIDER=%s but no key is configured: using the extractive summariser", choice)
        return EXTRACTIVE
    return choice


def llm_clients_create() -> list[LlmClient]:
    """One client per configured key of the selected provider; empty means extractive."""
    provider = llm_provider_name()
    if provider == "groq":
        return [
            OpenAICompatibleClient(
                provider="groq",
                api_key=key,
                model=settings.GROQ_MODEL,
                base_url=settings.GROQ_BASE_URL,
                key_index=index,
            )
            for index, key in enumerate(settings.GROQ_API_KEYS)
        ]
    if provider == "openai":
        return [
            OpenAICompatibleClient(
                provider="openai",
                api_key=settings.OPENAI_API_KEY,
                model=settings.OPENAI_MODEL,
                base_url=settings.OPENAI_BASE_URL,
                key_index=0,
            )
        ]
    if provider == "anthropic":
        return [
            AnthropicClient(
                api_key=settings.ANTHROPIC_API_KEY,
                model=settings.ANTHROPIC_MODEL,
                base_url=settings.ANTHROPIC_BASE_URL,
                key_index=0,
            )
        ]
    return []


# --- prompt ---------------------------------------------------------------------------------


def text_for_prompt(title: str, body: str, limit: int) -> str:
    """One signal's text: URLs stripped, whitespace collapsed, bounded to `limit` characters."""
    text = " — ".join(part for part in (title or "", body or "") if part.strip())
    text = _SPACE_RE.sub(" ", _URL_RE.sub("", text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summary_prompt_build(
    *, topic: str, stats: Sequence[Any], samples: Sequence[dict[str, Any]], divergence: str = ""
) -> str:
    """The user prompt: per-platform volume and sentiment, then platform-tagged signals.

    Signals are taken round-robin across platforms until SIGNALFLOW_SUMMARY_PROMPT_CHARS, so every
    platform is represented however chatty one of them is.
    """
    limit = settings.SIGNALFLOW_SUMMARY_PROMPT_CHARS
    per_signal = settings.SIGNALFLOW_SUMMARY_SIGNAL_CHARS
    lines = [f"Topic: {topic[:100]}", "Per platform (signals, mean sentiment on [-1, 1]):"]
    for item in stats:
        mean = "n/a" if item.mean is None else f"{item.mean:+.2f}"
        lines.append(f"- {item.platform}: {item.total} signals, sentiment {mean}")
    if divergence:
        lines.append(f"Detected divergence: {divergence}")
    lines.append("Representative signals:")
    header = "\n".join(lines)
    by_platform: dict[str, list[str]] = {}
    for sample in samples:
        text = text_for_prompt(sample.get("title", ""), sample.get("body", ""), per_signal)
        if text:
            by_platform.setdefault(sample["platform"], []).append(f"[{sample['platform']}] {text}")
    body: list[str] = []
    used = len(header)
    rank = 0
    while any(rank < len(items) for items in by_platform.values()):
        for platform in sorted(by_platform):
            items = by_platform[platform]
            if rank < len(items) and used + len(items[rank]) + 1 <= limit:
                body.append(items[rank])
                used += len(items[rank]) + 1
        rank += 1
    return (header + "\n" + "\n".join(body))[:limit]


# --- answers --------------------------------------------------------------------------------


def _first_json_object(text: str) -> str | None:
    """The first balanced {...} in `text`, respecting strings; None if there is none."""
    start = text.find("{")
    while start != -1:
        depth, in_string, escaped = 0, False, False
        for index in range(start, len(text)):
            char = text[index]
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return text[start : index + 1]
        start = text.find("{", start + 1)
    return None


def _fields_validate(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        raise SummaryMalformed(f"answer is a JSON {type(data).__name__}, not an object")
    missing = [name for name in SUMMARY_FIELDS if name not in data]
    if missing:
        raise SummaryMalformed(f"answer lacks {', '.join(missing)}")
    fields: dict[str, str] = {}
    for name in SUMMARY_FIELDS:
        value = data[name]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise SummaryMalformed(f"{name} is a {type(value).__name__}, not a string")
        fields[name] = value.strip()[:MAX_FIELD_CHARS]
    if not fields["summary"]:
        raise SummaryMalformed("summary is empty")
    platform = fields["source_platform"].lower().replace(" ", "")
    fields["source_platform"] = platform if platform in PLATFORMS else ""
    return fields


def summary_parse(text: str) -> tuple[dict[str, str], bool]:
    """Strict JSON first; else repair (code fences, prose around the object, trailing commas).

    Returns the fields and whether a repair was needed; raises SummaryMalformed when neither works.
    """
    try:
        return _fields_validate(json.loads(text)), False
    except json.JSONDecodeError:
        pass
    candidate = _first_json_object(text or "")
    if candidate is None:
        raise SummaryMalformed("answer contains no JSON object")
    candidate = re.sub(r",\s*([}\]])", r"\1", candidate)
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise SummaryMalformed(f"answer is not valid JSON even after repair: {exc.msg}") from None
    return _fields_validate(data), True


# --- the key pool ---------------------------------------------------------------------------


@dataclass
class SummaryJob:
    topic: str
    prompt: str
    result: dict[str, Any] | None = None
    error: str = ""
    attempts: int = 0


@dataclass
class _KeySlot:
    client: LlmClient
    not_before: float = 0.0  # monotonic time of the next allowed call (spacing, or a 429's retry-after)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _job_run(slot: _KeySlot, job: SummaryJob, retry: list[SummaryJob], retry_lock: threading.Lock) -> None:
    client = slot.client
    wait = slot.not_before - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    job.attempts += 1
    slot.calls += 1
    try:
        answer = client.complete(system=SYSTEM_PROMPT, prompt=job.prompt)
    except LlmRateLimited as exc:
        metrics.LLM_ERRORS.labels(client.provider, "rate_limited").inc()
        slot.not_before = time.monotonic() + max(exc.retry_after, settings.SIGNALFLOW_LLM_SPACING_S)
        job.error = str(exc)
        with retry_lock:
            retry.append(job)
        return
    except LlmTimeout as exc:
        metrics.LLM_ERRORS.labels(client.provider, "timeout").inc()
        slot.not_before = time.monotonic() + settings.SIGNALFLOW_LLM_SPACING_S
        job.error = str(exc)
        with retry_lock:
            retry.append(job)
        return
    except Exception as exc:  # LlmError, or anything unexpected: one topic fails, never the key's thread
        metrics.LLM_ERRORS.labels(client.provider, "api").inc()
        slot.not_before = time.monotonic() + settings.SIGNALFLOW_LLM_SPACING_S
        job.error = str(exc)
        logger.warning("summary of %r failed on %s key %d: %s", job.topic, client.provider, client.key_index, exc)
        return
    slot.not_before = time.monotonic() + settings.SIGNALFLOW_LLM_SPACING_S
    metrics.LLM_LATENCY.labels(answer.provider).observe(answer.latency_ms / 1000)
    if answer.prompt_tokens:
        metrics.LLM_TOKENS.labels(answer.provider, "prompt").inc(answer.prompt_tokens)
    if answer.completion_tokens:
        metrics.LLM_TOKENS.labels(answer.provider, "completion").inc(answer.completion_tokens)
    try:
        fields, repaired = summary_parse(answer.text)
    except SummaryMalformed as exc:
        metrics.LLM_ERRORS.labels(client.provider, "malformed").inc()
        job.error = f"malformed answer: {exc}"
        logger.warning("summary of %r skipped: %s", job.topic, exc)
        return
    if repaired:
        metrics.LLM_ERRORS.labels(client.provider, "repaired").inc()
    job.error = ""
    job.result = {
        **fields,
        "provider": answer.provider,
        "model": answer.model[:100],
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "latency_ms": answer.latency_ms,
    }


def _pass_run(slots: list[_KeySlot], jobs: list[SummaryJob]) -> list[SummaryJob]:
    """Every key takes the next topic when its own previous call and spacing are done.

    One thread per key, so one call in flight per key; returns the jobs to retry (429, timeout).
    """
    pending: SimpleQueue[SummaryJob] = SimpleQueue()
    for job in jobs:
        pending.put(job)
    retry: list[SummaryJob] = []
    retry_lock = threading.Lock()

    def key_worker(slot: _KeySlot) -> None:
        while True:
            try:
                job = pending.get_nowait()
            except Empty:
                return
            with slot.lock:
                _job_run(slot, job, retry, retry_lock)

    threads = [threading.Thread(target=key_worker, args=(slot,), daemon=True) for slot in slots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return retry


def summaries_generate(jobs: list[SummaryJob], clients: Sequence[LlmClient]) -> list[SummaryJob]:
    """Run every job on the key pool: a first pass, then one retry pass for rate-limited and timed-out ones."""
    slots = [_KeySlot(client=client) for client in clients]
    retry = _pass_run(slots, jobs)
    if retry:
        logger.info("LLM retry pass for %d topic(s)", len(retry))
        still_failing = _pass_run(slots, retry)
        for job in still_failing:
            logger.warning("summary of %r skipped after the retry pass: %s", job.topic, job.error)
    return jobs


# --- offline extractive summariser ----------------------------------------------------------


def _tone(mean: float) -> str:
    if mean >= 0.35:
        return "clearly positive"
    if mean >= 0.05:
        return "mildly positive"
    if mean > -0.05:
        return "neutral"
    if mean > -0.35:
        return "mildly negative"
    return "clearly negative"


def summary_extractive(
    *, topic: str, stats: Sequence[Any], samples: Sequence[dict[str, Any]], min_gap: float
) -> dict[str, Any]:
    """The same fields as an LLM answer, drawn from the signals themselves: no network, deterministic."""
    display = {"reddit": "Reddit", "bluesky": "Bluesky", "hackernews": "Hacker News", "youtube": "YouTube"}
    limit = settings.SIGNALFLOW_SUMMARY_SIGNAL_CHARS
    ordered = sorted(stats, key=lambda item: (-item.total, item.platform))
    total = sum(item.total for item in ordered)
    source = ordered[0].platform if ordered else ""
    parts = []
    for item in ordered:
        mean = "" if item.mean is None else f", sentiment {item.mean:+.2f}"
        parts.append(f"{display.get(item.platform, item.platform)} {item.total}{mean}")
    texts = {
        platform: [
            text
            for sample in samples
            if sample["platform"] == platform and (text := text_for_prompt(sample["title"], sample["body"], limit))
        ]
        for platform in {sample["platform"] for sample in samples}
    }
    lead = (texts.get(source) or [""])[0]
    summary = f"{total} signals about {topic} ({'; '.join(parts)})."
    if lead:
        summary += f" Most prominent: “{lead}”"
    newest = sorted(
        (sample for sample in samples if text_for_prompt(sample["title"], sample["body"], limit) != lead),
        key=lambda sample: sample["published_at"],
        reverse=True,
    )
    emerging = text_for_prompt(newest[0]["title"], newest[0]["body"], limit) if newest else ""
    scored = [item for item in ordered if item.mean is not None]
    explanation = ""
    if len(scored) >= 2:
        low = min(scored, key=lambda item: item.mean)
        high = max(scored, key=lambda item: item.mean)
        gap = high.mean - low.mean
        if gap >= min_gap:
            explanation = (
                f"{display.get(low.platform, low.platform)} is {_tone(low.mean)} ({low.mean:+.2f}) while "
                f"{display.get(high.platform, high.platform)} is {_tone(high.mean)} ({high.mean:+.2f}), a gap of "
                f"{gap:.2f}."
            )
        else:
            explanation = f"Platforms broadly agree: sentiment spans {gap:.2f} across {len(scored)} platforms."
    elif scored:
        explanation = f"Only {display.get(scored[0].platform, scored[0].platform)} has scored signals so far."
    return {
        "summary": summary[:MAX_FIELD_CHARS],
        "dominant_narrative": lead[:MAX_FIELD_CHARS],
        "emerging_angle": emerging[:MAX_FIELD_CHARS],
        "divergence_explanation": explanation,
        "source_platform": source,
        "provider": EXTRACTIVE,
        "model": EXTRACTIVE,
        "prompt_tokens": None,
        "completion_tokens": None,
        "latency_ms": None,
    }
