"""Model stages on their own: raw throughput of the post path (language + VADER + spaCy NER) and the comment
path (language + RoBERTa), sentiment accuracy against human ratings, and a worker's memory.

`python -m bench nlp_models [--quick]`. bench/nlp.py (the pipeline benchmark) imports the throughput functions
to put the end-to-end rate next to the ceiling of its slowest model stage measured in the same run.

No model hub is reachable: the RoBERTa measured is a randomly initialised RobertaConfig() model, which costs
exactly what cardiffnlp/twitter-roberta-base-sentiment-latest costs (same architecture, same 125 M parameters);
its tokenizer is a byte-level BPE trained here on the VADER corpora, so token counts per text are realistic.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "data" / "vader_icwsm2014"
CORPUS_FILES = {
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "movies": "movieReviewSnippets_GroundTruth.txt",
}
FULL_MODEL_DIR = ROOT / "var" / "bench" / "roberta-base-random"
MEMORY_LIMIT_MB = 2048
_CLEAN = re.compile(r"[^\w\s]")


def corpus_load(name: str) -> list[tuple[float, str]]:
    """(mean human rating in -4..4, text) per line of one VADER ground-truth corpus."""
    rows = []
    raw = (CORPORA / CORPUS_FILES[name]).read_bytes().decode("utf-8", errors="replace")
    for line in raw.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip():
            rows.append((float(parts[1]), parts[2]))
    return rows


def corpus_texts(count: int) -> list[str]:
    """`count` real snippets, interleaved from the three corpora (cycled if more are asked for)."""
    pools = [[text for _, text in corpus_load(name)] for name in CORPUS_FILES]
    texts = []
    index = 0
    while len(texts) < count:
        pool = pools[index % len(pools)]
        texts.append(pool[(index // len(pools)) % len(pool)])
        index += 1
    return texts


def full_model_dir() -> Path:
    """A full-size random RoBERTa sentiment model on disk (built once, ~500 MB, under var/)."""
    if not (FULL_MODEL_DIR / "config.json").exists():
        from tests.support.tiny_models import roberta_build

        roberta_build(FULL_MODEL_DIR, full_size=True, sentences=corpus_texts(19_000), vocab_size=8_000)
    return FULL_MODEL_DIR


def _items(texts, *, is_comment):
    from apps.nlp.sentiment import SentimentInput

    return [SentimentInput(id=str(index), text=text, is_comment=is_comment) for index, text in enumerate(texts)]


def vader_ner_throughput(texts) -> float:
    """Signals/s of the post path's model stage: language, VADER on the text, spaCy NER (warm models)."""
    from apps.nlp.sentiment import sentiment_score_batch
    from apps.nlp.topics import topics_extract_batch

    warm = list(texts[:16])
    topics_extract_batch(warm)
    sentiment_score_batch(_items(warm, is_comment=False))
    started = time.perf_counter()
    results = sentiment_score_batch(_items(texts, is_comment=False))
    topics_extract_batch(texts, languages=[result.language for result in results])
    return len(texts) / (time.perf_counter() - started)


def roberta_throughput(texts, model_path) -> float:
    """Signals/s of the comment path's model stage: language + batched RoBERTa from `model_path` (warm model)."""
    from django.test import override_settings

    from apps.nlp.sentiment import sentiment_score_batch

    with override_settings(SIGNALFLOW_SENTIMENT_MODEL=str(model_path)):
        warm = sentiment_score_batch(_items(texts[:8], is_comment=True), model="roberta")
        if any(result.model != "roberta" for result in warm):
            raise RuntimeError(f"the transformer at {model_path} did not load; see the log")
        started = time.perf_counter()
        sentiment_score_batch(_items(texts, is_comment=True), model="roberta")
        return len(texts) / (time.perf_counter() - started)


