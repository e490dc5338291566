"""Sentiment transformers built locally, because no model hub is reachable here.

`roberta_build` trains a byte-level BPE tokenizer on a handful of sentences (or on a corpus, for a
realistic token count), wraps it as RobertaTokenizerFast, creates a randomly initialised
RobertaForSequenceClassification with the cardiffnlp label names, and save_pretrained()s both. The
production code then loads the directory exactly as it loads a downloaded model. Weights are random,
so the scores mean nothing; what is tested is the code path (loading, batching, label mapping, routing).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
ID2LABEL = {0: "negative", 1: "neutral", 2: "positive"}

SEED_SENTENCES = [
    "I love this so much, it is wonderful!",
    "This is terrible and I hate it.",
    "The meeting is on Tuesday at noon.",
    "Donald Trump spoke about Iran and the European Union.",
    "@someone check https://example.com it's great 😀",
    "NTA, your sister is being unreasonable.",
    "OpenAI released a new model; Apple and Google responded.",
    "Not bad at all, but the ending was weak...",
]


def _tokenizer_build(directory: Path, sentences: Iterable[str], vocab_size: int) -> object:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(sentences, vocab_size=vocab_size, min_frequency=1, special_tokens=SPECIAL_TOKENS)
    raw = directory / "bpe"
    raw.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = bpe.save_model(str(raw))
    return RobertaTokenizerFast(vocab_file=vocab_file, merges_file=merges_file, model_max_length=512)


def roberta_build(
    directory: Path | str | None = None,
    *,
    full_size: bool = False,
    sentences: Iterable[str] | None = None,
    vocab_size: int = 400,
    seed: int = 0,
) -> Path:
    """Save a random RoBERTa sentiment classifier + tokenizer into `directory` (a new temp dir by default).

    full_size=True uses RobertaConfig()'s defaults (roberta-base: 12 layers, 768 hidden, 50,265 tokens,
    ~125 M parameters), the memory and compute cost of the production model; otherwise 2 tiny layers.
    """
    import torch
    from transformers import RobertaConfig, RobertaForSequenceClassification

    directory = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="sf-roberta-"))
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer_build(directory, sentences if sentences is not None else SEED_SENTENCES, vocab_size)
    labels = {"id2label": ID2LABEL, "label2id": {label: index for index, label in ID2LABEL.items()}}
    if full_size:
        config = RobertaConfig(**labels)  # vocab 50,265 > our tokenizer's ids, so every id is valid
    else:
        config = RobertaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=130,  # 128 usable positions: exercises the max-length clamp
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **labels,
        )
    torch.manual_seed(seed)
    model = RobertaForSequenceClassification(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@functools.cache
def tiny_roberta_dir() -> Path:
    """One tiny model per test process (building it takes ~1 s; many tests share it read-only), removed at exit."""
    directory = roberta_build()
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory
