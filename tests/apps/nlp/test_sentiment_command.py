"""`manage.py score_sentiment` and `manage.py extract_topics` as an operator runs them: real processes, stdin/stdout."""

import json
import subprocess

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tests.support.services import PYTHON, ROOT, subprocess_env
from tests.support.tiny_models import tiny_roberta_dir


def manage(*args, stdin, model_dir=None):
    env = subprocess_env(DJANGO_SETTINGS_MODULE="signalflow.settings.test")
    env["SIGNALFLOW_SENTIMENT_MODEL"] = str(model_dir or tiny_roberta_dir())
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        input=stdin if isinstance(stdin, bytes) else stdin.encode(),
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=600,  # the box is shared; a cold start loads torch and the language models
        check=False,
    )


def lines(*records):
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def test_score_sentiment_routes_like_the_pipeline():
    done = manage(
        "score_sentiment",
        stdin=lines(
            {"id": "p1", "text": "I LOVE this!!!", "is_comment": False},
            {"id": "c1", "text": "Thanks, that fixed it", "is_comment": True},
            {
                "id": "de",
                "text": "Das ist wirklich ein schöner Tag heute, oder nicht? Ich gehe spazieren.",
                "is_comment": True,
            },
            {"id": "tagged", "text": "What a great day", "is_comment": False, "lang": "pt-BR"},
            {"id": 42, "text": "", "is_comment": True},
        )
        + "\n",  # a blank line is skipped, not an error
    )
    assert done.returncode == 0, done.stderr.decode()
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [row["id"] for row in out] == ["p1", "c1", "de", "tagged", "42"]
    assert all(set(row) == {"id", "compound", "label", "model"} for row in out)
    assert out[0] == {
        "id": "p1",
        "compound": SentimentIntensityAnalyzer().polarity_scores("I LOVE this!!!")["compound"],
        "label": "positive",
        "model": "vader",
    }
    assert out[1]["model"] == "roberta"
    assert -1 <= out[1]["compound"] <= 1
    assert out[1]["label"] in {"positive", "neutral", "negative"}
    for row in out[2:]:
        assert (row["compound"], row["label"], row["model"]) == (None, None, None)


def test_score_sentiment_forced_model_and_unloadable_transformer(tmp_path):
    stdin = lines(
        {"id": "c", "text": "This is awful", "is_comment": True}, {"id": "p", "text": "Nice", "is_comment": False}
    )
    forced = manage("score_sentiment", "--model", "roberta", stdin=stdin)
    assert [json.loads(line)["model"] for line in forced.stdout.decode().splitlines()] == ["roberta", "roberta"]
    missing = manage("score_sentiment", stdin=stdin, model_dir=tmp_path / "absent")
    assert missing.returncode == 0
    assert b"Traceback" not in missing.stderr
    assert [json.loads(line)["model"] for line in missing.stdout.decode().splitlines()] == ["vader-fallback", "vader"]


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (lines({"id": "a", "text": "ok", "is_comment": False}) + "{not json\n", "stdin line 2: not valid JSON"),
        ('["a list"]\n', "stdin line 1: expected a JSON object"),
        (lines({"id": "a", "is_comment": True}), 'stdin line 1: "text" must be a string'),
        (lines({"id": "a", "text": "x", "is_comment": "yes"}), 'stdin line 1: "is_comment" must be true or false'),
        (lines({"id": "a", "text": "x", "lang": 3}), 'stdin line 1: "lang" must be a string'),
        (lines({"id": None, "text": "x"}), 'stdin line 1: "id" must be a string or an integer'),
        (lines({"id": "a", "text": "x", "score": 1}), "stdin line 1: unexpected field(s) score"),
        (lines({"id": "a", "text": "x" * 50_000}), 'stdin line 1: "text" is 50000 characters'),
        (b'{"id": "a", "text": "\xff"}\n', "stdin line 1: not UTF-8"),
    ],
)
def test_score_sentiment_bad_input_exits_2_with_one_line(stdin, message):
    done = manage("score_sentiment", stdin=stdin)
    stderr = done.stderr.decode()
    assert done.returncode == 2
    assert message in stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert done.stdout == b""  # every line is checked before any is scored


def test_extract_topics():
    done = manage(
        "extract_topics",
        stdin=lines(
            {"id": "a", "text": "Donald Trump's envoy met Iranian officials; Iran's reply came Monday. NTA."},
            {"id": "b", "text": "She said it was fine."},
            {"id": "c", "text": "Bundeskanzler Scholz traf gestern in Berlin den französischen Präsidenten."},
            {"id": "d", "text": "OpenAI and Nvidia", "lang": "en"},
        ),
    )
    assert done.returncode == 0, done.stderr.decode()
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert out == [
        {"id": "a", "topics": ["iran", "trump"]},  # iran: mentioned twice
        {"id": "b", "topics": []},
        {"id": "c", "topics": []},
        {"id": "d", "topics": ["openai", "nvidia"]},
    ]


def test_extract_topics_bad_input_exits_2_with_one_line():
    done = manage("extract_topics", stdin=lines({"id": "a", "text": "x"}, {"id": "b"}))
    assert done.returncode == 2
    assert done.stderr.decode().strip() == 'CommandError: stdin line 2: "text" must be a string'
