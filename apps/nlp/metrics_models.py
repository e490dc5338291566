"""Prometheus metrics of the model stages (sentiment, language, topics). Labels are bounded enums."""

from prometheus_client import Counter, Histogram

# Batch latencies: from a few ms (VADER on a small batch) to seconds (RoBERTa on CPU).
_BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

INFERENCE_SECONDS = Histogram(
    "signalflow_nlp_inference_seconds",
    "Wall time of one batch through a model stage.",
    ["model"],  # roberta | vader | spacy | language
    buckets=_BATCH_BUCKETS,
)
SENTIMENT_FALLBACKS = Counter(
    "signalflow_nlp_sentiment_fallbacks",
    "Texts meant for the transformer that VADER scored instead because the transformer could not run.",
    ["reason"],  # load | inference
)
SENTIMENT_SCORED = Counter(
    "signalflow_nlp_sentiment_scored",
    "Texts given a sentiment, by the model that scored them.",
    ["model"],  # roberta | vader | vader-fallback
)
SENTIMENT_SKIPPED = Counter(
    "signalflow_nlp_sentiment_skipped",
    "Texts left without a sentiment (stored as null, never as 0).",
    ["reason"],  # empty | language
)
TRANSFORMER_LOADS = Counter(
    "signalflow_nlp_transformer_loads",
    "Attempts to load the sentiment transformer, by outcome.",
    ["outcome"],  # ok | error
)
