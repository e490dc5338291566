"""The post path against human judgement: VADER through sentiment_score_batch on the VADER ground-truth corpora.

Reference (vaderSentiment 3.3.2 on the full files, see the corpus README): Pearson r NYT 0.50, Amazon 0.59,
movies 0.43. A sample of 400 per corpus has a chance-level |r| around 0.1; the floors below are far above that
and a little under the reference, so a regression in routing (wrong text, lower-casing, stripping punctuation
or emoji, language detection nulling English) shows up, while sampling noise does not.
"""

from pathlib import Path

import pytest
from scipy.stats import pearsonr

from apps.nlp.sentiment import SentimentInput, sentiment_score_batch

CORPORA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "vader_icwsm2014"
SAMPLE = 400


def corpus_sample(filename):
    path = CORPORA / filename
    if not path.exists():
        pytest.fail(f"{path} is missing: the shared data directory should hold the VADER corpora", pytrace=False)
    rows = []
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip():
            rows.append((float(parts[1]), parts[2]))
    return rows[:: len(rows) // SAMPLE][:SAMPLE]  # spread over the whole file, deterministic


@pytest.mark.parametrize(
    ("filename", "floor", "sign_floor"),
    [
        ("nytEditorialSnippets_GroundTruth.txt", 0.40, 0.70),
        ("amazonReviewSnippets_GroundTruth.txt", 0.45, 0.70),
        ("movieReviewSnippets_GroundTruth.txt", 0.33, 0.60),  # VADER's weakest domain (paper: 0.43 on all)
    ],
)
def test_post_sentiment_correlates_with_human_ratings(filename, floor, sign_floor):
    rows = corpus_sample(filename)
    items = [SentimentInput(id=str(i), text=text, is_comment=False) for i, (_, text) in enumerate(rows)]
    results = sentiment_score_batch(items)
    scored = [
        (human, result.compound)
        for (human, _), result in zip(rows, results, strict=True)
        if result.compound is not None
    ]
    # These are English snippets: language detection must not null more than a stray few.
    assert len(scored) >= 0.98 * len(rows)
    assert all(result.model == "vader" for result in results if result.compound is not None)
    r = pearsonr([h for h, _ in scored], [s for _, s in scored]).statistic
    assert r > floor
    # Clearly rated snippets: the sign of the score agrees with the humans far more often than a coin toss.
    polar = [(h, s) for h, s in scored if abs(h) >= 1.0 and s != 0]
    agreement = sum((h > 0) == (s > 0) for h, s in polar) / len(polar)
    assert agreement > sign_floor
