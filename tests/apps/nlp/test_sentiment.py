"""Sentiment routing, the transformer path on a locally built tiny RoBERTa, VADER on raw text, and the fallback."""

import json
import logging
import shutil

import pytest
import torch
from prometheus_client import REGISTRY
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from apps.nlp import sentiment
from apps.nlp.sentiment import (
    SentimentInput,
    SentimentResult,
    sentiment_input_from_signal,
    sentiment_score_batch,
    sentiment_transformer_ready,
)
from tests.support.tiny_models import roberta_build, tiny_roberta_dir

GERMAN = "Das ist wirklich ein schöner Tag heute, oder nicht? Ich gehe gleich spazieren."
SPANISH = "No puedo creer que todavía estemos hablando de esto, qué vergüenza para todos."


@pytest.fixture
def tiny_roberta(settings):
    settings.SIGNALFLOW_SENTIMENT_MODEL = str(tiny_roberta_dir())
    return tiny_roberta_dir()


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def reference_scores(model_dir, texts):
    """p(positive) - p(negative) and argmax label, computed independently of apps.nlp.sentiment."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    out = []
    for text in texts:
        encoded = tokenizer(text, truncation=True, max_length=128, return_tensors="pt")
        with torch.no_grad():
            probabilities = model(**encoded).logits.softmax(-1)[0].tolist()
        label = model.config.id2label[max(range(3), key=probabilities.__getitem__)]
        out.append((probabilities[2] - probabilities[0], label))
    return out


# --- Choosing the text -----------------------------------------------------------------------------------


def test_comment_scores_its_body():
    item = sentiment_input_from_signal(
        {"id": "reddit:c1", "title": "", "body": "Great answer", "extra": {"is_comment": True, "parent_title": "X"}}
    )
    assert item == SentimentInput(id="reddit:c1", text="Great answer", is_comment=True, lang=None)


def test_post_scores_its_title_or_its_body_without_one():
    with_title = sentiment_input_from_signal({"id": "hackernews:1", "title": "Awful outage", "body": "Long text"})
    assert (with_title.text, with_title.is_comment) == ("Awful outage", False)
    without = sentiment_input_from_signal({"id": "bluesky:x", "title": "  ", "body": "Lovely day", "extra": {}})
    assert without.text == "Lovely day"


def test_platform_language_comes_from_extra_langs():
    item = sentiment_input_from_signal({"id": "bluesky:p", "body": "Olá", "extra": {"langs": ["pt-BR", "en"]}})
    assert item.lang == "pt-BR"
    assert sentiment_input_from_signal({"id": "bluesky:q", "body": "x", "extra": {"langs": []}}).lang is None


# --- VADER on posts --------------------------------------------------------------------------------------


def test_posts_get_vader_on_the_raw_text():
    raw = "I LOVE this!!! 😀"
    [result] = sentiment_score_batch([SentimentInput("p", raw, is_comment=False)])
    expected = SentimentIntensityAnalyzer().polarity_scores(raw)["compound"]
    assert result == SentimentResult("p", expected, "positive", "vader", "en")
    # Capitals, "!!!" and the emoji are VADER's signal: the raw text must score higher than a cleaned one.
    assert expected > SentimentIntensityAnalyzer().polarity_scores("i love this")["compound"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("This is wonderful news", "positive"),
        ("The flight leaves at noon", "neutral"),
        ("What a horrible mess", "negative"),
    ],
)
def test_vader_labels(text, label):
    assert sentiment_score_batch([SentimentInput("p", text, is_comment=False)])[0].label == label


# --- The transformer on comments -------------------------------------------------------------------------


def test_comments_go_through_the_transformer(tiny_roberta):
    texts = ["I love this so much", "This is terrible @someone https://example.com/x", "Meh."]
    results = sentiment_score_batch([SentimentInput(str(i), t, is_comment=True) for i, t in enumerate(texts)])
    assert [r.model for r in results] == ["roberta"] * 3
    # The cardiffnlp preprocessing masks handles and links before the model sees them.
    masked = [texts[0], "This is terrible @user http", texts[2]]
    for result, (compound, label) in zip(results, reference_scores(tiny_roberta, masked), strict=True):
        assert result.compound == pytest.approx(compound, abs=1e-5)
        assert result.label == label
        assert -1.0 <= result.compound <= 1.0
        assert result.language == "en"


def test_batching_and_length_sorting_keep_input_order(tiny_roberta, settings):
    texts = [("word " * n).strip() + f" {n}" for n in (40, 1, 17, 3, 60, 2, 9)]
    items = [SentimentInput(str(i), t, is_comment=True) for i, t in enumerate(texts)]
    settings.SIGNALFLOW_SENTIMENT_BATCH_SIZE = 64
    whole = sentiment_score_batch(items)
    settings.SIGNALFLOW_SENTIMENT_BATCH_SIZE = 2
    split = sentiment_score_batch(items)
    assert [r.id for r in split] == [str(i) for i in range(len(texts))]
    for a, b in zip(whole, split, strict=True):
        assert a.compound == pytest.approx(b.compound, abs=1e-4)
    one_by_one = [sentiment_score_batch([item])[0].compound for item in items]
    assert [r.compound for r in split] == pytest.approx(one_by_one, abs=1e-4)


def test_text_longer_than_the_model_is_truncated_not_fatal(tiny_roberta):
    # The tiny model has 128 positions; this is thousands of tokens.
    [result] = sentiment_score_batch([SentimentInput("long", "so good " * 3000, is_comment=True)])
    assert result.model == "roberta"


def test_mixed_batch_routes_each_item_and_keeps_order(tiny_roberta):
    items = [
        SentimentInput("post", "Awful news tonight", is_comment=False),
        SentimentInput("comment", "I agree with you", is_comment=True),
        SentimentInput("empty", "   ", is_comment=True),
        SentimentInput("german", GERMAN, is_comment=True),
        SentimentInput("tagged", "This is great", is_comment=False, lang="es"),
        SentimentInput("short", "lol", is_comment=False),
    ]
    results = sentiment_score_batch(items)
    assert [r.id for r in results] == [i.id for i in items]
    assert [(r.model, r.language) for r in results] == [
        ("vader", "en"),
        ("roberta", "en"),
        (None, ""),
        (None, "de"),
        (None, "es"),  # the platform said Spanish: English models stay off it
        ("vader", "en"),  # too short to detect: English
    ]
    assert all(r.compound is None and r.label is None for r in results[2:5])


def test_model_loaded_once_per_process(tiny_roberta):
    sentiment_score_batch([SentimentInput("a", "first", is_comment=True)])
    loads = sample("signalflow_nlp_transformer_loads_total", outcome="ok")
    loaded = sentiment._transformer_get()
    for _ in range(3):
        sentiment_score_batch([SentimentInput("a", "again", is_comment=True)])
    assert sample("signalflow_nlp_transformer_loads_total", outcome="ok") == loads
    assert sentiment._transformer_get() is loaded
    assert sentiment_transformer_ready()


def test_forcing_a_model(tiny_roberta):
    comment = SentimentInput("c", "Absolutely fantastic", is_comment=True)
    post = SentimentInput("p", "Absolutely fantastic", is_comment=False)
    assert [r.model for r in sentiment_score_batch([comment, post], model="vader")] == ["vader", "vader"]
    assert [r.model for r in sentiment_score_batch([comment, post], model="roberta")] == ["roberta", "roberta"]
    with pytest.raises(ValueError, match="model must be one of"):
        sentiment_score_batch([post], model="bert")


def test_multilingual_model_scores_the_languages_it_reads(tiny_roberta, settings):
    settings.SIGNALFLOW_SENTIMENT_LANGUAGES = "en,de"
    items = [
        SentimentInput("de-comment", GERMAN, is_comment=True),
        SentimentInput("de-post", GERMAN, is_comment=False),  # VADER cannot read it; the transformer can
        SentimentInput("es", SPANISH, is_comment=True),
        SentimentInput("en-post", "Lovely", is_comment=False),
    ]
    assert [(r.model, r.language) for r in sentiment_score_batch(items)] == [
        ("roberta", "de"),
        ("roberta", "de"),
        (None, "es"),
        ("vader", "en"),
    ]


# --- Fallback --------------------------------------------------------------------------------------------


def test_unloadable_model_falls_back_to_vader_counted_and_logged_once(settings, caplog, tmp_path):
    settings.SIGNALFLOW_SENTIMENT_MODEL = str(tmp_path / "no-such-model")
    before = sample("signalflow_nlp_sentiment_fallbacks_total", reason="load")
    items = [
        SentimentInput("c1", "I hate this so much", is_comment=True),
        SentimentInput("c2", "", is_comment=True),
        SentimentInput("p1", "Nice", is_comment=False),
    ]
    with caplog.at_level(logging.WARNING, logger="apps.nlp.sentiment"):
        first = sentiment_score_batch(items)
        second = sentiment_score_batch(items)
    assert first == second
    vader = SentimentIntensityAnalyzer().polarity_scores("I hate this so much")["compound"]
    assert first[0] == SentimentResult("c1", vader, "negative", "vader-fallback", "en")
    assert first[1].model is None
    assert first[2].model == "vader"
    assert sample("signalflow_nlp_sentiment_fallbacks_total", reason="load") == before + 2
    warnings = [r for r in caplog.records if "could not be loaded" in r.getMessage()]
    assert len(warnings) == 1
    assert "no-such-model" in warnings[0].getMessage()


def test_a_fixed_model_directory_is_picked_up_after_the_retry_interval(settings, tmp_path):
    target = tmp_path / "model"
    settings.SIGNALFLOW_SENTIMENT_MODEL = str(target)
    settings.SIGNALFLOW_SENTIMENT_RETRY_SECONDS = 3600
    item = SentimentInput("c", "Thanks, this helped", is_comment=True)
    assert sentiment_score_batch([item])[0].model == "vader-fallback"
    shutil.copytree(tiny_roberta_dir(), target)
    assert sentiment_score_batch([item])[0].model == "vader-fallback"  # not retried yet: no load storm
    settings.SIGNALFLOW_SENTIMENT_RETRY_SECONDS = 0
    assert sentiment_score_batch([item])[0].model == "roberta"


def test_model_without_sentiment_labels_falls_back(settings, tmp_path, caplog):
    broken = tmp_path / "unlabelled"
    shutil.copytree(tiny_roberta_dir(), broken)
    config = json.loads((broken / "config.json").read_text())
    config["id2label"] = {"0": "sports", "1": "politics", "2": "tech"}
    config["label2id"] = {"sports": 0, "politics": 1, "tech": 2}
    (broken / "config.json").write_text(json.dumps(config))
    settings.SIGNALFLOW_SENTIMENT_MODEL = str(broken)
    with caplog.at_level(logging.WARNING, logger="apps.nlp.sentiment"):
        [result] = sentiment_score_batch([SentimentInput("c", "good", is_comment=True)])
    assert result.model == "vader-fallback"
    assert any("does not name one negative and one positive class" in r.getMessage() for r in caplog.records)


def test_unnamed_three_class_labels_follow_the_cardiffnlp_order(settings, tmp_path):
    model_dir = roberta_build(tmp_path / "legacy")
    config = json.loads((model_dir / "config.json").read_text())
    config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
    config["label2id"] = {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}
    (model_dir / "config.json").write_text(json.dumps(config))
    settings.SIGNALFLOW_SENTIMENT_MODEL = str(model_dir)
    [result] = sentiment_score_batch([SentimentInput("c", "good", is_comment=True)])
    assert result.model == "roberta"
    assert result.label in {"negative", "neutral", "positive"}


def test_inference_failure_degrades_the_batch_to_vader(tiny_roberta, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    sentiment_score_batch([SentimentInput("warm", "hi", is_comment=True)])
    monkeypatch.setattr(sentiment._transformer_get().model, "forward", explode)
    before = sample("signalflow_nlp_sentiment_fallbacks_total", reason="inference")
    [result] = sentiment_score_batch([SentimentInput("c", "I love it", is_comment=True)])
    assert result.model == "vader-fallback"
    assert result.compound > 0
    assert sample("signalflow_nlp_sentiment_fallbacks_total", reason="inference") == before + 1


def test_stage_latencies_and_outcomes_are_measured(tiny_roberta):
    def count(name, **labels):
        return sample(name, **labels)

    before = {
        "roberta": count("signalflow_nlp_inference_seconds_count", model="roberta"),
        "vader": count("signalflow_nlp_inference_seconds_count", model="vader"),
        "scored_vader": count("signalflow_nlp_sentiment_scored_total", model="vader"),
        "skipped_language": count("signalflow_nlp_sentiment_skipped_total", reason="language"),
        "skipped_empty": count("signalflow_nlp_sentiment_skipped_total", reason="empty"),
    }
    sentiment_score_batch(
        [
            SentimentInput("c", "ok then", is_comment=True),
            SentimentInput("p", "ok then", is_comment=False),
            SentimentInput("p2", "fine", is_comment=False),
            SentimentInput("de", GERMAN, is_comment=False),
            SentimentInput("e", "", is_comment=False),
        ]
    )
    assert count("signalflow_nlp_inference_seconds_count", model="roberta") == before["roberta"] + 1
    assert count("signalflow_nlp_inference_seconds_count", model="vader") == before["vader"] + 1  # one per batch
    assert count("signalflow_nlp_sentiment_scored_total", model="vader") == before["scored_vader"] + 2
    assert count("signalflow_nlp_sentiment_skipped_total", reason="language") == before["skipped_language"] + 1
    assert count("signalflow_nlp_sentiment_skipped_total", reason="empty") == before["skipped_empty"] + 1
