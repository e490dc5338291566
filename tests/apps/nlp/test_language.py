"""Language detection and platform tags: what keeps English-only models off other languages."""

import pytest

from apps.nlp.language import language_detect, language_detect_batch, language_normalise, language_resolve_batch


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("en", "en"), ("en-US", "en"), ("pt_BR", "pt"), ("JA", "ja"), ("und", ""), ("", ""), (None, ""), ("e1", "")],
)
def test_platform_tags_become_iso_639_1(tag, expected):
    assert language_normalise(tag) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is honestly the best update they have shipped in years, well done!", "en"),
        ("Das ist wirklich ein schöner Tag heute, oder nicht? Ich gehe spazieren.", "de"),
        ("Esto es increíble, me encanta mucho este lugar y la comida es buenísima.", "es"),
        ("Eu adoro muito esta cidade, é maravilhosa demais e as pessoas são ótimas.", "pt"),
        ("Bonjour tout le monde, comment allez-vous aujourd'hui ? Il fait très beau.", "fr"),
        ("今日はいい天気ですね", "ja"),  # short, but the script alone decides
        ("Привет, как дела?", "ru"),
    ],
)
def test_detects_the_language_of_real_sentences(text, expected):
    assert language_detect(text) == expected


@pytest.mark.parametrize("text", ["lol ok", "NTA", "this 👍", "Ja.", "Merci!"])
def test_short_latin_text_is_taken_as_english(text):
    # Too short to tell: a wrong "non-English" would null out a perfectly scorable reply.
    assert language_detect(text) == "en"


def test_links_and_handles_do_not_sway_detection():
    text = "Great write-up https://example.de/ueber/die/zukunft @someone.bsky.social #rustlang thanks for sharing it"
    assert language_detect(text) == "en"


def test_empty_text_has_no_language():
    assert language_detect_batch(["", "   ", "\n"]) == ["", "", ""]


def test_the_platform_tag_wins_over_detection():
    english = "This is honestly the best update they have shipped in years, well done!"
    german = "Das ist wirklich ein schöner Tag heute, oder nicht? Ich gehe spazieren."
    assert language_resolve_batch([english, german, english], ["es", None, "und"]) == ["es", "de", "en"]