def _proc_status_mb() -> dict:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def _memory_probe(model_dir: str) -> dict:
    """Run in a fresh process: load everything a worker holds, push a batch through, report RSS at each step."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signalflow.settings.local")
    import django

    django.setup()
    from django.conf import settings

    from apps.nlp.language import language_detect_batch
    from apps.nlp.sentiment import sentiment_score_batch, sentiment_transformer_ready
    from apps.nlp.topics import topics_extract_batch, topics_pipeline_ready

    settings.SIGNALFLOW_SENTIMENT_MODEL = model_dir
    steps = {"django": _proc_status_mb()["VmRSS"]}
    if not sentiment_transformer_ready():
        raise RuntimeError(f"the transformer at {model_dir} did not load")
    steps["+roberta"] = _proc_status_mb()["VmRSS"]
    topics_pipeline_ready()
    steps["+spacy"] = _proc_status_mb()["VmRSS"]
    texts = corpus_texts(2_000)
    language_detect_batch(texts)  # every language model the detector needs gets loaded on real text
    steps["+language"] = _proc_status_mb()["VmRSS"]
    for start in range(0, 256, 64):
        chunk = texts[start : start + 64]
        sentiment_score_batch(_items(chunk, is_comment=True))
        sentiment_score_batch(_items(chunk, is_comment=False))
        topics_extract_batch(chunk)
    steps["after 256 comments + 256 posts"] = _proc_status_mb()["VmRSS"]
    # Worst case for activations: a full batch of comments that all fill the token limit.
    long_comments = [" ".join(texts[i : i + 12]) for i in range(0, 12 * settings.SIGNALFLOW_SENTIMENT_BATCH_SIZE, 12)]
    sentiment_score_batch(_items(long_comments, is_comment=True))
    topics_extract_batch(long_comments)
    status = _proc_status_mb()
    steps["after a batch of max-length comments"] = status["VmRSS"]
    return {"rss_mb": round(status["VmRSS"], 1), "peak_rss_mb": round(status["VmHWM"], 1), "steps_mb": steps}


def worker_memory_rss_mb() -> dict:
    """RSS of a fresh process holding a full-size RoBERTa + tokenizer + spaCy + language detector, after work."""
    model_dir = full_model_dir()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    completed = subprocess.run(
        [sys.executable, "-m", "bench.nlp_models", "--memory-probe", str(model_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"memory probe failed: {completed.stderr.strip()[-2000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["steps_mb"] = {key: round(value, 1) for key, value in result["steps_mb"].items()}
    result["limit_mb"] = MEMORY_LIMIT_MB
    result["under_limit"] = result["peak_rss_mb"] < MEMORY_LIMIT_MB
    return result


def sentiment_accuracy(per_corpus: int | None = None) -> dict:
    """VADER through the production path (post routing) against the human mean ratings: Pearson r, sign agreement."""
    from scipy.stats import pearsonr

    from apps.nlp.sentiment import SentimentInput, sentiment_score_batch

    report = {}
    for name in CORPUS_FILES:
        rows = corpus_load(name)
        if per_corpus is not None:
            rows = rows[:: max(1, len(rows) // per_corpus)][:per_corpus]
        items = [SentimentInput(id=str(i), text=text, is_comment=False) for i, (_, text) in enumerate(rows)]
        results = sentiment_score_batch(items)
        pairs = [(human, r.compound) for (human, _), r in zip(rows, results, strict=True) if r.compound is not None]
        humans = [human for human, _ in pairs]
        scores = [score for _, score in pairs]
        polar = [(h, s) for h, s in pairs if abs(h) >= 0.5]  # clearly rated items: does the sign agree?
        # What a "cleaning" pre-processor would do: lower-case and strip punctuation and emoji.
        cleaned_items = [
            SentimentInput(id=i.id, text=_CLEAN.sub(" ", i.text.lower()), is_comment=False, lang="en") for i in items
        ]
        cleaned = [
            (human, r.compound)
            for (human, _), r in zip(rows, sentiment_score_batch(cleaned_items), strict=True)
            if r.compound is not None
        ]
        report[name] = {
            "items": len(rows),
            "scored": len(pairs),
            "pearson_r": round(float(pearsonr(humans, scores).statistic), 3),
            "sign_agreement": round(mean((h > 0) == (s > 0) for h, s in polar), 3) if polar else None,
            "pearson_r_if_cleaned": round(
                float(pearsonr([h for h, _ in cleaned], [c for _, c in cleaned]).statistic), 3
            ),
        }
    return report


def run(quick: bool) -> dict:
    from tests.support.tiny_models import tiny_roberta_dir

    post_count = 500 if quick else 3_000
    comment_count = 64 if quick else 512
    posts = corpus_texts(post_count)
    comments = corpus_texts(comment_count)
    import torch

    result = {
        "machine": {"cpus": len(os.sched_getaffinity(0)), "cuda": torch.cuda.is_available()},
        "posts_vader_ner_signals_per_s": round(vader_ner_throughput(posts), 1),
        "posts_measured": post_count,
    }
    model_dir = full_model_dir()
    result["comments_roberta_base_signals_per_s"] = round(roberta_throughput(comments, model_dir), 1)
    result["comments_measured"] = comment_count
    result["comments_tiny_roberta_signals_per_s"] = round(roberta_throughput(comments, tiny_roberta_dir()), 1)
    result["worker_memory"] = worker_memory_rss_mb()
    result["sentiment_vs_human"] = sentiment_accuracy(per_corpus=500 if quick else None)
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-probe":
        print(json.dumps(_memory_probe(sys.argv[2])))
    else:
        print("usage: python -m bench nlp_models [--quick]", file=sys.stderr)
        sys.exit(2)
