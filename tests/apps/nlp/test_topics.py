"""Topics: spaCy NER + EntityRuler vocabulary, canonical forms, noise filter, limits, language gate."""

import json
import logging

import pytest

from apps.nlp import topics
from apps.nlp.topics import (
    KEPT_LABELS,
    MAX_TOPICS,
    topic_canonical,
    topics_extract_batch,
    topics_pipeline_ready,
    topics_text_from_signal,
)


def extract(text):
    return topics_extract_batch([text], languages=["en"])[0]


def test_the_statistical_model_is_installed_and_used():
    assert topics_pipeline_ready()
    # Only what NER needs runs: the parser and tagger would triple the cost.
    assert topics._nlp().pipe_names == ["tok2vec", "entity_ruler", "ner"]


def test_variants_merge_into_one_canonical_topic():
    found = extract("Iranian officials denied it. Iran's foreign minister spoke after Donald Trump's remarks.")
    assert "iran" in found
    assert "trump" in found
    assert not {"iranian", "iran's", "donald trump", "trump's"} & set(found)
    assert extract("Trump's tariffs on China")[0:2] == ["trump", "china"]


def test_vocabulary_terms_are_found_case_insensitively_with_their_canonical_id():
    assert {"openai", "chatgpt", "nvidia"} <= set(extract("openai shipped a chatgpt update and NVIDIA stock jumped"))


def test_whole_words_only():
    assert extract("She said the rain was plain and the train was late.") == []
    assert "ai" in extract("Everyone is talking about AI regulation in the EU.")
    # "who" the pronoun is not the World Health Organization; "WHO" is.
    assert extract("Who cares about the weather?") == []
    assert extract("The WHO issued guidance on measles.") == ["world health organization"]


def test_noise_is_dropped():
    found = extract("AITA? NTA. Posted on Reddit on Monday in January, also on YouTube and Bluesky. Thanks OP.")
    assert found == []


def test_topics_are_lower_case_and_capped():
    text = (
        "Google, Microsoft, Apple, Amazon, Nvidia, Tesla, Samsung, Intel Corp, Boeing, Netflix and Huawei "
        "met in Paris, Berlin and Tokyo."
    )
    found = extract(text)
    assert len(found) == MAX_TOPICS
    assert all(topic == topic.lower() for topic in found)
    assert len(set(found)) == len(found)


def test_most_mentioned_topics_come_first():
    found = extract("Tesla recalls cars. Google says nothing. Tesla shares fall as Tesla investors worry.")
    assert found[0] == "tesla"


def test_non_english_and_empty_texts_have_no_topics():
    german = "Bundeskanzler Scholz traf gestern in Berlin den französischen Präsidenten Macron."
    assert topics_extract_batch([german, "", "  "]) == [[], [], []]
    assert topics_extract_batch(["OpenAI released a model"], languages=["de"]) == [[]]


def test_batch_keeps_input_order():
    texts = [
        "Tesla recalls cars.",
        "",
        "NATO met in Brussels.",
        "Das ist ein Satz auf Deutsch über Berlin heute.",
        "Nvidia",
    ]
    batch = topics_extract_batch(texts)
    assert batch == [topics_extract_batch([text])[0] for text in texts]
    assert batch[0] == ["tesla"]
    assert batch[1] == []
    assert "nato" in batch[2]


def test_mismatched_languages_are_rejected():
    with pytest.raises(ValueError, match="2 languages for 1 texts"):
        topics_extract_batch(["x"], languages=["en", "en"])


@pytest.mark.parametrize(
    ("surface", "canonical"),
    [
        ("Iran's", "iran"),
        ("the Biden administration", "biden"),
        ("U.S.", "united states"),
        ('"OpenAI,"', "openai"),
        ("Republicans’", "republicans"),
        ("  Hacker   News ", "hacker news"),
    ],
)
def test_canonical_form(surface, canonical):
    assert topic_canonical(surface) == canonical


def test_text_from_signal():
    post = {"title": "Tesla recalls cars", "body": "Musk said nothing.", "extra": {}}
    assert topics_text_from_signal(post) == "Tesla recalls cars.\nMusk said nothing."
    assert topics_text_from_signal({"title": "", "body": "Only body", "extra": {}}) == "Only body"
    comment = {"title": "", "body": "Agreed about Nvidia", "extra": {"is_comment": True, "parent_title": "Tesla"}}
    assert topics_text_from_signal(comment) == "Agreed about Nvidia"


def test_text_from_signal_is_bounded(settings):
    settings.SIGNALFLOW_TOPICS_MAX_CHARS = 50
    assert len(topics_text_from_signal({"title": "T", "body": "word " * 1000, "extra": {}})) == 50


def test_vocabulary_data_file_has_at_least_50_terms_with_kept_labels():
    patterns = [json.loads(line) for line in topics.RULER_PATTERNS.read_text().splitlines() if line.strip()]
    assert len({pattern["id"] for pattern in patterns}) >= 50
    assert {pattern["label"] for pattern in patterns} <= KEPT_LABELS
    canonical = json.loads(topics.CANONICAL_MAP.read_text())
    assert canonical["iranian"] == "iran"
    assert canonical["donald trump"] == "trump"


def test_without_the_spacy_model_the_vocabulary_still_yields_topics(settings, caplog):
    settings.SIGNALFLOW_SPACY_MODEL = "en_core_web_not_installed"
    with caplog.at_level(logging.WARNING, logger="apps.nlp.topics"):
        found = extract("OpenAI and Nvidia announced a deal; Donald Trump commented on Monday.")
        assert extract("Tesla recalls cars.") == ["tesla"]
    assert found == ["openai", "nvidia", "trump"]
    assert not topics_pipeline_ready()
    warnings = [record for record in caplog.records if "not installed" in record.getMessage()]
    assert len(warnings) == 1
