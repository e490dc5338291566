"""Which language a signal is written in, so that English-only models never score other languages.

The platform's own tag wins when there is one (Bluesky `langs`). Otherwise lingua detects it: it ships its
own n-gram models inside the wheel, so nothing is downloaded. The detector is restricted to the languages
these platforms actually carry (fewer candidates: faster and fewer confusions). Its high-accuracy mode
(default) called 0.05 % of the 19,503 English VADER-corpus snippets non-English, low-accuracy mode 1.2 %
(e.g. "This is one of Polanski's best films." -> Swedish), at ~0.5 ms against ~0.1 ms a text and ~530 MB
against ~30 MB of models once warm; SIGNALFLOW_LANGUAGE_ACCURACY=low trades the one for the other. Every
detector is weak on very short texts, so a short Latin-script text is taken as English (the overwhelming
majority on these sources, and VADER copes with a stray foreign word far better than a wrong "non-English"
null would).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence

from django.conf import settings
from lingua import Language, LanguageDetector, LanguageDetectorBuilder

ENGLISH = "en"

# Languages seen on Reddit, Bluesky (heavy Japanese and Portuguese), Hacker News and YouTube comments.
DETECTED_LANGUAGES = (
    Language.ENGLISH,
    Language.SPANISH,
    Language.PORTUGUESE,
    Language.FRENCH,
    Language.GERMAN,
    Language.ITALIAN,
    Language.DUTCH,
    Language.SWEDISH,
    Language.POLISH,
    Language.TURKISH,
    Language.INDONESIAN,
    Language.TAGALOG,
    Language.RUSSIAN,
    Language.UKRAINIAN,
    Language.ARABIC,
    Language.PERSIAN,
    Language.HEBREW,
    Language.HINDI,
    Language.JAPANESE,
    Language.KOREAN,
    Language.CHINESE,
    Language.THAI,
    Language.VIETNAMESE,
)

# Below this many Latin letters (after URLs, mentions and hashtags are removed) detection is a coin toss.
MIN_LATIN_LETTERS = 24
# A non-English guess must be at least this confident; otherwise the text is taken as English.
MIN_CONFIDENCE = 0.5

_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+")
_HANDLE = re.compile(r"(?<!\w)[@#/][\w.\-/]+|\bu/\w+|\br/\w+")
_LATIN_LETTER = re.compile(r"[A-Za-zÀ-ɏ]")
# Letters of scripts that identify a language (or a small family) on their own, however short the text.
_OTHER_SCRIPT_LETTER = re.compile(
    r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f"
    r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]"
)
_CODE = re.compile(r"^[A-Za-z]{2}$")  # BCP-47 primary subtags: 3-letter ones (und, mul, zxx) say nothing usable

_lock = threading.Lock()


def _detector() -> LanguageDetector:
    return _detector_build(settings.SIGNALFLOW_LANGUAGE_ACCURACY.strip().lower())


@functools.cache
def _detector_build(accuracy: str) -> LanguageDetector:
    # Built once per process; lingua loads each language's model lazily on first need.
    builder = LanguageDetectorBuilder.from_languages(*DETECTED_LANGUAGES)
    if accuracy == "low":
        builder = builder.with_low_accuracy_mode()
    elif accuracy != "high":
        raise ValueError(f"SIGNALFLOW_LANGUAGE_ACCURACY must be high or low, not {accuracy!r}")
    return builder.build()


def language_normalise(code: str | None) -> str:
    """An ISO 639-1 code from a platform tag ("en-US", "pt_BR", "EN") or "" when it is not one."""
    if not code or not isinstance(code, str):
        return ""
    primary = re.split(r"[-_]", code.strip(), maxsplit=1)[0]
    if not _CODE.match(primary):
        return ""
    return primary.lower()


# The head of a long text decides its language as well as all of it would, at a bounded cost.
DETECTION_MAX_CHARS = 2_000


def _detection_text(text: str) -> str:
    return _HANDLE.sub(" ", _URL.sub(" ", text[:DETECTION_MAX_CHARS]))


def language_detect(text: str) -> str:
    """ISO 639-1 code of `text`; "en" when it is too short to tell; "" when there is no text at all."""
    return language_detect_batch([text])[0]


def language_detect_batch(texts: Sequence[str]) -> list[str]:
    """`language_detect` for many texts, short ones decided without running the detector."""
    results: list[str] = [""] * len(texts)
    pending: list[tuple[int, str]] = []
    for index, text in enumerate(texts):
        if not text or not text.strip():
            continue
        cleaned = _detection_text(text)
        other_script = len(_OTHER_SCRIPT_LETTER.findall(cleaned))
        latin = len(_LATIN_LETTER.findall(cleaned))
        if other_script == 0 and latin < MIN_LATIN_LETTERS:
            results[index] = ENGLISH
            continue
        pending.append((index, cleaned))
    if not pending:
        return results
    detector = _detector()
    with _lock:  # the detector is shared by threads; lingua's lazy model loading is not meant to race
        for index, cleaned in pending:
            language = detector.detect_language_of(cleaned)
            if language is None:
                results[index] = ENGLISH
                continue
            # Latin-script guesses between related languages are where low-accuracy mode errs.
            if (
                language is not Language.ENGLISH
                and _OTHER_SCRIPT_LETTER.search(cleaned) is None
                and detector.compute_language_confidence(cleaned, language) < MIN_CONFIDENCE
            ):
                results[index] = ENGLISH
                continue
            results[index] = language.iso_code_639_1.name.lower()
    return results


def language_resolve_batch(texts: Sequence[str], given: Sequence[str | None]) -> list[str]:
    """The platform's language where it gave one, else the detected one."""
    resolved = [language_normalise(code) for code in given]
    missing = [index for index, code in enumerate(resolved) if not code]
    if missing:
        detected = language_detect_batch([texts[index] for index in missing])
        for index, code in zip(missing, detected, strict=True):
            resolved[index] = code
    return resolved


def language_detector_ready() -> bool:
    """Load the detector's models now (a few seconds in high-accuracy mode) instead of on the first signal."""
    return bool(language_detect("This sentence is long enough to need the detector, so its models get loaded."))
